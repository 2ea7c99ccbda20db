"""Error pages in the user's language, never a bare stack trace."""

from flask import Flask, jsonify, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from carevisits.extensions import db
from carevisits.problems import is_api_request, problem
from carevisits.responses import SIGN_IN_AGAIN, wants_json

MESSAGES = {
    400: _l("The request could not be understood. Go back and try again."),
    403: _l("You do not have access to this page."),
    404: _l("Not found, or not in your area."),
    405: _l("This page cannot be used that way."),
    429: _l("Too many attempts. Wait a few minutes and try again."),
    500: _l("Something went wrong on our side. Nothing was saved; try again."),
}


def register_error_handlers(app: Flask) -> None:
    """Render every HTTP error, CSRF failures included, as a friendly page."""
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)


def _render(code: int, message):
    return render_template("errors/error.html", code=code, message=message), code


def _csrf_error(error: CSRFError):
    if wants_json() and current_user.is_authenticated:  # a stale token: the phone asks for
        return jsonify(ok=False, retry=True, error=str(_l(  # a fresh one and sends again
            "This form has expired: it is sent again."))), 400
    if wants_json():  # the phone keeps the visit, asks to sign in again, then sends it
        return jsonify(ok=False, signin=True, error=str(SIGN_IN_AGAIN)), 400
    return _render(400, _l("This form has expired. Reload the page and send it again."))


def _http_error(error: HTTPException):
    if error.code and error.code >= 500:
        db.session.rollback()
    code = error.code or 500
    if is_api_request():  # the integration API answers problem details, never a page
        allowed = getattr(error, "valid_methods", None)
        return problem(code, headers={"Allow": ", ".join(allowed)} if allowed else None)
    return _render(code, MESSAGES.get(code, error.description))
