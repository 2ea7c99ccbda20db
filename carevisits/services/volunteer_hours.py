"""Volunteer hours: the minutes of roster visits, per volunteer and month (fixed when each
visit was recorded: see services/checkin.py)."""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from carevisits.extensions import db
from carevisits.models import Community, Roster, User, Visit
from carevisits.services.exports import Month
from carevisits.services.scope import community_scope


@dataclass
class HoursLine:
    """One volunteer's visits and minutes in a month."""

    user: User
    community: str
    visits: int
    minutes: int

    @property
    def hours(self) -> float:
        """The minutes as hours, to a tenth."""
        return round(self.minutes / 60, 1)


def monthly_hours(actor: User, month: Month, zone: ZoneInfo) -> list[HoursLine]:
    """Volunteer visits of the month on the actor's rosters, summed per volunteer."""
    start, end = month.bounds(zone)
    rows = db.session.execute(
        select(User, Community.name, func.count(Visit.id), func.sum(Visit.duration_minutes))
        .select_from(Visit).join(User, Visit.visitor_id == User.id)
        .join(Roster, Visit.roster_id == Roster.id).join(Community)
        .where(community_scope(actor), Visit.occurred_at >= start, Visit.occurred_at < end)
        .group_by(User.id, Community.name).order_by(Community.name, User.display_name))
    return [HoursLine(u, c, n, int(m or 0)) for u, c, n, m in rows]


def hours_rows(actor: User, month: Month, zone: ZoneInfo) -> tuple[list[str], list[list]]:
    """The month's volunteer hours, one row per volunteer, for the volunteer-hour records."""
    header = ["月份", "社区", "志愿者", "用户名", "电话", "上门次数", "时长(分钟)", "时长(小时)"]
    rows = [[str(month), line.community, line.user.display_name, line.user.username,
             line.user.phone, line.visits, line.minutes, line.hours]
            for line in monthly_hours(actor, month, zone)]
    return header, rows


def my_visits(user: User, since: datetime) -> list[Visit]:
    """A volunteer's own roster visits since a moment, newest first."""
    return list(db.session.scalars(
        select(Visit).where(Visit.visitor_id == user.id, Visit.roster_id.is_not(None),
                            Visit.occurred_at >= since)
        .order_by(Visit.occurred_at.desc())))


def hours_by_month(visits: list[Visit], zone: ZoneInfo) -> list[tuple[Month, int, int]]:
    """(month, visits, minutes) for a volunteer's visits, newest month first."""
    months: dict[Month, list[int]] = {}
    for visit in visits:
        local = visit.occurred_at.astimezone(zone)
        totals = months.setdefault(Month(local.year, local.month), [0, 0])
        totals[0] += 1
        totals[1] += visit.duration_minutes or 0
    return [(m, n, minutes) for m, (n, minutes) in months.items()]
