"""Accounts: a role and, for staff, the area they may see."""

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from carevisits.extensions import db
from carevisits.models.area import Community, Grid, GridAssignment, Street
from carevisits.models.base import UTCDateTime, local_today, str_enum, utcnow


class Role(enum.StrEnum):
    """What an account is for; staff roles carry an area scope."""

    ADMIN = "admin"
    COORDINATOR = "coordinator"
    GRID_WORKER = "grid_worker"
    VOLUNTEER = "volunteer"
    FAMILY = "family"


STAFF_ROLES = frozenset({Role.ADMIN, Role.COORDINATOR, Role.GRID_WORKER})


class User(UserMixin, db.Model):
    """A person who signs in. Scope: a grid (worker), a community or street (coordinator)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(40))
    phone: Mapped[str] = mapped_column(String(30), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    street_id: Mapped[int | None] = mapped_column(ForeignKey("street.id"))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"))
    active: Mapped[bool] = mapped_column(default=True)
    # Part of the session id: bumping it ends every session of this user at once.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    street: Mapped[Street | None] = relationship()
    community: Mapped[Community | None] = relationship()
    # A grid worker's grids: their own and the colleagues' they cover, each with dates.
    assignments: Mapped[list[GridAssignment]] = relationship(
        back_populates="user", foreign_keys=[GridAssignment.user_id],
        order_by=GridAssignment.starts_on)

    def set_password(self, password: str) -> None:
        """Store a salted hash of the password, never the password."""
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        """Whether the password matches the stored hash."""
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        """Flask-Login's session id: the user id and the session version."""
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_staff(self) -> bool:
        """Admins, coordinators and grid workers: people who work with household records."""
        return self.role in STAFF_ROLES

    @property
    def grid(self) -> Grid | None:
        """A grid worker's own grid today: their assignment in force that covers nobody."""
        today = local_today()
        return next((a.grid for a in self.assignments if not a.cover and a.holds_on(today)),
                    None)

    @property
    def grid_id(self) -> int | None:
        """The id of :attr:`grid`."""
        grid = self.grid
        return grid.id if grid else None

    @property
    def scope_label(self) -> str:
        """The area this account covers, in words."""
        if self.role == Role.GRID_WORKER:
            today = local_today()
            return " / ".join(a.grid.label for a in self.assignments if a.holds_on(today))
        if self.community:
            return self.community.name
        if self.street:
            return self.street.name
        return ""


class SignInSession(db.Model):
    """One browser's sign-in: the session cookie carries its secret, the table a SHA-256 of
    it. Signing out deletes the row, so that browser's session (a copied cookie too) ends
    while the account's other browsers stay signed in."""

    __tablename__ = "sign_in_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
