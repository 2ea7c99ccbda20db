"""The figures of finished months (per elder) and weeks (per grid), taken by the scan and kept,
so that the dashboard's trends and a past month's report read a few stored rows instead of
the visit history. A period's figures are taken again (at most hourly) until they are taken
after its end plus the window in which visits kept on phones may still arrive; from then on
they are final: a correction made later does not change a month already reported.
docs/DECISIONS.md, "The dashboard's queries at scale"."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, delete, insert, select

from carevisits.database import write_transaction
from carevisits.extensions import db
from carevisits.models import (
    CoveragePeriod,
    Elder,
    ElderMonth,
    GridWeek,
    Household,
    PeriodKind,
)
from carevisits.services.coverage_rules import (
    Reckoning,
    count_of,
    elder_figures,
    elders_in_grids,
    week_figures,
)
from carevisits.services.exports import Month
from carevisits.services.visit_times import QUEUED_WINDOW

REFRESH = timedelta(hours=1)  # how often figures not yet final are taken again
WEEKS = 12  # the trends' span


def week_spans(r: Reckoning) -> list[tuple[datetime, datetime]]:
    """The trends' weeks up to the reckoning moment, oldest first: local Monday to Monday,
    the last one cut at the reckoning moment."""
    monday = datetime.combine(r.day - timedelta(days=r.day.weekday()), datetime.min.time(),
                              r.zone)
    starts = [monday - timedelta(weeks=WEEKS - 1 - i) for i in range(WEEKS)]
    return [(s, min(s + timedelta(weeks=1), r.at)) for s in starts]


def period(kind: PeriodKind, start: datetime, end: datetime) -> CoveragePeriod | None:
    """The stored figures of a span, if they were taken."""
    return db.session.scalar(select(CoveragePeriod).where(
        CoveragePeriod.kind == kind, CoveragePeriod.starts_at == start,
        CoveragePeriod.ends_at == end))


def is_final(stored: CoveragePeriod) -> bool:
    """Whether no visit kept on a phone can still change the period's figures."""
    return stored.taken_at >= stored.ends_at + QUEUED_WINDOW


def _flag(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    return case((condition, True), else_=False)


MONTH_COLUMNS = ("elder_id", "grid_id", "care_level", "counted", "met", "paused", "closed",
                 "late", "never")
WEEK_COLUMNS = ("grid_id", "elders", "met", "on_schedule")


def month_rows(r: Reckoning) -> list[dict]:
    """The figures of a finished month, one row per elder added before its end (MONTH_COLUMNS)."""
    figures = elder_figures(r)
    query = elders_in_grids().add_columns(
        Elder.id, Household.grid_id, Elder.care_level,
        *[_flag(figures[k]) for k in ("elders", "met", "paused", "closed", "late", "never")]
    ).where(Elder.created_at < r.at)
    return [dict(zip(MONTH_COLUMNS, row, strict=True)) for row in db.session.execute(query)]


def week_rows(start: datetime, end: datetime, now: datetime, zone: ZoneInfo) -> list[dict]:
    """The figures of a finished week, one row per grid (WEEK_COLUMNS)."""
    figures = week_figures(start, end, now, zone)
    query = elders_in_grids().add_columns(
        Household.grid_id, *[count_of(figures[k]) for k in ("elders", "met", "on_schedule")]
    ).where(Elder.created_at < end).group_by(Household.grid_id)
    return [dict(zip(WEEK_COLUMNS, row, strict=True)) for row in db.session.execute(query)]


def store(kind: PeriodKind, start: datetime, end: datetime, rows: list[dict],
          now: datetime) -> CoveragePeriod:
    """Keep a period's rows (month_rows or week_rows) as taken at ``now``, in place of any
    taken before."""
    stored = period(kind, start, end)
    if stored is None:
        stored = CoveragePeriod(kind=kind, starts_at=start, ends_at=end, taken_at=now)
        db.session.add(stored)
    else:
        stored.taken_at = now
        for table in (ElderMonth, GridWeek):
            db.session.execute(delete(table).where(table.period_id == stored.id))
    db.session.flush()
    if rows:
        table = ElderMonth if kind == PeriodKind.MONTH else GridWeek
        db.session.execute(insert(table), [{**row, "period_id": stored.id} for row in rows])
    return stored


def _due(kind: PeriodKind, start: datetime, end: datetime, now: datetime) -> bool:
    stored = period(kind, start, end)
    return end < now and (stored is None or (not is_final(stored)
                                              and stored.taken_at <= now - REFRESH))


def take_finished(now: datetime, zone: ZoneInfo) -> int:
    """Take the figures the dashboard will read that are missing or not yet final: last
    month's, and the trends' finished weeks of this month and last; committed one period at
    a time. Each period is worked out in a read transaction and written in a write
    transaction of its own: on SQLite the write lock is held for the insert only, not for
    the seconds a month takes at 100,000 elders, so check-ins do not wait. Returns how many."""
    this_month = Month.of(now, zone)
    due = {}  # (kind, start, end) → how to work its rows out; the months share weeks
    for month in (this_month.previous(), this_month):
        r = Reckoning.of(month, now, zone)
        if not r.current and _due(PeriodKind.MONTH, r.start, r.end, now):
            due[PeriodKind.MONTH, r.start, r.end] = lambda r=r: month_rows(r)
        for start, end in week_spans(r):
            if _due(PeriodKind.WEEK, start, end, now):
                due[PeriodKind.WEEK, start, end] = (
                    lambda start=start, end=end: week_rows(start, end, now, zone))
    for (kind, start, end), rows_of in due.items():
        rows = rows_of()
        db.session.commit()  # the read ends here
        with write_transaction():
            store(kind, start, end, rows, now)
            db.session.commit()
    return len(due)
