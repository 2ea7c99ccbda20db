"""Elder records on the register: create in a household, edit every field, move to another
household, close with a reason and reopen. The elder's own page stays in ``elders``."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from carevisits.access import coordinator_required
from carevisits.extensions import db
from carevisits.models import ClosedReason, Elder, Household
from carevisits.models.base import local_today
from carevisits.register.blueprint import bp
from carevisits.register.households import household_in_scope
from carevisits.register.record_forms import CloseForm, ElderForm, MoveElderForm
from carevisits.services import doorcodes
from carevisits.services import elders as elder_service
from carevisits.services.scope import can_see_household


def _elder_in_scope(elder_id: int) -> Elder:
    elder = db.session.get(Elder, elder_id)
    if elder is None or not can_see_household(current_user, elder.household):
        abort(404)
    return elder


def _duplicates(form: ElderForm, household: Household, elder: Elder | None) -> list[Elder]:
    """Likely duplicates of what the form says, unless the user confirmed; for an existing
    elder only when the name or birth year changes."""
    values = form.values()
    if form.confirm.data or (elder is not None and (elder.name, elder.birth_year) == (
            values["name"], values["birth_year"])):
        return []
    return elder_service.likely_duplicates(values["name"], values["birth_year"], household,
                                           exclude_id=elder.id if elder else None)


@bp.route("/households/<int:household_id>/elders/new", methods=["GET", "POST"])
@coordinator_required
def new_elder(household_id: int):
    """Add an elder to a household; a likely duplicate must be confirmed first."""
    household = household_in_scope(household_id)
    if household.closed_at is not None:
        abort(404)
    form, duplicates = ElderForm(), []
    if form.validate_on_submit():
        duplicates = _duplicates(form, household, None)
        if not duplicates:
            values = form.values()
            elder = elder_service.create_elder(household, actor=current_user, **values)
            db.session.commit()
            flash(_l("%(name)s is on the register; the first visit is due now.",
                     name=elder.name), "info")
            return redirect(url_for("elders.detail", elder_id=elder.id))
    return render_template("register/elder_form.html", form=form, household=household,
                           elder=None, duplicates=duplicates), (
        422 if form.is_submitted() else 200)


@bp.route("/elders/<int:elder_id>/edit", methods=["GET", "POST"])
@coordinator_required
def edit_elder(elder_id: int):
    """Change any field of an elder's record; the page also moves the elder."""
    elder = _elder_in_scope(elder_id)
    form, duplicates = ElderForm(), []
    if not form.is_submitted():
        form.fill(elder)
    elif form.validate():
        duplicates = _duplicates(form, elder.household, elder)
        if not duplicates:
            changes = elder_service.update_elder(elder, actor=current_user, **form.values())
            db.session.commit()
            flash(_l("Saved.") if changes else _l("Nothing was changed."), "info")
            return redirect(url_for("elders.detail", elder_id=elder.id))
    return _edit_page(elder, form, duplicates=duplicates,
                      status=422 if form.is_submitted() else 200)


def _edit_page(elder, form=None, move_form=None, duplicates=(), status=200):
    if form is None:
        form = ElderForm(formdata=None)
        form.fill(elder)
    return render_template("register/elder_form.html", form=form, household=elder.household,
                           elder=elder, duplicates=duplicates,
                           move_form=move_form or MoveElderForm(formdata=None)), status


@bp.post("/elders/<int:elder_id>/move")
@coordinator_required
def move_elder(elder_id: int):
    """Move the elder to another household of my area, found by its household number."""
    elder, form = _elder_in_scope(elder_id), MoveElderForm()
    if form.validate_on_submit():
        number = doorcodes.normalise_household_number(form.number.data)
        target = db.session.scalar(select(Household).where(Household.number == number))
        if target is None or not can_see_household(current_user, target):
            form.number.errors = [_l("No household of your area has this number.")]
        else:
            try:
                elder_service.move_elder(elder, target, actor=current_user)
            except elder_service.ElderError as err:
                db.session.rollback()
                form.number.errors = [str(err)]
            else:
                db.session.commit()
                flash(_l("%(name)s now lives at %(address)s.", name=elder.name,
                         address=target.full_address), "info")
                return redirect(url_for("elders.detail", elder_id=elder.id))
    return _edit_page(elder, move_form=form, status=422)


@bp.route("/elders/<int:elder_id>/close", methods=["GET", "POST"])
@coordinator_required
def close_elder(elder_id: int):
    """Close the record with a reason and a date: off rounds, scans and door forms; open
    alerts resolved with the reason; history, requests and family links kept."""
    elder = _elder_in_scope(elder_id)
    if not elder.active:
        return redirect(url_for("elders.detail", elder_id=elder.id))
    form = CloseForm()
    if form.validate_on_submit():
        try:
            elder_service.close_elder(elder, reason=ClosedReason(form.reason.data),
                                      on=form.closed_on.data, actor=current_user,
                                      today=local_today())
        except elder_service.ElderError as err:
            db.session.rollback()
            form.closed_on.errors = [*form.closed_on.errors, str(err)]
        else:
            db.session.commit()
            flash(_l("The record of %(name)s is closed.", name=elder.name), "info")
            return redirect(url_for("elders.detail", elder_id=elder.id))
    return render_template("register/elder_close.html", elder=elder, form=form), (
        422 if form.is_submitted() else 200)


@bp.post("/elders/<int:elder_id>/reopen")
@coordinator_required
def reopen_elder(elder_id: int):
    """Bring a closed record back onto the round, due a visit now."""
    elder = _elder_in_scope(elder_id)
    try:
        elder_service.reopen_elder(elder, actor=current_user)
    except elder_service.ElderError as err:
        db.session.rollback()
        flash(str(err), "error")
    else:
        db.session.commit()
        flash(_l("The record of %(name)s is open again; a visit is due now.",
                 name=elder.name), "info")
    return redirect(url_for("elders.detail", elder_id=elder.id))
