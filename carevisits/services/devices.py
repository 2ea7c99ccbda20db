"""Devices registered to households (a water meter, a door sensor, an SOS button …), known by
the id their gateway sends, and the hours of silence that raise a no-activity alert."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from carevisits.extensions import db
from carevisits.models import Device, DeviceKind, Household, Street, User
from carevisits.models.base import utcnow
from carevisits.services import audit, register_fields

SILENCE_RANGE = (1, 168)  # an hour to a week


class DeviceError(ValueError):
    """A device or threshold refused; ``field`` names the form field that is wrong."""

    def __init__(self, field: str, message):
        super().__init__(str(message))
        self.field, self.message = field, message


def clean_code(code: str) -> str:
    """A gateway's device id as typed or imported, checked: letters, digits, . _ : -."""
    try:
        return register_fields.device_code(code or "")
    except register_fields.FieldError as err:
        raise DeviceError("code", err.args[0]) from None


def parse_kind(value: str) -> DeviceKind:
    """A device kind from its code (water_meter) or its word (水表)."""
    try:
        return register_fields.device_kind(value or "")
    except register_fields.FieldError:
        raise DeviceError("kind", _l("Choose a kind of device.")) from None


def live(code: str) -> Device | None:
    """The device registered now under this id, if any."""
    return db.session.scalar(select(Device).where(Device.code == code,
                                                  Device.removed_at.is_(None)))


def of_household(household: Household) -> list[Device]:
    """The household's devices registered now, in the order they were added."""
    return list(db.session.scalars(select(Device).where(
        Device.household_id == household.id, Device.removed_at.is_(None)).order_by(Device.id)))


def add(actor: User | None, household: Household, kind: DeviceKind, code: str) -> Device:
    """Register a device to a household; an id is registered to one household at a time.
    Audited as ``device.add``."""
    code = clean_code(code)
    if live(code) is not None:
        raise DeviceError("code", _l("This device id is already registered."))
    device = Device(code=code, household=household, kind=kind, added_by_id=actor.id
                    if actor else None, added_at=utcnow())
    try:
        with db.session.begin_nested():  # two at once: the live-unique index keeps one
            db.session.add(device)
            db.session.flush()
    except IntegrityError:
        raise DeviceError("code", _l("This device id is already registered.")) from None
    audit.record(actor, "device.add", "household", household.id, code=code, kind=kind.value)
    return device


def remove(actor: User | None, device: Device) -> None:
    """Take a device off its household; its signals stay. Audited as ``device.remove``."""
    if device.removed_at is not None:
        return
    device.removed_at = utcnow()
    db.session.flush()
    audit.record(actor, "device.remove", "household", device.household_id, code=device.code)


def _hours(hours: int | None, field: str) -> int | None:
    if hours is not None and not SILENCE_RANGE[0] <= hours <= SILENCE_RANGE[1]:
        raise DeviceError(field, _l("Between %(low)d and %(high)d hours.",
                                    low=SILENCE_RANGE[0], high=SILENCE_RANGE[1]))
    return hours


def set_household_threshold(actor: User | None, household: Household,
                            hours: int | None) -> None:
    """The household's own hours of silence (None: the street's). Audited."""
    household.silence_hours = _hours(hours, "silence_hours")
    audit.record(actor, "household.silence_hours", "household", household.id, hours=hours)


def set_street_threshold(actor: User | None, street: Street, hours: int) -> None:
    """The street's hours of silence, for households without their own. Audited."""
    street.silence_hours = _hours(hours, "silence_hours")
    audit.record(actor, "street.silence_hours", "street", street.id, hours=hours)
