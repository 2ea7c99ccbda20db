"""Signals from devices (a meter gateway, an SOS button, a fall sensor): kept once per
integration and event id, and turned into alerts that enter the same ladder as a door nobody
opens.

- ``sos`` and ``fall`` open an urgent emergency alert for every active elder of the household
  at once, paused or not (someone pressed the button at home).
- ``no_usage`` and ``door_not_opened`` carry the hours of silence: at or over the household's
  threshold (else the street's) they open a no-activity alert for each active elder who is
  not paused at that time (the worker's pause suppresses the false alarm of a stay at the
  daughter's); a warning, urgent for a key-care elder or once the silence reaches twice the
  threshold. A later report for an open alert updates its hours and may escalate it.
- ``usage_back`` resolves the household's no-activity alerts opened at or before it.

What was done is kept on the signal (outcome, alert) for the household page.
"""

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from carevisits.extensions import db
from carevisits.models import (
    Alert,
    AlertKind,
    AlertLevel,
    ApiKey,
    CareLevel,
    Device,
    Elder,
    Grid,
    Household,
    Signal,
    SignalKind,
)
from carevisits.models.base import utcnow
from carevisits.services import alerts, apikeys, schedule

CALLS_FOR_HELP = (SignalKind.SOS, SignalKind.FALL)
SILENCES = (SignalKind.NO_USAGE, SignalKind.DOOR_NOT_OPENED)
# What carevisits did with a signal (Signal.outcome).
OPENED, RAISED, RESOLVED = "opened", "raised", "resolved"
SUPPRESSED, BELOW_THRESHOLD, RECORDED = "suppressed", "below_threshold", "recorded"
RECENT = 10  # signals shown per household


class SignalError(ValueError):
    """A signal refused; ``field`` names the part of the request that is wrong."""

    def __init__(self, field: str, message):
        super().__init__(str(message))
        self.field, self.message = field, message


@dataclass
class SignalResult:
    """The signal kept, and whether this call created it (False: a repeat, nothing done)."""

    signal: Signal
    created: bool


def _stored(key: ApiKey, event_id: str) -> Signal | None:
    return db.session.scalar(select(Signal).where(Signal.api_key_id == key.id,
                                                  Signal.event_id == event_id))


def live_device(code: str) -> Device | None:
    """The device registered now under a gateway's id, with its household, grid and street."""
    return db.session.scalar(
        select(Device).where(Device.code == code, Device.removed_at.is_(None))
        .options(joinedload(Device.household).joinedload(Household.grid)
                 .joinedload(Grid.community)))


def receive(key: ApiKey, *, event_id: str, device_code: str, kind: SignalKind,
            occurred_at: datetime, value: float | None) -> SignalResult:
    """Keep a device's signal once per (key, event id) and act on it; a repeat returns the
    stored signal and changes nothing. Flushes, never commits."""
    stored = _stored(key, event_id)
    if stored is not None:
        return SignalResult(stored, False)
    device = live_device(device_code)
    # Unknown, removed or elsewhere: the same words, so that a key cannot probe other areas.
    if device is None or not apikeys.in_scope(key, device.household):
        raise SignalError("device_id", _l("No device with this id is registered in your area."))
    if kind in SILENCES and (value is None or value < 0):
        raise SignalError("value", _l("Give the hours without activity."))
    signal = Signal(api_key_id=key.id, event_id=event_id, device=device, kind=kind,
                    occurred_at=occurred_at, value=value, received_at=utcnow())
    try:
        with db.session.begin_nested():  # the same event at once from two requests: one kept
            db.session.add(signal)
            db.session.flush()
    except IntegrityError:
        return SignalResult(_stored(key, event_id), False)
    signal.outcome, alert = _act(signal, device)
    signal.alert_id = alert.id if alert is not None else None
    db.session.flush()
    return SignalResult(signal, True)


def threshold(household: Household) -> int:
    """Hours of silence that raise a no-activity alert: the household's, else its street's."""
    if household.silence_hours is not None:
        return household.silence_hours
    return household.grid.community.street.silence_hours


def _act(signal: Signal, device: Device) -> tuple[str, Alert | None]:
    """Open, raise or resolve the household's alerts for a new signal; what was done."""
    household = device.household
    elders = [e for e in household.elders if e.active]
    details = {"signal": signal.kind.value, "device": device.kind.value,
               "signal_id": signal.id}
    if signal.kind in CALLS_FOR_HELP:
        return _raise(elders, AlertKind.EMERGENCY, lambda _e: AlertLevel.URGENT, details,
                      signal.occurred_at)
    if signal.kind == SignalKind.USAGE_BACK:
        closed = [alert for elder in elders for alert in alerts.resolve_by_sign_of_life(
            elder, (AlertKind.NO_ACTIVITY,), signal.occurred_at,
            str(_l("Resolved: the device reported use again.")))]
        return (RESOLVED, closed[0]) if closed else (RECORDED, None)
    limit = threshold(household)
    if signal.value < limit:
        return BELOW_THRESHOLD, None
    awake = [e for e in elders
             if schedule.state(e, signal.occurred_at) != schedule.State.PAUSED]
    if elders and not awake:
        return SUPPRESSED, None
    return _raise(awake, AlertKind.NO_ACTIVITY,
                  lambda e: silence_level(e, signal.value, limit),
                  {**details, "hours": signal.value, "threshold": limit}, signal.occurred_at)


def silence_level(elder: Elder, hours: float, limit: int) -> AlertLevel:
    """A silence is a warning; urgent for a key-care elder or at twice the threshold."""
    if elder.care_level == CareLevel.KEY or hours >= 2 * limit:
        return AlertLevel.URGENT
    return AlertLevel.WARNING


def _raise(elders: list[Elder], kind: AlertKind, level, details: dict,
           at: datetime) -> tuple[str, Alert | None]:
    """Open (or add to) an alert of ``kind`` for each elder; 'opened' if any is new."""
    outcome, first = RECORDED, None
    for elder in elders:
        before = alerts.unresolved(elder.id, kind)
        alert = alerts.raise_alert(elder, kind, level(elder), details, at=at)
        first = first or alert
        if before is None:
            outcome = OPENED
        elif outcome != OPENED:
            outcome = RAISED
    return outcome, first


def recent(household: Household, limit: int = RECENT) -> list[Signal]:
    """The household's last signals, newest first, with their devices: what each did."""
    return list(db.session.scalars(
        select(Signal).join(Device, Signal.device_id == Device.id)
        .where(Device.household_id == household.id)
        .options(joinedload(Signal.device))
        .order_by(Signal.occurred_at.desc(), Signal.id.desc()).limit(limit)))
