"""Follow-ups (明日工作): what a visitor means to do for an elder on a later day — measure
the blood pressure again, bring medicine, phone the family — with a star for important.

This module owns adding one (at the door, with the visit it came from), marking one done (at
the next visit or from the round, once), and every list of them: the open ones of an elder
(door form, round pack, elder's page), the round's for a day (due that day or before, still
open), and the overdue ones of a worker's grids and of an area. Follow-ups are staff work:
grid workers see those of the elders in their grids, coordinators their area, admins all;
volunteers and family members never (a volunteer's visit neither shows nor does them)."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, false, func, select
from sqlalchemy.orm import contains_eager

from carevisits.extensions import db
from carevisits.models import Elder, FollowUp, GridAssignment, Household, User, Visit
from carevisits.models.followup import WHAT_MAX
from carevisits.services import audit
from carevisits.services.coverage import holds_on
from carevisits.services.scope import household_scope

# What workers write most often, offered as buttons (free text is always possible).
PRESETS = (_l("Measure blood pressure again"), _l("Bring medicine"), _l("Contact the family"),
           _l("Visit again"))
# How far ahead a follow-up may be set: a note for the weeks ahead, not a calendar.
MAX_DAYS_AHEAD = 365
# The overdue follow-ups a page lists (the count says how many there are in all).
LISTED = 20


class FollowUpError(ValueError):
    """A follow-up that cannot be added; the message is for the visitor."""


@dataclass
class FollowUpInput:
    """A follow-up as the visitor gave it: what, for which local day, starred or not."""

    what: str
    due_on: date
    important: bool = False


def due_on(today: date, *, days: int | None = None, on: date | None = None) -> date:
    """The day of a follow-up set "in ``days`` days" (1: tomorrow) or "on ``on``"; not in the
    past and not more than MAX_DAYS_AHEAD ahead (FollowUpError otherwise)."""
    day = on if on is not None else today + timedelta(days=1 if days is None else days)
    if day < today:
        raise FollowUpError(_l("A follow-up is for today or a later day."))
    if day > today + timedelta(days=MAX_DAYS_AHEAD):
        raise FollowUpError(_l("A follow-up is at most %(n)d days ahead.", n=MAX_DAYS_AHEAD))
    return day


def check(data: FollowUpInput, today: date) -> None:
    """Raise FollowUpError for a follow-up without words, too long, or on a wrong day."""
    if not data.what.strip():
        raise FollowUpError(_l("Say what is to be done."))
    if len(data.what.strip()) > WHAT_MAX:
        raise FollowUpError(_l("At most %(max)d characters.", max=WHAT_MAX))
    due_on(today, on=data.due_on)


def add(elder: Elder, data: FollowUpInput, *, actor: User, today: date,
        visit: Visit | None = None) -> FollowUp:
    """Add a follow-up for ``elder`` (at ``visit``, when added at the door); audited."""
    check(data, today)
    followup = FollowUp(elder=elder, what=data.what.strip(), due_on=data.due_on,
                        important=data.important, created_by_id=actor.id,
                        created_visit_id=visit.id if visit is not None else None)
    db.session.add(followup)
    db.session.flush()
    audit.record(actor, "followup.create", "elder", elder.id, followup_id=followup.id,
                 task=followup.what, due_on=followup.due_on.isoformat(),
                 important=followup.important)
    return followup


def mark_done(followup: FollowUp, *, actor: User, now: datetime,
              visit: Visit | None = None) -> bool:
    """Mark a follow-up done (at ``visit``, when ticked on the door form); audited. False,
    and nothing changed, when it was done already (by someone else, or a form sent twice)."""
    if followup.done_at is not None:
        return False
    followup.done_at, followup.done_by_id = now, actor.id
    followup.done_visit_id = visit.id if visit is not None else None
    db.session.flush()
    audit.record(actor, "followup.done", "elder", followup.elder_id, followup_id=followup.id,
                 task=followup.what, visit_id=followup.done_visit_id)
    return True


def at_visit(visit: Visit, *, actor: User, now: datetime, today: date,
             added: dict[int, FollowUpInput], done: dict[int, list[int]]) -> None:
    """What a recorded visit does to follow-ups: ``added`` (elder id → new follow-up) are
    added, ``done`` (elder id → follow-up ids ticked) marked done. Ids that are not an open
    follow-up of that elder (done meanwhile, or someone else's) are passed over."""
    if not actor.is_staff:
        return
    elders = {r.elder_id: r.elder for r in visit.records}
    ticked = {i for ids in done.values() for i in ids}
    if ticked:
        for followup in db.session.scalars(select(FollowUp).where(FollowUp.id.in_(ticked))):
            if followup.id in done.get(followup.elder_id, ()):
                mark_done(followup, actor=actor, now=now, visit=visit)
    for elder_id, data in added.items():
        if elder_id in elders:
            add(elders[elder_id], data, actor=actor, today=today, visit=visit)


def visible(user: User) -> ColumnElement[bool]:
    """WHERE clause (on Household) of the follow-ups ``user`` may see: staff in scope only."""
    return household_scope(user) if user.is_staff else false()


def _open_in_scope(user: User) -> Select:
    """SELECT of the open follow-ups of active elders ``user`` may see, with the elder and
    household loaded; starred first, then the oldest day."""
    return (select(FollowUp).join(FollowUp.elder).join(Elder.household)
            .options(contains_eager(FollowUp.elder).contains_eager(Elder.household))
            .where(FollowUp.done_at.is_(None), Elder.active, visible(user))
            .order_by(FollowUp.important.desc(), FollowUp.due_on, FollowUp.id))


def open_for_elders(user: User, elders: list[Elder]) -> dict[int, list[FollowUp]]:
    """The open follow-ups of these elders (elder id → list), for the door form and the round
    pack: one statement however many elders; empty for anyone who may not see them."""
    if not elders or not user.is_staff:
        return {}
    found: dict[int, list[FollowUp]] = defaultdict(list)
    for followup in db.session.scalars(
            select(FollowUp).where(FollowUp.done_at.is_(None),
                                   FollowUp.elder_id.in_([e.id for e in elders]))
            .order_by(FollowUp.important.desc(), FollowUp.due_on, FollowUp.id)):
        found[followup.elder_id].append(followup)
    return dict(found)


def open_in_scope(user: User) -> dict[int, list[FollowUp]]:
    """Every open follow-up the user may see, by elder id (the round pack): one set-based
    statement over the user's scope."""
    found: dict[int, list[FollowUp]] = defaultdict(list)
    for followup in db.session.scalars(_open_in_scope(user)):
        found[followup.elder_id].append(followup)
    return dict(found)


def for_round(user: User, today: date) -> list[FollowUp]:
    """The round's follow-ups: open, for ``today`` or an earlier day, in the user's scope."""
    return list(db.session.scalars(_open_in_scope(user).where(FollowUp.due_on <= today)))


def of_elder(elder: Elder, limit: int = 10) -> list[FollowUp]:
    """An elder's follow-ups for their page: the open ones first (by day), then the latest
    done, with who added and who did them."""
    return list(db.session.scalars(
        select(FollowUp).where(FollowUp.elder_id == elder.id)
        .order_by(FollowUp.done_at.is_not(None), FollowUp.due_on.desc(), FollowUp.id.desc())
        .limit(limit)))


def in_scope(user: User, followup_id: int) -> FollowUp | None:
    """The follow-up, if ``user`` may see (and so do) it; None otherwise."""
    return db.session.scalar(select(FollowUp).join(FollowUp.elder).join(Elder.household)
                             .where(FollowUp.id == followup_id, visible(user)))


@dataclass
class Overdue:
    """Open follow-ups past their day: how many in all, and the first LISTED of them."""

    total: int
    listed: list[FollowUp]


def _overdue(query: Select, today: date) -> Overdue:
    """The open follow-ups of ``query`` past their day: counted, and the first LISTED."""
    query = query.where(FollowUp.due_on < today)
    total = db.session.scalar(select(func.count()).select_from(
        query.with_only_columns(FollowUp.id).order_by(None).subquery()))
    return Overdue(total or 0, list(db.session.scalars(query.limit(LISTED))))


def overdue_in_scope(user: User, today: date) -> Overdue:
    """The coordinator's dashboard: open follow-ups past their day in the user's area."""
    return _overdue(_open_in_scope(user), today)


def overdue_for_worker(actor: User, worker: User, today: date) -> Overdue:
    """A grid worker's page: open follow-ups past their day in the grids the worker works
    today (their own, or one they cover), within the actor's area."""
    held = (select(GridAssignment.grid_id).where(GridAssignment.user_id == worker.id,
                                                 holds_on(today)))
    return _overdue(_open_in_scope(actor).where(Household.grid_id.in_(held)), today)
