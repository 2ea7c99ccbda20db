"""What a visit sets off, and what undoing it means, in one place.

A visit (at the door or on the phone) sets off: the services delivered and the requests raised
at it; the last contact of each elder it counts for, and their schedules; the alerts it
answers (overdue, no answer, signs of life, calls for help), opens or escalates (no answer at
the door, abnormal readings); and ``visit.recorded`` for other systems. Recording
(services/checkin.py, services/phone_calls.py), correcting and voiding
(services/corrections.py) all come here.

Undoing: after a correction or a void, the elders, their schedules and their open alerts are
where a fresh recording of the final values (for a void: no visit at all) would put them. Last
contacts are recounted from the visits that count and the schedules follow; "late" is
``schedule.state``; an alert the visit had answered opens again while its cause stands; an
alert that stood on the visit's own knock or reading is resolved, saying why; one the new
values call for is opened. Services are replaced or taken back. Requests raised at a voided
visit keep their own lifecycle, with a note for their owner. A closed elder's alerts are left
alone (they were settled when the record was closed)."""

from datetime import datetime
from typing import TYPE_CHECKING

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update

from carevisits.extensions import db
from carevisits.models import (
    MET_OUTCOMES,
    OPEN_REQUEST_STATUSES,
    Alert,
    AlertKind,
    AlertLevel,
    Delivery,
    Elder,
    Outcome,
    RequestEvent,
    RequestSource,
    ServiceRequest,
    User,
    Visit,
    VisitMethod,
    VisitRecord,
)
from carevisits.models.base import utcnow
from carevisits.services import alerts, contacts, integration_events, menus, requests, schedule

if TYPE_CHECKING:
    from carevisits.services.checkin import ElderRecordInput

# Answered by meeting the elder: undone when a meeting no longer counts (overdue aside: it
# follows the schedule).
MET_ANSWERS = (AlertKind.NO_ANSWER, AlertKind.EMERGENCY, *alerts.SIGN_OF_LIFE)
LEVELS = (AlertLevel.WARNING, AlertLevel.URGENT)  # lowest first


class GivenError(ValueError):
    """A service or a request given at a visit breaks a rule; the message names the elder."""


def thresholds() -> dict:
    """The reading thresholds in force: the defaults with the settings' ALERT_THRESHOLDS."""
    return {**alerts.DEFAULT_THRESHOLDS, **(current_app.config.get("ALERT_THRESHOLDS") or {})}


def readings_level(rec: VisitRecord, limits: dict) -> AlertLevel | None:
    """The level of abnormal-readings alert a record's readings call for (urgent at a crisis
    reading, alerts.readings_alert); None: no alert. The one rule for recording and
    correcting."""
    called_for = alerts.readings_alert(rec, limits)
    return called_for[0] if called_for is not None else None


def counts(method: VisitMethod, elder: Elder, outcome: Outcome | None) -> bool:
    """Whether a record with this outcome moves the elder's schedule (None: voided, never): the
    elder met; on the phone only where the street's policy counts calls."""
    if outcome not in MET_OUTCOMES:
        return False
    if method != VisitMethod.PHONE:
        return True
    return contacts.phone_policy(elder.household.grid.community.street_id)[elder.care_level]


def answered_kinds(method: VisitMethod, counted: bool) -> tuple[AlertKind, ...]:
    """The kinds of alert a meeting answers (alerts.answered_by_meeting), overdue whenever it
    counts for the schedule (a phone call: by the street's policy)."""
    kinds = alerts.answered_by_meeting(method)
    return (AlertKind.OVERDUE, *kinds) if counted and AlertKind.OVERDUE not in kinds else kinds


# --- recording ---------------------------------------------------------------------------

def give(visit: Visit, elder: Elder, rec: "ElderRecordInput", actor: User) -> None:
    """Keep the services delivered to an elder at a new visit (an elder met only) and the
    request raised for them; GivenError otherwise."""
    try:
        if rec.deliveries:
            if rec.outcome not in MET_OUTCOMES:
                raise menus.MenuError(_l("Services can only be delivered to an elder who was "
                                         "met."))
            menus.record_deliveries(visit, elder, rec.deliveries)
        if rec.request is not None:
            requests.raise_request(elder, kind=rec.request.kind,
                                   description=rec.request.description,
                                   request_class=rec.request.request_class,
                                   source=RequestSource.VISIT, actor=actor,
                                   visit_id=visit.id, at=visit.occurred_at)
    except (menus.MenuError, requests.RequestError) as err:
        raise GivenError(f"{elder.name}: {err}") from None


