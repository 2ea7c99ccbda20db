"""The elders blueprint, shared by its page modules: the elder in the user's scope and the
elder's page, which every form on it renders again with its errors."""

from flask import Blueprint, abort, current_app, render_template
from flask_login import current_user
from sqlalchemy import select

from carevisits import labels
from carevisits.elders.forms import (
    CheckinHourForm,
    IntervalForm,
    InviteForm,
    MenuForm,
    PauseForm,
)
from carevisits.extensions import db
from carevisits.forms import RaiseForm
from carevisits.i18n import local_zone
from carevisits.models import Alert, Elder, FamilyLink, ServiceRequest
from carevisits.models.base import utcnow
from carevisits.paging import paginate
from carevisits.services import followups, menus, rosters, selfcheck
from carevisits.services.rounds import elder_history
from carevisits.services.scope import can_see_household

bp = Blueprint("elders", __name__, url_prefix="/elders")


def menu_form_for(elder: Elder, form=None) -> MenuForm:
    """The add-a-service form, offering the services this elder may have (shared and their
    street's, see menus.offered_items)."""
    form = form or MenuForm()
    form.item.choices = labels.as_choices({i.id: f"{i.name}（{i.category}）"
                                           for i in menus.offered_items(elder)})
    if form.starts_on.data is None:
        form.starts_on.data = utcnow().astimezone(local_zone()).date()
    return form


def detail_page(elder, history=None, pause_form=None, interval_form=None, menu_form=None,
                invite_form=None, checkin_form=None, status=200):
    """The elder's page; a form refused on it comes back with its errors."""
    if history is None:
        history = paginate(elder_history(elder), current_app.config["PAGE_SIZE"])
    alert_list = db.session.scalars(select(Alert).where(Alert.elder_id == elder.id)
                                    .order_by(Alert.opened_at.desc()).limit(20)).all()
    now = utcnow()
    menu = menus.current_menu(elder, now.astimezone(local_zone()).date())
    last = menus.last_deliveries([elder.id])
    menu_rows = [(e, last.get((elder.id, e.item_id)), menus.next_due(
        e, last.get((elder.id, e.item_id)))) for e in menu]
    elder_requests = db.session.scalars(select(ServiceRequest).where(
        ServiceRequest.elder_id == elder.id).order_by(ServiceRequest.raised_at.desc())
        .limit(20)).all()
    return render_template(
        "elders/detail.html", elder=elder, history=history, now=now, alerts=alert_list,
        delivered=menus.delivered_at_visits([r.visit_id for r in history.items]),
        menu_rows=menu_rows, menu_form=menu_form_for(elder, menu_form), requests=elder_requests,
        raise_form=RaiseForm(), invite_form=invite_form or InviteForm(),
        family_links=db.session.scalars(select(FamilyLink).where(
            FamilyLink.elder_id == elder.id, FamilyLink.revoked_at.is_(None))).all(),
        rosters=rosters.rosters_visiting(elder.household),
        followups=followups.of_elder(elder), today=now.astimezone(local_zone()).date(),
        pause_form=pause_form or PauseForm(), interval_form=interval_form or IntervalForm(
            days=elder.visit_interval_days),
        checkin=selfcheck.overview(elder, now, current_app.config["BASE_URL"]),
        checkin_form=checkin_form or CheckinHourForm(
            hour=elder.checkin_by_hour or selfcheck.DEFAULT_HOUR)), status


def elder_in_scope(elder_id: int) -> Elder:
    """The elder, if the signed-in user's scope holds their household; 404 otherwise."""
    elder = db.session.get(Elder, elder_id)
    if elder is None or not can_see_household(current_user, elder.household):
        abort(404)
    return elder
