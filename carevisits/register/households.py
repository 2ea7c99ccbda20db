"""Household pages of the register: create, read, edit the address, move, close."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from carevisits import labels
from carevisits.access import coordinator_required, staff_required
from carevisits.extensions import db
from carevisits.models import ClosedReason, Grid, Household
from carevisits.models.base import local_today
from carevisits.paging import record_id
from carevisits.register.blueprint import bp
from carevisits.register.record_forms import (
    CloseForm,
    DeviceForm,
    GridForm,
    HouseholdForm,
    NewHouseholdForm,
    RemoveForm,
    SilenceForm,
)
from carevisits.services import devices, doorcodes, households, signals
from carevisits.services.scope import area_options, can_see_household


def household_in_scope(household_id: int) -> Household:
    """The household if the signed-in user may see it; 404 otherwise."""
    household = db.session.get(Household, household_id)
    if household is None or not can_see_household(current_user, household):
        abort(404)
    return household


def _my_grids(street_id: int | None = None) -> dict[int, str]:
    """The grids of the user's scope (of one street if given), id → label."""
    ids = [int(key[2:]) for key in area_options(current_user) if key.startswith("g:")]
    grids = db.session.scalars(select(Grid).where(Grid.id.in_(ids)).order_by(Grid.id))
    return {g.id: g.label for g in grids
            if street_id is None or g.community.street_id == street_id}


def _show_error(form, err) -> None:
    field = getattr(form, err.field, None) if err.field else None
    if field is not None:
        field.errors = [*field.errors, str(err)]
    else:
        flash(str(err), "error")


@bp.route("/households/new", methods=["GET", "POST"])
@coordinator_required
def new_household():
    """A new household in a grid of my area; it gets its number and door code at once."""
    form = NewHouseholdForm()
    form.grid.choices = labels.as_choices(_my_grids())
    if not form.is_submitted() and (grid := request.args.get("grid", type=record_id)):
        form.grid.data = grid
    if form.validate_on_submit():
        try:
            household = households.create_household(
                db.session.get(Grid, form.grid.data), actor=current_user,
                **form.address_values())
        except households.HouseholdError as err:
            db.session.rollback()
            _show_error(form, err)
        else:
            db.session.commit()
            flash(_l("Household no. %(number)s created: its door card can be printed now.",
                     number=household.number), "info")
            return redirect(url_for("register.household", household_id=household.id))
    return render_template("register/household_new.html", form=form), (
        422 if form.is_submitted() else 200)


@bp.get("/households/<int:household_id>")
@staff_required
def household(household_id: int):
    """A household: its address, number and card, and its elders (closed ones too)."""
    household = household_in_scope(household_id)
    households.record_view(current_user, household)
    db.session.commit()
    return household_page(household)


def household_page(household: Household, device_form=None, silence_form=None, status=200):
    """The household page, with the devices section's forms (errors at their fields)."""
    return render_template(
        "register/household.html", household=household, code=doorcodes.live_code(household),
        devices=devices.of_household(household), signals=signals.recent(household),
        threshold=signals.threshold(household), remove_form=RemoveForm(),
        device_form=device_form or DeviceForm(formdata=None),
        silence_form=silence_form or SilenceForm(
            formdata=None, silence_hours=household.silence_hours)), status


def _edit_page(household, form=None, move_form=None, close_form=None, status=200):
    if form is None:
        form = HouseholdForm(formdata=None, obj=household)
    move_form = move_form or GridForm(formdata=None, grid=household.grid_id)
    move_form.grid.choices = labels.as_choices(
        _my_grids(household.grid.community.street_id))
    active = [e for e in household.elders if e.active]
    close_form = close_form or CloseForm(formdata=None, reason_required=bool(active))
    return render_template("register/household_edit.html", household=household, form=form,
                           move_form=move_form, close_form=close_form, active=active), status


def _editable(household_id: int) -> Household:
    household = household_in_scope(household_id)
    if household.closed_at is not None:
        abort(404)  # a closed household keeps its history and changes no more
    return household


@bp.route("/households/<int:household_id>/edit", methods=["GET", "POST"])
@coordinator_required
def edit_household(household_id: int):
    """Correct the address; the page also moves and closes the household."""
    household = _editable(household_id)
    if request.method == "GET":
        return _edit_page(household)
    form = HouseholdForm()
    if form.validate_on_submit():
        try:
            households.update_household(household, actor=current_user, **form.address_values())
        except households.HouseholdError as err:
            db.session.rollback()
            _show_error(form, err)
        else:
            db.session.commit()
            flash(_l("Household saved."), "info")
            return redirect(url_for("register.household", household_id=household.id))
    return _edit_page(household, form=form, status=422)


@bp.post("/households/<int:household_id>/move")
@coordinator_required
def move_household(household_id: int):
    """Move the household to another grid of the same street in my area."""
    household = _editable(household_id)
    form = GridForm()
    form.grid.choices = labels.as_choices(_my_grids(household.grid.community.street_id))
    if form.validate_on_submit():
        try:
            households.move_household(household, db.session.get(Grid, form.grid.data),
                                      actor=current_user)
        except households.HouseholdError as err:
            db.session.rollback()
            _show_error(form, err)
        else:
            db.session.commit()
            flash(_l("Household moved to %(grid)s.", grid=household.grid.label), "info")
            return redirect(url_for("register.household", household_id=household.id))
    return _edit_page(household, move_form=form, status=422)


@bp.post("/households/<int:household_id>/close")
@coordinator_required
def close_household(household_id: int):
    """Nobody on the list lives here any more: close its elders still on the register with
    a reason, revoke its door card, keep its history."""
    household = _editable(household_id)
    form = CloseForm(reason_required=any(e.active for e in household.elders))
    if form.validate_on_submit():
        try:
            households.close_household(
                household, reason=ClosedReason(form.reason.data) if form.reason.data else None,
                on=form.closed_on.data, actor=current_user, today=local_today())
        except households.HouseholdError as err:
            db.session.rollback()
            _show_error(form, err)
        else:
            db.session.commit()
            flash(_l("Household closed; its door card no longer works."), "info")
            return redirect(url_for("register.household", household_id=household.id))
    return _edit_page(household, close_form=form, status=422)