def recorded(visit: Visit, counted: list[Elder]) -> None:
    """What a new visit sets off once stored: the last contact of the elders it counts for
    moves forward and their schedules follow; its alerts; ``visit.recorded``."""
    if counted:
        _note_contact(counted, visit.occurred_at)
        schedule.refresh(counted)
    _new_visit_alerts(visit, {e.id for e in counted}, thresholds())
    integration_events.visit_event("visit.recorded", visit)


def _note_contact(elders: list[Elder], at: datetime) -> None:
    """Move the elders' last contact forward, never back (one atomic UPDATE)."""
    db.session.execute(
        update(Elder)
        .where(Elder.id.in_([e.id for e in elders]))
        .where(or_(Elder.last_contact_at.is_(None), Elder.last_contact_at < at))
        .values(last_contact_at=at)
        .execution_options(synchronize_session=False)
    )
    # What the database now holds (a concurrent visit may have moved it further), read back
    # for all of them in one statement.
    db.session.execute(select(Elder).where(Elder.id.in_([e.id for e in elders]))
                       .execution_options(populate_existing=True)).all()


def _new_visit_alerts(visit: Visit, counted: set[int], limits: dict) -> None:
    """Resolve what meeting the elders answers (one SELECT), open or escalate a no-answer at
    the door, and follow the readings."""
    kinds = {r.elder_id: answered_kinds(visit.method, r.elder_id in counted)
             for r in visit.records if r.outcome in MET_OUTCOMES}
    every_kind = list(dict.fromkeys(k for ks in kinds.values() for k in ks))
    answered = {(a.elder_id, a.kind): a for a in db.session.scalars(select(Alert).where(
        Alert.elder_id.in_(list(kinds)), Alert.kind.in_(every_kind),
        Alert.status.in_(alerts.UNRESOLVED)))} if kinds else {}
    for rec in visit.records:
        for kind in kinds.get(rec.elder_id, ()):
            alert = answered.get((rec.elder_id, kind))
            # Meeting the elder ends an overdue alert whenever it happened; but a meeting
            # queued offline from before an unanswered knock (or a silent meter, a missed
            # check-in, a call for help) does not answer it.
            if alert is not None and (kind == AlertKind.OVERDUE
                                      or visit.occurred_at >= alert.opened_at):
                alerts.resolve(alert, actor=visit.visitor, visit=visit, note=_met_note(visit))
        if rec.outcome == Outcome.NO_ANSWER and visit.method != VisitMethod.PHONE:
            alerts.no_answer(rec.elder, visit)
        if rec.systolic is not None or rec.pulse is not None:
            _reading_alert(visit, rec, limits)


def _met_note(visit: Visit) -> str:
    """The resolution of an alert that meeting the elder answered."""
    if visit.method == VisitMethod.PHONE:
        return str(_l("Resolved by a phone call that reached the elder."))
    return str(_l("Resolved by a visit that met the elder."))


def _reading_alert(visit: Visit, rec: VisitRecord, limits: dict) -> None:
    """Abnormal readings open (or add to) the alert; normal ones resolve the alert that stands
    on a reading taken before them."""
    level = readings_level(rec, limits)
    if level is not None:
        alerts.raise_alert(rec.elder, AlertKind.ABNORMAL, level, {
            "systolic": rec.systolic, "diastolic": rec.diastolic, "pulse": rec.pulse,
            "abnormal": alerts.abnormal_readings(rec, limits),
            "crisis": alerts.is_crisis(rec, limits), "visit_id": visit.id,
            "read_at": visit.occurred_at.isoformat()}, at=visit.occurred_at)
        return
    alert = alerts.unresolved(rec.elder_id, AlertKind.ABNORMAL)
    if alert is not None and _read_at(alert) <= visit.occurred_at:
        alerts.resolve(alert, actor=visit.visitor, visit=visit,
                       note=str(_l("Resolved by normal readings at a later visit.")))


def _read_at(alert: Alert) -> datetime:
    """When the reading an abnormal-readings alert stands on was taken (the latest added)."""
    read_at = (alert.details or {}).get("read_at")
    return datetime.fromisoformat(read_at) if read_at else alert.opened_at


# --- correcting and voiding --------------------------------------------------------------

