"""Alerts: opened once per elder and kind, escalated, acknowledged, resolved — by people or
by the visit that removes their cause. Every step is kept as an AlertEvent."""

from collections.abc import Iterable
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Select, and_, case, exists, func, literal, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, joinedload

from carevisits.extensions import db
from carevisits.models import (
    Alert,
    AlertEvent,
    AlertKind,
    AlertLevel,
    AlertStatus,
    CareLevel,
    Elder,
    Grid,
    Household,
    Outcome,
    User,
    Visit,
    VisitMethod,
    VisitRecord,
)
from carevisits.models.base import UTCDateTime, utcnow
from carevisits.services import integration_events, notify, schedule
from carevisits.services.scope import household_scope

# The ladders: what responders do, in order, until someone sees the elder. A door nobody
# opens starts at the door; a flat where no water, power or door has moved for hours starts
# with the phone. Both end with the welfare check (the door opened by the community or the
# police), and climb the same way (ladder_step, record_step).
WELFARE_CHECK = _l("Ask the community or the police to open the door")
LADDERS = {
    AlertKind.NO_ANSWER: [_l("Knock again and ask the neighbours"), _l("Phone the elder"),
                          _l("Phone the emergency contact"), WELFARE_CHECK],
    AlertKind.NO_ACTIVITY: [_l("Phone the elder"), _l("Phone the emergency contact"),
                            _l("The grid worker knocks at the door"), WELFARE_CHECK],
}
# Alerts that any sign of the elder being well answers once it comes after them: a meeting
# at the door or on the phone, or the elder's own daily check-in.
SIGN_OF_LIFE = (AlertKind.NO_ACTIVITY, AlertKind.MISSED_CHECKIN)
# Readings that open an abnormal-observation alert (configurable via app config); at or
# above the crisis lines (a hypertensive crisis, docs/DECISIONS.md) the alert is urgent.
DEFAULT_THRESHOLDS = {"systolic_high": 160, "systolic_low": 90, "diastolic_high": 100,
                      "pulse_low": 50, "pulse_high": 120,
                      "systolic_crisis": 180, "diastolic_crisis": 110}
READINGS = ("systolic", "diastolic", "pulse")
UNRESOLVED = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)


def unresolved(elder_id: int, kind: AlertKind) -> Alert | None:
    """The elder's open or acknowledged alert of this kind, if any."""
    return db.session.scalar(select(Alert).where(
        Alert.elder_id == elder_id, Alert.kind == kind, Alert.status.in_(UNRESOLVED)))


def _event(alert: Alert, action: str, actor: User | None = None, note: str = "",
           at: datetime | None = None) -> None:
    alert.events.append(AlertEvent(actor=actor, action=action, note=note, at=at or utcnow()))


def raise_alert(elder: Elder, kind: AlertKind, level: AlertLevel, details: dict,
                at: datetime | None = None) -> Alert:
    """Open an alert, or raise the level of the one already open (never a second one)."""
    at = at or utcnow()
    alert = unresolved(elder.id, kind)
    if alert is None:
        try:
            with db.session.begin_nested():  # two requests at once: the index keeps one
                alert = Alert(elder=elder, kind=kind, level=level, details=details,
                              opened_at=at)
                db.session.add(alert)
                db.session.flush()
        except IntegrityError:
            alert = unresolved(elder.id, kind)
        else:
            _event(alert, "opened", at=at)
            notify.enqueue([alert.id])
            _publish("alert.opened", alert)
            return alert
    alert.details = {**alert.details, **details}
    if level == AlertLevel.URGENT and alert.level != AlertLevel.URGENT:
        alert.level = level
        _event(alert, "escalated", at=at)
        db.session.flush()
        notify.enqueue([alert.id])
    return alert


