"""Visits: one door event, with one record per elder seen."""

import enum
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carevisits.extensions import db
from carevisits.models.base import UTCDateTime, str_enum, utcnow
from carevisits.models.household import DoorCode, Elder, Household
from carevisits.models.user import User

if TYPE_CHECKING:
    from carevisits.models.volunteer import Roster


class VisitMethod(enum.StrEnum):
    """How the visitor reached the household record."""

    SCANNED = "scanned"
    MANUAL = "manual"  # household number typed in, or picked from the elder page
    PHONE = "phone"


class Outcome(enum.StrEnum):
    """What happened for one elder at the door."""

    MET_WELL = "met_well"
    MET_CONCERN = "met_concern"
    NOT_AT_HOME = "not_at_home"  # known absence
    NO_ANSWER = "no_answer"
    REFUSED = "refused"


MET_OUTCOMES = frozenset({Outcome.MET_WELL, Outcome.MET_CONCERN})


class Mood(enum.StrEnum):
    """The visitor's impression of the elder's spirits."""

    GOOD = "good"
    FAIR = "fair"
    LOW = "low"


# A visit that reached the server this long after it happened was kept on the phone (no
# signal at the door) and sent later.
SENT_LATE_AFTER = timedelta(minutes=10)


class Visit(db.Model):
    """One door event by one visitor; the idempotency key stops a retried form counting twice."""

    # A month's or a week's visits for the dashboard are a range of occurred_at (issue 15),
    # and a month's volunteer visits a range within the rosters' visits: a partial index, as
    # most visits have no roster (SQLite's statistics would otherwise count every NULL as
    # one roster, and its planner read the whole month instead).
    __table_args__ = (Index("ix_visit_household_time", "household_id", "occurred_at"),
                      Index("ix_visit_occurred_at", "occurred_at"),
                      Index("ix_visit_roster_time", "roster_id", "occurred_at",
                            sqlite_where=text("roster_id IS NOT NULL"),
                            postgresql_where=text("roster_id IS NOT NULL")))

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    visitor_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    door_code_id: Mapped[int | None] = mapped_column(ForeignKey("door_code.id"))
    method: Mapped[VisitMethod] = mapped_column(str_enum(VisitMethod))
    manual_reason: Mapped[str] = mapped_column(String(200), default="")
    server_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    client_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the visit happened: the phone's clock if plausible (queued offline), else the server's.
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    # A volunteer's visit is made for a roster and counts toward their hours: the minutes
    # they gave, or the roster's default, fixed when the visit is recorded.
    roster_id: Mapped[int | None] = mapped_column(ForeignKey("roster.id"))
    duration_minutes: Mapped[int | None] = mapped_column(SmallInteger)
    # Recorded afterwards with a time the visitor gave ("visited earlier": the phone was dead).
    entered_late: Mapped[bool] = mapped_column(default=False)
    # A visit is never deleted: a wrong one is voided with a reason and stays in histories,
    # a corrected one keeps its old values in its corrections.
    corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    void_reason: Mapped[str] = mapped_column(String(200), default="")
    # Any change (recorded, corrected, voided): the API's incremental pulls.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow,
                                                 index=True)

    household: Mapped[Household] = relationship()
    visitor: Mapped[User] = relationship(foreign_keys=[visitor_id])
    voided_by: Mapped[User | None] = relationship(foreign_keys=[voided_by_id])
    door_code: Mapped[DoorCode | None] = relationship()
    roster: Mapped["Roster | None"] = relationship()
    records: Mapped[list["VisitRecord"]] = relationship(
        back_populates="visit", order_by="VisitRecord.elder_id", cascade="all, delete-orphan"
    )
    corrections: Mapped[list["VisitCorrection"]] = relationship(
        back_populates="visit", order_by="VisitCorrection.id", cascade="all, delete-orphan"
    )

    @property
    def sent_late(self) -> bool:
        """Recorded at the phone's time at the door but received much later (no signal)."""
        return (not self.entered_late and self.server_time is not None
                and self.occurred_at is not None
                and self.server_time - self.occurred_at > SENT_LATE_AFTER)


class VisitRecord(db.Model):
    """What was seen of one elder during a visit."""

    __table_args__ = (UniqueConstraint("visit_id", "elder_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), index=True)
    elder_id: Mapped[int] = mapped_column(ForeignKey("elder.id"), index=True)
    outcome: Mapped[Outcome] = mapped_column(str_enum(Outcome))
    systolic: Mapped[int | None] = mapped_column(SmallInteger)
    diastolic: Mapped[int | None] = mapped_column(SmallInteger)
    pulse: Mapped[int | None] = mapped_column(SmallInteger)
    mood: Mapped[Mood | None] = mapped_column(str_enum(Mood))
    notes: Mapped[str] = mapped_column(Text, default="")

    visit: Mapped[Visit] = relationship(back_populates="records")
    elder: Mapped[Elder] = relationship()

    @property
    def met(self) -> bool:
        """Whether the visitor actually saw the elder."""
        return self.outcome in MET_OUTCOMES


class VisitCorrection(db.Model):
    """A correction or voiding of a visit: who, when, why, and every old and new value."""

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(String(10))  # correct, void
    reason: Mapped[str] = mapped_column(String(200), default="")
    # {elder id: {field: [old, new]}}; services as {item name: quantity}.
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    visit: Mapped[Visit] = relationship(back_populates="corrections")
    actor: Mapped[User] = relationship()
