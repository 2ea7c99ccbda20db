"""The area tree (street → community → grid) and who works each grid on which dates."""

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from carevisits.extensions import db
from carevisits.models import Community, Grid, GridAssignment, Role, Street, User
from carevisits.services import audit

# A cover is for a leave or a sickness: planned up to a year ahead, entered up to a month
# late, and at most a year long.
COVER_DAYS_BACK = 30
COVER_DAYS_AHEAD = 366
COVER_MAX_DAYS = 366


class AreaError(ValueError):
    """A change of the area tree or of an assignment that cannot be made (message for users);
    ``field`` names the form field it belongs to."""

    def __init__(self, message, field: str | None = None):
        super().__init__(message)
        self.field = field


def _taken(model, *where) -> bool:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) > 0


def create_street(name: str, *, actor: User | None) -> Street:
    """A new street office; street names are unique."""
    name = name.strip()
    if _taken(Street, Street.name == name):
        raise AreaError(_l("A street of this name exists already."))
    street = Street(name=name)
    db.session.add(street)
    db.session.flush()
    audit.record(actor, "street.create", "street", street.id, name=name)
    return street


def save_community(community: Community | None, *, street: Street, name: str, hotline: str,
                   actor: User) -> Community:
    """Create a community of ``street`` or rename it / change its hotline."""
    name, hotline = name.strip(), hotline.strip()
    same = Community.street_id == street.id, Community.name == name
    if _taken(Community, *same, *([Community.id != community.id] if community else [])):
        raise AreaError(_l("This street has a community of this name already."))
    before = {"name": community.name, "hotline": community.hotline} if community else {}
    if community is None:
        community = Community(street=street)
        db.session.add(community)
    community.name, community.hotline = name, hotline
    db.session.flush()
    audit.record(actor, "community.save", "community", community.id, before=before,
                 after={"name": name, "hotline": hotline})
    return community


def save_grid(grid: Grid | None, *, community: Community, name: str, actor: User) -> Grid:
    """Create a grid of ``community`` or rename it."""
    name = name.strip()
    same = Grid.community_id == community.id, Grid.name == name
    if _taken(Grid, *same, *([Grid.id != grid.id] if grid else [])):
        raise AreaError(_l("This community has a grid of this name already."))
    before = {"name": grid.name} if grid else {}
    if grid is None:
        grid = Grid(community=community)
        db.session.add(grid)
    grid.name = name
    db.session.flush()
    audit.record(actor, "grid.save", "grid", grid.id, before=before, after={"name": name})
    return grid


def assignments_in_force(grid: Grid, today: date) -> list[GridAssignment]:
    """The grid's assignments that hold today: its own worker first, then covers."""
    return list(db.session.scalars(
        select(GridAssignment).where(GridAssignment.grid_id == grid.id,
                                     GridAssignment.in_force(today))
        .order_by(GridAssignment.cover, GridAssignment.starts_on)))


def grid_worker(grid_id: int, today: date) -> User | None:
    """Who works the grid today: a colleague covering it, else its own worker."""
    return db.session.scalar(
        select(User).join(GridAssignment, GridAssignment.user_id == User.id)
        .where(GridAssignment.grid_id == grid_id, GridAssignment.in_force(today), User.active)
        .order_by(GridAssignment.cover.desc(), GridAssignment.starts_on.desc()).limit(1))


def _end(assignment: GridAssignment, today: date) -> None:
    """End an assignment before today: its last day is yesterday. One that began today, or
    has not begun, then never holds (it ends the day before its first: a worker given a grid
    and handed it over the same day, a cover called off; ``GridAssignment.never_held``)."""
    assignment.ends_on = max(assignment.starts_on, today) - timedelta(days=1)


