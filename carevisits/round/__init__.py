"""The grid worker's home: today's round."""

import json

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from carevisits.access import roles_required, staff_required
from carevisits.extensions import db
from carevisits.models import STAFF_ROLES, Role
from carevisits.models.base import local_today, utcnow
from carevisits.services import followups
from carevisits.services.round_pack import round_pack
from carevisits.services.rounds import round_groups

bp = Blueprint("round", __name__, url_prefix="/round")


@bp.get("/")
@staff_required
def index():
    """My round: a worker's households by building (by grid first when covering another), a
    coordinator's by community and grid, collapsed; the most urgent first."""
    now, today = utcnow(), local_today()
    return render_template("round/index.html", groups=round_groups(current_user, now, today),
                           now=now, today=today,
                           followups=followups.for_round(current_user, today))


@bp.post("/followups/<int:followup_id>/done")
@staff_required
def followup_done(followup_id: int):
    """Tick a follow-up off (one tap on the round or the elder's page); back where it was."""
    followup = followups.in_scope(current_user, followup_id) or abort(404)
    if followups.mark_done(followup, actor=current_user, now=utcnow()):
        flash(_l("Done: %(what)s (%(name)s).", what=followup.what, name=followup.elder.name),
              "info")
    db.session.commit()
    if request.args.get("back") == "elder":
        return redirect(url_for("elders.detail", elder_id=followup.elder_id))
    return redirect(url_for("round.index"))


@bp.get("/pack.json")
@roles_required(*STAFF_ROLES, Role.VOLUNTEER)
def pack():
    """The round pack a phone keeps for the door form without signal: the visitor's own
    scope only (kept in the phone's IndexedDB by the page's script, never in an HTTP cache)."""
    body = json.dumps(round_pack(current_user, utcnow(), local_today()), ensure_ascii=False,
                      separators=(",", ":"))
    return Response(body, mimetype="application/json")
