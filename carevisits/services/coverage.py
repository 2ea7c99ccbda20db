"""Visit coverage for the coordinator's dashboard and the monthly report: who was met this
month, who is on schedule, per street, community, grid and worker — each figure a few
set-based statements grouped by level, scoped to what the user may see.

The rules (docs/DECISIONS.md, "The dashboard's figures"):

- A *contact* is what moves the schedule (services/contacts.py ``recount``): a visit not
  voided, the elder met (MET_OUTCOMES), a phone call only where the street's policy counts
  it for the elder's care level.
- The *population* at a moment: elders on the register then (added before it, not closed on
  or before its local date) and not paused (the schedule rule now; the pause records for a
  past moment). Paused elders, and elders closed during the month, are shown apart.
- *Late*: now, the schedule rule (``schedule.state_clause``); at a past moment (the end of a
  past month, the end of a week), rebuilt from the contacts and today's policy.
- *On schedule*: met at least once and not overdue. A never-visited elder is due from the
  day they were registered, so 按时 is never 100% while first visits are owed.
- A grid's elders count once, in the row of its main worker of the month (the own worker who
  held it on the most days; :func:`main_workers`), so the worker rows add up to the whole; a
  colleague's cover, a grid shared or handed over are listed in the rows as such.
- A finished month's figures are read from what the scan stored (services/coverage_store.py)
  once it has; until then they are worked out from the visits, by the same rules.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ColumnElement, Select, and_, or_, select

from carevisits.extensions import db
from carevisits.models import (
    CareLevel,
    Community,
    Elder,
    ElderMonth,
    Grid,
    GridAssignment,
    Household,
    PeriodKind,
    Street,
    User,
)
from carevisits.services import coverage_store
from carevisits.services.coverage_rules import (
    Reckoning,
    count_of,
    day_of,
    elder_figures,
    elders_in_grids,
    late_at,
    met_between,
    population,
    sql_day,
)
from carevisits.services.scope import community_scope

__all__ = ["Reckoning", "day_of", "sql_day"]

FIGURES = ("elders", "met", "paused", "closed", "late", "never", "behind")
# The key of the worker table's row of grids no worker of their own held during the month.
NOBODY = 0


@dataclass
class Held:
    """A grid a worker held during the month (the days within it), and whose row counts its
    elders: theirs (``counted``), or the grid's main worker's (``main``, "" for nobody)."""

    grid: str
    first: date
    last: date
    cover: bool
    counted: bool
    main: str


@dataclass
class Row:
    """The figures of one street, community, grid or worker."""

    key: int
    name: str
    parent: str = ""
    elders: int = 0  # in the population at the reckoning moment
    met: int = 0  # of those, met at least once in the month
    paused: int = 0
    closed: int = 0  # closed during the month
    late: int = 0  # of the population, overdue (now, or at the month's end)
    never: int = 0  # of the population, never met
    behind: int = 0  # of the population, not on schedule: overdue or never met
    met_week: int = 0  # the month under way: of the population, met since this week's Monday
    by_level: dict = field(default_factory=dict)
    held: list[Held] = field(default_factory=list)  # a worker's grids of the month

    @property
    def rate(self) -> float | None:
        """Share of the population met this month (None: nobody to visit)."""
        return self.met / self.elders if self.elders else None

    @property
    def on_schedule(self) -> int:
        """Of the population, met at least once and not overdue."""
        return self.elders - self.behind

    @property
    def on_schedule_share(self) -> float | None:
        return self.on_schedule / self.elders if self.elders else None

    def add(self, values: dict[str, int]) -> None:
        for name, value in values.items():
            setattr(self, name, getattr(self, name) + int(value))


@dataclass
class Figures:
    """Every level's figures of one month in one area, added up from one statement."""

    total: Row
    street: list[Row]
    community: list[Row]
    grid: list[Row]
    workers: list[Row]


def scoped_grids(user: User, within: ColumnElement[bool] | None = None) -> Select:
    """SELECT (grid, community, street) of the user's scope (``within``: a further condition
    on Community/Grid), by community and grid name."""
    query = (select(Grid, Community, Street).join(Community, Grid.community_id == Community.id)
             .join(Street, Community.street_id == Street.id).where(community_scope(user))
             .order_by(Street.name, Community.name, Grid.name))
    return query if within is None else query.where(within)


