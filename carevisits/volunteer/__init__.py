"""Volunteers (mobile): sign up, join rosters of their community, visit, see their hours."""

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from sqlalchemy import select
from wtforms import SelectField, TextAreaField
from wtforms.validators import InputRequired, Length

from carevisits import labels
from carevisits.access import roles_required
from carevisits.extensions import db
from carevisits.forms import SignUpForm, TextForm, phone_field
from carevisits.i18n import local_zone
from carevisits.models import Community, Role, Roster, VolunteerStatus
from carevisits.models.base import utcnow
from carevisits.services import accounts, roster_times, volunteer_hours, volunteer_signups
from carevisits.services import rosters as roster_service
from carevisits.services.rounds import round_for
from carevisits.services.volunteer_signups import AVAILABILITY_MAX
from carevisits.throttle import signup_limit

bp = Blueprint("volunteer", __name__, url_prefix="/volunteer")
volunteer_required = roles_required(Role.VOLUNTEER)
HOURS_MONTHS = 12


def _community_field() -> SelectField:
    return SelectField(_l("Community"), coerce=str,
                       validators=[InputRequired(_l("Choose your community."))])


def _availability_field() -> TextAreaField:
    return TextAreaField(_l("When can you help?"), validators=[
        Length(max=AVAILABILITY_MAX, message=_l("At most %(max)d characters.",
                                                max=AVAILABILITY_MAX))])


class VolunteerSignUpForm(SignUpForm):
    """Sign-up: who, how to reach them, their community and when they can help."""

    community = _community_field()
    availability = _availability_field()


class ProfileForm(TextForm):
    """A volunteer's own phone number and availability (and, the first time, community)."""

    community = _community_field()
    phone = phone_field()
    availability = _availability_field()


@bp.route("/signup", methods=["GET", "POST"])
@signup_limit
def signup():
    """Anyone may sign up; the account can do nothing until a coordinator approves it."""
    if current_user.is_authenticated:
        return redirect(url_for("auth.index"))
    form = VolunteerSignUpForm()
    form.community.choices = _community_choices()
    error = None
    if form.validate_on_submit():
        try:
            user = accounts.sign_up(
                role=Role.VOLUNTEER, username=form.username.data,
                display_name=form.display_name.data, phone=form.phone.data,
                password=form.password.data)
            volunteer_signups.start_profile(
                user, db.session.get(Community, int(form.community.data)),
                form.availability.data or "")
        except (accounts.AccountError, volunteer_signups.SignUpError) as err:
            db.session.rollback()
            error = str(err)
        else:
            login_user(user)  # starts this browser's session: committed with the account
            db.session.commit()
            return redirect(url_for("volunteer.index"))
    return render_template("volunteer/signup.html", form=form, error=error), (
        422 if form.is_submitted() else 200)


def _community_choices():
    communities = db.session.scalars(select(Community).order_by(Community.name)).all()
    return labels.as_choices({"": "—", **{c.id: c.name for c in communities}})


@bp.get("/")
@volunteer_required
def index():
    """Where my sign-up stands, my rosters and their households, this month's hours."""
    profile = volunteer_signups.profile_of(current_user)
    if profile is None:  # an account an admin made: the sign-up is finished on the profile
        return redirect(url_for("volunteer.profile"))
    now = utcnow()
    month_start = now.astimezone(local_zone()).replace(day=1, hour=0, minute=0, second=0,
                                                       microsecond=0)
    month = volunteer_hours.hours_by_month(volunteer_hours.my_visits(current_user, month_start),
                                           local_zone())
    return render_template("volunteer/index.html", profile=profile,
                           rosters=roster_service.my_rosters(current_user),
                           buildings=round_for(current_user), now=now,
                           month=month[0] if month else None,
                           approved=profile.status == VolunteerStatus.APPROVED)


@bp.get("/rosters")
@volunteer_required
def rosters():
    """The open rosters of my community: how full each is, and where I stand."""
    profile = volunteer_signups.profile_of(current_user)
    if profile is None:
        return redirect(url_for("volunteer.profile"))
    return render_template("volunteer/rosters.html", offers=roster_service.offers(current_user),
                           profile=profile)


def _offered(roster_id: int) -> Roster:
    """A roster of the volunteer's own community (anything else is not found)."""
    roster = roster_service.community_roster(current_user, roster_id)
    return roster if roster is not None else abort(404)


@bp.post("/rosters/<int:roster_id>/apply")
@volunteer_required
def apply(roster_id: int):
    """Ask to join a roster."""
    try:
        roster_service.apply(_offered(roster_id), current_user)
    except roster_service.RosterError as err:
        db.session.rollback()
        flash(str(err), "error")
    else:
        db.session.commit()
        flash(_l("Applied. The coordinator will answer."), "info")
    return redirect(url_for("volunteer.rosters"))


@bp.post("/rosters/<int:roster_id>/leave")
@volunteer_required
def leave(roster_id: int):
    """Take back an application, or leave a roster."""
    member = roster_service.live_membership(current_user, _offered(roster_id))
    if member is not None:
        roster_service.withdraw(member, current_user)
        db.session.commit()
        flash(_l("Done: you are no longer on this roster."), "info")
    return redirect(url_for("volunteer.rosters"))


@bp.get("/rosters/<int:roster_id>")
@volunteer_required
def roster(roster_id: int):
    """A roster I am on: its members and its households; for its leader, the recent visits,
    those outside its day and hours flagged."""
    found = _offered(roster_id)
    if found not in roster_service.my_rosters(current_user):
        abort(404)
    leading = found.leader_id == current_user.id  # the leader sees visits off schedule
    return render_template("volunteer/roster.html", roster=found,
                           members=roster_service.approved_members(found),
                           visits=roster_times.recent_visits(found, utcnow(), local_zone())
                           if leading else None)


@bp.route("/profile", methods=["GET", "POST"])
@volunteer_required
def profile():
    """My phone number and when I can help; an account without a sign-up picks its community
    here, and waits for approval like any sign-up."""
    mine = volunteer_signups.profile_of(current_user)
    form = ProfileForm(data={"phone": current_user.phone,
                             "availability": mine.availability if mine else ""})
    if mine is None:
        form.community.choices = _community_choices()
    else:
        del form.community
    if form.validate_on_submit():
        if mine is None:
            volunteer_signups.start_profile(current_user,
                                            db.session.get(Community, int(form.community.data)),
                                            form.availability.data or "")
        volunteer_signups.update_profile(current_user, phone=form.phone.data,
                                         availability=form.availability.data or "")
        db.session.commit()
        flash(_l("Saved."), "info")
        return redirect(url_for("volunteer.index" if mine is None else "volunteer.profile"))
    return render_template("volunteer/profile.html", form=form, profile=mine), (
        422 if form.is_submitted() else 200)


@bp.get("/hours")
@volunteer_required
def hours():
    """My roster visits of the last year, with minutes per visit and per month."""
    since = utcnow() - timedelta(days=HOURS_MONTHS * 31)
    visits = volunteer_hours.my_visits(current_user, since)
    return render_template("volunteer/hours.html", visits=visits,
                           months=volunteer_hours.hours_by_month(visits, local_zone()))
