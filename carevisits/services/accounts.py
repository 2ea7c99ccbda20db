"""Accounts: sign-in checks, sessions, and the role/scope rules of user records."""

import hashlib
import secrets
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from carevisits.extensions import db
from carevisits.models import Community, Grid, Role, SignInSession, Street, User
from carevisits.models.base import local_today
from carevisits.services import areas, audit

MIN_PASSWORD_LENGTH = 10
# What to do when a worker is given a grid that has a worker of its own already.
SHARE_GRID, HAND_OVER_GRID = "share", "handover"
GRID_CHOICES = (SHARE_GRID, HAND_OVER_GRID)
# Checked when the username is unknown, so both answers take as long.
_DUMMY_HASH = generate_password_hash("carevisits-no-such-user")


class AccountError(ValueError):
    """A user record that breaks rules: ``errors`` holds every message by the form field it
    concerns (username, password, role, area, active), so a form shows them all at once."""

    def __init__(self, errors: dict[str, list]):
        self.errors = errors
        super().__init__("；".join(str(m) for messages in errors.values() for m in messages))


@dataclass
class Scope:
    """The area part of an account: at most one of street, community, grid."""

    street: Street | None = None
    community: Community | None = None
    grid: Grid | None = None


def authenticate(username: str, password: str) -> User | None:
    """The active user with these credentials, or None."""
    user = db.session.scalar(
        select(User).where(func.lower(User.username) == username.strip().lower())
    )
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    return user


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start_session(user: User) -> str:
    """A new sign-in session of this browser: its secret (256 random bits) for the session
    cookie; the table keeps only its SHA-256."""
    secret = secrets.token_urlsafe(32)
    db.session.add(SignInSession(user_id=user.id, token_hash=_hash(secret)))
    return secret


def session_user(user_id: int, version: int, secret: str | None) -> User | None:
    """The active user whose session this is: the version still current and the browser's
    session not ended (one statement)."""
    if not secret:
        return None
    return db.session.scalar(
        select(User).join(SignInSession, SignInSession.user_id == User.id)
        .where(User.id == user_id, User.session_version == version, User.active,
               SignInSession.token_hash == _hash(secret)))


def end_session(secret: str | None) -> None:
    """End one browser's session: its cookie, copies included, no longer signs anyone in."""
    if secret:
        db.session.execute(delete(SignInSession).where(SignInSession.token_hash == _hash(secret)))


def end_all_sessions(user: User) -> None:
    """Invalidate every session of the user, including copied cookies."""
    user.session_version += 1
    db.session.execute(delete(SignInSession).where(SignInSession.user_id == user.id))


def sign_in(username: str, password: str) -> User | None:
    """The active user with these credentials (None: refused); a sign-in is audited as
    ``auth.login``."""
    user = authenticate(username, password)
    if user is not None:
        audit.record(user, "auth.login", "user", user.id)
    return user


def sign_out(user: User, secret: str | None) -> None:
    """Sign this browser out (the account's other sessions go on); audited as
    ``auth.logout``."""
    end_session(secret)
    audit.record(user, "auth.logout", "user", user.id)


def sign_out_everywhere(user: User) -> None:
    """Sign the user out of every browser (copied cookies too); audited as
    ``auth.logout_everywhere``."""
    end_all_sessions(user)
    audit.record(user, "auth.logout_everywhere", "user", user.id)


def session_count(user: User) -> int:
    """How many browsers are signed in to this account (this one included)."""
    return db.session.scalar(select(func.count()).select_from(SignInSession)
                             .where(SignInSession.user_id == user.id))


def scope_problems(role: Role, scope: Scope) -> list:
    """Why the scope does not fit the role (empty: it fits)."""
    if role == Role.GRID_WORKER and scope.grid is None:
        return [_l("A grid worker needs a grid.")]
    if role == Role.COORDINATOR and not (scope.community or scope.street):
        return [_l("A coordinator needs a community or a street.")]
    if role == Role.COORDINATOR and scope.grid is not None:
        return [_l("A coordinator covers a community or a street, not a grid.")]
    return []


