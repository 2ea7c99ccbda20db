"""Sign-in sessions, CSRF, throttling and the response headers every page gets."""

from flask import Flask, current_app, g, has_request_context, render_template, request, session
from flask_babel import lazy_gettext as _l
from flask_limiter import RateLimitExceeded
from flask_login import current_user, user_logged_in
from werkzeug.middleware.proxy_fix import ProxyFix

from carevisits.errors import MESSAGES
from carevisits.extensions import csrf, limiter, login_manager
from carevisits.models import User
from carevisits.problems import is_api_request, problem
from carevisits.services import accounts, notify
from carevisits.throttle import register_throttle

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
# The session cookie's key for this browser's sign-in secret (accounts.start_session).
SESSION_SECRET = "sid"
# Sent only when cookies are Secure (the site is served over HTTPS): a year, this host only.
HSTS = "max-age=31536000"


def register_security(app: Flask) -> None:
    """Attach Flask-Login, CSRF protection, the rate limiter and security headers; trust the
    configured proxies' X-Forwarded-For and X-Forwarded-Proto (nothing else)."""
    if hops := app.config["PROXY_HOPS"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_prefix=0)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in first.")
    login_manager.login_message_category = "info"
    csrf.init_app(app)
    limiter.init_app(app)
    register_throttle(app)
    app.register_error_handler(RateLimitExceeded, _too_many)
    user_logged_in.connect(_rotate_csrf_token, app)
    user_logged_in.connect(_start_session, app)
    app.after_request(_security_headers)
    app.context_processor(_signed_in_facts)


def _signed_in_facts() -> dict:
    """What every page says of the signed-in user: the count of unresolved alerts in a staff
    member's area (the nav badge) and the area they cover (the footer)."""
    if not current_user.is_authenticated:
        return {"alert_count": 0, "scope_label": ""}
    count, area = notify.badge_and_area(current_user)
    return {"alert_count": count, "scope_label": area}


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The signed-in user, if the account is active, the session's version still current and
    this browser's session not ended (a cookie copied before sign-out is refused too)."""
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    return accounts.session_user(int(user_id), int(version), session.get(SESSION_SECRET))


def this_session() -> str | None:
    """This browser's sign-in secret, for ending its session."""
    return session.get(SESSION_SECRET)


def _start_session(sender: Flask, user: User, **_) -> None:
    """Every sign-in (the sign-in page, a sign-up) starts a session of this browser's own;
    the view's commit keeps it."""
    if has_request_context():
        session[SESSION_SECRET] = accounts.start_session(user)


def _rotate_csrf_token(sender: Flask, **_) -> None:
    """A new CSRF token at every sign-in, so a token planted or seen before it is useless."""
    if has_request_context():
        name = sender.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        session.pop(name, None)
        g.pop(name, None)


def _too_many(error: RateLimitExceeded):
    """The page a limit made for itself (the sign-in form), the API's problem, else the plain
    429 page."""
    if error.response is not None:
        return error.response
    if is_api_request():
        return problem(429)
    return render_template("errors/error.html", code=429, message=MESSAGES[429]), 429


def _security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if current_app.config["SESSION_COOKIE_SECURE"]:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    return response