def _by_grid_and_level(user: User, r: Reckoning, within: ColumnElement[bool] | None
                       ) -> Select:
    """SELECT (grid id, care level, one count per FIGURES) of the month in the user's scope:
    from the stored figures of a finished month, else from the rules over the register; for
    the month under way, also those met this week (the trends' last week)."""
    stored = None if r.current else coverage_store.period(PeriodKind.MONTH, r.start, r.end)
    if stored is not None:
        flags = [ElderMonth.counted, ElderMonth.met, ElderMonth.paused, ElderMonth.closed,
                 ElderMonth.late, ElderMonth.never, ElderMonth.late | ElderMonth.never]
        query = (select(ElderMonth.grid_id, ElderMonth.care_level, *map(count_of, flags))
                 .join(Grid, ElderMonth.grid_id == Grid.id)
                 .join(Community, Grid.community_id == Community.id)
                 .where(ElderMonth.period_id == stored.id)
                 .group_by(ElderMonth.grid_id, ElderMonth.care_level))
    else:
        figures = elder_figures(r)
        week = [figures["elders"] & met_between(coverage_store.week_spans(r)[-1][0], r.end,
                                                r.now)] if r.current else []
        query = (elders_in_grids().add_columns(
            Household.grid_id, Elder.care_level,
            *[count_of(c) for c in [*(figures[k] for k in FIGURES), *week]])
                 .where(Elder.created_at < r.at).group_by(Household.grid_id, Elder.care_level))
    query = query.where(community_scope(user))
    return query if within is None else query.where(within)


def figures(user: User, r: Reckoning, within: ColumnElement[bool] | None = None) -> Figures:
    """The figures of the user's scope (or of ``within`` it) at every level: the whole, per
    care level, street, community, grid and worker. Three statements, whatever the size."""
    total = Row(0, "")
    streets, communities, grids, above = {}, {}, {}, {}
    for grid, community, street in db.session.execute(scoped_grids(user, within)):
        streets.setdefault(street.id, Row(street.id, street.name))
        communities.setdefault(community.id, Row(community.id, community.name, street.name))
        grids[grid.id] = Row(grid.id, grid.name, community.name)
        above[grid.id] = (total, streets[street.id], communities[community.id], grids[grid.id])
    for grid_id, level, *counts in db.session.execute(_by_grid_and_level(user, r, within)):
        values = dict(zip([*FIGURES, "met_week"], counts, strict=False))
        for row in above[grid_id]:
            row.add(values)
        total.by_level.setdefault(CareLevel(level), Row(0, "")).add(values)
    return Figures(total, list(streets.values()), list(communities.values()),
                   list(grids.values()), _workers(r, grids))


def holds_on(day) -> ColumnElement[bool]:
    """SQL: the GridAssignment row is the one working its grid on ``day`` (a cover first)."""
    other = GridAssignment.__table__.alias("cover_in_force")
    cover_that_day = select(other.c.id).where(
        other.c.grid_id == GridAssignment.grid_id, other.c.cover, other.c.starts_on <= day,
        or_(other.c.ends_on.is_(None), other.c.ends_on >= day)).exists()
    return and_(GridAssignment.starts_on <= day,
                or_(GridAssignment.ends_on.is_(None), GridAssignment.ends_on >= day),
                or_(GridAssignment.cover, ~cover_that_day))


