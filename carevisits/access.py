"""Who may open a page: the role checks every blueprint uses, as decorators (each role rule
defined once, here), and the session key under which a page that asks for sign-in remembers
where to return afterwards."""

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from carevisits.models import STAFF_ROLES, Role

# The path to go back to after signing in (set by the door, read by the sign-in page).
NEXT_KEY = "next_path"


def roles_required(*roles: Role) -> Callable:
    """Require a signed-in user with one of ``roles``; others get 403."""
    allowed = frozenset(roles)

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


staff_required = roles_required(*STAFF_ROLES)
admin_required = roles_required(Role.ADMIN)
coordinator_required = roles_required(Role.ADMIN, Role.COORDINATOR)
