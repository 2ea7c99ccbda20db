"""Correcting or voiding a visit: the old values are kept, and the schedule and the alerts
follow the corrected data."""

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from carevisits.extensions import db
from carevisits.models import (
    MET_OUTCOMES,
    Alert,
    AlertKind,
    Delivery,
    Elder,
    Outcome,
    Role,
    User,
    Visit,
    VisitCorrection,
    VisitMethod,
    VisitRecord,
)
from carevisits.models.base import utcnow
from carevisits.services import alerts, audit, contacts, menus
from carevisits.services.checkin import (
    REASON_MAX,
    CheckInError,
    ElderRecordInput,
    check_record,
)
from carevisits.services.scope import can_see_household

# The visitor may put their own visit right for this long after recording it; coordinators
# (in their area) at any time.
VISITOR_WINDOW = timedelta(hours=24)
FIELDS = ("outcome", "systolic", "diastolic", "pulse", "mood", "notes")


def can_change(user: User, visit: Visit, now: datetime) -> bool:
    """Whether the user may correct or void this visit now."""
    if visit.voided_at is not None or not can_see_household(user, visit.household):
        return False
    if user.role in (Role.ADMIN, Role.COORDINATOR):
        return True
    return visit.visitor_id == user.id and now - visit.server_time <= VISITOR_WINDOW


def _deliveries(visit: Visit, elder_id: int) -> dict[int, Delivery]:
    return {d.item_id: d for d in db.session.scalars(select(Delivery).where(
        Delivery.visit_id == visit.id, Delivery.elder_id == elder_id))}


def _services(found: dict[int, Delivery]) -> dict[str, float]:
    return {d.item.name: d.quantity for d in found.values()}


def correct_visit(visit: Visit, actor: User, records: list[ElderRecordInput],
                  reason: str) -> VisitCorrection | None:
    """Replace the records (and services delivered) of a visit, keeping the old values in a
    correction; None when nothing changed."""
    if len(reason) > REASON_MAX:
        raise CheckInError(_l("The reason is limited to %(n)d characters.", n=REASON_MAX))
    by_elder = {r.elder_id: r for r in visit.records}
    if {r.elder_id for r in records} != set(by_elder) or len(records) != len(by_elder):
        raise CheckInError(_l("Record an outcome for every elder of this household."))
    changes, before = {}, {}
    for new in records:
        new.notes = new.notes.strip()
        _check(visit, new)
        rec = by_elder[new.elder_id]
        diff = {f: [_plain(getattr(rec, f)), _plain(getattr(new, f))] for f in FIELDS
                if _plain(getattr(rec, f)) != _plain(getattr(new, f))}
        old_services = _deliveries(visit, rec.elder_id)
        if {d.item_id: d.quantity for d in new.deliveries} != {
                i: d.quantity for i, d in old_services.items()}:
            diff["services"] = [_services(old_services), None]
            _replace_deliveries(visit, rec.elder, old_services, new.deliveries)
            diff["services"][1] = _services(_deliveries(visit, rec.elder_id))
        if diff:
            changes[str(rec.elder_id)] = diff
            before[rec.elder_id] = (rec.outcome, (rec.systolic, rec.diastolic, rec.pulse))
            for f in FIELDS:
                setattr(rec, f, getattr(new, f))
    if not changes:
        return None
    correction = _keep(visit, actor, "correct", reason, changes)
    visit.corrected_at = correction.at
    _follow(visit, actor, before, str(_l("Visit corrected by %(name)s.",
                                         name=actor.display_name)))
    audit.record(actor, "visit.correct", "visit", visit.id, changes=changes)
    return correction


def void_visit(visit: Visit, actor: User, reason: str) -> VisitCorrection:
    """Void a wrong visit with a reason: it stays in histories, counts for nothing, and its
    services delivered are taken back (kept in the voiding record)."""
    reason = reason.strip()
    if not reason:
        raise CheckInError(_l("Say why the visit is voided."))
    if len(reason) > REASON_MAX:
        raise CheckInError(_l("The reason is limited to %(n)d characters.", n=REASON_MAX))
    changes = {}
    for rec in visit.records:
        old_services = _deliveries(visit, rec.elder_id)
        if old_services:
            changes[str(rec.elder_id)] = {"services": [_services(old_services), {}]}
            _replace_deliveries(visit, rec.elder, old_services, [])
    correction = _keep(visit, actor, "void", reason, changes)
    visit.voided_at, visit.voided_by, visit.void_reason = correction.at, actor, reason
    note = str(_l("Visit voided by %(name)s: %(reason)s", name=actor.display_name,
                  reason=reason))
    _follow(visit, actor, {r.elder_id: (r.outcome, (r.systolic, r.diastolic, r.pulse))
                           for r in visit.records}, note)
    audit.record(actor, "visit.void", "visit", visit.id, reason=reason, changes=changes)
    return correction