def _workers(r: Reckoning, grids: dict[int, Row]) -> list[Row]:
    """Per worker, by name: every figure of the grids they were the main worker of this month
    (each grid counted once, so that the rows add up to the whole), and every grid they held
    in it — their own, shared, handed over or covered — with its days. Then, if any, the row
    of grids nobody held as their own (key NOBODY)."""
    held = (select(GridAssignment.id, GridAssignment.user_id, User.display_name,
                   GridAssignment.grid_id, GridAssignment.cover, GridAssignment.starts_on,
                   GridAssignment.ends_on)
            .join(User, GridAssignment.user_id == User.id)
            .where(GridAssignment.grid_id.in_(list(grids)), GridAssignment.starts_on <= r.day,
                   or_(GridAssignment.ends_on.is_(None),
                       GridAssignment.ends_on >= r.first_day))
            .order_by(User.display_name, User.id, GridAssignment.starts_on, GridAssignment.id))
    spans, names = [], {}
    for assignment_id, user_id, name, grid_id, cover, starts_on, ends_on in db.session.execute(
            held):
        first, last = max(starts_on, r.first_day), min(ends_on or r.day, r.day)
        if first <= last:  # one ended on its first day held on no day
            names[user_id] = name
            spans.append((assignment_id, user_id, grid_id, cover, starts_on, first, last))
    main = main_workers(spans, r.day)
    rows = {user_id: Row(user_id, name) for user_id, name in names.items()}
    nobody = Row(NOBODY, "")
    for grid_id, grid in grids.items():
        (rows[main[grid_id]] if grid_id in main else nobody).add(
            {name: getattr(grid, name) for name in FIGURES})
    for _id, user_id, grid_id, cover, _starts, first, last in spans:
        rows[user_id].held.append(Held(
            f"{grids[grid_id].parent} · {grids[grid_id].name}", first, last, cover,
            counted=not cover and main.get(grid_id) == user_id,
            main=names.get(main.get(grid_id), "")))
    unheld = nobody.elders + nobody.paused + nobody.closed
    return [*rows.values(), *([nobody] if unheld else [])]


def main_workers(spans: list[tuple], day: date) -> dict[int, int]:
    """Grid id → its main worker of the month: of its own workers (covers never), the one who
    held it on the most days up to ``day``; on a tie the one holding it on ``day``, then the
    one who has held it longest. ``spans``: (assignment id, user id, grid id, cover, first
    day, first day in the month, last day in the month) as :func:`_workers` reads them."""
    days: dict[tuple[int, int], int] = defaultdict(int)
    since: dict[tuple[int, int], tuple] = {}
    for assignment_id, user_id, grid_id, cover, starts_on, first, last in spans:
        if not cover:
            key = grid_id, user_id
            days[key] += (last - first).days + 1
            since[key] = min(since.get(key, (starts_on, assignment_id)),
                             (starts_on, assignment_id))
    holding = {(g, u) for _a, u, g, cover, _s, _f, last in spans if not cover and last == day}
    best: dict[int, tuple] = {}
    for (grid_id, user_id), n in days.items():
        rank = (-n, (grid_id, user_id) not in holding, since[grid_id, user_id], user_id)
        if grid_id not in best or rank < best[grid_id]:
            best[grid_id] = rank
    return {grid_id: rank[-1] for grid_id, rank in best.items()}


def percent(share: float | None) -> float | None:
    """A share as the percentage every page and file shows, to a tenth (None: no elders)."""
    return None if share is None else round(share * 100, 1)


def late_elders(user: User, r: Reckoning) -> Select:
    """SELECT (community, grid, household number, address, building, unit, room, elder name,
    care level, last contact) of the population late at the reckoning moment (now: the
    schedule rule; a stored month: as stored), by community, grid and address. Columns, not
    objects: at 100,000 elders the list runs to thousands of rows."""
    query = (select(Community.name, Grid.name, Household.number, Household.address,
                    Household.building, Household.unit, Household.room, Elder.name,
                    Elder.care_level, Elder.last_contact_at).select_from(Elder)
             .join(Household, Elder.household_id == Household.id)
             .join(Grid, Household.grid_id == Grid.id)
             .join(Community, Grid.community_id == Community.id).where(community_scope(user))
             .order_by(Community.name, Grid.name, Household.address, Household.building,
                       Household.unit, Household.room, Elder.id))
    stored = None if r.current else coverage_store.period(PeriodKind.MONTH, r.start, r.end)
    if stored is not None:
        return query.join(ElderMonth, (ElderMonth.elder_id == Elder.id)
                          & (ElderMonth.period_id == stored.id)).where(ElderMonth.late)
    return query.where(population(r.at, r.now, r.zone), late_at(r.at, r.now))