def acknowledge(alert: Alert, actor: User) -> bool:
    """Someone has taken the alert on; False if it was not open."""
    if alert.status != AlertStatus.OPEN:
        return False
    alert.status, alert.acknowledged_at, alert.acknowledged_by = (
        AlertStatus.ACKNOWLEDGED, utcnow(), actor)
    _event(alert, "acknowledged", actor)
    _publish("alert.acknowledged", alert)
    return True


def acknowledge_all(chosen: Iterable[Alert], actor: User) -> int:
    """Take several alerts on at once (those still open); returns how many were."""
    taken = sum(acknowledge(alert, actor) for alert in chosen)
    db.session.flush()
    return taken


def resolve(alert: Alert, *, actor: User | None, note: str, visit: Visit | None = None,
            at: datetime | None = None) -> None:
    """Close the alert with what was done; a visit that removed the cause may close it."""
    if alert.status == AlertStatus.RESOLVED:
        return
    alert.status, alert.resolved_at, alert.resolution = AlertStatus.RESOLVED, at or utcnow(), note
    alert.resolved_by, alert.resolved_by_visit_id = actor, visit.id if visit else None
    _event(alert, "resolved", actor, note, at=at)
    _publish("alert.resolved", alert)


def reopen(alert: Alert, actor: User | None, note: str) -> bool:
    """Open a resolved alert again (its cause came back); False if another of its kind is
    already open for the elder, or the elder's record is closed. The old resolution stays
    in the alert's history."""
    if (alert.status != AlertStatus.RESOLVED or not alert.elder.active
            or unresolved(alert.elder_id, alert.kind)):
        return False
    alert.status, alert.resolved_at, alert.resolution = AlertStatus.OPEN, None, ""
    alert.resolved_by, alert.resolved_by_visit_id = None, None
    alert.acknowledged_at, alert.acknowledged_by = None, None
    _event(alert, "reopened", actor, note)
    db.session.flush()
    notify.enqueue([alert.id])
    _publish("alert.opened", alert)
    return True


def _publish(event: str, alert: Alert) -> None:
    """Tell the integrations that may read the elder's alerts (services/integration_events)."""
    integration_events.publish_many(event, {alert.elder_id: integration_events.alert_payload(
        alert)})


def add_note(alert: Alert, actor: User | None, note: str) -> None:
    """Write something down in the alert's history without changing its state."""
    _event(alert, "note", actor, note)


def ladder(kind: AlertKind) -> list:
    """The rungs of the ladder responders climb for an alert of this kind (none: empty)."""
    return LADDERS.get(kind, [])


def record_step(alert: Alert, actor: User, note: str) -> None:
    """Tick off the next rung of the alert's ladder, with what happened."""
    if alert.ladder_step < len(ladder(alert.kind)):
        alert.ladder_step += 1
        _event(alert, "step", actor, f"{alert.ladder_step}: {note}".strip())
        acknowledge(alert, actor)


def answered_by_meeting(method: VisitMethod) -> tuple[AlertKind, ...]:
    """The kinds of alert that meeting the elder answers: at the door, a call for help
    and every sign-of-life alert besides overdue and no-answer; on the phone, the sign-of-life
    alerts only (whether a call counts toward the schedule is the street's policy:
    services/contacts.py)."""
    if method == VisitMethod.PHONE:
        return SIGN_OF_LIFE
    return (AlertKind.OVERDUE, AlertKind.NO_ANSWER, AlertKind.EMERGENCY, *SIGN_OF_LIFE)


def resolve_by_sign_of_life(elder: Elder, kinds: Iterable[AlertKind], at: datetime,
                            note: str) -> list[Alert]:
    """Close the elder's unresolved alerts of these kinds opened at or before ``at`` (a sign
    of life queued from before an alert does not answer it); returns them."""
    closed = list(db.session.scalars(select(Alert).where(
        Alert.elder_id == elder.id, Alert.kind.in_(list(kinds)), Alert.status.in_(UNRESOLVED),
        Alert.opened_at <= at)))
    for alert in closed:
        resolve(alert, actor=None, note=note, at=at)
    return closed


