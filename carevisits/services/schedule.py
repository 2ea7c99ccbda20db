"""When each elder is due: the street's policy per care level, the elder's own interval,
pauses. Kept in columns (due_at, overdue_at, paused_until) at every change, so that due
lists and alert scans never read the visit history."""

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import select

from carevisits.extensions import db
from carevisits.models import CareLevel, CarePolicy, Community, Elder, ElderPause, Grid, Household
from carevisits.models.base import utcnow

# (interval in days, grace in hours) when a street has not set its own.
DEFAULT_POLICY = {
    CareLevel.KEY: (1, 6),
    CareLevel.FOCUS: (3, 12),
    CareLevel.GENERAL: (7, 24),
}


def street_policy(street_id: int) -> dict[CareLevel, tuple[int, int]]:
    """A street's (interval days, grace hours) per care level, defaults filled in."""
    policy = dict(DEFAULT_POLICY)
    for row in db.session.scalars(select(CarePolicy).where(CarePolicy.street_id == street_id)):
        policy[row.care_level] = (row.interval_days, row.grace_hours)
    return policy


def _streets_of(elders: list[Elder]) -> dict[int, int]:
    rows = db.session.execute(
        select(Elder.id, Community.street_id)
        .join(Household, Elder.household_id == Household.id)
        .join(Grid, Household.grid_id == Grid.id)
        .join(Community, Grid.community_id == Community.id)
        .where(Elder.id.in_([e.id for e in elders])))
    return {elder_id: street_id for elder_id, street_id in rows}


def refresh(elders: Iterable[Elder]) -> None:
    """Recompute due and overdue times from the last contact; never seen: due at once."""
    elders = list(elders)
    if not elders:
        return
    db.session.flush()
    streets = _streets_of(elders)
    policies: dict[int, dict] = {}
    for elder in elders:
        street_id = streets[elder.id]
        if street_id not in policies:
            policies[street_id] = street_policy(street_id)
        interval, grace = policies[street_id][elder.care_level]
        interval = elder.visit_interval_days or interval
        if elder.last_contact_at is None:  # new on the list: the first visit is due now
            elder.due_at = elder.created_at or utcnow()
        else:
            elder.due_at = elder.last_contact_at + timedelta(days=interval)
        elder.overdue_at = elder.due_at + timedelta(hours=grace)


def refresh_street(street_id: int) -> int:
    """Recompute every elder of a street (after its policy changed); returns how many."""
    elders = list(db.session.scalars(
        select(Elder).join(Household).join(Grid).join(Community)
        .where(Community.street_id == street_id)))
    refresh(elders)
    return len(elders)


def set_policy(street_id: int, care_level: CareLevel, interval_days: int,
               grace_hours: int) -> None:
    """Change a street's policy for one care level and move its elders' schedules."""
    row = db.session.scalar(select(CarePolicy).where(CarePolicy.street_id == street_id,
                                                     CarePolicy.care_level == care_level))
    if row is None:
        row = CarePolicy(street_id=street_id, care_level=care_level)
        db.session.add(row)
    row.interval_days, row.grace_hours = interval_days, grace_hours
    refresh_street(street_id)


def is_paused(elder: Elder, today: date) -> bool:
    """Whether visits are paused for the elder on that day."""
    return elder.paused_until is not None and elder.paused_until >= today


def pause(elder: Elder, *, reason: str, expected_end: date, actor, today: date) -> ElderPause:
    """Pause visits until the expected end (no overdue alert fires meanwhile)."""
    if expected_end < today:
        raise ValueError("expected_end before today")
    record = ElderPause(elder=elder, reason=reason.strip(), starts_on=today,
                        expected_end=expected_end, created_by=actor)
    db.session.add(record)
    elder.paused_until = expected_end
    return record


def end_pause(elder: Elder, now: datetime) -> None:
    """The elder is back: visits are due again from now."""
    for record in db.session.scalars(select(ElderPause).where(
            ElderPause.elder_id == elder.id, ElderPause.ended_at.is_(None))):
        record.ended_at = now
    elder.paused_until = None
    grace = elder.overdue_at - elder.due_at if elder.overdue_at and elder.due_at else \
        timedelta(hours=DEFAULT_POLICY[elder.care_level][1])
    elder.due_at, elder.overdue_at = now, now + grace
