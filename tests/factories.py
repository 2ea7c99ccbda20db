"""Factories: small, explicit builders of test records."""

import secrets
from datetime import date
from itertools import count

from werkzeug.security import generate_password_hash

from carevisits.extensions import db
from carevisits.models import (
    CareLevel,
    Community,
    DoorCode,
    Elder,
    Grid,
    GridAssignment,
    Household,
    Role,
    Street,
    User,
)
from carevisits.models.base import utcnow
from carevisits.services import schedule
from carevisits.services.doorcodes import issue_code, live_code, new_household_number

PASSWORD = "test-password-1"
# Test accounts only: a cheap hash keeps thousands of sign-ins fast. The app itself hashes
# with werkzeug's default (scrypt), and check_password_hash reads the method from the hash.
_PASSWORD_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
_seq = count(1)


def street(name=None) -> Street:
    s = Street(name=name or f"街道{next(_seq)}")
    db.session.add(s)
    return s


def community(street_, name=None, hotline="0531-1234567") -> Community:
    c = Community(street=street_, name=name or f"社区{next(_seq)}", hotline=hotline)
    db.session.add(c)
    return c


def grid(community_, name=None) -> Grid:
    g = Grid(community=community_, name=name or f"网格{next(_seq)}")
    db.session.add(g)
    return g


def household(grid_, *, elders=1, building="1", unit="1", room=None, address="测试路1号院",
              care_level=CareLevel.GENERAL) -> Household:
    """A household with elders and a live door code (``household.code``); ``room=""`` for
    an address without one (a 平房: building and unit blank too)."""
    n = next(_seq)
    h = Household(grid=grid_, number=new_household_number(), address=address,
                  building=building, unit=unit, room=f"{100 + n}" if room is None else room)
    db.session.add(h)
    for i in range(elders):
        e = Elder(name=f"老人{n}{'甲乙丙'[i]}", gender="女", birth_year=1940,
                  phone=f"1380000{n % 10000:04d}", emergency_contacts=[
                      {"name": "王强", "relation": "儿子", "phone": f"1390000{n % 10000:04d}"}],
                  care_level=care_level,
                  health_notes="高血压")
        h.elders.append(e)
        db.session.add(e)
    db.session.flush()
    schedule.refresh(h.elders)
    h.code = issue_code(h)
    return h


def user(role: Role, *, username=None, grid=None, **scope) -> User:
    """An account; a grid worker's ``grid`` is their own since long before any test's clock."""
    u = User(username=username or f"{role.value}{next(_seq)}", display_name=f"用户{next(_seq)}",
             role=role, **scope)
    u.password_hash = _PASSWORD_HASH
    db.session.add(u)
    if grid is not None:
        db.session.add(GridAssignment(grid=grid, user=u, starts_on=date(2000, 1, 1)))
    db.session.flush()
    return u


def old_card(household: Household) -> str:
    """Give the household a card of the kind printed before issue 18 (a 256-bit base64url
    token, as ``secrets.token_urlsafe(32)`` made it), replacing its live one; returns the
    token (``household.code`` is the new code)."""
    live = live_code(household)
    if live is not None:
        live.revoked_at = utcnow()
        db.session.flush()
    household.code = DoorCode(household=household, token=secrets.token_urlsafe(32))
    db.session.add(household.code)
    db.session.flush()
    return household.code.token
