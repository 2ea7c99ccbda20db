"""The worker's round and elder histories, read with a few set-based queries."""

from dataclasses import dataclass, field

from sqlalchemy import Select, select
from sqlalchemy.orm import contains_eager

from carevisits.extensions import db
from carevisits.models import Elder, Household, User, Visit, VisitRecord
from carevisits.services.scope import scoped_elders


@dataclass
class Building:
    """One building of a round, with its elders longest-unseen first."""

    label: str
    elders: list[Elder] = field(default_factory=list)


def round_for(user: User) -> list[Building]:
    """The elders in the user's scope grouped by building: the most overdue first, then
    those due soonest. One indexed query; it never reads the visit history."""
    query = (
        scoped_elders(user)
        .options(contains_eager(Elder.household))
        .order_by(Elder.due_at.asc().nulls_first(), Household.building, Household.room)
    )
    buildings: dict[tuple[str, str], Building] = {}
    for elder in db.session.scalars(query):
        hh = elder.household
        key = (hh.address, hh.building)
        if key not in buildings:
            buildings[key] = Building(label=f"{hh.address}{hh.building}号楼")
        buildings[key].elders.append(elder)
    # Dicts keep insertion order: buildings come in the order of their most unseen elder.
    return list(buildings.values())


def elder_history(elder: Elder) -> Select:
    """SELECT of an elder's visit records, newest first, with the visit and visitor loaded."""
    return (
        select(VisitRecord)
        .join(Visit, VisitRecord.visit_id == Visit.id)
        .options(contains_eager(VisitRecord.visit).joinedload(Visit.visitor))
        .where(VisitRecord.elder_id == elder.id)
        .order_by(Visit.occurred_at.desc(), Visit.id.desc())
    )
