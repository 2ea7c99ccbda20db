"""Audit events: who looked at or changed what, and when."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from carevisits.extensions import db
from carevisits.models.base import UTCDateTime, utcnow


class AuditEvent(db.Model):
    """One access to or change of a sensitive record."""

    __table_args__ = (Index("ix_audit_subject", "subject_type", "subject_id"),
                      # The log's page by kind of record, newest first (most kinds are actions).
                      Index("ix_audit_action_at", "action", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    action: Mapped[str] = mapped_column(String(40))  # e.g. elder.view, visit.create
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int | None]
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
