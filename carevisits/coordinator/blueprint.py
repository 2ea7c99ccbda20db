"""The coordinators' blueprint, shared by its page modules (who may open them:
carevisits.access.coordinator_required)."""

from flask import Blueprint, abort, request

from carevisits.i18n import local_zone
from carevisits.models.base import utcnow
from carevisits.services import exports

bp = Blueprint("coordinator", __name__, url_prefix="/coordinator")


def month_param() -> exports.Month:
    """The month asked for (?month=YYYY-MM), this month by default; 400 if unreadable."""
    text = request.args.get("month") or utcnow().astimezone(local_zone()).strftime("%Y-%m")
    try:
        return exports.Month.parse(text)
    except ValueError:
        abort(400)
