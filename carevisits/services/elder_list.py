"""The register as a list: the elders of a user's scope, filtered by area, care level and
status, with the grid's worker of today — a few set-based queries whatever the page size."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import contains_eager

from carevisits.extensions import db
from carevisits.i18n import local_zone
from carevisits.models import CareLevel, Community, Elder, Grid, GridAssignment, Household, User
from carevisits.services import coverage_rules, schedule
from carevisits.services.exports import Month
from carevisits.services.register_fields import clean
from carevisits.services.scope import area_options, household_scope

STATUSES = ("active", "paused", "closed", "overdue", "never", "unmet", "all")


@dataclass
class ElderFilter:
    """What the list shows: an area option (``s:1``/``c:2``/``g:3``), a care level, a status
    and a search text; unknown values are ignored (the whole scope, every level)."""

    area: str = ""
    care_level: str = ""
    status: str = "active"
    q: str = ""

    @classmethod
    def from_args(cls, args, user: User, default_status: str = "active") -> "ElderFilter":
        """The filter of a query string, with values outside the lists dropped."""
        area = args.get("area", "")
        level = args.get("care_level", "")
        status = args.get("status", default_status)
        return cls(area=area if area in area_options(user) else "",
                   care_level=level if level in CareLevel.__members__.values() else "",
                   status=status if status in STATUSES else default_status,
                   # As a form keeps text: no NUL (PostgreSQL refuses it) or other control.
                   q=clean(args.get("q", ""), lines=False)[:40])

    def as_args(self) -> dict[str, str]:
        """The filter as query-string arguments (for pages and downloads)."""
        return {k: v for k, v in vars(self).items() if v}


def _status_clause(status: str, now: datetime):
    if status == "unmet":  # the dashboard's "not met this month" (coverage_rules)
        r = coverage_rules.Reckoning.of(Month.of(now, local_zone()), now, local_zone())
        return (coverage_rules.population(r.at, now, r.zone)
                & ~coverage_rules.met_between(r.start, r.end, now))
    return {
        "active": Elder.active,
        # The rule of every badge and scan (schedule.state), in SQL.
        "paused": Elder.active & schedule.state_clause(schedule.State.PAUSED, now),
        "closed": ~Elder.active,
        "overdue": Elder.active & schedule.state_clause(schedule.State.LATE, now),
        "never": Elder.active & Elder.last_contact_at.is_(None),
    }.get(status)


def area_clause(area: str):
    """SQL on Community/Grid: within an area option (``s:1``/``c:2``/``g:3``); None if bad."""
    kind, _, ident = area.partition(":")
    if not ident.isdigit():
        return None
    return {"s": Community.street_id, "c": Community.id, "g": Grid.id}[kind] == int(ident)


def register_query(user: User, chosen: ElderFilter, now: datetime) -> Select:
    """SELECT of the elders the user may see that match the filter, with household, grid and
    community loaded: overdue ones the longest overdue first, others by community, grid and
    address."""
    query = (select(Elder).join(Elder.household).join(Household.grid).join(Grid.community)
             .options(contains_eager(Elder.household).contains_eager(Household.grid)
                      .contains_eager(Grid.community))
             .where(household_scope(user)))
    if chosen.status == "overdue":
        query = query.order_by(Elder.due_at.asc().nulls_first())
    query = query.order_by(Community.name, Grid.name, Household.address, Household.building,
                           Household.unit, Household.room, Elder.id)
    for clause in (area_clause(chosen.area), _status_clause(chosen.status, now)):
        if clause is not None:
            query = query.where(clause)
    if chosen.care_level:
        query = query.where(Elder.care_level == CareLevel(chosen.care_level))
    if chosen.q:
        like = f"%{chosen.q}%"
        query = query.where(or_(Elder.name.like(like), Elder.phone.like(like),
                                Household.number == chosen.q.replace(" ", ""),
                                Household.address.like(like)))
    return query


def workers_of(grid_ids: set[int], today: date) -> dict[int, list[str]]:
    """Grid id → the names of who works it today (its own worker first, then covers)."""
    names: dict[int, list[str]] = {}
    rows = db.session.execute(
        select(GridAssignment.grid_id, User.display_name)
        .join(User, GridAssignment.user_id == User.id)
        .where(GridAssignment.grid_id.in_(grid_ids), GridAssignment.in_force(today))
        .order_by(GridAssignment.cover, GridAssignment.starts_on))
    for grid_id, name in rows:
        names.setdefault(grid_id, []).append(name)
    return names
