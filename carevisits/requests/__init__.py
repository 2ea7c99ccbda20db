"""Requests (诉求) for staff: my list, the community's list, and moving each one on."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import case
from wtforms import SelectField, TextAreaField
from wtforms.validators import Length

from carevisits import labels
from carevisits.access import staff_required
from carevisits.extensions import db
from carevisits.forms import RaiseForm, TextForm
from carevisits.models import (
    OPEN_REQUEST_STATUSES,
    Elder,
    RequestClass,
    RequestSource,
    RequestStatus,
    ServiceRequest,
)
from carevisits.models.base import utcnow
from carevisits.paging import paginate
from carevisits.services import requests
from carevisits.services.scope import can_see_household

bp = Blueprint("requests", __name__, url_prefix="/requests")


class StatusForm(TextForm):
    """Move a request on, with a note."""

    status = SelectField(_l("New status"), choices=labels.as_choices(labels.REQUEST_STATUSES))
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])


class ClassForm(TextForm):
    """The office classes a request by the 7123 rule."""

    request_class = SelectField(_l("How big (7123 rule)"),
                                choices=labels.as_choices(labels.REQUEST_CLASSES))


@bp.get("/")
@staff_required
def index():
    """Requests in my area, overdue first; "mine" shows those I own."""
    now = utcnow()
    query = requests.visible_requests(current_user)
    if request.args.get("mine"):
        query = query.where(ServiceRequest.owner_id == current_user.id)
    if request.args.get("all") != "1":
        query = query.where(ServiceRequest.status.in_(OPEN_REQUEST_STATUSES))
    overdue_first = case((ServiceRequest.status.in_(OPEN_REQUEST_STATUSES)
                          & (ServiceRequest.deadline < now), 0), else_=1)
    page = paginate(query.order_by(overdue_first, ServiceRequest.deadline), 50)
    return render_template("requests/index.html", page=page, now=now, args=request.args)


def _request_in_scope(request_id: int) -> ServiceRequest:
    found = db.session.scalar(requests.visible_requests(current_user)
                              .where(ServiceRequest.id == request_id))
    return found if found is not None else abort(404)


@bp.route("/<int:request_id>", methods=["GET", "POST"])
@staff_required
def detail(request_id: int):
    """One request: what, for whom, the deadline, its history, and the next step."""
    found, form = _request_in_scope(request_id), StatusForm()
    if form.validate_on_submit():
        try:
            requests.change_status(found, RequestStatus(form.status.data), actor=current_user,
                                   note=form.note.data)
        except requests.RequestError as err:
            db.session.rollback()
            flash(str(err), "error")
        else:
            db.session.commit()
            return redirect(url_for("requests.detail", request_id=found.id))
    return _detail_page(found, form=form, status=422 if form.is_submitted() else 200)


def _detail_page(found: ServiceRequest, *, form: StatusForm | None = None,
                 class_form: ClassForm | None = None, status: int = 200):
    if class_form is None:
        class_form = ClassForm(formdata=None, request_class=found.request_class.value)
    return render_template("requests/detail.html", req=found, form=form or StatusForm(),
                           class_form=class_form, now=utcnow(),
                           next_statuses=requests.NEXT[found.status]), status


@bp.post("/<int:request_id>/class")
@staff_required
def reclass(request_id: int):
    """Class a request by the 7123 rule (a family's request comes in as a small matter)."""
    found, form = _request_in_scope(request_id), ClassForm()
    if form.validate_on_submit():
        try:
            requests.reclass(found, RequestClass(form.request_class.data), actor=current_user)
        except requests.RequestError as err:
            db.session.rollback()
            form.request_class.errors = [str(err)]
        else:
            db.session.commit()
            return redirect(url_for("requests.detail", request_id=found.id))
    return _detail_page(found, class_form=form, status=422)


@bp.post("/elders/<int:elder_id>")
@staff_required
def raise_for_elder(elder_id: int):
    """Raise a request from the elder's page; what is wrong goes back there, all at once."""
    elder = db.session.get(Elder, elder_id)
    if elder is None or not can_see_household(current_user, elder.household):
        abort(404)
    form = RaiseForm()
    problems = [] if form.validate_on_submit() else [
        message for errors in form.errors.values() for message in errors]
    if not problems:
        try:
            new = requests.file_request(
                current_user, elder, kind=form.kind.data, description=form.description.data,
                request_class=RequestClass(form.request_class.data),
                source=RequestSource.ELDER_PAGE)
        except requests.RequestError as err:
            db.session.rollback()
            problems = [str(err)]
        else:
            db.session.commit()
            flash(_l("Request recorded."), "info")
            return redirect(url_for("requests.detail", request_id=new.id))
    for message in problems:
        flash(message, "error")
    return redirect(url_for("elders.detail", elder_id=elder.id))
