"""Elder records for staff: search within scope, profile and visit history."""

import segno
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from carevisits.access import coordinator_required, staff_required
from carevisits.elders import daily_checkin
from carevisits.elders.blueprint import bp
from carevisits.elders.blueprint import detail_page as _detail_page
from carevisits.elders.blueprint import elder_in_scope as _elder_in_scope
from carevisits.elders.blueprint import menu_form_for as _menu_form
from carevisits.elders.forms import IntervalForm, InviteForm, PauseForm, PhoneForm
from carevisits.extensions import db
from carevisits.i18n import local_date, local_zone
from carevisits.models import FamilyLink, Frequency, MenuEntry, Outcome, ServiceItem
from carevisits.models.base import utcnow
from carevisits.paging import paginate
from carevisits.services import (
    checkin,
    elder_list,
    family,
    menus,
    phone_calls,
)
from carevisits.services import elders as elder_service
from carevisits.services.elder_list import ElderFilter, register_query, workers_of
from carevisits.services.rounds import elder_history
from carevisits.services.scope import area_options

__all__ = ["bp", "daily_checkin"]


@bp.get("/")
@staff_required
def index():
    """The register of my area: filter by area, care level and status, search by name,
    phone, household number or address; the grid's worker, last seen and next due."""
    chosen = ElderFilter.from_args(request.args, current_user)
    now = utcnow()
    today = local_date(now)
    page = paginate(register_query(current_user, chosen, now), current_app.config["PAGE_SIZE"])
    workers = workers_of({e.household.grid_id for e in page.items}, today)
    return render_template("elders/index.html", page=page, chosen=chosen, now=now,
                           workers=workers, areas=area_options(current_user),
                           statuses=elder_list.STATUSES)


@bp.get("/<int:elder_id>")
@staff_required
def detail(elder_id: int):
    """An elder's profile and visit history, newest first; each view is audited."""
    elder = _elder_in_scope(elder_id)
    history = paginate(elder_history(elder), current_app.config["PAGE_SIZE"])
    elder_service.record_view(current_user, elder)
    db.session.commit()
    return _detail_page(elder, history)


@bp.route("/<int:elder_id>/phone", methods=["GET", "POST"])
@staff_required
def phone(elder_id: int):
    """A phone call to the elder (电话问候): reached or not, and notes; back to the round or
    the elder's page."""
    elder, form = _elder_in_scope(elder_id), PhoneForm()
    back = "round" if request.args.get("back") == "round" else "elder"
    if not elder.active:
        abort(404)
    if not form.is_submitted():
        form.idempotency_key.data = checkin.new_idempotency_key()
    elif form.validate():
        try:
            _visit, counted = phone_calls.record_phone_call(
                caller=current_user, elder=elder, outcome=Outcome(form.outcome.data),
                notes=form.notes.data or "", idempotency_key=form.idempotency_key.data)
        except checkin.CheckInError as err:
            db.session.rollback()
            form.outcome.errors = [str(err)]
        else:
            db.session.commit()
            flash(_l("Phone call with %(name)s recorded.", name=elder.name) if counted else
                  _l("Phone call with %(name)s recorded. At this care level a call does not "
                     "replace a visit at the door.", name=elder.name), "info")
            return redirect(url_for("round.index") if back == "round"
                            else url_for("elders.detail", elder_id=elder.id))
    return render_template("elders/phone.html", elder=elder, form=form, back=back), (
        422 if form.errors else 200)


@bp.post("/<int:elder_id>/pause")
@staff_required
def pause(elder_id: int):
    """Pause visits while the elder is away (hospital, with children)."""
    elder, form = _elder_in_scope(elder_id), PauseForm()
    today = utcnow().astimezone(local_zone()).date()
    valid = form.validate_on_submit()
    if valid and form.until.data < today:
        form.until.errors, valid = [_l("The end date is in the past.")], False
    if valid:
        elder_service.pause_visits(elder, reason=form.reason.data, until=form.until.data,
                                   actor=current_user, today=today)
        db.session.commit()
        flash(_l("Visits paused."), "info")
        return redirect(url_for("elders.detail", elder_id=elder.id))
    return _detail_page(elder, pause_form=form, status=422)


