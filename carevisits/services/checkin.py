"""Check-in: record one visit to a household with a record per elder, exactly once."""

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from carevisits.extensions import db
from carevisits.models import (
    MET_OUTCOMES,
    DoorCode,
    Elder,
    Household,
    Mood,
    Outcome,
    RequestClass,
    Role,
    Roster,
    User,
    Visit,
    VisitMethod,
    VisitRecord,
)
from carevisits.models.base import utcnow
from carevisits.services import audit, menus, visit_effects, visit_times
from carevisits.services.scope import can_see_household

# A volunteer's visit counts for hours: from a quick look-in to a long afternoon.
VISIT_MINUTES_RANGE = (5, 480)
# Plausible readings for a home visit; anything outside is a typing mistake.
SYSTOLIC_RANGE = (60, 260)
DIASTOLIC_RANGE = (30, 160)
PULSE_RANGE = (30, 220)
NOTES_MAX = 1000
REASON_MAX = 200


def new_idempotency_key() -> str:
    """A fresh key for one check-in form; a resend of the same form reuses it."""
    return secrets.token_urlsafe(18)


class CheckInError(ValueError):
    """A check-in that cannot be recorded; the message is for the visitor."""


@dataclass
class RequestInput:
    """A need raised for an elder during the visit."""

    kind: str
    description: str
    request_class: RequestClass


@dataclass
class ElderRecordInput:
    """What the visitor recorded for one elder."""

    elder_id: int
    outcome: Outcome
    systolic: int | None = None
    diastolic: int | None = None
    pulse: int | None = None
    mood: Mood | None = None
    notes: str = ""
    deliveries: list[menus.DeliveryInput] = field(default_factory=list)
    request: RequestInput | None = None


def _in_range(value: int | None, bounds: tuple[int, int]) -> bool:
    return value is None or bounds[0] <= value <= bounds[1]


def check_record(rec: ElderRecordInput) -> None:
    """Raise CheckInError for readings no one could have taken."""
    if not _in_range(rec.systolic, SYSTOLIC_RANGE) or not _in_range(rec.diastolic, DIASTOLIC_RANGE):
        raise CheckInError(_l("Blood pressure out of range."))
    if (rec.systolic is None) != (rec.diastolic is None):
        raise CheckInError(_l("Enter both blood pressure numbers, or neither."))
    if rec.systolic is not None and rec.systolic <= rec.diastolic:
        raise CheckInError(_l("The upper blood pressure must be above the lower."))
    if not _in_range(rec.pulse, PULSE_RANGE):
        raise CheckInError(_l("Pulse out of range."))
    if len(rec.notes) > NOTES_MAX:
        raise CheckInError(_l("Notes are limited to %(n)d characters.", n=NOTES_MAX))
    if rec.outcome not in MET_OUTCOMES and (rec.systolic or rec.pulse or rec.mood):
        raise CheckInError(_l("Readings can only be recorded for an elder who was met."))


def find_visit(idempotency_key: str) -> Visit | None:
    """The visit already recorded under this key, if any."""
    return db.session.scalar(select(Visit).where(Visit.idempotency_key == idempotency_key))


def record_visit(*, visitor: User, household: Household, records: list[ElderRecordInput],
                 idempotency_key: str, method: VisitMethod, door_code: DoorCode | None = None,
                 manual_reason: str = "", client_time: datetime | None = None,
                 roster: Roster | None = None, duration_minutes: int | None = None,
                 visited_at: datetime | None = None, queued: bool = False,
                 waited: timedelta | None = None) -> tuple[Visit, bool]:
    """Record a visit and return it with True, or the earlier visit with this key and False.

    A volunteer visits for a roster: readings only where it allows them, and the visit's
    minutes (or the roster's default) count toward their hours. ``visited_at``: a visit
    recorded late, at the time the visitor gives (marked as entered late). ``queued``: kept on
    the phone without signal and sent afterwards, ``waited`` that long by the phone's own
    clock (see ``visit_times``)."""
    existing = find_visit(idempotency_key)
    if existing is not None:
        return _same_visit(existing, visitor, household, records), False
    elders = _checked_elders(visitor, household, records, method, manual_reason)
    if visitor.role == Role.VOLUNTEER:
        duration_minutes = _volunteer_rules(roster, records, duration_minutes)
    else:
        roster, duration_minutes = None, None

    now = utcnow()
    if problem := visit_times.time_error(household, now, client_time, visited_at, queued,
                                         waited):
        raise CheckInError(problem)
    visit = Visit(
        household=household,
        visitor=visitor,
        door_code=door_code,
        method=method,
        manual_reason=manual_reason.strip(),
        server_time=now,
        client_time=client_time,
        occurred_at=visit_times.occurred_at(now, client_time, visited_at, queued, waited),
        entered_late=visited_at is not None,
        idempotency_key=idempotency_key,
        roster=roster,
        duration_minutes=duration_minutes,
    )
    visit.records = [
        VisitRecord(elder_id=r.elder_id, outcome=r.outcome, systolic=r.systolic,
                    diastolic=r.diastolic, pulse=r.pulse, mood=r.mood, notes=r.notes.strip())
        for r in records
    ]
    if not _stored(visit):
        return _same_visit(find_visit(idempotency_key), visitor, household, records), False
    for rec in records:
        try:
            visit_effects.give(visit, elders[rec.elder_id], rec, visitor)
        except visit_effects.GivenError as err:
            raise CheckInError(str(err)) from None
    visit_effects.recorded(visit, [elders[r.elder_id] for r in records
                                   if r.outcome in MET_OUTCOMES])
    audit.record(visitor, "visit.create", "household", household.id, visit_id=visit.id,
                 method=method.value)
    return visit, True