def own_workers(grid: Grid, today: date, *, besides: User | None = None) -> list[User]:
    """The grid's own workers today (not colleagues covering), by name: whom another worker
    of the grid would share it with, or take it from. ``besides``: left out of the list."""
    query = (select(User).join(GridAssignment, GridAssignment.user_id == User.id)
             .where(GridAssignment.grid_id == grid.id, ~GridAssignment.cover,
                    GridAssignment.in_force(today)).order_by(User.display_name, User.id))
    if besides is not None and besides.id is not None:
        query = query.where(User.id != besides.id)
    return list(db.session.scalars(query))


def assign_worker(grid: Grid, user: User, *, today: date, actor: User | None,
                  handover: bool = True) -> GridAssignment:
    """Make ``user`` one of the grid's own workers from today, ending their charge of another
    grid of their own. ``handover``: they take the grid over, and the charge of its other own
    workers ends today (a colleague's cover runs on to its last day); otherwise they work it
    beside them (a grid often has two workers)."""
    if user.role != Role.GRID_WORKER or not user.active:
        raise AreaError(_l("Only an active grid worker can be given a grid."))
    ending = GridAssignment.user_id == user.id
    if handover:
        ending = ending | (GridAssignment.grid_id == grid.id)
    for old in db.session.scalars(select(GridAssignment).where(
            ~GridAssignment.cover, GridAssignment.in_force(today), ending)):
        _end(old, today)
        audit.record(actor, "grid.unassign", "grid", old.grid_id, user_id=old.user_id,
                     ends_on=str(old.ends_on))
    assignment = GridAssignment(grid=grid, user=user, starts_on=today, created_by_id=getattr(
        actor, "id", None))
    db.session.add(assignment)
    db.session.flush()
    audit.record(actor, "grid.assign", "grid", grid.id, user_id=user.id, starts_on=str(today),
                 handover=handover)
    return assignment


def add_cover(grid: Grid, user: User, *, starts_on: date, ends_on: date, today: date,
              actor: User) -> GridAssignment:
    """Let ``user`` cover ``grid`` from one date to another (both days included)."""
    if user.role != Role.GRID_WORKER or not user.active:
        raise AreaError(_l("Only an active grid worker can cover a grid."))
    if ends_on < starts_on:
        raise AreaError(_l("The last day comes before the first day."), "ends_on")
    if ends_on < today:
        raise AreaError(_l("The cover would be over already."), "ends_on")
    if (today - starts_on).days > COVER_DAYS_BACK:
        raise AreaError(_l("The first day can be at most %(n)d days ago.", n=COVER_DAYS_BACK),
                        "starts_on")
    if (starts_on - today).days > COVER_DAYS_AHEAD:
        raise AreaError(_l("The first day can be at most a year ahead."), "starts_on")
    if (ends_on - starts_on).days + 1 > COVER_MAX_DAYS:
        raise AreaError(_l("A cover lasts at most %(n)d days.", n=COVER_MAX_DAYS), "ends_on")
    cover = GridAssignment(grid=grid, user=user, starts_on=starts_on, ends_on=ends_on,
                           cover=True, created_by_id=actor.id)
    db.session.add(cover)
    db.session.flush()
    audit.record(actor, "grid.cover", "grid", grid.id, user_id=user.id,
                 starts_on=str(starts_on), ends_on=str(ends_on))
    return cover


def end_assignment(assignment: GridAssignment, *, today: date, actor: User) -> None:
    """End an assignment now: the worker loses the grid on their next request. Only one in
    force or still to come; one that has ended already is history and stays as it is."""
    if not assignment.still_on(today):
        raise AreaError(_l("This assignment has ended already: nothing was changed."))
    _end(assignment, today)
    audit.record(actor, "grid.unassign", "grid", assignment.grid_id,
                 user_id=assignment.user_id, ends_on=str(assignment.ends_on))


def release_grids(user: User, today: date) -> None:
    """End every assignment of a user who is no longer a grid worker."""
    for assignment in user.assignments:
        if assignment.holds_on(today) or assignment.starts_on > today:
            _end(assignment, today)
