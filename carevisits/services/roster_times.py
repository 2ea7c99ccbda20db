"""When a roster's visits happen: on its weekday, around its start time — or outside them,
which is recorded all the same and flagged for the roster's leader and coordinators."""

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from carevisits.extensions import db
from carevisits.models import Roster, Visit

# A roster meets at its start time; visits from an hour before it to four hours after it are
# on schedule (a 09:30 morning round: 08:30–13:30 on its weekday).
EARLY = timedelta(hours=1)
LATE = timedelta(hours=4)
RECENT_DAYS = 28


def off_schedule(roster: Roster, at: datetime, zone: tzinfo) -> bool:
    """Whether a visit at ``at`` falls outside the roster's weekday and hours (local time)."""
    local = at.astimezone(zone)
    start = datetime.combine(local.date(), roster.start_time, tzinfo=zone)
    return local.weekday() != roster.weekday or not start - EARLY <= local <= start + LATE


@dataclass
class RosterVisit:
    """A visit made for a roster, and whether it fell outside the roster's day or hours."""

    visit: Visit
    off_schedule: bool


def recent_visits(roster: Roster, now: datetime, zone: tzinfo) -> list[RosterVisit]:
    """The roster's visits of the last four weeks (voided ones left out), newest first, each
    flagged when it was made outside the roster's weekday and hours."""
    visits = db.session.scalars(
        select(Visit).where(Visit.roster_id == roster.id, Visit.voided_at.is_(None),
                            Visit.occurred_at >= now - timedelta(days=RECENT_DAYS))
        .options(joinedload(Visit.visitor), joinedload(Visit.household))
        .order_by(Visit.occurred_at.desc()))
    return [RosterVisit(v, off_schedule(roster, v.occurred_at, zone)) for v in visits]
