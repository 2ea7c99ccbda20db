"""Elder records for staff: search within scope, profile and visit history."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import or_, select

from carevisits.access import roles_required, staff_required
from carevisits.database import takes_write_lock
from carevisits.elders.forms import IntervalForm, PauseForm
from carevisits.extensions import db
from carevisits.i18n import local_zone
from carevisits.models import Alert, Elder, Household, Role
from carevisits.models.base import utcnow
from carevisits.services import audit, schedule
from carevisits.services.rounds import elder_history
from carevisits.services.scope import can_see_household, scoped_elders

bp = Blueprint("elders", __name__, url_prefix="/elders")


@bp.get("/")
@staff_required
def index():
    """Search the elders in my area by name, phone, household number or address."""
    q = request.args.get("q", "").strip()[:40]
    query = scoped_elders(current_user).order_by(Household.address, Household.building,
                                                 Household.room, Elder.id)
    if q:
        like = f"%{q}%"
        query = query.where(or_(Elder.name.like(like), Elder.phone.like(like),
                                Household.number == q.replace(" ", ""),
                                Household.address.like(like)))
    page = db.paginate(query, per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("elders/index.html", page=page, q=q, now=utcnow())


@bp.get("/<int:elder_id>")
@staff_required
@takes_write_lock
def detail(elder_id: int):
    """An elder's profile and visit history, newest first; each view is audited."""
    elder = _elder_in_scope(elder_id)
    history = db.paginate(elder_history(elder), per_page=current_app.config["PAGE_SIZE"],
                          error_out=False)
    audit.record(current_user, "elder.view", "elder", elder.id)
    db.session.commit()
    return _detail_page(elder, history)


def _detail_page(elder, history=None, pause_form=None, interval_form=None, status=200):
    if history is None:
        history = db.paginate(elder_history(elder), per_page=current_app.config["PAGE_SIZE"],
                              error_out=False)
    alert_list = db.session.scalars(select(Alert).where(Alert.elder_id == elder.id)
                                    .order_by(Alert.opened_at.desc()).limit(20)).all()
    return render_template(
        "elders/detail.html", elder=elder, history=history, now=utcnow(), alerts=alert_list,
        pause_form=pause_form or PauseForm(), interval_form=interval_form or IntervalForm(
            days=elder.visit_interval_days)), status


def _elder_in_scope(elder_id: int) -> Elder:
    elder = db.session.get(Elder, elder_id)
    if elder is None or not can_see_household(current_user, elder.household):
        abort(404)
    return elder


@bp.post("/<int:elder_id>/pause")
@staff_required
def pause(elder_id: int):
    """Pause visits while the elder is away (hospital, with children)."""
    elder, form = _elder_in_scope(elder_id), PauseForm()
    today = utcnow().astimezone(local_zone()).date()
    valid = form.validate_on_submit()
    if valid and form.until.data < today:
        form.until.errors, valid = [_l("The end date is in the past.")], False
    if valid:
        schedule.pause(elder, reason=form.reason.data, expected_end=form.until.data,
                       actor=current_user, today=today)
        audit.record(current_user, "elder.pause", "elder", elder.id)
        db.session.commit()
        flash(_l("Visits paused."), "info")
        return redirect(url_for("elders.detail", elder_id=elder.id))
    return _detail_page(elder, pause_form=form, status=422)


@bp.post("/<int:elder_id>/resume")
@staff_required
def resume(elder_id: int):
    """The elder is back: visits are due again from now."""
    elder = _elder_in_scope(elder_id)
    schedule.end_pause(elder, utcnow())
    audit.record(current_user, "elder.resume", "elder", elder.id)
    db.session.commit()
    return redirect(url_for("elders.detail", elder_id=elder.id))


@bp.post("/<int:elder_id>/interval")
@roles_required(Role.ADMIN, Role.COORDINATOR)
def interval(elder_id: int):
    """Visit this elder more or less often than the care level says."""
    elder, form = _elder_in_scope(elder_id), IntervalForm()
    if not form.validate_on_submit():
        return _detail_page(elder, interval_form=form, status=422)
    elder.visit_interval_days = form.days.data
    schedule.refresh([elder])
    audit.record(current_user, "elder.interval", "elder", elder.id, days=form.days.data)
    db.session.commit()
    flash(_l("Visit interval saved."), "info")
    return redirect(url_for("elders.detail", elder_id=elder.id))
