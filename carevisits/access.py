"""Role checks for views, as decorators."""

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from carevisits.models import STAFF_ROLES, Role


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
