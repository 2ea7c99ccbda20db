"""Where alerts are sent (per community) and the outbox of messages to send."""

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carevisits.extensions import db
from carevisits.models.area import Community
from carevisits.models.base import UTCDateTime, str_enum, utcnow


class ChannelKind(enum.StrEnum):
    """How a community wants to hear about alerts."""

    WEBHOOK = "webhook"  # a 企业微信 or 钉钉 group robot: JSON text message
    EMAIL = "email"


class NotificationChannel(db.Model):
    """A webhook URL or an email address that a community's alerts go to."""

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    kind: Mapped[ChannelKind] = mapped_column(str_enum(ChannelKind))
    target: Mapped[str] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(default=True)

    community: Mapped[Community] = relationship()


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after the last retry


class Notification(db.Model):
    """One message in the outbox, written in the transaction of what it tells and sent after
    the commit, retried: an alert's text to a community's channel, or an event (alert,
    visit, request) as signed JSON to an integration's webhook."""

    __table_args__ = (Index("ix_notification_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alert.id"), index=True)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("notification_channel.id"))
    # An integration's event instead of a channel's text: the key, the event's name and the
    # JSON body as it is signed and sent.
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id"), index=True)
    event: Mapped[str] = mapped_column(String(40), default="")
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(str_enum(DeliveryStatus),
                                                   default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    channel: Mapped[NotificationChannel | None] = relationship()