def no_answer(elder: Elder, visit: Visit) -> None:
    """Open or escalate the elder's no-answer alert after an unanswered knock."""
    if elder.last_contact_at is not None and visit.occurred_at <= elder.last_contact_at:
        return  # a knock queued offline from before the elder was last seen: no alarm
    # Since the elder was last seen (never: every knock). No datetime.min: in a zone east of
    # UTC (a time entered afterwards, in the users' zone) it cannot be stored.
    since = (true() if elder.last_contact_at is None
             else Visit.occurred_at > elder.last_contact_at)
    in_a_row = db.session.scalar(
        select(func.count()).select_from(VisitRecord).join(Visit)
        .where(VisitRecord.elder_id == elder.id, VisitRecord.outcome == Outcome.NO_ANSWER,
               since, Visit.voided_at.is_(None),
               Visit.method != VisitMethod.PHONE))  # knocks at the door only
    welfare = elder.care_level == CareLevel.KEY or in_a_row >= 2
    raise_alert(elder, AlertKind.NO_ANSWER, AlertLevel.URGENT if welfare else AlertLevel.WARNING,
                {"in_a_row": in_a_row, "welfare_check": welfare, "visit_id": visit.id},
                at=visit.occurred_at)


def normal_ranges(thresholds: dict | None = None) -> dict[str, tuple[int, int]]:
    """The whole-number readings that open no alert, as inclusive (lowest, highest) pairs:
    the one rule for the alert and for the door form's warning before saving.

    Systolic ≥ high or ≤ low, diastolic ≥ high, pulse < low or > high are abnormal."""
    limits = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    return {"systolic": (limits["systolic_low"] + 1, limits["systolic_high"] - 1),
            "diastolic": (0, limits["diastolic_high"] - 1),
            "pulse": (limits["pulse_low"], limits["pulse_high"])}


def crisis_lines(thresholds: dict | None = None) -> dict[str, int]:
    """The blood pressure at or above which a reading is a crisis (either number): the one
    rule for the alert's level and for the door form's advice while typing."""
    limits = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    return {"systolic": limits["systolic_crisis"], "diastolic": limits["diastolic_crisis"]}


def is_crisis(rec: VisitRecord, limits: dict) -> bool:
    """Whether a record's blood pressure is at or above a crisis line."""
    lines = crisis_lines(limits)
    return any(getattr(rec, name) is not None and getattr(rec, name) >= line
               for name, line in lines.items())


def readings_alert(rec: VisitRecord, limits: dict) -> tuple[AlertLevel, dict] | None:
    """The abnormal-readings alert a record calls for, as (level, details without the
    visit), or None when its readings are within the thresholds: urgent at a crisis."""
    abnormal = abnormal_readings(rec, limits)
    if not abnormal:
        return None
    crisis = is_crisis(rec, limits)
    return (AlertLevel.URGENT if crisis else AlertLevel.WARNING,
            {"systolic": rec.systolic, "diastolic": rec.diastolic, "pulse": rec.pulse,
             "abnormal": abnormal, "crisis": crisis})


def abnormal_readings(rec: VisitRecord, limits: dict) -> list[str]:
    """Which of a record's readings are out of the alert thresholds."""
    normal = normal_ranges(limits)
    values = {name: getattr(rec, name) for name in READINGS}
    return [name for name, value in values.items()
            if value is not None and not normal[name][0] <= value <= normal[name][1]]


def raised_by_visit(visit: Visit) -> list[Alert]:
    """The unresolved alerts this visit opened or added to (no-answer, abnormal readings)."""
    candidates = db.session.scalars(
        select(Alert).where(Alert.elder_id.in_([r.elder_id for r in visit.records]),
                            Alert.status.in_(UNRESOLVED))
        .order_by(Alert.elder_id, Alert.kind)).all()
    return [a for a in candidates if (a.details or {}).get("visit_id") == visit.id]


