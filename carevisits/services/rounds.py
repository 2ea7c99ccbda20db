"""The worker's round and elder histories, read with a few set-based queries."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import contains_eager

from carevisits.extensions import db
from carevisits.models import (
    Community,
    Elder,
    Grid,
    GridAssignment,
    Household,
    Role,
    User,
    Visit,
    VisitRecord,
)
from carevisits.models.household import format_building
from carevisits.services import schedule
from carevisits.services.scope import scoped_elders


@dataclass
class Building:
    """One building of a round, with its elders longest-unseen first."""

    label: str
    elders: list[Elder] = field(default_factory=list)


def _round_query(user: User) -> Select:
    """The elders in scope with household, grid and community loaded: the most overdue
    first, then those due soonest. One indexed query; it never reads the visit history."""
    return (
        scoped_elders(user)
        .join(Grid, Household.grid_id == Grid.id).join(Community, Grid.community_id == Community.id)
        .options(contains_eager(Elder.household).contains_eager(Household.grid)
                 .contains_eager(Grid.community))
        .order_by(Elder.due_at.asc().nulls_first(), Household.building, Household.room)
    )


def _by_building(elders: Iterable[Elder]) -> list[Building]:
    buildings: dict[tuple[str, str], Building] = {}
    for elder in elders:
        hh = elder.household
        key = (hh.address, hh.building)
        if key not in buildings:
            buildings[key] = Building(label=format_building(hh.address, hh.building))
        buildings[key].elders.append(elder)
    # Dicts keep insertion order: buildings come in the order of their most unseen elder.
    return list(buildings.values())


def round_for(user: User) -> list[Building]:
    """The elders in the user's scope grouped by building: the most overdue first, then
    those due soonest."""
    return _by_building(db.session.scalars(_round_query(user)))


@dataclass
class RoundGroup:
    """A grid of a round (its elders by building) or a community (its grids), with how many
    elders it has and how many of them are overdue or due now."""

    label: str
    buildings: list[Building] = field(default_factory=list)
    groups: list["RoundGroup"] = field(default_factory=list)
    elders: int = 0
    overdue: int = 0
    due: int = 0
    covered_until: date | None = None  # a grid the worker covers for a colleague

    def urgency(self) -> tuple:
        """Sort key: the most overdue elders first, then the most due, then by name."""
        return (-self.overdue, -self.due, self.label)


def _grid_group(label: str, elders: list[Elder], now: datetime) -> RoundGroup:
    states = [schedule.state(e, now) for e in elders]  # the rule of every badge and scan
    return RoundGroup(label=label, buildings=_by_building(elders), elders=len(elders),
                      overdue=states.count(schedule.State.LATE),
                      due=states.count(schedule.State.DUE))


def _by_grid(elders: list[Elder]) -> dict[Grid, list[Elder]]:
    grids: dict[Grid, list[Elder]] = {}
    for elder in elders:
        grids.setdefault(elder.household.grid, []).append(elder)
    return grids


def round_groups(user: User, now: datetime, today: date) -> list[RoundGroup]:
    """The round in groups, the most urgent first: a coordinator's by community, then grid;
    a grid worker's by grid (one group when they work one grid). Within a grid the elders
    are by building, as :func:`round_for` has them."""
    grids = _by_grid(list(db.session.scalars(_round_query(user))))
    if user.role == Role.GRID_WORKER:
        covers = dict(db.session.execute(select(GridAssignment.grid_id, GridAssignment.ends_on)
                                         .where(GridAssignment.user_id == user.id,
                                                GridAssignment.cover,
                                                GridAssignment.in_force(today))).all())
        groups = [_grid_group(grid.label, elders, now) for grid, elders in grids.items()]
        for group, grid in zip(groups, grids, strict=True):
            group.covered_until = covers.get(grid.id)
        return sorted(groups, key=RoundGroup.urgency)
    communities: dict[int, RoundGroup] = {}
    for grid, elders in grids.items():
        group = _grid_group(grid.name, elders, now)
        parent = communities.setdefault(grid.community_id,
                                        RoundGroup(label=grid.community.name))
        parent.groups.append(group)
        parent.elders += group.elders
        parent.overdue += group.overdue
        parent.due += group.due
    for parent in communities.values():
        parent.groups.sort(key=RoundGroup.urgency)
    return sorted(communities.values(), key=RoundGroup.urgency)


def elder_history(elder: Elder) -> Select:
    """SELECT of an elder's visit records, newest first, with the visit and visitor loaded."""
    return (
        select(VisitRecord)
        .join(Visit, VisitRecord.visit_id == Visit.id)
        .options(contains_eager(VisitRecord.visit).joinedload(Visit.visitor))
        .where(VisitRecord.elder_id == elder.id)
        .order_by(Visit.occurred_at.desc(), Visit.id.desc())
    )


def last_records(elders: list[Elder]) -> dict[int, VisitRecord]:
    """Each elder's latest visit record, whatever its outcome, with visit and visitor loaded
    (for the door form), in one statement however many elders live there."""
    return {record.elder_id: record for record in db.session.scalars(
        _latest_records(), {"elders": [e.id for e in elders]})}


@cache
def _latest_records() -> Select:
    """The statement of :func:`last_records` (elder ids bound as ``elders``), built once."""
    newest_first = func.row_number().over(partition_by=VisitRecord.elder_id,
                                           order_by=(Visit.occurred_at.desc(), Visit.id.desc()))
    ranked = (select(VisitRecord.id, newest_first.label("n"))
              .join(Visit, VisitRecord.visit_id == Visit.id)
              .where(VisitRecord.elder_id.in_(bindparam("elders", expanding=True))).subquery())
    return (select(VisitRecord).join(ranked, ranked.c.id == VisitRecord.id)
            .join(Visit, VisitRecord.visit_id == Visit.id)
            .options(contains_eager(VisitRecord.visit).joinedload(Visit.visitor))
            .where(ranked.c.n == 1))
