"""The devices of a household (a water meter, a door sensor, an SOS button) and the hours of
silence that raise a no-activity alert, kept on the household page by those who edit it."""

from flask import abort, flash, redirect, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from carevisits.access import coordinator_required
from carevisits.extensions import db
from carevisits.models import Device
from carevisits.register.blueprint import bp
from carevisits.register.households import _editable, household_page
from carevisits.register.record_forms import DeviceForm, RemoveForm, SilenceForm
from carevisits.services import devices


def _field_error(form, err: devices.DeviceError) -> None:
    field = getattr(form, err.field)
    field.errors = [*field.errors, str(err.message)]


def _back(household):
    """Back to the household page's devices section."""
    return redirect(url_for("register.household", household_id=household.id,
                            _anchor="devices"))


@bp.post("/households/<int:household_id>/devices")
@coordinator_required
def add_device(household_id: int):
    """Register a device (its gateway's id) to the household."""
    household = _editable(household_id)
    form = DeviceForm()
    if form.validate_on_submit():
        try:
            devices.add(current_user, household, devices.parse_kind(form.kind.data),
                        form.code.data)
        except devices.DeviceError as err:
            db.session.rollback()
            _field_error(form, err)
        else:
            db.session.commit()
            flash(_l("Device %(code)s added.", code=form.code.data.strip()), "info")
            return _back(household)
    return household_page(household, device_form=form, status=422)


@bp.post("/households/<int:household_id>/devices/<int:device_id>/remove")
@coordinator_required
def remove_device(household_id: int, device_id: int):
    """Take a device off the household; its signals stay."""
    household = _editable(household_id)
    device = db.session.get(Device, device_id)
    if device is None or device.household_id != household.id:
        abort(404)
    if not RemoveForm().validate():
        abort(400)  # the form's token: a button pressed on a page too old
    devices.remove(current_user, device)
    db.session.commit()
    flash(_l("Device %(code)s removed.", code=device.code), "info")
    return _back(household)


@bp.post("/households/<int:household_id>/silence")
@coordinator_required
def set_silence(household_id: int):
    """Set (or clear, for the street's) the household's hours of silence."""
    household = _editable(household_id)
    form = SilenceForm()
    if form.validate_on_submit():
        devices.set_household_threshold(current_user, household, form.silence_hours.data)
        db.session.commit()
        flash(_l("Threshold saved."), "info")
        return _back(household)
    return household_page(household, silence_form=form, status=422)
