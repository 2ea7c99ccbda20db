"""Door codes: random tokens on door cards, and short household numbers for typing in."""

import base64
import re
import secrets
import unicodedata
from datetime import datetime
from functools import cache

from flask import current_app
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Load, contains_eager

from carevisits.extensions import db
from carevisits.models import DoorCode, Grid, Household, User
from carevisits.models.base import utcnow
from carevisits.services.scope import household_scope, scope_clause, scope_of

# 160 bits from the OS's CSPRNG (past the 128 the design asks for), written in base32: 32
# characters A–Z and 2–7, which QR codes carry in alphanumeric mode (issue 18).
TOKEN_BYTES = 20
TOKEN_LENGTH = 32
MAX_TOKEN_LENGTH = 64  # the longest token looked up; old cards' token_urlsafe(32) is 43
# A base32 token in any case: phones and people may lower-case what the card says. Old
# base64url tokens are 43 characters, so never this shape, and keep their case.
BASE32_TOKEN = re.compile(r"[A-Za-z2-7]{32}", re.ASCII)


def door_hotline() -> str:
    """The one number on every door card and on the neutral door page (CAREVISITS_HOTLINE).

    The anonymous page is the same for every token, so it cannot name a community; a
    neighbour who calls the number on the card must reach the desk the screen names. The
    community's own hotline is for staff and family pages."""
    return current_app.config["HOTLINE"]


def luhn_digit(digits: str) -> str:
    """The Luhn check digit for a string of digits (catches a mistyped or swapped digit)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def is_valid_household_number(number: str) -> bool:
    """Whether a typed household number is well formed, check digit included."""
    return len(number) == 8 and number.isdigit() and luhn_digit(number[:-1]) == number[-1]


def new_household_number() -> str:
    """A fresh 8-digit household number: 7 random digits and a check digit."""
    while True:
        body = f"{secrets.randbelow(10**7):07d}"
        number = body + luhn_digit(body)
        taken = db.session.scalar(select(Household.id).where(Household.number == number))
        if taken is None:
            return number


def normalise_household_number(typed: str) -> str:
    """The digits of a typed number: full-width ones folded, the spaces and dashes people type
    between digit groups dropped."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", typed) if ch in "0123456789")


def household_by_number(user: User, typed: str) -> Household | None:
    """The household with this typed number when ``user`` may visit it; None for a number
    that does not exist and one outside the user's scope alike (one statement, scope
    included)."""
    number = normalise_household_number(typed)
    return db.session.scalar(select(Household).where(Household.number == number,
                                                     household_scope(user))
                             .options(*_door_facts()))


def live_code(household: Household) -> DoorCode | None:
    """The household's current door code, if it has one."""
    return db.session.scalar(
        select(DoorCode).where(DoorCode.household_id == household.id, DoorCode.revoked_at.is_(None))
    )


def was_on_the_door(code: DoorCode, when: datetime | None) -> bool:
    """Whether this card was the household's live card at ``when`` (issued, not yet
    replaced): a visit kept on a phone without signal counts by the card it scanned then."""
    return (when is not None and code.created_at <= when
            and (code.revoked_at is None or when < code.revoked_at))


def new_token() -> str:
    """A fresh door token: 160 random bits in upper-case base32 without padding."""
    return base64.b32encode(secrets.token_bytes(TOKEN_BYTES)).decode("ascii")


def normalise_token(token: str) -> str:
    """The token as stored: a base32 token in upper case, whatever case it came in; any
    other token (an old card's base64url, a made-up one) as it is."""
    return token.upper() if BASE32_TOKEN.fullmatch(token) else token


def issue_code(household: Household) -> DoorCode:
    """Give the household a new door code, revoking the one its old card carries."""
    old = live_code(household)
    if old is not None:
        old.revoked_at = utcnow()
        db.session.flush()  # the live-code index allows one unrevoked code per household
    code = DoorCode(household=household, token=new_token())
    db.session.add(code)
    db.session.flush()
    return code


def find_code_for(user: User, token: str) -> DoorCode | None:
    """The door code with this token, live or revoked, when ``user`` may visit its household;
    None for a made-up token and for a household outside the user's scope alike.

    Both answers come from one and the same statement, scope included, with nothing loaded
    for a code out of scope: a made-up token and someone else's card cost the same work, so
    the response time cannot tell a signed-in user whether a card exists (issue 12)."""
    # No token is empty or longer than 64 characters: such a path asks for one that matches
    # nothing, by the same statement. A base32 token is matched in any case (issue 18).
    wanted = normalise_token(token) if 0 < len(token) <= MAX_TOKEN_LENGTH else ""
    kind, values = scope_of(user)
    return db.session.scalar(_code_in_scope(kind), {"token": wanted, **values})


@cache
def _code_in_scope(kind: str) -> Select:
    """The door code with a token (bound as ``token``), in a kind of scope; built once per
    kind, as every door request asks it."""
    return (select(DoorCode).join(DoorCode.household)
            .where(DoorCode.token == bindparam("token"), scope_clause(kind))
            .options(*_door_facts(contains_eager(DoorCode.household))))


def _door_facts(household=None) -> tuple:
    """Loader options for what the door form shows of a household (under ``household``, a
    path to it; the household itself when None): its grid, community and elders, in the
    same statement."""
    path = Load(Household) if household is None else household
    return (path.joinedload(Household.grid).joinedload(Grid.community),
            path.joinedload(Household.elders))


def door_url(base_url: str, token: str) -> str:
    """A door's address as screens and commands show it: ``<base URL>/c/<token>``."""
    return f"{base_url.rstrip('/')}/c/{token}"


def card_url(base_url: str, token: str, compact: bool) -> str:
    """The address a door card's QR code encodes, and nothing else.

    Compact (CAREVISITS_QR_COMPACT, the default): the host in upper case (it is
    case-insensitive) and the path ``/C/<TOKEN>``, so that everything after the scheme of a
    base URL without a path fits QR's alphanumeric mode (version 4 at level Q instead of 6).
    The scheme stays lower case: Android opens links by a case-sensitive scheme, and camera
    apps that hand ``HTTPS://`` on as it is open nothing (docs/DECISIONS.md). A path of the
    base URL keeps its case: the app behind it is routed by that path. An old card's
    base64url token is case-sensitive: it prints as it always did, ``door_url``."""
    scheme, sep, rest = base_url.rstrip("/").partition("://")
    if not compact or not sep or not BASE32_TOKEN.fullmatch(token):
        return door_url(base_url, token)
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}{sep}{host.upper()}{slash}{path}/C/{token.upper()}"
