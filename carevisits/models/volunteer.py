"""Volunteers: a profile a coordinator approves, and rosters they join to visit households."""

import enum
from datetime import datetime, time

from sqlalchemy import ForeignKey, Index, SmallInteger, String, Time, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carevisits.extensions import db
from carevisits.models.area import Community
from carevisits.models.base import UTCDateTime, str_enum, utcnow
from carevisits.models.household import Household
from carevisits.models.user import User


class VolunteerStatus(enum.StrEnum):
    """Where a volunteer's sign-up stands."""

    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"


class VolunteerProfile(db.Model):
    """A volunteer's sign-up: their community, when they can help, and the coordinator's answer."""

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    availability: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[VolunteerStatus] = mapped_column(str_enum(VolunteerStatus),
                                                    default=VolunteerStatus.PENDING)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    review_note: Mapped[str] = mapped_column(String(200), default="")

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    community: Mapped[Community] = relationship()
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])


class Roster(db.Model):
    """A recurring round in one community: a weekday and time, households, a capacity."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    weekday: Mapped[int] = mapped_column(SmallInteger)  # 0 = Monday, as date.weekday()
    start_time: Mapped[time] = mapped_column(Time)
    # Counted for a visit whose volunteer did not say how long it took.
    visit_minutes: Mapped[int] = mapped_column(SmallInteger, default=30)
    capacity: Mapped[int] = mapped_column(SmallInteger, default=4)
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # Blood pressure and pulse are health data: volunteers record them only where allowed.
    allow_observations: Mapped[bool] = mapped_column(default=False)
    open: Mapped[bool] = mapped_column(default=True)  # closed rosters take no visits or applicants
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    community: Mapped[Community] = relationship()
    leader: Mapped[User | None] = relationship()
    households: Mapped[list[Household]] = relationship(
        secondary="roster_household", order_by="Household.building, Household.unit, Household.room")
    members: Mapped[list["RosterMember"]] = relationship(
        back_populates="roster", order_by="RosterMember.applied_at")


class RosterHousehold(db.Model):
    """A household visited by a roster."""

    roster_id: Mapped[int] = mapped_column(ForeignKey("roster.id"), primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), primary_key=True,
                                              index=True)


class MemberStatus(enum.StrEnum):
    """An application to a roster, and what became of it."""

    APPLIED = "applied"
    APPROVED = "approved"
    DECLINED = "declined"
    REMOVED = "removed"
    WITHDRAWN = "withdrawn"


LIVE_MEMBER_STATUSES = frozenset({MemberStatus.APPLIED, MemberStatus.APPROVED})


class RosterMember(db.Model):
    """One volunteer's application to one roster; at most one live (applied or approved)."""

    __table_args__ = (
        Index("uq_roster_member_live", "roster_id", "user_id", unique=True,
              sqlite_where=text("status IN ('applied', 'approved')"),
              postgresql_where=text("status IN ('applied', 'approved')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    roster_id: Mapped[int] = mapped_column(ForeignKey("roster.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    status: Mapped[MemberStatus] = mapped_column(str_enum(MemberStatus),
                                                 default=MemberStatus.APPLIED)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    roster: Mapped[Roster] = relationship(back_populates="members")
    user: Mapped[User] = relationship(foreign_keys=[user_id])
