"""Family links: invites made by staff, redeemed once by a family account, revocable; and
what a link shows of its elder (:class:`FamilyView`, the one place that decides it)."""

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import Select, select

from carevisits.extensions import db
from carevisits.labels import MOODS, OUTCOMES, PHONE_OUTCOMES, ROLES
from carevisits.models import (
    Alert,
    AlertStatus,
    Delivery,
    Elder,
    FamilyInvite,
    FamilyLink,
    Role,
    ServiceItem,
    ServiceRequest,
    User,
    Visit,
    VisitMethod,
    VisitRecord,
)
from carevisits.models.base import utcnow
from carevisits.services import areas, audit, charts, schedule
from carevisits.services.exports import local_text
from carevisits.services.rounds import elder_history
from carevisits.services.schedule import State

INVITE_DAYS = 7
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread on a phone
CODE_LENGTH = 10  # ~50 bits: guessing is throttled by sign-in and single use


class FamilyError(ValueError):
    """An invite or link that cannot be used; the message is for the family member."""


def create_invite(elder: Elder, *, relation: str, may_see_observations: bool, actor: User,
                  now: datetime | None = None) -> FamilyInvite:
    """A new single-use code for one elder, valid for a week."""
    now = now or utcnow()
    invite = FamilyInvite(
        code="".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH)),
        elder=elder, relation=relation.strip()[:20], may_see_observations=may_see_observations,
        created_by=actor, created_at=now, expires_at=now + timedelta(days=INVITE_DAYS))
    db.session.add(invite)
    db.session.flush()
    audit.record(actor, "family.invite", "elder", elder.id, invite_id=invite.id)
    return invite


def normalise_code(typed: str) -> str:
    return "".join(ch for ch in typed.upper() if ch.isalnum())


def accept(code: str, user: User, now: datetime | None = None) -> FamilyLink:
    """Redeem an invite for a family account: once, before it expires, unless revoked."""
    now = now or utcnow()
    if user.role != Role.FAMILY:
        raise FamilyError(_l("Only family accounts can accept an invite."))
    invite = db.session.scalar(select(FamilyInvite).where(
        FamilyInvite.code == normalise_code(code)).with_for_update())
    # One message for unknown, used, expired or revoked: a code reveals nothing.
    if (invite is None or invite.used_at is not None or invite.revoked_at is not None
            or invite.expires_at <= now):
        raise FamilyError(_l("This invite code is not valid. Ask for a new one."))
    invite.used_at, invite.used_by_id = now, user.id
    link = db.session.scalar(select(FamilyLink).where(
        FamilyLink.user_id == user.id, FamilyLink.elder_id == invite.elder_id,
        FamilyLink.revoked_at.is_(None)))
    if link is None:
        link = FamilyLink(user=user, elder_id=invite.elder_id, relation=invite.relation,
                          may_see_observations=invite.may_see_observations, invite_id=invite.id)
        db.session.add(link)
    db.session.flush()
    audit.record(user, "family.accept", "elder", invite.elder_id, invite_id=invite.id)
    return link


def revoke(link: FamilyLink, actor: User) -> None:
    """End a family member's access at once."""
    link.revoked_at, link.revoked_by_id = utcnow(), actor.id
    audit.record(actor, "family.revoke", "elder", link.elder_id, link_id=link.id)


def linked_elders(user: User) -> list[FamilyLink]:
    """The live links of a family account."""
    return list(db.session.scalars(select(FamilyLink).where(
        FamilyLink.user_id == user.id, FamilyLink.revoked_at.is_(None))
        .order_by(FamilyLink.id)))


def view_for(user: User, elder_id: int) -> "FamilyView | None":
    """What the user may see of this elder through their live link; None without one (every
    family page goes through this and answers 404)."""
    link = db.session.scalar(select(FamilyLink).where(
        FamilyLink.user_id == user.id, FamilyLink.elder_id == elder_id,
        FamilyLink.revoked_at.is_(None)))
    return FamilyView(link) if link is not None else None


class Readings(NamedTuple):
    """A visit record's readings as a family member sees them."""

    blood_pressure: str  # "135/85", or "" when none was taken
    pulse: int | None


# What the family's export is headed with; the readings' columns only for links that see them.
EXPORT_HEADER = ["时间", "上门人员", "身份", "情况", "精神状态", "服务"]
READING_COLUMNS = ["血压", "脉搏"]
CHART_READINGS = 30
CHART_LABEL = _l("Blood pressure, last readings")


