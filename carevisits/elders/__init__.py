"""Elder records for staff: search within scope, profile and visit history."""

from flask import Blueprint, abort, current_app, render_template, request
from flask_login import current_user
from sqlalchemy import or_

from carevisits.access import staff_required
from carevisits.database import takes_write_lock
from carevisits.extensions import db
from carevisits.models import Elder, Household
from carevisits.models.base import utcnow
from carevisits.services import audit
from carevisits.services.rounds import elder_history
from carevisits.services.scope import can_see_household, scoped_elders

bp = Blueprint("elders", __name__, url_prefix="/elders")


@bp.get("/")
@staff_required
def index():
    """Search the elders in my area by name, phone, household number or address."""
    q = request.args.get("q", "").strip()[:40]
    query = scoped_elders(current_user).order_by(Household.address, Household.building,
                                                 Household.room, Elder.id)
    if q:
        like = f"%{q}%"
        query = query.where(or_(Elder.name.like(like), Elder.phone.like(like),
                                Household.number == q.replace(" ", ""),
                                Household.address.like(like)))
    page = db.paginate(query, per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("elders/index.html", page=page, q=q, now=utcnow())


@bp.get("/<int:elder_id>")
@staff_required
@takes_write_lock
def detail(elder_id: int):
    """An elder's profile and visit history, newest first; each view is audited."""
    elder = db.session.get(Elder, elder_id)
    if elder is None or not can_see_household(current_user, elder.household):
        abort(404)
    history = db.paginate(elder_history(elder), per_page=current_app.config["PAGE_SIZE"],
                          error_out=False)
    audit.record(current_user, "elder.view", "elder", elder.id)
    db.session.commit()
    return render_template("elders/detail.html", elder=elder, history=history, now=utcnow())