def scan_overdue(now: datetime, user: User | None = None) -> list[int]:
    """Open an overdue alert for every elder late at ``now`` (schedule.state) who has none.

    One INSERT … SELECT: its cost grows with the elders in scope, never with history.
    """
    level = case((Elder.care_level == CareLevel.KEY, literal(AlertLevel.URGENT.value)),
                 else_=literal(AlertLevel.WARNING.value))
    overdue = (select(Elder.id, level).join(Household, Elder.household_id == Household.id)
               .where(Elder.active, schedule.state_clause(schedule.State.LATE, now)))
    if user is not None:
        overdue = overdue.where(household_scope(user))
    return open_alerts(AlertKind.OVERDUE, overdue, now)


def open_alerts(kind: AlertKind, elders: Select, now: datetime) -> list[int]:
    """Open an alert of ``kind`` for each (elder id, level) row of ``elders`` that has none.

    ``elders`` selects from ``elder`` (joined as needed); the NOT EXISTS refers to it.

    Scans running at once on several hosts insert each alert once (the partial unique
    index with ON CONFLICT DO NOTHING). Returns the new alerts' ids.
    """
    has_alert = exists().where(Alert.elder_id == Elder.id, Alert.kind == kind,
                               Alert.status.in_(UNRESOLVED))
    # DISTINCT on the (elder, level) rows only: PostgreSQL cannot compare JSON values.
    rows = elders.where(~has_alert).distinct().subquery()
    source = select(*rows.c, literal(kind.value), literal(AlertStatus.OPEN.value), literal(0),
                    literal({}, JSON()), literal(now, UTCDateTime()),
                    literal("")).where(true())  # SQLite parses ON CONFLICT after a WHERE
    dialect = {"postgresql": postgresql, "sqlite": sqlite}[db.engine.dialect.name]
    statement = (dialect.insert(Alert)
                 .from_select(["elder_id", "level", "kind", "status", "ladder_step", "details",
                               "opened_at", "resolution"], source)
                 .on_conflict_do_nothing(index_elements=["elder_id", "kind"],
                                         index_where=Alert.status != AlertStatus.RESOLVED)
                 .returning(Alert.id, Alert.elder_id, Alert.level))
    new = db.session.execute(statement).all()
    new_ids = [row.id for row in new]
    if new_ids:
        db.session.execute(db.metadata.tables["alert_event"].insert(), [
            {"alert_id": i, "action": "opened", "note": "", "at": now} for i in new_ids])
        notify.enqueue(new_ids)
        integration_events.publish_many("alert.opened", {row.elder_id: {
            "alert_id": row.id, "elder_id": row.elder_id, "kind": kind.value,
            "level": AlertLevel(row.level).value, "status": AlertStatus.OPEN.value,
            "opened_at": now.isoformat()} for row in new})
    return new_ids


def for_board(query: Select) -> Select:
    """A board's alerts with the elder, address, grid and community loaded, ordered urgent
    first, then the oldest. An overdue alert counts from the moment its elder became
    overdue: the scan that opened it may have run long after (an elder nine days overdue
    must not sit behind yesterday's alerts)."""
    since = case((and_(Alert.kind == AlertKind.OVERDUE, Elder.overdue_at < Alert.opened_at),
                  Elder.overdue_at), else_=Alert.opened_at)
    urgent_first = case((Alert.level == AlertLevel.URGENT, 0), else_=1)
    return (query.options(contains_eager(Alert.elder).contains_eager(Elder.household)
                          .joinedload(Household.grid).joinedload(Grid.community),
                          joinedload(Alert.acknowledged_by))
            .order_by(None).order_by(urgent_first, since, Alert.id))


def visible_alerts(user: User):
    """SELECT of alerts on elders in the user's scope, newest first."""
    return (select(Alert).join(Elder, Alert.elder_id == Elder.id)
            .join(Household, Elder.household_id == Household.id)
            .where(household_scope(user)).order_by(Alert.opened_at.desc(), Alert.id.desc()))
