"""Print jobs: which door cards were printed, by whom, in which layout, and the PDF."""

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from carevisits.extensions import db
from carevisits.models.base import UTCDateTime, str_enum, utcnow
from carevisits.models.household import Household
from carevisits.models.user import User


class JobStatus(enum.StrEnum):
    """Where a print job is."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class PrintJob(db.Model):
    """One print of door cards for a set of households; kept so it can be downloaded again."""

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    layout: Mapped[str] = mapped_column(String(40))
    scope_label: Mapped[str] = mapped_column(String(200))  # what was chosen, in words
    rotate: Mapped[bool]  # new cards: the households' old cards stop working
    codes_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[JobStatus] = mapped_column(str_enum(JobStatus), default=JobStatus.QUEUED)
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(String(500), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The PDF lives in the database so that any web worker on any host can serve it.
    pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    pdf_size: Mapped[int] = mapped_column(default=0)

    created_by: Mapped[User | None] = relationship()  # None: printed from the command line
    households: Mapped[list["PrintJobHousehold"]] = relationship(
        cascade="all, delete-orphan", order_by="PrintJobHousehold.position")

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(100 * self.done / self.total)


class PrintJobHousehold(db.Model):
    """A household in a print job, in print order."""

    job_id: Mapped[int] = mapped_column(ForeignKey("print_job.id"), primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), primary_key=True,
                                              index=True)
    position: Mapped[int]

    household: Mapped[Household] = relationship()
