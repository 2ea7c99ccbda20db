"""The grid worker's home: today's round."""

from flask import Blueprint, render_template
from flask_login import current_user

from carevisits.access import staff_required
from carevisits.models.base import local_today, utcnow
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
