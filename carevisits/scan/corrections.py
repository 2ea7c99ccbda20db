"""Putting a recorded visit right: correct its records or void it, with the old values kept."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from carevisits import labels
from carevisits.extensions import db
from carevisits.models import Mood, Outcome, Visit, VisitMethod
from carevisits.models.base import local_today, utcnow
from carevisits.scan.blueprint import bp, visitor_required
from carevisits.scan.forms import CorrectionForm, ElderRecordForm, VoidForm
from carevisits.services import checkin, contacts, corrections, menus
from carevisits.services.scope import can_see_visit


def _changeable_visit(visit_id: int) -> Visit:
    """The visit, if the user may correct or void it now; 404 if they may not see it, 403
    if they see it but may not change it (a day has passed, someone else's visit)."""
    visit = db.session.get(Visit, visit_id)
    if visit is None or not can_see_visit(current_user, visit):
        abort(404)
    if not corrections.can_change(current_user, visit, utcnow()):
        abort(403)
    return visit


def _subforms(visit: Visit) -> list[tuple]:
    """One record form per elder of the visit, filled with what it holds now; the services
    shown are the elder's menu and whatever this visit delivered."""
    delivered = menus.delivered_at_visits([visit.id])
    today = local_today()
    forms = []
    for rec in visit.records:
        given = delivered.get((visit.id, rec.elder_id), [])
        offered = {e.item_id: e.item.name for e in menus.current_menu(rec.elder, today)}
        offered.update({d.item_id: d.item.name for d in given})
        data = {"outcome": rec.outcome.value, "systolic": rec.systolic,
                "diastolic": rec.diastolic, "pulse": rec.pulse,
                "mood": rec.mood.value if rec.mood else None, "notes": rec.notes}
        sub = ElderRecordForm(prefix=f"e{rec.elder_id}", elder_name=rec.elder.name,
                              offered=offered, data=data)
        if visit.method == VisitMethod.PHONE:
            sub.outcome.choices = labels.as_choices({o: labels.PHONE_OUTCOMES[o]
                                                     for o in contacts.PHONE_OUTCOMES})
        ticked = {str(d.item_id): d.quantity for d in given}
        forms.append((rec, sub, ticked))
    return forms


@bp.route("/visits/<int:visit_id>/correct", methods=["GET", "POST"])
@visitor_required
def correct(visit_id: int):
    """Correct what a visit recorded (the visitor within a day, coordinators in their area)."""
    visit, form = _changeable_visit(visit_id), CorrectionForm()
    subforms = _subforms(visit)

    def page(status=200, error=None):
        return render_template("scan/correct.html", visit=visit, form=form, subforms=subforms,
                               error=error, readings=visit.method != VisitMethod.PHONE and (
                                   visit.roster is None or visit.roster.allow_observations)
                               ), status

    if not form.is_submitted():
        return page()
    if not (form.validate() & all([sub.validate() for _, sub, _ in subforms])):
        return page(422)
    try:
        done = corrections.correct_visit(visit, current_user, [
            checkin.ElderRecordInput(
                elder_id=rec.elder_id, outcome=Outcome(sub.outcome.data),
                systolic=sub.systolic.data, diastolic=sub.diastolic.data, pulse=sub.pulse.data,
                mood=Mood(sub.mood.data) if sub.mood.data else None, notes=sub.notes.data or "",
                deliveries=sub.svc.data) for rec, sub, _ in subforms], form.reason.data or "")
    except checkin.CheckInError as err:
        db.session.rollback()
        return page(422, error=str(err))
    db.session.commit()
    flash(_l("Visit corrected; the old values are kept.") if done else
          _l("Nothing was changed."), "info")
    return redirect(url_for("scan.visit", visit_id=visit.id))


@bp.post("/visits/<int:visit_id>/void")
@visitor_required
def void(visit_id: int):
    """Void a wrong visit with a reason; it stays in the histories, struck through."""
    visit, form = _changeable_visit(visit_id), VoidForm()
    if not form.validate_on_submit():
        return render_template("scan/void.html", visit=visit, void_form=form), 422
    corrections.void_visit(visit, current_user, form.reason.data)
    db.session.commit()
    flash(_l("Visit voided."), "info")
    return redirect(url_for("scan.visit", visit_id=visit.id))

