"""`flask --app wsgi devices …`: devices registered to households and the hours of silence
that raise a no-activity alert (thin wrappers over services/devices.py)."""

import click
from flask.cli import AppGroup
from sqlalchemy import select

from carevisits.extensions import db
from carevisits.models import DeviceKind, Household, Street
from carevisits.services import devices, signals

devices_group = AppGroup("devices", help="Devices (meters, sensors, buttons) of households.")


def _household(number: str) -> Household:
    household = db.session.scalar(select(Household).where(Household.number == number.strip()))
    if household is None or household.closed_at is not None:
        raise click.UsageError(f"no open household numbered {number!r}")
    return household


def _refused(err: devices.DeviceError) -> click.ClickException:
    return click.ClickException(f"{err.field}: {err.message}")


@devices_group.command("add")
@click.option("--household", "number", required=True, help="The household's number.")
@click.option("--kind", type=click.Choice([k.value for k in DeviceKind]), required=True)
@click.argument("code")
def devices_add(number: str, kind: str, code: str):
    """Register a device (its gateway's id) to a household."""
    household = _household(number)
    try:
        device = devices.add(None, household, DeviceKind(kind), code)
    except devices.DeviceError as err:
        db.session.rollback()
        raise _refused(err) from None
    db.session.commit()
    click.echo(f"{device.code} ({device.kind.value}) registered to household {number}.")


@devices_group.command("remove")
@click.argument("code")
def devices_remove(code: str):
    """Take a device off its household (its signals stay)."""
    device = devices.live(code.strip())
    if device is None:
        raise click.ClickException(f"no device {code!r} is registered")
    devices.remove(None, device)
    db.session.commit()
    click.echo(f"{device.code} removed from household {device.household.number}.")


@devices_group.command("list")
@click.option("--household", "number", required=True, help="The household's number.")
def devices_list(number: str):
    """The household's devices, and the hours of silence that raise an alert."""
    household = _household(number)
    for device in devices.of_household(household):
        click.echo(f"{device.code}\t{device.kind.value}\t{device.added_at:%Y-%m-%d}")
    own = "household" if household.silence_hours is not None else "street"
    click.echo(f"Silence threshold: {signals.threshold(household)} h ({own})")


@devices_group.command("threshold")
@click.option("--street", "street_name", required=True, help="The street's name.")
@click.argument("hours", type=int)
def devices_threshold(street_name: str, hours: int):
    """Set the street's hours of silence (for households without their own)."""
    street = db.session.scalar(select(Street).where(Street.name == street_name))
    if street is None:
        raise click.UsageError(f"no street called {street_name!r}")
    try:
        devices.set_street_threshold(None, street, hours)
    except devices.DeviceError as err:
        db.session.rollback()
        raise _refused(err) from None
    db.session.commit()
    click.echo(f"{street.name}: {hours} h without activity raise an alert.")