def account_problems(*, role: Role | None, scope: Scope, password: str,
                     username: str | None = None, user: User | None = None,
                     actor: User | None = None, active: bool = True,
                     grid_choice: str | None = None) -> dict[str, list]:
    """Every rule a new account (``username``) or a change of ``user`` breaks, by form
    field; empty when none. Reads only. ``role`` None: the role itself was not valid.
    ``grid_choice`` (SHARE_GRID or HAND_OVER_GRID) is asked for, under ``handover``, when a
    grid worker is given a grid that has a worker of its own already."""
    problems: dict[str, list] = {}
    if username is not None and db.session.scalar(select(User.id).where(
            func.lower(User.username) == username.strip().lower())) is not None:
        problems["username"] = [_l("This username is already taken.")]
    if (user is None or password) and len(password) < MIN_PASSWORD_LENGTH:
        problems["password"] = [_l("The password needs at least %(n)d characters.",
                                   n=MIN_PASSWORD_LENGTH)]
    if role is not None and (area := scope_problems(role, scope)):
        problems["area"] = area
    elif role == Role.GRID_WORKER and grid_choice not in GRID_CHOICES and (
            others := _grid_taken(scope.grid, user)):
        problems["handover"] = [_l(
            "%(grid)s already has a grid worker: %(names)s. Add this account as another "
            "worker of the grid, or hand the grid over (from today they no longer have it)?",
            grid=scope.grid.label, names="、".join(u.display_name for u in others))]
    if user is not None and actor is not None and user.id == actor.id and (
            role != Role.ADMIN or not active):
        problems["role" if role != Role.ADMIN else "active"] = [
            _l("You cannot remove your own admin role or deactivate yourself.")]
    return problems


def _grid_taken(grid: Grid, user: User | None) -> list[User]:
    """The grid's own workers today whom ``user`` (None: a new account) would join or replace
    there; none when the grid is their own already."""
    if user is not None and user.role == Role.GRID_WORKER and user.grid == grid:
        return []
    return areas.own_workers(grid, local_today(), besides=user)


def apply_scope(user: User, role: Role, scope: Scope, *, actor: User | None,
                handover: bool = False) -> None:
    """Set role and area; staff roles keep exactly one level, others none. A grid worker
    given a grid that has a worker of its own takes it over (``handover``) or shares it."""
    if problems := scope_problems(role, scope):
        raise AccountError({"area": problems})
    user.role = role
    today = local_today()
    if role != Role.GRID_WORKER:
        areas.release_grids(user, today)
    elif user.grid != scope.grid:
        areas.assign_worker(scope.grid, user, today=today, actor=actor, handover=handover)
    user.community = scope.community if role == Role.COORDINATOR else None
    user.street = scope.street if role == Role.COORDINATOR and scope.community is None else None


def create_user(*, actor: User | None, username: str, display_name: str, password: str,
                role: Role, scope: Scope, phone: str = "",
                grid_choice: str | None = None) -> User:
    """Create an account after checking the username, password and scope (and, for a grid
    that has a worker already, whether to share it or hand it over: ``grid_choice``)."""
    username = username.strip()
    if problems := account_problems(role=role, scope=scope, password=password,
                                    username=username, grid_choice=grid_choice):
        raise AccountError(problems)
    user = User(username=username, display_name=display_name.strip(), phone=phone.strip(),
                role=role, active=True)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()  # the id the assignment and its audit event name
    apply_scope(user, role, scope, actor=actor, handover=grid_choice == HAND_OVER_GRID)
    db.session.flush()
    audit.record(actor, "user.create", "user", user.id, role=role.value)
    return user


# The roles anyone may give themselves at a sign-up page; every other account is an admin's.
SELF_SIGN_UP_ROLES = frozenset({Role.VOLUNTEER, Role.FAMILY})


def sign_up(*, role: Role, username: str, display_name: str, phone: str,
            password: str) -> User:
    """An account of one's own, the one self-sign-up path (volunteers, family members): no
    area, no actor, a phone number the community can call. The caller completes it in the
    same transaction (a volunteer's sign-up, a family member's invite) and rolls both back
    when either fails, so a refused sign-up leaves no account behind."""
    if role not in SELF_SIGN_UP_ROLES:
        raise ValueError(f"a {role.value} account is made by an admin")
    if not phone.strip():
        raise AccountError({"phone": [_l("Enter a phone number the coordinator can call.")]})
    return create_user(actor=None, username=username, display_name=display_name,
                       password=password, role=role, scope=Scope(), phone=phone)


def update_user(*, actor: User, user: User, display_name: str, phone: str, role: Role,
                scope: Scope, active: bool, new_password: str = "",
                grid_choice: str | None = None) -> None:
    """Change an account; a role, scope or status change ends its sessions."""
    before = (user.role, user.grid_id, user.community_id, user.street_id, user.active)
    if problems := account_problems(role=role, scope=scope, password=new_password, user=user,
                                    actor=actor, active=active, grid_choice=grid_choice):
        raise AccountError(problems)
    apply_scope(user, role, scope, actor=actor, handover=grid_choice == HAND_OVER_GRID)
    user.display_name = display_name.strip()
    user.phone = phone.strip()
    user.active = active
    if new_password:
        user.set_password(new_password)
    db.session.flush()
    after = (user.role, user.grid_id, user.community_id, user.street_id, user.active)
    if before != after or new_password:
        end_all_sessions(user)
    audit.record(actor, "user.update", "user", user.id, role=role.value, active=active,
                 password_changed=bool(new_password))
