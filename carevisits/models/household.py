"""Households, the elders living in them, and the door codes on their doors."""

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, SmallInteger, String, Text, text
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carevisits.extensions import db
from carevisits.models.area import Grid
from carevisits.models.base import UTCDateTime, local_date, str_enum, utcnow


class CareLevel(enum.StrEnum):
    """How closely an elder is watched; sets the default visit interval."""

    KEY = "key"  # 重点: every day
    FOCUS = "focus"  # 关注: every 3 days
    GENERAL = "general"  # 一般: every week

    @property
    def interval_days(self) -> int:
        """Days between visits by default for this level."""
        return {"key": 1, "focus": 3, "general": 7}[self.value]


class LivingSituation(enum.StrEnum):
    """Who else lives with the elder."""

    ALONE = "alone"  # 独居
    EMPTY_NEST = "empty_nest"  # 空巢: children live elsewhere
    WITH_SPOUSE = "with_spouse"  # 与配偶同住
    WITH_FAMILY = "with_family"  # 与子女同住
    CHILDLESS = "childless"  # 孤寡: no spouse, no children
    OTHER = "other"


class ClosedReason(enum.StrEnum):
    """Why an elder left the register; their history stays."""

    DECEASED = "deceased"  # 去世
    MOVED_AWAY = "moved_away"  # 搬离本街道
    CARE_HOME = "care_home"  # 入住养老机构
    NOT_NEEDED = "not_needed"  # 不再需要服务


def format_address(address: str, building: str, unit: str, room: str) -> str:
    """An address the way it is written in China, with the parts it has and no others:
    芙蓉街37号院2号楼3单元302室, a 平房 明湖西街74号, 泉城路12号1单元301室."""
    return (format_building(address, building) + (f"{unit}单元" if unit else "")
            + (f"{room}室" if room else ""))


def format_building(address: str, building: str) -> str:
    """The building of an address as rounds and card printing group by it: 芙蓉街37号院2号楼,
    or the address alone for one without a building (a 平房, a courtyard)."""
    return f"{address}{building}号楼" if building else address


class Household(db.Model):
    """One address 户 in a grid; its short number is printed on the card for typing in."""

    id: Mapped[int] = mapped_column(primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grid.id"), index=True)
    number: Mapped[str] = mapped_column(String(12), unique=True)
    address: Mapped[str] = mapped_column(String(120))  # road and number, e.g. 泉城路12号院
    # Building, unit and room as the address gives them; blank when it has none (a 平房).
    building: Mapped[str] = mapped_column(String(20), default="")
    unit: Mapped[str] = mapped_column(String(20), default="")
    room: Mapped[str] = mapped_column(String(20), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Nobody on the list lives here any more: the door code is revoked, the history kept.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Hours without use of water (or power, or the door) that raise a no-activity alert;
    # None: the street's (Street.silence_hours).
    silence_hours: Mapped[int | None]

    grid: Mapped[Grid] = relationship()
    elders: Mapped[list["Elder"]] = relationship(back_populates="household", order_by="Elder.id")

    @property
    def full_address(self) -> str:
        """Address as written on an envelope: road, building, unit, room."""
        return format_address(self.address, self.building, self.unit, self.room)


class Elder(db.Model):
    """An elder on the watch list, living in one household."""

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    gender: Mapped[str] = mapped_column(String(1), default="")  # 男 / 女
    birth_year: Mapped[int] = mapped_column(Integer)
    phone: Mapped[str] = mapped_column(String(30), default="")
    # The elder's further numbers (a landline, a second mobile), as register_fields keeps
    # them: shown beside the phone on the elder page and the door form.
    other_phones: Mapped[list[str]] = mapped_column(JSON, default=list,
                                                    server_default=text("'[]'"))
    # [{"name": …, "relation": …, "phone": …}, …], the first one called first.
    emergency_contacts: Mapped[list[dict]] = mapped_column(JSON, default=list)
    living_situation: Mapped[LivingSituation] = mapped_column(
        str_enum(LivingSituation), default=LivingSituation.ALONE
    )
    care_level: Mapped[CareLevel] = mapped_column(str_enum(CareLevel), default=CareLevel.GENERAL)
    health_notes: Mapped[str] = mapped_column(Text, default="")
    # Short words the visitor must know at the door: 行动不便, 听力差 …
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # 备注: what else the visitor should know, in sentences (轮椅; 听力差，敲门要大声).
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    # A closed record leaves rounds, scans and door forms and keeps its history.
    closed_reason: Mapped[ClosedReason | None] = mapped_column(str_enum(ClosedReason))
    closed_on: Mapped[date | None] = mapped_column(Date)
    # The last visit that met the elder, kept with each check-in so that due lists
    # never have to read the visit history.
    last_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # The schedule, kept with every contact and policy change (services/schedule.py) so
    # that due lists and alert scans are plain indexed comparisons.
    visit_interval_days: Mapped[int | None]  # overrides the street's policy for this elder
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    paused_until: Mapped[date | None] = mapped_column(Date)
    # The elder's own daily check-in (平安打卡), if they take part: the local hour by which
    # 我很好 is expected, the secret of their personal link, and the last time they pressed it.
    checkin_by_hour: Mapped[int | None] = mapped_column(SmallInteger)
    checkin_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    last_checkin_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The first deadline a missed check-in counts from: the chosen hour on the day the elder
    # took part (or the hour changed), the next day's when it had passed already; None when
    # not taking part. The scan compares it with now: no alert for a day before it.
    checkin_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Any change to the record or its schedule: the API's incremental pulls.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow,
                                                 index=True)

    household: Mapped[Household] = relationship(back_populates="elders")

    @hybrid_property
    def active(self) -> bool:
        """On the register (not closed); a paused elder is still active."""
        return self.closed_reason is None

    @active.inplace.expression
    @classmethod
    def _active_expression(cls):
        return cls.closed_reason.is_(None)

    def days_unseen(self, now: datetime) -> int | None:
        """Local calendar days since the elder was last met (0: today); None if never."""
        if self.last_contact_at is None:
            return None
        return (local_date(now) - local_date(self.last_contact_at)).days

    def days_overdue(self, now: datetime) -> int:
        """Whole days past the due date (0 if not overdue)."""
        if self.due_at is None or self.due_at > now:
            return 0
        return (now - self.due_at).days


class DoorCode(db.Model):
    """The random token behind a household's door card; revoked when a new card is printed."""

    __table_args__ = (
        # One live code per household.
        Index(
            "uq_door_code_live",
            "household_id",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    household: Mapped[Household] = relationship()
