"""Schedules and alerts: visit policy per street, pauses, alerts and their history."""

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carevisits.extensions import db
from carevisits.models.area import Street
from carevisits.models.base import UTCDateTime, str_enum, utcnow
from carevisits.models.household import CareLevel, Elder
from carevisits.models.user import User


class CarePolicy(db.Model):
    """How often elders of one care level in one street are visited, and the grace period."""

    __table_args__ = (UniqueConstraint("street_id", "care_level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"))
    care_level: Mapped[CareLevel] = mapped_column(str_enum(CareLevel))
    interval_days: Mapped[int]
    grace_hours: Mapped[int]
    # Whether a phone call that reached the elder resets the schedule; None: the default
    # for the care level (services/contacts.py).
    phone_counts: Mapped[bool | None]

    street: Mapped[Street] = relationship()


class ElderPause(db.Model):
    """A time when visits are not expected (in hospital, staying with children)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    elder_id: Mapped[int] = mapped_column(ForeignKey("elder.id"), index=True)
    reason: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    expected_end: Mapped[date] = mapped_column(Date)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    created_by: Mapped[User | None] = relationship()
    elder: Mapped[Elder] = relationship()


class AlertKind(enum.StrEnum):
    """What went wrong."""

    OVERDUE = "overdue"
    NO_ANSWER = "no_answer"
    ABNORMAL = "abnormal"
    REQUEST_OVERDUE = "request_overdue"
    NO_ACTIVITY = "no_activity"  # a meter or door sensor saw no sign of life
    EMERGENCY = "emergency"  # an SOS button or a fall detector
    MISSED_CHECKIN = "missed_checkin"  # the elder's own daily check-in did not come


class AlertLevel(enum.StrEnum):
    """How fast someone must act."""

    WARNING = "warning"
    URGENT = "urgent"


class AlertStatus(enum.StrEnum):
    """Open → acknowledged → resolved."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Alert(db.Model):
    """Something about one elder that someone must act on; at most one unresolved per kind."""

    __table_args__ = (
        Index("uq_alert_unresolved", "elder_id", "kind", unique=True,
              sqlite_where=text("status != 'resolved'"),
              postgresql_where=text("status != 'resolved'")),
        Index("ix_alert_status_opened", "status", "opened_at"),
        # The dashboard's month of alerts: opened, acknowledged, resolved within it.
        Index("ix_alert_opened_at", "opened_at"),
        Index("ix_alert_acknowledged_at", "acknowledged_at"),
        Index("ix_alert_resolved_at", "resolved_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    elder_id: Mapped[int] = mapped_column(ForeignKey("elder.id"), index=True)
    kind: Mapped[AlertKind] = mapped_column(str_enum(AlertKind))
    level: Mapped[AlertLevel] = mapped_column(str_enum(AlertLevel))
    status: Mapped[AlertStatus] = mapped_column(str_enum(AlertStatus), default=AlertStatus.OPEN)
    # For no-answer and no-activity alerts: how far up the ladder the responders have got.
    ladder_step: Mapped[int] = mapped_column(default=0)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    resolved_by_visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id"))
    resolution: Mapped[str] = mapped_column(Text, default="")
    # Any change (opened, acknowledged, resolved, escalated): the API's incremental pulls.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow,
                                                 index=True)

    elder: Mapped[Elder] = relationship()
    acknowledged_by: Mapped[User | None] = relationship(foreign_keys=[acknowledged_by_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])
    events: Mapped[list["AlertEvent"]] = relationship(order_by="AlertEvent.id",
                                                      cascade="all, delete-orphan")


class AlertEvent(db.Model):
    """One step in an alert's life: who did what, when."""

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(String(30))  # opened, escalated, step, acknowledged…
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User | None] = relationship()
