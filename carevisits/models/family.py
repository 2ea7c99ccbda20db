"""Family links: a family account that may follow one elder, made from a single-use invite."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carevisits.extensions import db
from carevisits.models.base import UTCDateTime, utcnow
from carevisits.models.household import Elder
from carevisits.models.user import User


class FamilyInvite(db.Model):
    """A single-use, expiring code that links the family member who redeems it to an elder."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    elder_id: Mapped[int] = mapped_column(ForeignKey("elder.id"), index=True)
    relation: Mapped[str] = mapped_column(String(20))  # 儿子, 女儿 …
    may_see_observations: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    elder: Mapped[Elder] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])


class FamilyLink(db.Model):
    """What a family account may see of one elder; revoking it ends access at once."""

    __table_args__ = (
        Index("uq_family_link_live", "user_id", "elder_id", unique=True,
              sqlite_where=text("revoked_at IS NULL"),
              postgresql_where=text("revoked_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    elder_id: Mapped[int] = mapped_column(ForeignKey("elder.id"), index=True)
    relation: Mapped[str] = mapped_column(String(20))
    may_see_observations: Mapped[bool] = mapped_column(default=False)
    invite_id: Mapped[int | None] = mapped_column(ForeignKey("family_invite.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    elder: Mapped[Elder] = relationship()
