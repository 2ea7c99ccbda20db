"""Accounts: sign-in checks, sessions, and the role/scope rules of user records."""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from carevisits.extensions import db
from carevisits.models import Community, Grid, Role, Street, User
from carevisits.models.base import local_today
from carevisits.services import areas, audit

MIN_PASSWORD_LENGTH = 10
# Checked when the username is unknown, so both answers take as long.
_DUMMY_HASH = generate_password_hash("carevisits-no-such-user")


class AccountError(ValueError):
    """A user record that breaks a rule; the message is for the person at the form."""


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


def end_all_sessions(user: User) -> None:
    """Invalidate every session of the user, including copied cookies."""
    user.session_version += 1


def check_scope(role: Role, scope: Scope) -> None:
    """Raise AccountError unless the scope fits the role."""
    if role == Role.GRID_WORKER and scope.grid is None:
        raise AccountError(_l("A grid worker needs a grid."))
    if role == Role.COORDINATOR and not (scope.community or scope.street):
        raise AccountError(_l("A coordinator needs a community or a street."))
    if role == Role.COORDINATOR and scope.grid is not None:
        raise AccountError(_l("A coordinator covers a community or a street, not a grid."))


def apply_scope(user: User, role: Role, scope: Scope) -> None:
    """Set role and area; staff roles keep exactly one level, others none."""
    check_scope(role, scope)
    user.role = role
    today = local_today()
    if role != Role.GRID_WORKER:
        areas.release_grids(user, today)
    elif user.grid != scope.grid:
        areas.assign_worker(scope.grid, user, today=today, actor=None)
    user.community = scope.community if role == Role.COORDINATOR else None
    user.street = scope.street if role == Role.COORDINATOR and scope.community is None else None


def create_user(*, actor: User | None, username: str, display_name: str, password: str,
                role: Role, scope: Scope, phone: str = "") -> User:
    """Create an account after checking the username, password and scope."""
    username = username.strip()
    taken = db.session.scalar(select(User.id).where(func.lower(User.username) == username.lower()))
    if taken is not None:
        raise AccountError(_l("This username is already taken."))
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(_l("The password needs at least %(n)d characters.",
                              n=MIN_PASSWORD_LENGTH))
    user = User(username=username, display_name=display_name.strip(), phone=phone.strip(),
                active=True)
    user.set_password(password)
    apply_scope(user, role, scope)
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "user.create", "user", user.id, role=role.value)
    return user


def update_user(*, actor: User, user: User, display_name: str, phone: str, role: Role,
                scope: Scope, active: bool, new_password: str = "") -> None:
    """Change an account; a role, scope or status change ends its sessions."""
    before = (user.role, user.grid_id, user.community_id, user.street_id, user.active)
    if user.id == actor.id and (role != Role.ADMIN or not active):
        raise AccountError(_l("You cannot remove your own admin role or deactivate yourself."))
    if new_password and len(new_password) < MIN_PASSWORD_LENGTH:
        raise AccountError(_l("The password needs at least %(n)d characters.",
                              n=MIN_PASSWORD_LENGTH))
    apply_scope(user, role, scope)
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
