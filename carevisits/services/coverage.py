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
- A worker's row adds up the grids they held during the month (own or cover) for elders and
  met, and the grids they work on the reckoning day (a cover first) for overdue and never
  met.
- A finished month's figures are read from what the scan stored (services/coverage_store.py)
  once it has; until then they are worked out from the visits, by the same rules.
"""

from collections import defaultdict
from dataclasses import dataclass, field

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

FIGURES = ("elders", "met", "paused", "closed", "late", "never")


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
    scheduled: int | None = None  # whom late/never are counted over, if not ``elders``
    met_week: int = 0  # the month under way: of the population, met since this week's Monday
    by_level: dict = field(default_factory=dict)

    @property
    def rate(self) -> float | None:
        """Share of the population met this month (None: nobody to visit)."""
        return self.met / self.elders if self.elders else None

    @property
    def scheduled_elders(self) -> int:
        return self.elders if self.scheduled is None else self.scheduled

    @property
    def on_schedule(self) -> int:
        return self.scheduled_elders - self.late

    @property
    def on_schedule_share(self) -> float | None:
        return self.on_schedule / self.scheduled_elders if self.scheduled_elders else None

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
                 ElderMonth.late, ElderMonth.never]
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
    """Per worker, by name: the elders of the grids they held during the month and how many
    were met; overdue and never met among the grids they work on the reckoning day."""
    held = (select(User.id, User.display_name, GridAssignment.grid_id, holds_on(r.day))
            .join(User, GridAssignment.user_id == User.id)
            .where(GridAssignment.grid_id.in_(list(grids)), GridAssignment.starts_on <= r.day,
                   or_(GridAssignment.ends_on.is_(None),
                       GridAssignment.ends_on >= r.first_day))
            .order_by(User.display_name, User.id))
    month, today = defaultdict(set), defaultdict(set)
    names = {}
    for user_id, name, grid_id, working in db.session.execute(held):
        names[user_id] = name
        month[user_id].add(grid_id)
        if working:
            today[user_id].add(grid_id)
    rows = []
    for user_id, name in names.items():
        row = Row(user_id, name, scheduled=0)
        for grid_id in month[user_id]:
            row.add({"elders": grids[grid_id].elders, "met": grids[grid_id].met})
        for grid_id in today[user_id]:
            g = grids[grid_id]
            row.add({"scheduled": g.elders, "late": g.late, "never": g.never})
        rows.append(row)
    return rows


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