def _checked_elders(visitor: User, household: Household, records: list[ElderRecordInput],
                    method: VisitMethod, manual_reason: str) -> dict[int, Elder]:
    """The household's elders on the register by id, once the visit is known to be allowed
    and to hold one valid record for each of them; CheckInError otherwise."""
    if not can_see_household(visitor, household):
        raise CheckInError(_l("This household is not in your area."))
    if household.closed_at is not None:
        raise CheckInError(_l("This household is closed: no visit is recorded here."))
    elders = {e.id: e for e in household.elders if e.active}
    if not elders:
        raise CheckInError(_l("Nobody living here is on the register: there is no visit "
                              "to record."))
    if method == VisitMethod.MANUAL and not manual_reason.strip():
        raise CheckInError(_l("Say why the card was not scanned."))
    if len(manual_reason) > REASON_MAX:
        raise CheckInError(_l("The reason is limited to %(n)d characters.", n=REASON_MAX))
    given = {r.elder_id for r in records}
    if given != set(elders) or len(given) != len(records):
        raise CheckInError(_l("Record an outcome for every elder of this household."))
    for rec in records:
        check_record(rec)
    return elders


def _stored(visit: Visit) -> bool:
    """Insert the visit in a savepoint; False when the same form, sent twice at once, was
    stored first by the other request (losing that race must not end this one)."""
    try:
        with db.session.begin_nested():
            db.session.add(visit)
            db.session.flush()
    except IntegrityError:
        if find_visit(visit.idempotency_key) is None:
            raise
        return False
    return True


def _volunteer_rules(roster: Roster | None, records: list[ElderRecordInput],
                     minutes: int | None) -> int:
    """Check a volunteer's visit against its roster; return the minutes it counts."""
    if roster is None:
        raise CheckInError(_l("This household is not in your area."))
    if not roster.allow_observations and any(
            r.systolic is not None or r.diastolic is not None or r.pulse is not None
            or menus.any_takes_readings([d.item_id for d in r.deliveries]) for r in records):
        raise CheckInError(_l("Health readings are not recorded on this roster."))
    if minutes is None:
        return roster.visit_minutes
    low, high = VISIT_MINUTES_RANGE
    if not low <= minutes <= high:
        raise CheckInError(_l("Minutes must be between %(min)d and %(max)d.", min=low, max=high))
    return minutes


def _same_visit(existing: Visit, visitor: User, household: Household,
                records: list[ElderRecordInput]) -> Visit:
    """The earlier visit under a key, if this resend really is the same form."""
    if existing.visitor_id != visitor.id or existing.household_id != household.id:
        raise CheckInError(_l("This form was already used for another visit. Reload it."))
    if not is_resend(existing, visitor, {r.elder_id: r.outcome.value for r in records}):
        raise CheckInError(_l("This visit was already saved with other answers. To change "
                              "it, correct the saved visit."))
    return existing


def is_resend(visit: Visit, visitor: User, outcomes: dict[int, str]) -> bool:
    """Whether a form sent again under a visit's key is that visit (its answer was lost on
    the way): the same visitor, the same outcome for each elder."""
    return visit.visitor_id == visitor.id and outcomes == {
        r.elder_id: r.outcome.value for r in visit.records}