def _check(visit: Visit, new: ElderRecordInput) -> None:
    """The rules of the door form, and of the phone form for a phone call."""
    check_record(new)
    if new.deliveries and new.outcome not in MET_OUTCOMES:
        raise CheckInError(_l("Services can only be delivered to an elder who was met."))
    if visit.method == VisitMethod.PHONE and (
            new.outcome not in contacts.PHONE_OUTCOMES or new.deliveries
            or new.systolic is not None or new.pulse is not None):
        raise CheckInError(_l("A phone call records only whether the elder was reached."))
    if visit.roster is not None and not visit.roster.allow_observations and (
            new.systolic is not None or new.pulse is not None):
        raise CheckInError(_l("Health readings are not recorded on this roster."))


def _plain(value):
    return value.value if hasattr(value, "value") else (value or None)


def _replace_deliveries(visit: Visit, elder: Elder, old: dict[int, Delivery],
                        given: list[menus.DeliveryInput]) -> None:
    for delivery in old.values():
        db.session.delete(delivery)
    db.session.flush()
    if given:
        try:
            menus.record_deliveries(visit, elder, given)
        except menus.MenuError as err:
            raise CheckInError(f"{elder.name}: {err}") from None
        db.session.flush()


def _keep(visit: Visit, actor: User, action: str, reason: str,
          changes: dict) -> VisitCorrection:
    correction = VisitCorrection(visit=visit, actor=actor, action=action,
                                 reason=reason.strip(), changes=changes, at=utcnow())
    db.session.add(correction)
    return correction


def _follow(visit: Visit, actor: User, before: dict[int, tuple], note: str) -> None:
    """After a change: recount the elders' last contacts, move their schedules, and put
    the alerts right (see _alerts_follow)."""
    elders = [r.elder for r in visit.records if r.elder_id in before]
    contacts.recount_and_refresh(elders)
    limits = {**alerts.DEFAULT_THRESHOLDS, **(current_app.config.get("ALERT_THRESHOLDS") or {})}
    for rec in visit.records:
        if rec.elder_id in before:
            _alerts_follow(visit, rec, actor, *before[rec.elder_id], note=note, limits=limits)


def _alerts_follow(visit: Visit, rec: VisitRecord, actor: User, old_outcome: Outcome,
                   old_readings: tuple, *, note: str, limits: dict) -> None:
    """What a voided or corrected record means for the elder's alerts.

    A meeting that no longer counts reopens the overdue and no-answer alerts it had resolved
    (when the elder is not seen since); alerts the visit raised stay open with a note for a
    person to close; a record corrected to met resolves them as a visit would; corrected
    readings that are abnormal raise an alert. A closed elder's alerts are left alone."""
    counts = visit.voided_at is None and rec.outcome in MET_OUTCOMES
    now, elder = utcnow(), rec.elder
    if not elder.active:
        return  # a closed record's alerts were settled when it was closed
    for alert in db.session.scalars(select(Alert).where(Alert.elder_id == elder.id,
                                                        Alert.resolved_by_visit_id == visit.id)):
        if alert.kind in (AlertKind.OVERDUE, AlertKind.NO_ANSWER) and not counts:
            still = (elder.overdue_at is not None and elder.overdue_at < now
                     if alert.kind == AlertKind.OVERDUE else
                     elder.last_contact_at is None or elder.last_contact_at < alert.opened_at)
            if still:
                alerts.reopen(alert, actor, note)
    for alert in alerts.raised_by_visit(visit):
        if alert.elder_id == elder.id:
            alerts.add_note(alert, actor, note + _readings_note(rec, old_readings))
    if visit.voided_at is not None:
        return
    if counts and old_outcome not in MET_OUTCOMES:
        for kind in (AlertKind.OVERDUE, AlertKind.NO_ANSWER):
            alert = alerts.unresolved(elder.id, kind)
            if alert is not None and visit.occurred_at >= alert.opened_at:
                alerts.resolve(alert, actor=actor, visit=visit, note=note)
    elif rec.outcome == Outcome.NO_ANSWER and old_outcome != Outcome.NO_ANSWER \
            and visit.method != VisitMethod.PHONE:
        alerts.no_answer(elder, visit)
    called_for = alerts.readings_alert(rec, limits)
    if called_for is not None and (rec.systolic, rec.diastolic, rec.pulse) != old_readings:
        level, details = called_for
        alerts.raise_alert(elder, AlertKind.ABNORMAL, level, {**details, "visit_id": visit.id},
                           at=visit.occurred_at)


def _readings_note(rec: VisitRecord, old: tuple) -> str:
    new = (rec.systolic, rec.diastolic, rec.pulse)
    if new == old:
        return ""
    return " " + str(_l("Readings %(old)s → %(new)s.", old=_bp(old), new=_bp(new)))


def _bp(readings: tuple) -> str:
    systolic, diastolic, pulse = readings
    text = f"{systolic}/{diastolic}" if systolic is not None else "—"
    return f"{text} · {pulse}" if pulse is not None else text
