"""Who may see which households: one SQL condition that scopes every list."""

from sqlalchemy import ColumnElement, Select, false, select, true

from carevisits.extensions import db
from carevisits.models import Community, Elder, Grid, Household, Role, User


def household_scope(user: User) -> ColumnElement[bool]:
    """A WHERE clause on Household rows that ``user`` may see."""
    if not user.active:
        return false()
    if user.role == Role.ADMIN:
        return true()
    if user.role == Role.GRID_WORKER and user.grid_id:
        return Household.grid_id == user.grid_id
    if user.role == Role.COORDINATOR:
        if user.community_id:
            grids = select(Grid.id).where(Grid.community_id == user.community_id)
            return Household.grid_id.in_(grids)
        if user.street_id:
            grids = (
                select(Grid.id)
                .join(Community, Grid.community_id == Community.id)
                .where(Community.street_id == user.street_id)
            )
            return Household.grid_id.in_(grids)
    # Volunteers and family reach households through rosters and family links only.
    return false()


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
    query = select(Household.id).where(Household.id == household.id, household_scope(user))
    return db.session.scalar(query) is not None

