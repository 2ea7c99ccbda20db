"""The rules of the dashboard's figures as SQL clauses (services/coverage.py groups them by
level): the reckoning moment, local days in SQL, what a contact is, who is in the population,
paused, closed, late or never met. docs/DECISIONS.md, "The dashboard's figures"."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from carevisits.extensions import db
from carevisits.models import (
    MET_OUTCOMES,
    Community,
    Elder,
    ElderPause,
    Grid,
    Household,
    Visit,
    VisitMethod,
    VisitRecord,
)
from carevisits.models.base import UTCDateTime
from carevisits.services import contacts, schedule
from carevisits.services.exports import Month


def day_of(at: datetime, zone: ZoneInfo) -> date:
    """The local date a reckoning moment belongs to: a month's end (midnight) is its last day."""
    return (at - timedelta(microseconds=1)).astimezone(zone).date()


class local_day(FunctionElement):  # noqa: N801 — a SQL function, named like one
    """SQL: the local calendar date of a UTC timestamp column. PostgreSQL converts with the
    zone's rules; SQLite adds the zone's offset (China has kept UTC+8 since 1991)."""

    type = Date()
    inherit_cache = True


@compiles(local_day, "postgresql")
def _local_day_pg(element, compiler, **kw):
    column, zone = list(element.clauses)
    return (f"CAST(({compiler.process(column, **kw)} AT TIME ZONE "
            f"{compiler.process(zone, **kw)}) AS DATE)")


@compiles(local_day, "sqlite")
def _local_day_sqlite(element, compiler, **kw):
    column, offset = list(element.clauses)
    return f"date({compiler.process(column, **kw)}, {compiler.process(offset, **kw)})"


