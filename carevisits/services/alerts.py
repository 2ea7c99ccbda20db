"""Alerts: opened once per elder and kind, escalated, acknowledged, resolved — by people or
by the visit that removes their cause. Every step is kept as an AlertEvent."""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Select, case, exists, func, literal, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from carevisits.extensions import db
from carevisits.i18n import local_date
from carevisits.models import (
    MET_OUTCOMES,
    Alert,
    AlertEvent,
    AlertKind,
    AlertLevel,
    AlertStatus,
    CareLevel,
    Elder,
    Household,
    Outcome,
    User,
    Visit,
    VisitRecord,
)
from carevisits.models.base import UTCDateTime, utcnow
from carevisits.services import notify
from carevisits.services.scope import household_scope

# The no-answer ladder: what responders do, in order, until someone sees the elder.
LADDER = [
    _l("Knock again and ask the neighbours"),
    _l("Phone the elder"),
    _l("Phone the emergency contact"),
    _l("Ask the community or the police to open the door"),
]
# Readings that open an abnormal-observation alert (configurable via app config).
DEFAULT_THRESHOLDS = {"systolic_high": 160, "systolic_low": 90, "diastolic_high": 100,
                      "pulse_low": 50, "pulse_high": 120}
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
            return alert
    alert.details = {**alert.details, **details}
    if level == AlertLevel.URGENT and alert.level != AlertLevel.URGENT:
        alert.level = level
        _event(alert, "escalated", at=at)
        db.session.flush()
        notify.enqueue([alert.id])
    return alert


def acknowledge(alert: Alert, actor: User) -> None:
    """Someone has taken the alert on."""
    if alert.status == AlertStatus.OPEN:
        alert.status, alert.acknowledged_at, alert.acknowledged_by = (
            AlertStatus.ACKNOWLEDGED, utcnow(), actor)
        _event(alert, "acknowledged", actor)


def resolve(alert: Alert, *, actor: User | None, note: str, visit: Visit | None = None,
            at: datetime | None = None) -> None:
    """Close the alert with what was done; a visit that removed the cause may close it."""
    if alert.status == AlertStatus.RESOLVED:
        return
    alert.status, alert.resolved_at, alert.resolution = AlertStatus.RESOLVED, at or utcnow(), note
    alert.resolved_by, alert.resolved_by_visit_id = actor, visit.id if visit else None
    _event(alert, "resolved", actor, note, at=at)


def record_step(alert: Alert, actor: User, note: str) -> None:
    """Tick off the next rung of the no-answer ladder, with what happened."""
    if alert.ladder_step < len(LADDER):
        alert.ladder_step += 1
        _event(alert, "step", actor, f"{alert.ladder_step}: {note}".strip())
        acknowledge(alert, actor)


def after_visit(visit: Visit, thresholds: dict | None = None) -> None:
    """What a check-in means for the elders' alerts: resolve, open or escalate."""
    limits = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    for rec in visit.records:
        elder = rec.elder
        if rec.outcome in MET_OUTCOMES:
            for kind in (AlertKind.OVERDUE, AlertKind.NO_ANSWER):
                alert = unresolved(elder.id, kind)
                # Meeting the elder ends an overdue alert whenever it happened; but a
                # meeting queued offline from before an unanswered knock does not answer it.
                if alert is not None and (kind == AlertKind.OVERDUE
                                          or visit.occurred_at >= alert.opened_at):
                    resolve(alert, actor=visit.visitor, visit=visit,
                            note=str(_l("Resolved by a visit that met the elder.")))
        elif rec.outcome == Outcome.NO_ANSWER:
            _no_answer(elder, visit)
        _readings(elder, rec, visit, limits)


def _no_answer(elder: Elder, visit: Visit) -> None:
    if elder.last_contact_at is not None and visit.occurred_at <= elder.last_contact_at:
        return  # a knock queued offline from before the elder was last seen: no alarm
    since = elder.last_contact_at or datetime.min.replace(tzinfo=visit.occurred_at.tzinfo)
    in_a_row = db.session.scalar(
        select(func.count()).select_from(VisitRecord).join(Visit)
        .where(VisitRecord.elder_id == elder.id, VisitRecord.outcome == Outcome.NO_ANSWER,
               Visit.occurred_at > since))
    welfare = elder.care_level == CareLevel.KEY or in_a_row >= 2
    raise_alert(elder, AlertKind.NO_ANSWER, AlertLevel.URGENT if welfare else AlertLevel.WARNING,
                {"in_a_row": in_a_row, "welfare_check": welfare, "visit_id": visit.id},
                at=visit.occurred_at)


def _readings(elder: Elder, rec: VisitRecord, visit: Visit, limits: dict) -> None:
    if rec.systolic is None and rec.pulse is None:
        return
    abnormal = []
    if rec.systolic is not None and not limits["systolic_low"] < rec.systolic < \
            limits["systolic_high"]:
        abnormal.append("systolic")
    if rec.diastolic is not None and rec.diastolic >= limits["diastolic_high"]:
        abnormal.append("diastolic")
    if rec.pulse is not None and not limits["pulse_low"] <= rec.pulse <= limits["pulse_high"]:
        abnormal.append("pulse")
    if abnormal:
        raise_alert(elder, AlertKind.ABNORMAL, AlertLevel.WARNING,
                    {"systolic": rec.systolic, "diastolic": rec.diastolic, "pulse": rec.pulse,
                     "abnormal": abnormal, "visit_id": visit.id}, at=visit.occurred_at)
    else:
        alert = unresolved(elder.id, AlertKind.ABNORMAL)
        if alert is not None and visit.occurred_at >= alert.opened_at:
            resolve(alert, actor=visit.visitor, visit=visit,
                    note=str(_l("Resolved by normal readings at a later visit.")))


def scan_overdue(now: datetime, user: User | None = None) -> list[int]:
    """Open an overdue alert for every elder past due (and not paused) who has none.

    One INSERT … SELECT: its cost grows with the elders in scope, never with history.
    """
    level = case((Elder.care_level == CareLevel.KEY, literal(AlertLevel.URGENT.value)),
                 else_=literal(AlertLevel.WARNING.value))
    overdue = (select(Elder.id, level).join(Household, Elder.household_id == Household.id)
               .where(Elder.active, Elder.overdue_at < now,
                      (Elder.paused_until.is_(None)) | (Elder.paused_until < local_date(now))))
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
                 .returning(Alert.id))
    new_ids = list(db.session.scalars(statement))
    if new_ids:
        db.session.execute(db.metadata.tables["alert_event"].insert(), [
            {"alert_id": i, "action": "opened", "note": "", "at": now} for i in new_ids])
        notify.enqueue(new_ids)
    return new_ids


def visible_alerts(user: User):
    """SELECT of alerts on elders in the user's scope, newest first."""
    return (select(Alert).join(Elder, Alert.elder_id == Elder.id)
            .join(Household, Elder.household_id == Household.id)
            .where(household_scope(user)).order_by(Alert.opened_at.desc(), Alert.id.desc()))
