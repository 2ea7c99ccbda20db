"""The grid worker's home: today's round."""

from flask import Blueprint, render_template
from flask_login import current_user

from carevisits.access import staff_required
from carevisits.models.base import utcnow
from carevisits.services.rounds import round_for

bp = Blueprint("round", __name__, url_prefix="/round")


@bp.get("/")
@staff_required
def index():
    """My round: the households of my area by building, the longest unseen first."""
    return render_template("round/index.html", buildings=round_for(current_user),
                           now=utcnow())