@bp.post("/<int:elder_id>/resume")
@staff_required
def resume(elder_id: int):
    """The elder is back: visits are due again from now."""
    elder = _elder_in_scope(elder_id)
    elder_service.resume_visits(elder, actor=current_user, now=utcnow())
    db.session.commit()
    return redirect(url_for("elders.detail", elder_id=elder.id))


@bp.post("/<int:elder_id>/interval")
@coordinator_required
def interval(elder_id: int):
    """Visit this elder more or less often than the care level says."""
    elder, form = _elder_in_scope(elder_id), IntervalForm()
    if not form.validate_on_submit():
        return _detail_page(elder, interval_form=form, status=422)
    elder_service.set_interval(elder, days=form.days.data, actor=current_user)
    db.session.commit()
    flash(_l("Visit interval saved."), "info")
    return redirect(url_for("elders.detail", elder_id=elder.id))


@bp.post("/<int:elder_id>/menu")
@staff_required
def add_service(elder_id: int):
    """Put a service on the elder's menu (a change replaces the entry, kept as history)."""
    elder = _elder_in_scope(elder_id)
    form = _menu_form(elder)
    item = db.session.get(ServiceItem, form.item.data) if form.validate_on_submit() else None
    if item is not None:
        try:
            menus.add_to_menu(elder, item=item, frequency=Frequency(form.frequency.data),
                              notes=form.notes.data or "", starts_on=form.starts_on.data,
                              ends_on=form.ends_on.data, actor=current_user)
        except menus.MenuError as err:
            db.session.rollback()
            form.item.errors = [str(err)]
        else:
            db.session.commit()
            flash(_l("Service added to the menu."), "info")
            return redirect(url_for("elders.detail", elder_id=elder.id))
    return _detail_page(elder, menu_form=form, status=422)


@bp.post("/<int:elder_id>/menu/<int:entry_id>/end")
@staff_required
def end_service(elder_id: int, entry_id: int):
    """Take a service off the menu."""
    elder = _elder_in_scope(elder_id)
    entry = db.session.get(MenuEntry, entry_id)
    if entry is None or entry.elder_id != elder.id:
        abort(404)
    menus.end_entry(entry, current_user)
    db.session.commit()
    return redirect(url_for("elders.detail", elder_id=elder.id))


@bp.post("/<int:elder_id>/invites")
@staff_required
def invite(elder_id: int):
    """A single-use code (valid a week) for a family member to follow this elder."""
    elder, form = _elder_in_scope(elder_id), InviteForm()
    if not form.validate_on_submit():
        return _detail_page(elder, invite_form=form, status=422)
    invite = family.create_invite(elder, relation=form.relation.data,
                                  may_see_observations=form.may_see_observations.data,
                                  actor=current_user)
    db.session.commit()
    # Shown once, to show on the phone or print; the QR opens the family page with the code.
    url = f"{current_app.config['BASE_URL']}/family/?code={invite.code}"
    # segno writes the SVG from the code's modules alone; the URL is not in it as text.
    qr = Markup(segno.make(url, error="m").svg_inline(scale=5, border=4))  # nosec B704
    return render_template("elders/invite.html", elder=elder, invite=invite, qr=qr,
                           days=family.INVITE_DAYS)


@bp.post("/<int:elder_id>/family/<int:link_id>/revoke")
@staff_required
def revoke_family(elder_id: int, link_id: int):
    """End a family member's access at once."""
    elder = _elder_in_scope(elder_id)
    link = db.session.get(FamilyLink, link_id)
    if link is None or link.elder_id != elder.id or link.revoked_at is not None:
        abort(404)
    family.revoke(link, current_user)
    db.session.commit()
    return redirect(url_for("elders.detail", elder_id=elder.id))
