"""Service menus and requests: the catalogue, each elder's menu, deliveries, 诉求."""

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carevisits.extensions import db
from carevisits.models.area import Street
from carevisits.models.base import UTCDateTime, str_enum, utcnow
from carevisits.models.household import Elder
from carevisits.models.user import User
from carevisits.models.visit import Visit


class ServicePlace(enum.StrEnum):
    """Where a service is given."""

    DOOR = "door"
    CENTRE = "centre"


class ServiceItem(db.Model):
    """One service of the catalogue (助餐, 量血压 …): shared by every street (no street; kept by
    admins) or a street's own (kept by that street's coordinators). Retired, never deleted,
    once used."""

    __table_args__ = (
        # A name once in a street's own catalogue, and once among the shared services.
        UniqueConstraint("street_id", "name", name="uq_service_item_street_name"),
        Index("uq_service_item_shared_name", "name", unique=True,
              sqlite_where=text("street_id IS NULL"), postgresql_where=text("street_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int | None] = mapped_column(ForeignKey("street.id"))  # None: shared
    name: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(10))  # 次, 份, 小时
    place: Mapped[ServicePlace] = mapped_column(str_enum(ServicePlace))
    retired: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    street: Mapped[Street | None] = relationship()


class Frequency(enum.StrEnum):
    """How often an elder receives a service."""

    EVERY_VISIT = "every_visit"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    ON_REQUEST = "on_request"


class MenuEntry(db.Model):
    """A service on an elder's menu. A change ends the entry and starts a new one, so the
    menu's history is the list of entries."""

    __table_args__ = (Index("ix_menu_entry_elder_current", "elder_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    elder_id: Mapped[int] = mapped_column(ForeignKey("elder.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("service_item.id"), index=True)
    frequency: Mapped[Frequency] = mapped_column(str_enum(Frequency))
    notes: Mapped[str] = mapped_column(String(200), default="")
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # replaced or removed
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    elder: Mapped[Elder] = relationship()
    item: Mapped[ServiceItem] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    ended_by: Mapped[User | None] = relationship(foreign_keys=[ended_by_id])


class Delivery(db.Model):
    """A service given to an elder at a visit."""

    __table_args__ = (
        UniqueConstraint("visit_id", "elder_id", "item_id"),
        Index("ix_delivery_elder_item", "elder_id", "item_id", "delivered_at"),
        Index("ix_delivery_delivered_at", "delivered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), index=True)
    elder_id: Mapped[int] = mapped_column(ForeignKey("elder.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("service_item.id"))
    quantity: Mapped[float] = mapped_column(Numeric(8, 2, asdecimal=False), default=1)
    notes: Mapped[str] = mapped_column(String(200), default="")
    delivered_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the visit's time

    item: Mapped[ServiceItem] = relationship()
    elder: Mapped[Elder] = relationship()
    visit: Mapped[Visit] = relationship()


class RequestClass(enum.StrEnum):
    """The 7123 rule: small matters in 1 day, bigger in 2, hard ones in 3."""

    SMALL = "small"
    BIGGER = "bigger"
    HARD = "hard"

    @property
    def days(self) -> int:
        return {"small": 1, "bigger": 2, "hard": 3}[self.value]


class RequestStatus(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class RequestSource(enum.StrEnum):
    VISIT = "visit"
    ELDER_PAGE = "elder_page"
    FAMILY = "family"
    PHONE = "phone"
    HOTLINE = "hotline"  # a 12345 work order, through the API


class ServiceRequest(db.Model):
    """A need that came up (诉求), owned by someone until it is closed."""

    __table_args__ = (Index("ix_request_status_deadline", "status", "deadline"),
                      # A work order's reference, once per integration that sent it.
                      UniqueConstraint("api_key_id", "external_ref"))

    id: Mapped[int] = mapped_column(primary_key=True)
    elder_id: Mapped[int] = mapped_column(ForeignKey("elder.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    request_class: Mapped[RequestClass] = mapped_column(str_enum(RequestClass))
    source: Mapped[RequestSource] = mapped_column(str_enum(RequestSource))
    status: Mapped[RequestStatus] = mapped_column(str_enum(RequestStatus),
                                                  default=RequestStatus.OPEN)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id"))
    resolution: Mapped[str] = mapped_column(Text, default="")
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # resolved/cancelled
    # A work order from another system (12345): its reference there, and the integration
    # whose callback hears of every status change.
    external_ref: Mapped[str | None] = mapped_column(String(100))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id"))
    # Any change: the API's incremental pulls.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow,
                                                 index=True)

    elder: Mapped[Elder] = relationship()
    raised_by: Mapped[User | None] = relationship(foreign_keys=[raised_by_id])
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    events: Mapped[list["RequestEvent"]] = relationship(order_by="RequestEvent.id",
                                                        cascade="all, delete-orphan")

    def is_overdue(self, now: datetime) -> bool:
        return self.status in OPEN_REQUEST_STATUSES and self.deadline < now


OPEN_REQUEST_STATUSES = (RequestStatus.OPEN, RequestStatus.IN_PROGRESS)


class RequestEvent(db.Model):
    """A step of a request: status changes and notes, with who and when."""

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    status: Mapped[RequestStatus] = mapped_column(str_enum(RequestStatus))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User | None] = relationship()
