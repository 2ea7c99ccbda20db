"""Coordinators' pages for volunteers: sign-ups, rosters and their members, hours."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from carevisits import labels
from carevisits.access import coordinator_required
from carevisits.coordinator.blueprint import bp, month_param
from carevisits.coordinator.forms import MemberDecisionForm, ReviewForm, RosterForm
from carevisits.extensions import db
from carevisits.i18n import local_zone
from carevisits.models import Community, MemberStatus, Roster, RosterMember, VolunteerStatus
from carevisits.models.base import utcnow
from carevisits.paging import record_id
from carevisits.services import roster_times, rosters, volunteer_signups
from carevisits.services.scope import managed_communities
from carevisits.services.volunteer_hours import monthly_hours


@bp.get("/volunteers")
@coordinator_required
def volunteers_page():
    """Sign-ups waiting for an answer, applications to rosters, and the rosters."""
    profiles = db.session.scalars(volunteer_signups.signups(current_user)).all()
    return render_template(
        "coordinator/volunteers.html", applications=rosters.applications(current_user),
        pending=[p for p in profiles if p.status == VolunteerStatus.PENDING],
        others=[p for p in profiles if p.status != VolunteerStatus.PENDING],
        rosters=db.session.scalars(rosters.managed_rosters(current_user)).all(),
        communities=managed_communities(current_user), form=ReviewForm())


@bp.post("/volunteers/<int:user_id>/review")
@coordinator_required
def review_volunteer(user_id: int):
    """Approve or decline a sign-up."""
    profile = volunteer_signups.managed_profile(current_user, user_id) or abort(404)
    form = ReviewForm()
    if not form.validate():
        abort(400)
    volunteer_signups.review(profile, approve=form.decision.data == "approve",
                             actor=current_user, note=form.note.data or "")
    db.session.commit()
    flash(_l("%(name)s: %(status)s.", name=profile.user.display_name,
             status=_l("approved") if profile.status == VolunteerStatus.APPROVED
             else _l("declined")), "info")
    return redirect(url_for("coordinator.volunteers_page"))


@bp.route("/rosters/new", methods=["GET", "POST"])
@coordinator_required
def new_roster():
    """A new roster in one of my communities (chosen first, as it fixes the households)."""
    communities = managed_communities(current_user)
    chosen = request.args.get("community", type=record_id)
    community = next((c for c in communities if c.id == chosen), None)
    if community is None and len(communities) == 1:
        community = communities[0]
    if community is None:
        return render_template("coordinator/roster_community.html", communities=communities)
    return _roster_form(None, community)


@bp.route("/rosters/<int:roster_id>", methods=["GET", "POST"])
@coordinator_required
def roster(roster_id: int):
    """Change a roster; approve, decline or remove its volunteers."""
    found = rosters.managed_roster(current_user, roster_id) or abort(404)
    return _roster_form(found, found.community)


def _roster_form(roster: Roster | None, community: Community):
    form = RosterForm(obj=roster)
    members = rosters.approved_members(roster) if roster else []
    form.leader.choices = labels.as_choices(
        {"": "—", **{m.user_id: m.user.display_name for m in members}})
    form.households.choices = labels.as_choices(
        {h.id: " · ".join([h.grid.name, h.full_address, *(e.name for e in h.elders if e.active)])
         for h in rosters.community_households(community)})
    if roster is not None and not form.is_submitted():
        form.leader.data = str(roster.leader_id or "")
        form.households.data = [h.id for h in roster.households]
    error = None
    if form.validate_on_submit():
        try:
            saved = rosters.save_roster(roster, form.to_input(community), current_user)
        except rosters.RosterError as err:
            db.session.rollback()
            error = str(err)
        else:
            db.session.commit()
            flash(_l("Roster saved."), "info")
            return redirect(url_for("coordinator.roster", roster_id=saved.id))
    visits = roster_times.recent_visits(roster, utcnow(), local_zone()) if roster else []
    return render_template("coordinator/roster.html", form=form, roster=roster,
                           community=community, error=error, visits=visits,
                           decision=MemberDecisionForm()), (422 if form.is_submitted() else 200)


@bp.post("/rosters/<int:roster_id>/members/<int:member_id>")
@coordinator_required
def decide_member(roster_id: int, member_id: int):
    """Approve, decline or remove one volunteer of a roster."""
    found = rosters.managed_roster(current_user, roster_id) or abort(404)
    member = db.session.get(RosterMember, member_id)
    if member is None or member.roster_id != found.id:
        abort(404)
    form = MemberDecisionForm()
    if not form.validate():
        abort(400)
    try:
        rosters.decide(member, MemberStatus(form.decision.data), current_user)
    except rosters.RosterError as err:
        db.session.rollback()
        flash(str(err), "error")
    else:
        db.session.commit()
        flash(_l("%(name)s: %(status)s.", name=member.user.display_name,
                 status=MEMBER_DONE[member.status]), "info")
    if request.form.get("back") == "list":
        return redirect(url_for("coordinator.volunteers_page"))
    return redirect(url_for("coordinator.roster", roster_id=found.id))


MEMBER_DONE = {MemberStatus.APPROVED: _l("approved"), MemberStatus.DECLINED: _l("declined"),
               MemberStatus.REMOVED: _l("removed from the roster")}


@bp.get("/volunteer-hours")
@coordinator_required
def volunteer_hours():
    """Each volunteer's visits and hours in a month, with the exports."""
    month = month_param()
    return render_template("coordinator/hours.html", month=month,
                           lines=monthly_hours(current_user, month, local_zone()))
