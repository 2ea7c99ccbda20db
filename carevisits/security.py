"""Sign-in sessions, CSRF, throttling and the response headers every page gets."""

from flask import Flask, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from carevisits.extensions import csrf, db, limiter, login_manager
from carevisits.models import User
from carevisits.services import notify

# Health data and door tokens must not linger in browser caches or leak in Referer headers.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


def register_security(app: Flask) -> None:
    """Attach Flask-Login, CSRF protection, the rate limiter and security headers."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in first.")
    login_manager.login_message_category = "info"
    csrf.init_app(app)
    limiter.init_app(app)
    app.after_request(_security_headers)
    app.context_processor(_alert_badge)


def _alert_badge() -> dict:
    """The count of unresolved alerts in the staff member's area, for the nav badge."""
    if current_user.is_authenticated and current_user.is_staff:
        return {"alert_count": notify.open_count(current_user)}
    return {"alert_count": 0}


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The signed-in user, if the session's version is still current and the account active."""
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def _security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    return response
