"""Areas: street 街道 → community 社区 → grid 网格."""

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Date, ForeignKey, String, UniqueConstraint, and_, or_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carevisits.extensions import db
from carevisits.models.base import UTCDateTime, utcnow

if TYPE_CHECKING:
    from carevisits.models.user import User


class Street(db.Model):
    """A street office 街道, the top of an area tree."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    # Hours without use of water, power or the door that raise a no-activity alert (Shanghai
    # and Shenzhen alert after 12 hours under 0.01 m³); a household may set its own.
    silence_hours: Mapped[int] = mapped_column(default=12, server_default="12")
    # The register import's mapping as last chosen (register_mapping: file headers → fields,
    # file words → allowed words), offered with the street's next file.
    import_mapping: Mapped[dict | None] = mapped_column(JSON)

    communities: Mapped[list["Community"]] = relationship(
        back_populates="street", order_by="Community.name"
    )


class Community(db.Model):
    """A community 社区 of a street, with the hotline printed on its door cards."""

    __table_args__ = (UniqueConstraint("street_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    hotline: Mapped[str] = mapped_column(String(40), default="")

    street: Mapped[Street] = relationship(back_populates="communities")
    grids: Mapped[list["Grid"]] = relationship(back_populates="community", order_by="Grid.name")


class Grid(db.Model):
    """A grid 网格 of a community: the patch one grid worker covers."""

    __table_args__ = (UniqueConstraint("community_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))

    # A grid is named with its community (``label``) wherever it is shown: loaded together.
    community: Mapped[Community] = relationship(back_populates="grids", lazy="joined")

    @property
    def label(self) -> str:
        """The grid's full name, community first."""
        return f"{self.community.name} · {self.name}"


class GridAssignment(db.Model):
    """A grid worker's charge of a grid for a span of dates: their own grid (usually with no
    end) or a colleague's that they cover during leave or sickness. The grids a worker may
    see on a given day are those with an assignment in force that day."""

    id: Mapped[int] = mapped_column(primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grid.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)  # the last day it holds; None: open
    cover: Mapped[bool] = mapped_column(default=False)  # standing in for the grid's own worker
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    # The worker's scope label (every staff page's footer) names each assignment's grid.
    grid: Mapped[Grid] = relationship(lazy="joined")
    user: Mapped["User"] = relationship(foreign_keys=[user_id], back_populates="assignments")

    @classmethod
    def in_force(cls, today: date):
        """SQL condition: the assignment holds on ``today``."""
        return and_(cls.starts_on <= today, or_(cls.ends_on.is_(None), cls.ends_on >= today))

    def holds_on(self, today: date) -> bool:
        """Whether the assignment holds on ``today`` (the Python twin of :meth:`in_force`)."""
        return self.starts_on <= today and (self.ends_on is None or self.ends_on >= today)

    @property
    def never_held(self) -> bool:
        """Whether it was ended on or before its first day (ends the day before it), so that
        it held on no day at all: the grid's history says so rather than show an end before
        the start."""
        return self.ends_on is not None and self.ends_on < self.starts_on

    def still_on(self, today: date) -> bool:
        """Whether the assignment holds on ``today`` or on some day to come (one that has
        ended, or was called off before it began, is history)."""
        return self.ends_on is None or self.ends_on >= max(self.starts_on, today)
