"""Who may see which households: one SQL condition that scopes every list."""

from functools import cache

from sqlalchemy import ColumnElement, Select, bindparam, false, select, true
from sqlalchemy.orm import selectinload

from carevisits.extensions import db
from carevisits.models import (
    Community,
    Elder,
    Grid,
    GridAssignment,
    Household,
    MemberStatus,
    Role,
    Roster,
    RosterHousehold,
    RosterMember,
    Street,
    User,
    Visit,
    VolunteerProfile,
    VolunteerStatus,
)
from carevisits.models.base import local_today


def household_scope(user: User) -> ColumnElement[bool]:
    """A WHERE clause on Household rows that ``user`` may see."""
    kind, values = scope_of(user)
    return _scope_clause(kind, lambda name: bindparam(name, values[name], unique=True))


def scope_of(user: User) -> tuple[str, dict]:
    """The kind of the user's scope and the values it is read with: the one rule of who sees
    which households. Statements built once per kind (:func:`scope_clause`) take the values
    as their bind parameters, so the door's hot statements are not rebuilt per request."""
    if not user.active:
        return "nothing", {}
    if user.role == Role.ADMIN:
        return "everything", {}
    if user.role == Role.GRID_WORKER:
        # Read on every request, so that a cover that ends ends access on the next one.
        return "grids", {"scope_user": user.id, "scope_today": local_today()}
    if user.role == Role.COORDINATOR and user.community_id:
        return "community", {"scope_community": user.community_id}
    if user.role == Role.COORDINATOR and user.street_id:
        return "street", {"scope_street": user.street_id}
    if user.role == Role.VOLUNTEER:
        return "rosters", {"scope_user": user.id}
    # Family members reach their elders through family links only, never households.
    return "nothing", {}


@cache
def scope_clause(kind: str) -> ColumnElement[bool]:
    """The WHERE clause on Household rows of a kind of scope (see :func:`scope_of`), built
    once: its values are bind parameters named as ``scope_of`` names them."""
    return _scope_clause(kind, bindparam)


def _scope_clause(kind: str, value) -> ColumnElement[bool]:
    """The clause of a kind of scope; ``value(name)`` gives each of its values."""
    if kind == "everything":
        return true()
    if kind == "grids":
        return Household.grid_id.in_(_assigned_grid_ids(value("scope_user"),
                                                        value("scope_today")))
    if kind == "community":
        return Household.grid_id.in_(
            select(Grid.id).where(Grid.community_id == value("scope_community")))
    if kind == "street":
        return Household.grid_id.in_(
            select(Grid.id).join(Community, Grid.community_id == Community.id)
            .where(Community.street_id == value("scope_street")))
    if kind == "rosters":
        return Household.id.in_(_roster_household_ids(value("scope_user")))
    return false()


def _assigned_grid_ids(user_id, today) -> Select:
    """:func:`assigned_grids` of a user id on a day (values or bind parameters)."""
    return select(GridAssignment.grid_id).where(GridAssignment.user_id == user_id,
                                                GridAssignment.in_force(today))


def assigned_grids(user: User) -> Select:
    """SELECT of the ids of the grids a grid worker is assigned to today (own or covered):
    read on every request, so that a cover that ends ends access on the next one."""
    return _assigned_grid_ids(user.id, local_today())


def volunteer_rosters(user: User) -> Select:
    """SELECT of the ids of the rosters a volunteer visits for now: open rosters where both
    their place and their sign-up are approved. The one definition of a volunteer's scope:
    leaving, removal, a declined sign-up or a closed roster ends it on the next request."""
    return _volunteer_roster_ids(user.id)


def _volunteer_roster_ids(user_id) -> Select:
    """:func:`volunteer_rosters` of a user id (a value or a bind parameter)."""
    return (select(RosterMember.roster_id)
            .join(Roster, RosterMember.roster_id == Roster.id)
            .join(VolunteerProfile, VolunteerProfile.user_id == RosterMember.user_id)
            .where(RosterMember.user_id == user_id, RosterMember.status == MemberStatus.APPROVED,
                   Roster.open, VolunteerProfile.status == VolunteerStatus.APPROVED))


