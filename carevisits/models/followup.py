"""Follow-ups: what a visitor means to do for an elder on a later day (the paper note
"明日工作" with a star: measure the blood pressure again tomorrow)."""

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carevisits.extensions import db
from carevisits.models.base import UTCDateTime, utcnow
from carevisits.models.household import Elder
from carevisits.models.user import User

WHAT_MAX = 100


class FollowUp(db.Model):
    """One thing to do for one elder by a day; open until someone marks it done."""

    # The round, the worker's page and the dashboard read the open ones by day (most are done:
    # a partial index keeps to the open few).
    __table_args__ = (Index("ix_follow_up_open_due", "due_on",
                            sqlite_where=text("done_at IS NULL"),
                            postgresql_where=text("done_at IS NULL")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    elder_id: Mapped[int] = mapped_column(ForeignKey("elder.id"), index=True)
    what: Mapped[str] = mapped_column(String(WHAT_MAX))
    due_on: Mapped[date] = mapped_column(Date)  # the local day it is for
    important: Mapped[bool] = mapped_column(default=False)  # the star
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The visit it was added at (None: added from the elder's page).
    created_visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id"))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # The visit it was done at (None: ticked off from the round).
    done_visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id"))

    elder: Mapped[Elder] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    done_by: Mapped[User | None] = relationship(foreign_keys=[done_by_id])

    def overdue(self, today: date) -> bool:
        """Still open after its day."""
        return self.done_at is None and self.due_on < today
