"""The round pack: what a phone keeps to show the door form of every household in the
visitor's scope without signal (issue 14 §2, §4) — households, their live door tokens,
the active elders with tags, care level, date of last contact, the services due and (for staff)
the open follow-ups.
Nothing more: no visit history, no readings, no phone numbers, no health notes."""

import hashlib
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from carevisits.extensions import db
from carevisits.i18n import local_zone
from carevisits.models import DoorCode, Elder, FollowUp, Grid, Household, Role, Roster, User
from carevisits.services import followups, menus, rosters
from carevisits.services.menus import DueService
from carevisits.services.scope import household_scope

PACK_VERSION = 2


def round_pack(user: User, now: datetime, today: date) -> dict:
    """The pack for ``user``: one entry per open household in scope with a live door card
    and someone on the register; a fixed number of queries whatever the scope's size."""
    codes = list(db.session.scalars(
        select(DoorCode).join(DoorCode.household)
        .where(DoorCode.revoked_at.is_(None), Household.closed_at.is_(None),
               household_scope(user))
        .options(contains_eager(DoorCode.household).selectinload(Household.elders),
                 contains_eager(DoorCode.household).selectinload(Household.grid)
                 .joinedload(Grid.community))
        .order_by(Household.address, Household.building, Household.unit, Household.room)))
    elders = [e for code in codes for e in code.household.elders if e.active]
    roster_of = {}
    if user.role == Role.VOLUNTEER:
        roster_of = rosters.rosters_for_visits(user, [c.household_id for c in codes], today)

    def readings(household_id: int) -> bool:
        """As at the door online: always for staff; for a volunteer, as the roster allows."""
        roster = roster_of.get(household_id)
        return roster is None or roster.allow_observations

    services = menus.due_services_of(elders, now, today,
                                     readings=lambda elder: readings(elder.household_id))
    todo = followups.open_in_scope(user)  # staff only: a volunteer's is empty
    households = [
        {"key": token_key(code.token), "number": code.household.number,
         "address": code.household.full_address, "grid": code.household.grid.label,
         "readings": readings(code.household_id), "roster": _roster(roster_of.get(
             code.household_id)),
         "elders": [_elder(e, services[e.id], todo.get(e.id, []))
                    for e in code.household.elders if e.active]}
        for code in codes]
    return {"version": PACK_VERSION, "user": user.id, "made_at": now.isoformat(),
            "households": [h for h in households if h["elders"]]}


def token_key(token: str) -> str:
    """How the pack names a door: the SHA-256 of its token (hex). The phone finds a scanned
    card's household by hashing the address it opened; the pack itself holds no card's
    address, so it cannot stand in for being at the door."""
    return hashlib.sha256(token.encode()).hexdigest()


def _roster(roster: Roster | None) -> dict | None:
    return None if roster is None else {"name": roster.name, "minutes": roster.visit_minutes}


def _elder(elder: Elder, services: list[DueService], todo: list[FollowUp]) -> dict:
    last = elder.last_contact_at
    return {
        "id": elder.id, "name": elder.name, "gender": elder.gender,
        "birth_year": elder.birth_year, "care_level": elder.care_level.value,
        "tags": list(elder.tags or []),
        "last_visit": last.astimezone(local_zone()).date().isoformat() if last else None,
        "services": [{"id": s.entry.item_id, "name": s.entry.item.name,
                      "unit": s.entry.item.unit, "frequency": s.entry.frequency.value,
                      "due": s.due} for s in services],
        "followups": [{"id": f.id, "what": f.what, "due_on": f.due_on.isoformat(),
                       "important": f.important} for f in todo],
    }
