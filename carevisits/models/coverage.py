"""The figures of finished weeks and months, taken once and kept (services/coverage_store.py):
the dashboard's trends and past months read these instead of the visit history."""

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carevisits.extensions import db
from carevisits.models.base import UTCDateTime, str_enum
from carevisits.models.household import CareLevel


class PeriodKind(enum.StrEnum):
    MONTH = "month"  # figures per elder, at the month's end
    WEEK = "week"  # figures per grid, for the trends


class CoveragePeriod(db.Model):
    """A finished span whose figures were taken at ``taken_at``: final once taken after the
    span's end plus the window in which visits kept on phones may still arrive."""

    __table_args__ = (UniqueConstraint("kind", "starts_at", "ends_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[PeriodKind] = mapped_column(str_enum(PeriodKind))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ElderMonth(db.Model):
    """One elder's standing in a finished month: on the register then (``counted``: in the
    population at the month's end), met during it, paused, closed during it, overdue and
    never met at its end; the grid and care level they had when it was taken."""

    period_id: Mapped[int] = mapped_column(ForeignKey("coverage_period.id", ondelete="CASCADE"),
                                           primary_key=True)
    elder_id: Mapped[int] = mapped_column(ForeignKey("elder.id"), primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grid.id"))
    care_level: Mapped[CareLevel] = mapped_column(str_enum(CareLevel))
    counted: Mapped[bool]
    met: Mapped[bool]
    paused: Mapped[bool]
    closed: Mapped[bool]
    late: Mapped[bool]
    never: Mapped[bool]


class GridWeek(db.Model):
    """A grid's week: elders in the population at its end, met during it, on schedule at
    its end."""

    period_id: Mapped[int] = mapped_column(ForeignKey("coverage_period.id", ondelete="CASCADE"),
                                           primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grid.id"), primary_key=True)
    elders: Mapped[int]
    met: Mapped[int]
    on_schedule: Mapped[int]
