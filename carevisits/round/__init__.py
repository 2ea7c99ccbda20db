"""The grid worker's home: today's round."""

import json

from flask import Blueprint, Response, render_template
from flask_login import current_user

from carevisits.access import roles_required, staff_required
from carevisits.models import STAFF_ROLES, Role
from carevisits.models.base import local_today, utcnow
from carevisits.services.round_pack import round_pack
from carevisits.services.rounds import round_groups

bp = Blueprint("round", __name__, url_prefix="/round")


@bp.get("/")
@staff_required
def index():
    """My round: a worker's households by building (by grid first when covering another), a
    coordinator's by community and grid, collapsed; the most urgent first."""
    now = utcnow()
    return render_template("round/index.html", groups=round_groups(current_user, now,
                                                                   local_today()), now=now)


@bp.get("/pack.json")
@roles_required(*STAFF_ROLES, Role.VOLUNTEER)
def pack():
    """The round pack a phone keeps for the door form without signal: the visitor's own
    scope only (kept in the phone's IndexedDB by the page's script, never in an HTTP cache)."""
    body = json.dumps(round_pack(current_user, utcnow(), local_today()), ensure_ascii=False,
                      separators=(",", ":"))
    return Response(body, mimetype="application/json")
