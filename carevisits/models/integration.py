"""Integrations: API keys of other systems (a meter gateway, the 12345 platform), the devices
registered to households, and the signals those devices send."""

import enum
from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carevisits.extensions import db
from carevisits.models.area import Community, Street
from carevisits.models.base import UTCDateTime, str_enum, utcnow
from carevisits.models.household import Household
from carevisits.models.user import User


class ApiPermission(enum.StrEnum):
    """What an API key may do; a key holds a list of these."""

    READ_REGISTER = "read_register"
    READ_VISITS = "read_visits"
    READ_ALERTS = "read_alerts"
    READ_REQUESTS = "read_requests"
    WRITE_SIGNALS = "write_signals"
    WRITE_WORK_ORDERS = "write_work_orders"


class ApiKey(db.Model):
    """One integration's key: shown once, stored as a SHA-256 hash (the key is 256 random
    bits, so a fast hash is enough), scoped to a street or a community (neither: the whole
    city, for admins only), with permissions; revoked, never deleted."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    # The key's first characters, shown in lists so that a key can be told apart.
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    street_id: Mapped[int | None] = mapped_column(ForeignKey("street.id"))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"))
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Signs outgoing webhooks and checks signed request bodies: shown once with the key.
    signing_secret: Mapped[str] = mapped_column(String(64))
    # A device gateway may be made to sign every body it sends (X-Carevisits-Signature).
    signature_required: Mapped[bool] = mapped_column(default=False)
    # Where this integration's webhooks (and its work orders' status changes) are posted.
    webhook_url: Mapped[str] = mapped_column(String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    street: Mapped[Street | None] = relationship()
    community: Mapped[Community | None] = relationship()
    created_by: Mapped[User | None] = relationship()


class DeviceKind(enum.StrEnum):
    """What a device is."""

    WATER_METER = "water_meter"
    ELECTRICITY_METER = "electricity_meter"
    DOOR_SENSOR = "door_sensor"
    SOS_BUTTON = "sos_button"
    WEARABLE = "wearable"


class Device(db.Model):
    """A device registered to a household, known by the id its gateway sends."""

    __table_args__ = (
        # One live registration per device id; a removed one keeps its signals.
        Index("uq_device_code_live", "code", unique=True,
              sqlite_where=text("removed_at IS NULL"),
              postgresql_where=text("removed_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    kind: Mapped[DeviceKind] = mapped_column(str_enum(DeviceKind))
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    household: Mapped[Household] = relationship()


class SignalKind(enum.StrEnum):
    """What a device reports."""

    NO_USAGE = "no_usage"  # value: hours without use
    USAGE_BACK = "usage_back"
    SOS = "sos"
    FALL = "fall"
    DOOR_NOT_OPENED = "door_not_opened"  # value: hours the door stayed shut


class Signal(db.Model):
    """One event a device sent, kept once per integration and event id (a gateway that
    resends gets the first answer), with what carevisits did with it."""

    __table_args__ = (UniqueConstraint("api_key_id", "event_id"),
                      Index("ix_signal_device_time", "device_id", "occurred_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_key.id"))
    event_id: Mapped[str] = mapped_column(String(100))
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"))
    kind: Mapped[SignalKind] = mapped_column(str_enum(SignalKind))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    value: Mapped[float | None] = mapped_column(Float)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # opened, raised, resolved, suppressed (paused), below_threshold, recorded
    outcome: Mapped[str] = mapped_column(String(20), default="")
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alert.id"))

    device: Mapped[Device] = relationship()


class SelfCheckin(db.Model):
    """The elder pressed 我很好 on their own daily check-in page: a sign of life, not a visit."""

    __table_args__ = (Index("ix_self_checkin_elder_time", "elder_id", "at"),
                      Index("uq_self_checkin_key", "elder_id", "key", unique=True))

    id: Mapped[int] = mapped_column(primary_key=True)
    elder_id: Mapped[int] = mapped_column(ForeignKey("elder.id"))
    # When it was pressed: the phone's time for a press kept without signal and sent later
    # (within limits), else the server's.
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The page's own key for one press, so that a press sent twice is one check-in (None:
    # pressed before issue 26, or by a page without its script).
    key: Mapped[str | None] = mapped_column(String(40))
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
