"""Households on the register: create (with a household number and a door code at once),
edit the address, move to another grid of the same street, close. Each change is audited
with its old and new values."""

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from carevisits.extensions import db
from carevisits.models import ClosedReason, Community, Elder, Grid, Household, User
from carevisits.models.base import utcnow
from carevisits.services import audit, doorcodes, register_fields
from carevisits.services import elders as elder_service

ADDRESS_FIELDS = ("address", "building", "unit", "room")


class HouseholdError(ValueError):
    """A change that cannot be made; ``field`` names the form field it belongs to."""

    def __init__(self, message, field: str | None = None):
        super().__init__(message)
        self.field = field


def _street_id(grid: Grid) -> int:
    return grid.community.street_id


def open_household_at(street_id: int, address: str, building: str, unit: str, room: str, *,
                      exclude_id: int | None = None) -> Household | None:
    """The open household of the street at this address, if there is one."""
    query = (select(Household).join(Grid, Household.grid_id == Grid.id)
             .join(Community, Grid.community_id == Community.id)
             .where(Community.street_id == street_id, Household.closed_at.is_(None),
                    Household.address == address, Household.building == building,
                    Household.unit == unit, Household.room == room))
    if exclude_id is not None:
        query = query.where(Household.id != exclude_id)
    return db.session.scalars(query.limit(1)).first()


def _check_address(street_id: int, values: dict, exclude_id: int | None = None) -> None:
    taken = open_household_at(street_id, *(values[f] for f in ADDRESS_FIELDS),
                              exclude_id=exclude_id)
    if taken is not None:
        raise HouseholdError(_l("Household no. %(number)s is at this address already.",
                                number=taken.number), "room" if values["room"] else "address")


def _clean(values: dict) -> dict:
    """The address as kept, the same as the import keeps it (register_fields.address_parts)."""
    return register_fields.address_parts(values)


def create_household(grid: Grid, *, actor: User | None, **address) -> Household:
    """A new household of ``grid`` with its household number and a live door code, so that
    its card can be printed at once."""
    values = _clean(address)
    _check_address(_street_id(grid), values)
    household = Household(grid=grid, number=doorcodes.new_household_number(), **values)
    db.session.add(household)
    db.session.flush()
    code = doorcodes.issue_code(household)
    audit.record(actor, "household.create", "household", household.id, door_code=code.id,
                 changes={"number": [None, household.number], "grid": [None, grid.label],
                          **{f: [None, v] for f, v in values.items()}})
    return household


def update_household(household: Household, *, actor: User | None, **address) -> dict:
    """Correct the address (road and number, building, unit, room)."""
    values = _clean(address)
    _check_address(_street_id(household.grid), values, exclude_id=household.id)
    changes = {f: [getattr(household, f), v] for f, v in values.items()
               if getattr(household, f) != v}
    if changes:
        for field, (_old, new) in changes.items():
            setattr(household, field, new)
        db.session.flush()
        audit.record(actor, "household.update", "household", household.id, changes=changes)
    return changes


def move_household(household: Household, grid: Grid, *, actor: User | None) -> None:
    """Move the household to another grid of the same street (its card stays valid)."""
    if grid.id == household.grid_id:
        raise HouseholdError(_l("The household is in this grid already."), "grid")
    if _street_id(grid) != _street_id(household.grid):
        raise HouseholdError(_l("Choose a grid of the same street."), "grid")
    old = household.grid.label
    household.grid = grid
    db.session.flush()
    audit.record(actor, "household.move", "household", household.id,
                 changes={"grid": [old, grid.label]})


def close_household(household: Household, *, reason: ClosedReason | None, on: date,
                    actor: User | None, today: date) -> list[Elder]:
    """Nobody on the list lives here any more: the elders still on the register are closed
    with ``reason`` in the same action, the live door code is revoked, the history kept.
    Returns the elders closed."""
    if household.closed_at is not None:
        raise HouseholdError(_l("This household is closed already."))
    active = [e for e in household.elders if e.active]
    if active and reason is None:
        raise HouseholdError(_l("Say why the elders living here leave the register."),
                             "reason")
    for elder in active:
        try:
            elder_service.close_elder(elder, reason=reason, on=on, actor=actor, today=today)
        except elder_service.ElderError as err:
            raise HouseholdError(str(err), err.field) from err
    code = doorcodes.live_code(household)
    if code is not None:
        code.revoked_at = utcnow()
    household.closed_at = utcnow()
    db.session.flush()
    audit.record(actor, "household.close", "household", household.id,
                 closed_elders=[e.id for e in active],
                 revoked_door_code=code.id if code is not None else None,
                 changes={"closed_at": [None, household.closed_at.isoformat()]})
    return active


def record_view(actor: User, household: Household) -> None:
    """Staff opened the household's page (its address, card and elders): audited as
    ``household.view``."""
    audit.record(actor, "household.view", "household", household.id)