@dataclass
class FamilyView:
    """What one family link shows of its elder: the visit log (when, who, what was seen,
    services delivered, a voided visit marked without its reason), open alerts, requests —
    never the visitor's notes, and readings (blood pressure, pulse) only when the link allows
    them. The page, the chart and the export all ask this object, so the rule is decided
    once."""

    link: FamilyLink

    @property
    def elder(self) -> Elder:
        """The linked elder."""
        return self.link.elder

    @property
    def may_see_readings(self) -> bool:
        """Whether staff let this link see blood pressure and pulse (health data)."""
        return self.link.may_see_observations

    def visits(self) -> Select:
        """SELECT of the elder's visit records, newest first, visit and visitor loaded."""
        return elder_history(self.elder)

    def readings(self, record: VisitRecord) -> Readings | None:
        """The record's readings for this link; None when the link may not see readings."""
        if not self.may_see_readings:
            return None
        return Readings(f"{record.systolic}/{record.diastolic}" if record.systolic else "",
                        record.pulse)

    def chart(self, zone: ZoneInfo) -> Markup | None:
        """The latest blood-pressure readings as a trend; None when the link may not see
        readings (empty markup when there are too few to draw)."""
        if not self.may_see_readings:
            return None
        rows = db.session.execute(
            select(Visit.occurred_at, VisitRecord.systolic, VisitRecord.diastolic)
            .join(Visit, VisitRecord.visit_id == Visit.id)
            .where(VisitRecord.elder_id == self.link.elder_id, VisitRecord.systolic.is_not(None))
            .order_by(Visit.occurred_at.desc()).limit(CHART_READINGS)).all()
        return charts.bp_trend([tuple(r) for r in reversed(rows)], str(CHART_LABEL), zone)

    def open_alerts(self) -> list[Alert]:
        """The elder's alerts not resolved yet."""
        return list(db.session.scalars(select(Alert).where(
            Alert.elder_id == self.link.elder_id, Alert.status != AlertStatus.RESOLVED)))

    def requests(self, limit: int = 20) -> list[ServiceRequest]:
        """The elder's latest requests and messages, newest first."""
        return list(db.session.scalars(select(ServiceRequest).where(
            ServiceRequest.elder_id == self.link.elder_id)
            .order_by(ServiceRequest.raised_at.desc()).limit(limit)))

    def export_rows(self, zone: ZoneInfo) -> tuple[list[str], list[list]]:
        """The visit log to keep, one row per visit record, newest first."""
        header = list(EXPORT_HEADER)
        if self.may_see_readings:
            header[4:4] = READING_COLUMNS
        delivered: dict[int, list[str]] = {}
        for visit_id, name in db.session.execute(
                select(Delivery.visit_id, ServiceItem.name).join(ServiceItem)
                .where(Delivery.elder_id == self.link.elder_id).order_by(Delivery.id)):
            delivered.setdefault(visit_id, []).append(name)
        rows = []
        for record, visit, visitor in db.session.execute(
                select(VisitRecord, Visit, User).join(Visit, VisitRecord.visit_id == Visit.id)
                .join(User, Visit.visitor_id == User.id)
                .where(VisitRecord.elder_id == self.link.elder_id)
                .order_by(Visit.occurred_at.desc(), Visit.id.desc())):
            said = str((PHONE_OUTCOMES if visit.method == VisitMethod.PHONE else OUTCOMES)
                       [record.outcome])
            row = [local_text(visit.occurred_at, zone), visitor.display_name,
                   str(ROLES[visitor.role]), f"已作废：{said}" if visit.voided_at else said,
                   str(MOODS[record.mood]) if record.mood else "",
                   "、".join(delivered.get(visit.id, []))]
            if (seen := self.readings(record)) is not None:
                row[4:4] = [seen.blood_pressure, seen.pulse or ""]
            rows.append(row)
        return header, rows


def export_visit_log(view: FamilyView, fmt: str, zone: ZoneInfo) -> tuple[list[str], list[list]]:
    """The family member's download of the visit log (:meth:`FamilyView.export_rows`),
    audited as ``export`` of ``family_visits`` with the number of rows and the format."""
    header, rows = view.export_rows(zone)
    audit.record(view.link.user, "export", "family_visits", view.link.elder_id, rows=len(rows),
                 format=fmt)
    return header, rows


@dataclass
class Outlook:
    """What a family member far away asks first: when the next visit is planned (``state``:
    planned, due, paused or closed), who works the elder's grid today, whom to call."""

    state: str
    next_visit: date | None
    worker: str | None
    hotline: str


def outlook(elder: Elder, now: datetime, today: date, zone: ZoneInfo,
            street_hotline: str) -> Outlook:
    """The elder's next planned visit, grid worker of today and the community's hotline
    (the street-wide one when the community has none)."""
    worker = areas.grid_worker(elder.household.grid_id, today)
    hotline = elder.household.grid.community.hotline or street_hotline
    name = worker.display_name if worker else None
    if not elder.active:
        return Outlook("closed", None, name, hotline)
    state = schedule.state(elder, now)
    if state == State.PAUSED:
        return Outlook("paused", elder.paused_until, name, hotline)
    if state in (State.LATE, State.DUE) or elder.due_at is None:
        return Outlook("due", None, name, hotline)
    return Outlook("planned", elder.due_at.astimezone(zone).date(), name, hotline)