def replace_deliveries(visit: Visit, elder: Elder,
                       given: list[menus.DeliveryInput]) -> tuple[dict, dict] | None:
    """Replace the services delivered to an elder at a visit by ``given`` (none: take them
    back); the services before and after as name → quantity, None when nothing changed."""
    old = _delivered(visit, elder)
    if {g.item_id: g.quantity for g in given} == {i: d.quantity for i, d in old.items()}:
        return None
    before = {d.item.name: d.quantity for d in old.values()}
    for delivery in old.values():
        db.session.delete(delivery)
    db.session.flush()
    if not given:
        return before, {}
    try:
        menus.record_deliveries(visit, elder, given)
    except menus.MenuError as err:
        raise GivenError(f"{elder.name}: {err}") from None
    db.session.flush()
    return before, {d.item.name: d.quantity for d in _delivered(visit, elder).values()}


def _delivered(visit: Visit, elder: Elder) -> dict[int, Delivery]:
    """The services delivered to the elder at the visit, by service item."""
    return {d.item_id: d for d in db.session.scalars(select(Delivery).where(
        Delivery.visit_id == visit.id, Delivery.elder_id == elder.id))}


def changed(visit: Visit, actor: User, before: dict[int, tuple[Outcome, tuple]],
            note: str) -> None:
    """Undo what the changed records of a corrected or voided visit set off and set off what
    they hold now (see the module's docstring). ``before``: elder id → (outcome, (systolic,
    diastolic, pulse)) as recorded before the change; ``note`` goes on every alert touched."""
    changed_records = [r for r in visit.records if r.elder_id in before]
    contacts.recount_and_refresh([r.elder for r in changed_records])
    limits, now = thresholds(), utcnow()
    notes = {}
    for rec in changed_records:
        outcome, readings = before[rec.elder_id]
        notes[rec.elder_id] = note + _readings_note(readings, _readings(visit, rec))
        if rec.elder.active:
            _follow_outcome(visit, rec, actor, outcome, note, now)
            _follow_readings(visit, rec, actor, readings, notes[rec.elder_id], limits)
    for alert in alerts.raised_by_visit(visit):  # still open: whoever works it reads why
        if alert.elder_id in notes and alert.elder.active:
            alerts.add_note(alert, actor, notes[alert.elder_id])
    if visit.voided_at is not None:
        _note_requests(visit, actor, note)
    integration_events.visit_event(
        "visit.voided" if visit.voided_at is not None else "visit.corrected", visit)


def _readings(visit: Visit, rec: VisitRecord) -> tuple:
    """A record's readings as they count now: none at a voided visit."""
    if visit.voided_at is not None:
        return None, None, None
    return rec.systolic, rec.diastolic, rec.pulse


def _follow_outcome(visit: Visit, rec: VisitRecord, actor: User, old: Outcome, note: str,
                    now: datetime) -> None:
    """The alerts a changed outcome answers or no longer answers, and a knock nobody
    answered; the overdue alert follows schedule.state."""
    elder, outcome = rec.elder, None if visit.voided_at is not None else rec.outcome
    counted, was_counted = (counts(visit.method, elder, o) for o in (outcome, old))
    late = schedule.state(elder, now) == schedule.State.LATE
    overdue = alerts.unresolved(elder.id, AlertKind.OVERDUE)
    if was_counted and not counted and late:
        for alert in _resolved_by(visit, elder, (AlertKind.OVERDUE,)):
            alerts.reopen(alert, actor, note)
    elif counted and not was_counted and not late and overdue is not None:
        alerts.resolve(overdue, actor=actor, visit=visit, note=note)
    met, was_met = outcome in MET_OUTCOMES, old in MET_OUTCOMES
    if was_met and not met:
        for alert in _resolved_by(visit, elder, MET_ANSWERS):
            if not _raised_here(alert, visit) and not _answered_since(elder, alert):
                alerts.reopen(alert, actor, note)
    elif met and not was_met:
        for kind in answered_kinds(visit.method, counted):
            alert = alerts.unresolved(elder.id, kind)
            if kind != AlertKind.OVERDUE and alert is not None \
                    and visit.occurred_at >= alert.opened_at:
                alerts.resolve(alert, actor=actor, visit=visit, note=note)
    knocked = outcome == Outcome.NO_ANSWER and visit.method != VisitMethod.PHONE
    if knocked and old != Outcome.NO_ANSWER:
        alerts.no_answer(elder, visit)
    elif old == Outcome.NO_ANSWER and not knocked:
        _withdraw(visit, alerts.unresolved(elder.id, AlertKind.NO_ANSWER), actor, note)


