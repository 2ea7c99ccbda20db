"""The coordinators' blueprint, shared by its page modules (who may open them:
carevisits.access.coordinator_required)."""

from flask import Blueprint, abort, make_response, render_template, request
from flask_babel import lazy_gettext as _l

from carevisits.i18n import local_zone
from carevisits.models.base import utcnow
from carevisits.services import exports

bp = Blueprint("coordinator", __name__, url_prefix="/coordinator")


def bad_parameter(message) -> None:
    """Stop with 400 and a page saying what was wrong with the address."""
    abort(make_response(render_template("errors/error.html", code=400, message=message), 400))


def month_param(latest: exports.Month | None = None) -> exports.Month:
    """The month asked for (?month=YYYY-MM), this month by default; 400 with a message if
    unreadable, or later than ``latest``."""
    text = request.args.get("month") or utcnow().astimezone(local_zone()).strftime("%Y-%m")
    try:
        month = exports.Month.parse(text)
    except ValueError:
        bad_parameter(_l("Choose a month written as year-month, e.g. 2026-11."))
    if latest is not None and (month.year, month.month) > (latest.year, latest.month):
        bad_parameter(_l("That month has not begun yet."))
    return month
