"""Family links: invites made by staff, redeemed once by a family account, revocable."""

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from carevisits.extensions import db
from carevisits.models import Elder, FamilyInvite, FamilyLink, Role, User
from carevisits.models.base import utcnow
from carevisits.services import accounts, areas, audit, schedule
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


def sign_up(*, code: str, username: str, display_name: str, phone: str,
            password: str) -> FamilyLink:
    """A new family account that redeems its invite at once: no valid code, no account."""
    try:
        user = accounts.create_user(actor=None, username=username, display_name=display_name,
                                    password=password, role=Role.FAMILY,
                                    scope=accounts.Scope(), phone=phone)
    except accounts.AccountError as err:
        raise FamilyError(str(err)) from None
    return accept(code, user)


def revoke(link: FamilyLink, actor: User) -> None:
    """End a family member's access at once."""
    link.revoked_at, link.revoked_by_id = utcnow(), actor.id
    audit.record(actor, "family.revoke", "elder", link.elder_id, link_id=link.id)


def linked_elders(user: User) -> list[FamilyLink]:
    """The live links of a family account."""
    return list(db.session.scalars(select(FamilyLink).where(
        FamilyLink.user_id == user.id, FamilyLink.revoked_at.is_(None))
        .order_by(FamilyLink.id)))


def link_for(user: User, elder_id: int) -> FamilyLink | None:
    """The user's live link to this elder, if any (every family page goes through this)."""
    return db.session.scalar(select(FamilyLink).where(
        FamilyLink.user_id == user.id, FamilyLink.elder_id == elder_id,
        FamilyLink.revoked_at.is_(None)))


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