def _roster_household_ids(user_id) -> Select:
    """SELECT of the household ids of the volunteer's rosters (:func:`volunteer_rosters`)."""
    return (select(RosterHousehold.household_id)
            .where(RosterHousehold.roster_id.in_(_volunteer_roster_ids(user_id))))


def approved_volunteer(user: User) -> VolunteerProfile | None:
    """The volunteer's sign-up once a coordinator has approved it, else None: the first half
    of :func:`volunteer_rosters` — without it a volunteer joins no roster and sees nothing."""
    profile = db.session.get(VolunteerProfile, user.id)
    return profile if profile is not None and profile.status == VolunteerStatus.APPROVED else None


def scoped_households(user: User) -> Select:
    """SELECT of the households in the user's scope."""
    return select(Household).where(household_scope(user))


def scoped_elders(user: User) -> Select:
    """SELECT of the active elders in the user's scope, with their household joined."""
    return (
        select(Elder)
        .join(Household, Elder.household_id == Household.id)
        .where(Elder.active, household_scope(user))
    )


def can_see_household(user: User, household: Household) -> bool:
    """Whether ``user`` may see ``household`` (the same rule as :func:`household_scope`)."""
    kind, values = scope_of(user)
    return db.session.scalar(_household_in_scope(kind),
                             {"household": household.id, **values}) is not None


@cache
def _household_in_scope(kind: str) -> Select:
    """The household bound as ``household`` if it is in a kind of scope; built once per kind
    (every check-in asks it)."""
    return select(Household.id).where(Household.id == bindparam("household"),
                                      scope_clause(kind))


def can_see_visit(user: User, visit: Visit) -> bool:
    """Whether ``user`` may see a recorded visit: staff every visit of a household in their
    scope, a volunteer only their own visits there (not their roster companions')."""
    return can_see_household(user, visit.household) and (
        user.is_staff or visit.visitor_id == user.id)


def community_scope(user: User) -> ColumnElement[bool]:
    """A WHERE clause on Community rows a coordinator (or admin) manages."""
    if not user.active:
        return false()
    if user.role == Role.ADMIN:
        return true()
    if user.role == Role.COORDINATOR and user.community_id:
        return Community.id == user.community_id
    if user.role == Role.COORDINATOR and user.street_id:
        return Community.street_id == user.street_id
    return false()


def managed_communities(user: User) -> list[Community]:
    """The communities whose volunteers and rosters the user manages, by name."""
    return list(db.session.scalars(select(Community).where(community_scope(user))
                                   .order_by(Community.name)))


def area_options(user: User) -> dict[str, str]:
    """The streets, communities and grids a user covers, as ``s:1``/``c:2``/``g:3`` → label."""
    options: dict[str, str] = {}
    streets = (select(Street).order_by(Street.name)
               .options(selectinload(Street.communities).selectinload(Community.grids)))
    if user.role == Role.COORDINATOR and user.community_id:
        communities = [user.community]
    elif user.role == Role.ADMIN or (user.role == Role.COORDINATOR and user.street_id):
        if user.role == Role.COORDINATOR:
            streets = streets.where(Street.id == user.street_id)
        communities = []
        for street in db.session.scalars(streets):
            options[f"s:{street.id}"] = street.name
            communities.extend(street.communities)
    elif user.role == Role.GRID_WORKER:
        grids = db.session.scalars(select(Grid).where(Grid.id.in_(assigned_grids(user)))
                                   .order_by(Grid.id))
        return {f"g:{grid.id}": grid.label for grid in grids}
    else:
        return {}
    for community in communities:
        options[f"c:{community.id}"] = f"　{community.name}"
        for grid in community.grids:
            options[f"g:{grid.id}"] = f"　　{community.name} · {grid.name}"
    return options


def area_households(user: User, area: str) -> Select | None:
    """SELECT of the households of an area option (``s:1``…) within the user's scope."""
    kind, _, ident = area.partition(":")
    if area not in area_options(user) or not ident.isdigit():
        return None
    grids = select(Grid.id)
    if kind == "s":
        grids = grids.join(Community).where(Community.street_id == int(ident))
    elif kind == "c":
        grids = grids.where(Grid.community_id == int(ident))
    else:
        grids = grids.where(Grid.id == int(ident))
    return scoped_households(user).where(Household.grid_id.in_(grids))