def sql_day(column, zone: ZoneInfo):
    """SQL: the local date of a UTC timestamp column, for the session's database."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        return local_day(column, literal(zone.key))
    minutes = int(datetime.now(zone).utcoffset().total_seconds() // 60)
    return local_day(column, literal(f"{minutes:+d} minutes"))


@dataclass
class Reckoning:
    """The month asked for and the moment its figures are taken at: the month's end, or now
    for the month under way."""

    month: Month
    start: datetime
    end: datetime
    at: datetime
    now: datetime
    zone: ZoneInfo

    @classmethod
    def of(cls, month: Month, now: datetime, zone: ZoneInfo) -> "Reckoning":
        start, end = month.bounds(zone)
        return cls(month, start, end, min(end, now), now, zone)

    @property
    def current(self) -> bool:
        """Whether the month is under way (its figures are "now")."""
        return self.at >= self.now

    @property
    def day(self) -> date:
        """The local date the figures are taken on (the month's last day, or today)."""
        return day_of(self.at, self.zone)

    @property
    def now_day(self) -> date:
        """Today's local date."""
        return self.now.astimezone(self.zone).date()

    @property
    def first_day(self) -> date:
        return self.start.astimezone(self.zone).date()




# PostgreSQL's memory for one hash in the statements that read past visits: their membership
# tests (met, late) are hashed only if the set of elders fits; with the default 4 MB a set of
# 100,000 elders did not, and each test read the whole set again for every elder (hours).
HASH_MEMORY = "256MB"


def _policies() -> dict:
    """The streets' visit and phone policies and the elders' own intervals, read once per
    transaction (a dashboard builds dozens of statements from them) — the statements that
    read past visits start here, so on PostgreSQL the transaction gets HASH_MEMORY too."""
    info, transaction = db.session.info, db.session().get_transaction()
    if transaction is None or info.get("coverage.transaction") is not transaction:
        if db.session.get_bind().dialect.name == "postgresql":
            db.session.execute(text(f"SET LOCAL work_mem = '{HASH_MEMORY}'"))
        streets = db.session.scalars(select(Community.street_id).distinct()).all()
        found = {"visits": schedule.street_policies(streets),
                 "phone": contacts.phone_policies(streets),
                 "overrides": [n for n in db.session.scalars(
                     select(Elder.visit_interval_days).distinct()) if n]}
        info["coverage.transaction"] = db.session().get_transaction()
        info["coverage.policies"] = found
    return info["coverage.policies"]


def _phone_counts() -> ColumnElement[bool]:
    """SQL on Elder and Community: whether a phone call counts as a contact for the elder,
    from each street's policy (services/contacts.py), built from the few policy rows."""
    pairs = [(street_id, level) for street_id, policy in _policies()["phone"].items()
             for level, counts in policy.items() if counts]
    if not pairs:
        return false()
    return or_(*[and_(Community.street_id == s, Elder.care_level == level) for s, level in pairs])


_names = count(1)


def contacts_between(start: datetime, end: datetime) -> Select:
    """SELECT (elder id, visit time, visitor, grid) of the contacts in [start, end): visits
    not voided, elder met, phone calls where they count. The range's visit records come
    first, as a materialised CTE read by the index on the visit time: otherwise the planners
    read each elder's whole history (bench/dashboard.py)."""
    ranged = (select(VisitRecord.elder_id, Visit.occurred_at, Visit.visitor_id, Visit.method)
              .join(VisitRecord, VisitRecord.visit_id == Visit.id)
              .where(Visit.occurred_at >= start, Visit.occurred_at < end,
                     Visit.voided_at.is_(None), VisitRecord.outcome.in_(MET_OUTCOMES))
              .cte(f"contacts_{next(_names)}").prefix_with("MATERIALIZED"))
    return (select(ranged.c.elder_id, ranged.c.occurred_at, ranged.c.visitor_id,
                   Household.grid_id)
            .select_from(ranged).join(Elder, Elder.id == ranged.c.elder_id)
            .join(Household, Elder.household_id == Household.id)
            .join(Grid, Household.grid_id == Grid.id)
            .join(Community, Grid.community_id == Community.id)
            .where(or_(ranged.c.method != VisitMethod.PHONE, _phone_counts())))


def met_between(start: datetime, end: datetime, now: datetime) -> ColumnElement[bool]:
    """SQL on Elder: met at least once in [start, end). A span reaching now is read from the
    elder's last contact (the latest contact there is); a past one from the visits."""
    if end >= now:
        return Elder.last_contact_at.is_not(None) & (Elder.last_contact_at >= start)
    contacts = contacts_between(start, end)
    return Elder.id.in_(contacts.with_only_columns(contacts.selected_columns[0])
                        .correlate(None))  # one list, not a lookup per elder


def closed_by(day: date) -> ColumnElement[bool]:
    """SQL on Elder: off the register on ``day`` (closed on it or before)."""
    return Elder.closed_reason.is_not(None) & (Elder.closed_on.is_(None) | (Elder.closed_on <= day))


def paused_at(at: datetime, now: datetime, zone: ZoneInfo) -> ColumnElement[bool]:
    """SQL on Elder: paused at ``at`` — the schedule rule now, the pause records before."""
    if at >= now:
        return schedule.state_clause(schedule.State.PAUSED, now)
    day = day_of(at, zone)
    return Elder.id.in_(select(ElderPause.elder_id).where(
        ElderPause.starts_on <= day, ElderPause.expected_end >= day,
        ElderPause.ended_at.is_(None) | (ElderPause.ended_at > at)))


def population(at: datetime, now: datetime, zone: ZoneInfo) -> ColumnElement[bool]:
    """SQL on Elder: on the register at ``at`` and not paused — whom a rate is taken over."""
    return and_(Elder.created_at < at, ~closed_by(day_of(at, zone)),
                ~paused_at(at, now, zone))


def _instant(moment: datetime):
    """A moment as a SQL value stored the way UTCDateTime columns are (UTC on SQLite too)."""
    return literal(moment, UTCDateTime())


def late_at(at: datetime, now: datetime) -> ColumnElement[bool]:
    """SQL on Elder (within a population): overdue at ``at``. Now: the schedule rule. Before:
    no contact within the interval and grace before ``at`` (today's policy, the elder's own
    interval first), and on the list longer than the grace."""
    if at >= now:
        return schedule.state_clause(schedule.State.LATE, now)
    windows, graces = [], []
    policies = _policies()
    overrides = policies["overrides"]
    for street_id, policy in policies["visits"].items():
        for level, (interval, grace) in policy.items():
            mine = and_(Community.street_id == street_id, Elder.care_level == level)
            graces.append((mine, _instant(at - timedelta(hours=grace))))
            for days in overrides:
                windows.append((mine & (Elder.visit_interval_days == days),
                                _instant(at - timedelta(days=days, hours=grace))))
            windows.append((mine, _instant(at - timedelta(days=interval, hours=grace))))
    if not windows:
        return false()
    earliest = min(t.value for _c, t in windows)
    contacts = contacts_between(earliest, at).subquery()
    recent = select(contacts.c.elder_id).join(Elder, Elder.id == contacts.c.elder_id) \
        .join(Household, Elder.household_id == Household.id) \
        .join(Grid, Household.grid_id == Grid.id) \
        .join(Community, Grid.community_id == Community.id) \
        .where(contacts.c.occurred_at >= case(*windows)).correlate(None)
    return and_(Elder.created_at <= case(*graces), Elder.id.not_in(recent))


def never_met(at: datetime, now: datetime) -> ColumnElement[bool]:
    """SQL on Elder: no contact ever, as of ``at``."""
    if at >= now:
        return Elder.last_contact_at.is_(None)
    # Met since but not before: the visits are read only for elders last met after the
    # moment (correlated with the enclosing statement's Elder and Community: the phone rule).
    before = exists(select(VisitRecord.id).join(Visit, VisitRecord.visit_id == Visit.id).where(
        VisitRecord.elder_id == Elder.id, Visit.occurred_at < at,
        Visit.voided_at.is_(None), VisitRecord.outcome.in_(MET_OUTCOMES),
        or_(Visit.method != VisitMethod.PHONE, _phone_counts())))
    return Elder.last_contact_at.is_(None) | ((Elder.last_contact_at >= at) & ~before)


def behind_at(at: datetime, now: datetime) -> ColumnElement[bool]:
    """SQL on Elder (within a population): not on schedule at ``at`` — overdue, or never met
    at all. A never-visited elder is due from the day they were registered: within the grace
    hours they are not yet overdue (no alert), but not on schedule either, so that 按时 is
    never 100% while first visits are still owed."""
    return late_at(at, now) | never_met(at, now)


def elder_household() -> ColumnElement[bool]:
    """The join of Elder to its Household for statements over many elders or their alerts:
    "+ 0" keeps SQLite's planner from starting at the scope's households and looking each
    elder up by index (four times slower at 100,000 elders; PostgreSQL hash-joins either
    way)."""
    return Household.id == Elder.household_id + 0


def elders_in_grids() -> Select:
    """SELECT of nothing yet FROM Elder joined to its Household, Grid and Community."""
    return (select().select_from(Elder).join(Household, elder_household())
            .join(Grid, Household.grid_id == Grid.id)
            .join(Community, Grid.community_id == Community.id))


def count_of(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """SQL aggregate: how many rows of the group meet the condition."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def closed_during(r: Reckoning) -> ColumnElement[bool]:
    """SQL on Elder: taken off the register during the month, up to the reckoning day."""
    return (Elder.closed_reason.is_not(None) & Elder.closed_on.is_not(None)
            & (Elder.closed_on >= r.first_day) & (Elder.closed_on <= r.day))


def elder_figures(r: Reckoning) -> dict[str, ColumnElement[bool]]:
    """SQL on Elder (Household, Grid and Community joined), one condition per figure: in the
    population, met in the month, paused, closed during it, overdue, never met, and not on
    schedule (overdue or never met: ``behind_at``). Over elders added before the reckoning
    moment."""
    pop = population(r.at, r.now, r.zone)
    late, never = late_at(r.at, r.now), never_met(r.at, r.now)
    return {"elders": pop, "met": pop & met_between(r.start, r.end, r.now),
            "paused": ~closed_by(r.day) & paused_at(r.at, r.now, r.zone),
            "closed": closed_during(r), "late": pop & late, "never": pop & never,
            "behind": pop & (late | never)}  # behind_at, its parts built once


def week_figures(start: datetime, end: datetime, now: datetime, zone: ZoneInfo
                 ) -> dict[str, ColumnElement[bool]]:
    """SQL on Elder (Household, Grid and Community joined) for a week of the trends: in the
    population at its end, met during it, on schedule at its end (met once and not overdue)."""
    pop = population(end, now, zone)
    return {"elders": pop, "met": pop & met_between(start, end, now),
            "on_schedule": pop & ~behind_at(end, now)}