def _follow_readings(visit: Visit, rec: VisitRecord, actor: User, old: tuple, note: str,
                     limits: dict) -> None:
    """Changed readings: abnormal ones open, add to or set the level of the alert as a
    fresh recording would; normal ones resolve it; none left withdraw the alert that stood
    on them and reopen the one they had resolved."""
    new = _readings(visit, rec)
    if new == old:
        return
    elder = rec.elder
    alert = alerts.unresolved(elder.id, AlertKind.ABNORMAL)
    level = readings_level(rec, limits) if new != (None, None, None) else None
    if level is not None:
        if alert is not None and _raised_here(alert, visit) \
                and LEVELS.index(level) < LEVELS.index(alert.level):
            alert.level = level  # it stood on this reading alone (raise_alert only raises)
        _reading_alert(visit, rec, limits)
    elif new[0] is not None or new[2] is not None:  # normal readings now
        if alert is not None and _read_at(alert) <= visit.occurred_at:
            alerts.resolve(alert, actor=actor, visit=visit, note=note)
    else:
        _withdraw(visit, alert, actor, note)
        for earlier in _resolved_by(visit, elder, (AlertKind.ABNORMAL,)):
            if not _raised_here(earlier, visit) and not _read_since(elder, earlier, visit):
                alerts.reopen(earlier, actor, note)


def _resolved_by(visit: Visit, elder: Elder, kinds: tuple[AlertKind, ...]) -> list[Alert]:
    """The elder's alerts of these kinds that this visit resolved."""
    return list(db.session.scalars(select(Alert).where(
        Alert.elder_id == elder.id, Alert.kind.in_(kinds), Alert.resolved_by_visit_id == visit.id)))


def _raised_here(alert: Alert, visit: Visit) -> bool:
    """Whether the alert was opened by this visit and nothing later added to it."""
    return (alert.details or {}).get("visit_id") == visit.id \
        and alert.opened_at == visit.occurred_at


def _withdraw(visit: Visit, alert: Alert | None, actor: User, note: str) -> None:
    """Resolve an open alert that stood on this visit's knock or reading alone; one an
    earlier visit opened stays open (changed() adds the note)."""
    if alert is not None and _raised_here(alert, visit):
        alerts.resolve(alert, actor=actor, note=note)


def _answered_since(elder: Elder, alert: Alert) -> bool:
    """Whether another contact (or, for a sign-of-life alert, the elder's own check-in) came
    at or after the alert opened; read after the recount."""
    seen = [elder.last_contact_at]
    if alert.kind in alerts.SIGN_OF_LIFE:
        seen.append(elder.last_checkin_at)
    return any(at is not None and at >= alert.opened_at for at in seen)


def _read_since(elder: Elder, alert: Alert, visit: Visit) -> bool:
    """Whether readings of another visit that counts were taken since the alert's reading."""
    return db.session.scalar(
        select(VisitRecord.id).join(Visit, VisitRecord.visit_id == Visit.id)
        .where(VisitRecord.elder_id == elder.id, Visit.id != visit.id,
               Visit.voided_at.is_(None), Visit.occurred_at >= _read_at(alert),
               or_(VisitRecord.systolic.is_not(None), VisitRecord.pulse.is_not(None)))
        .limit(1)) is not None


def _note_requests(visit: Visit, actor: User, note: str) -> None:
    """Requests raised at a voided visit keep their lifecycle (a need, once told, is its
    owner's to close); the owner reads why in a note."""
    for request in db.session.scalars(select(ServiceRequest).where(
            ServiceRequest.visit_id == visit.id,
            ServiceRequest.status.in_(OPEN_REQUEST_STATUSES))):
        request.events.append(RequestEvent(actor=actor, status=request.status, note=note))


def _readings_note(old: tuple, new: tuple) -> str:
    """The readings change ("Readings old → new.") for the alerts' notes; "" when none."""
    if new == old:
        return ""
    return " " + str(_l("Readings %(old)s → %(new)s.", old=_bp(old), new=_bp(new)))


def _bp(readings: tuple) -> str:
    """(systolic, diastolic, pulse) as 182/108 · 80, — for none."""
    systolic, diastolic, pulse = readings
    text = f"{systolic}/{diastolic}" if systolic is not None else "—"
    return f"{text} · {pulse}" if pulse is not None else text
