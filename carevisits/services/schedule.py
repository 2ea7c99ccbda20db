"""When each elder is due: the street's policy per care level, the elder's own interval,
pauses. Kept in columns (due_at, overdue_at, paused_until) at every change, so that due
lists and alert scans never read the visit history.

One rule reads those columns: :func:`state` (an elder at a moment) and its SQL twin
:func:`state_clause` (for lists and scans) decide paused / ok / due / late for every page,
badge and scan — pauses in local dates, due and overdue at the stored instants, inclusive."""

import enum
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm.attributes import set_committed_value

from carevisits.extensions import db
from carevisits.i18n import local_date
from carevisits.models import CareLevel, CarePolicy, Community, Elder, ElderPause, Grid, Household

# (interval in days, grace in hours) when a street has not set its own.
DEFAULT_POLICY = {
    CareLevel.KEY: (1, 6),
    CareLevel.FOCUS: (3, 12),
    CareLevel.GENERAL: (7, 24),
}


def street_policy(street_id: int) -> dict[CareLevel, tuple[int, int]]:
    """A street's (interval days, grace hours) per care level, defaults filled in."""
    return street_policies([street_id])[street_id]


def street_policies(street_ids: list[int]) -> dict[int, dict[CareLevel, tuple[int, int]]]:
    """:func:`street_policy` of several streets, in one statement."""
    policies = {street_id: dict(DEFAULT_POLICY) for street_id in street_ids}
    for row in db.session.scalars(select(CarePolicy).where(CarePolicy.street_id.in_(street_ids))):
        policies[row.street_id][row.care_level] = (row.interval_days, row.grace_hours)
    return policies


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
    rows = []
    for elder in elders:
        street_id = streets[elder.id]
        if street_id not in policies:
            policies[street_id] = street_policy(street_id)
        interval, grace = policies[street_id][elder.care_level]
        interval = elder.visit_interval_days or interval
        if elder.last_contact_at is None:  # new on the list: the first visit is due now
            due = elder.created_at  # set by the flush above
        else:
            due = elder.last_contact_at + timedelta(days=interval)
        rows.append({"id": elder.id, "due_at": due, "overdue_at": due + timedelta(hours=grace)})
    db.session.execute(update(Elder), rows)  # by primary key: one statement for them all
    for elder, row in zip(elders, rows, strict=True):
        set_committed_value(elder, "due_at", row["due_at"])
        set_committed_value(elder, "overdue_at", row["overdue_at"])


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


class State(enum.StrEnum):
    """Where an elder stands with their visits at a moment."""

    PAUSED = "paused"  # away until paused_until (a local date, inclusive)
    OK = "ok"  # not yet due
    DUE = "due"  # due_at has come, overdue_at not yet
    LATE = "late"  # overdue_at has come (or no schedule at all): the scan opens an alert


def state(elder: Elder, now: datetime) -> State:
    """The elder's schedule state at ``now``; the pause is read in the local date of ``now``."""
    if elder.paused_until is not None and elder.paused_until >= local_date(now):
        return State.PAUSED
    if elder.overdue_at is None or elder.overdue_at <= now:
        return State.LATE
    if elder.due_at is not None and elder.due_at <= now:
        return State.DUE
    return State.OK


def state_clause(wanted: State, now: datetime) -> ColumnElement[bool]:
    """SQL twin of :func:`state`: elders in state ``wanted`` at ``now`` (indexed comparisons)."""
    paused = Elder.paused_until.is_not(None) & (Elder.paused_until >= local_date(now))
    late = Elder.overdue_at.is_(None) | (Elder.overdue_at <= now)
    due = Elder.due_at.is_not(None) & (Elder.due_at <= now)
    return {State.PAUSED: paused, State.LATE: ~paused & late,
            State.DUE: ~paused & ~late & due, State.OK: ~paused & ~late & ~due}[wanted]


def days_until_due(elder: Elder, now: datetime) -> int | None:
    """Local calendar days from ``now`` to the due date (0: due later today); None unscheduled."""
    if elder.due_at is None:
        return None
    return (local_date(elder.due_at) - local_date(now)).days


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
    """The elder is back: visits are due again from now, with the street's grace period."""
    for record in db.session.scalars(select(ElderPause).where(
            ElderPause.elder_id == elder.id, ElderPause.ended_at.is_(None))):
        record.ended_at = now
    elder.paused_until = None
    db.session.flush()
    _interval, grace = street_policy(_streets_of([elder])[elder.id])[elder.care_level]
    elder.due_at, elder.overdue_at = now, now + timedelta(hours=grace)
