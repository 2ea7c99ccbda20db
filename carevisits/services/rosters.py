"""Volunteer rosters: their settings and households (coordinators), who is on them
(applications, decisions, leaving), and which roster a volunteer visits a household for.

Which rosters a volunteer may visit for is :func:`carevisits.services.scope.volunteer_rosters`;
this module asks it and never restates it."""

from dataclasses import dataclass
from datetime import date, time

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select

from carevisits.extensions import db
from carevisits.models import (
    LIVE_MEMBER_STATUSES,
    Community,
    Grid,
    Household,
    MemberStatus,
    Roster,
    RosterHousehold,
    RosterMember,
    User,
    VolunteerProfile,
)
from carevisits.models.base import utcnow
from carevisits.services import audit
from carevisits.services.checkin import VISIT_MINUTES_RANGE
from carevisits.services.scope import (
    approved_volunteer,
    can_see_household,
    community_scope,
    volunteer_rosters,
)

CAPACITY_RANGE = (1, 50)


class RosterError(ValueError):
    """A roster or an application that breaks a rule; the message is for the user."""


# --- rosters ----------------------------------------------------------------------------------

@dataclass
class RosterInput:
    """A roster's settings as a coordinator enters them."""

    name: str
    community: Community
    weekday: int
    start_time: time
    visit_minutes: int
    capacity: int
    allow_observations: bool
    open: bool
    household_ids: list[int]
    leader_id: int | None = None


def managed_rosters(actor: User) -> Select:
    """SELECT of the rosters of the communities the actor manages."""
    return (select(Roster).join(Community).where(community_scope(actor))
            .order_by(Community.name, Roster.weekday, Roster.start_time, Roster.name))


def managed_roster(actor: User, roster_id: int) -> Roster | None:
    """A roster of a community the actor manages, or None."""
    return db.session.scalar(managed_rosters(actor).where(Roster.id == roster_id))


def save_roster(roster: Roster | None, data: RosterInput, actor: User) -> Roster:
    """Create or change a roster after checking its households, capacity and leader."""
    if not data.name.strip():
        raise RosterError(_l("Enter a name."))
    if not 0 <= data.weekday <= 6:
        raise RosterError(_l("Choose a weekday."))
    if not CAPACITY_RANGE[0] <= data.capacity <= CAPACITY_RANGE[1]:
        raise RosterError(_l("Capacity must be between %(min)d and %(max)d.",
                             min=CAPACITY_RANGE[0], max=CAPACITY_RANGE[1]))
    if not VISIT_MINUTES_RANGE[0] <= data.visit_minutes <= VISIT_MINUTES_RANGE[1]:
        raise RosterError(_l("Minutes per visit must be between %(min)d and %(max)d.",
                             min=VISIT_MINUTES_RANGE[0], max=VISIT_MINUTES_RANGE[1]))
    households = _roster_households(data, actor)
    if roster is None:
        roster = Roster(community=data.community)
        db.session.add(roster)
    elif roster.community_id != data.community.id:
        raise RosterError(_l("A roster stays in its community; make a new one instead."))
    members = approved_members(roster) if roster.id else []
    if data.capacity < len(members):
        raise RosterError(_l("%(n)d volunteers are already on this roster: remove some "
                             "before lowering the capacity.", n=len(members)))
    if data.leader_id is not None and data.leader_id not in {m.user_id for m in members}:
        raise RosterError(_l("The leader must be an approved member of the roster."))
    roster.name, roster.weekday, roster.start_time = (data.name.strip()[:40], data.weekday,
                                                       data.start_time)
    roster.visit_minutes, roster.capacity = data.visit_minutes, data.capacity
    roster.allow_observations, roster.open = data.allow_observations, data.open
    roster.leader_id = data.leader_id
    roster.households = households
    db.session.flush()
    audit.record(actor, "roster.save", "roster", roster.id, households=len(households),
                 capacity=data.capacity, allow_observations=data.allow_observations)
    return roster


def _roster_households(data: RosterInput, actor: User) -> list[Household]:
    if not data.household_ids:
        raise RosterError(_l("Choose at least one household."))
    households = db.session.scalars(
        select(Household).join(Grid, Household.grid_id == Grid.id)
        .where(Household.id.in_(data.household_ids), Grid.community_id == data.community.id)
    ).all()
    if len(households) != len(set(data.household_ids)) or not all(
            can_see_household(actor, h) for h in households):
        raise RosterError(_l("A roster's households must be in its community."))
    return list(households)


def community_households(community: Community) -> list[Household]:
    """The households of a community, to pick a roster's from."""
    return list(db.session.scalars(
        select(Household).join(Grid, Household.grid_id == Grid.id)
        .where(Grid.community_id == community.id)
        .order_by(Grid.name, Household.address, Household.building, Household.unit,
                  Household.room)))


def rosters_visiting(household: Household) -> list[Roster]:
    """The open rosters whose volunteers visit a household."""
    return list(db.session.scalars(
        select(Roster).join(RosterHousehold).where(
            RosterHousehold.household_id == household.id, Roster.open)
        .order_by(Roster.weekday, Roster.start_time)))


def approved_members(roster: Roster) -> list[RosterMember]:
    """The roster's volunteers with an approved place."""
    return [m for m in roster.members if m.status == MemberStatus.APPROVED]


# --- who is on a roster -----------------------------------------------------------------------

@dataclass
class RosterOffer:
    """An open roster as a volunteer browses it: how full, and where they stand."""

    roster: Roster
    members: int
    mine: RosterMember | None

    @property
    def full(self) -> bool:
        """Whether every place is taken."""
        return self.members >= self.roster.capacity


def offers(user: User) -> list[RosterOffer]:
    """The open rosters of the volunteer's community, with their own standing in each."""
    profile = approved_volunteer(user)
    if profile is None:
        return []
    counts = dict(db.session.execute(
        select(RosterMember.roster_id, func.count()).where(
            RosterMember.status == MemberStatus.APPROVED).group_by(RosterMember.roster_id)).all())
    mine = {m.roster_id: m for m in db.session.scalars(select(RosterMember).where(
        RosterMember.user_id == user.id, RosterMember.status.in_(LIVE_MEMBER_STATUSES)))}
    rosters = db.session.scalars(select(Roster).where(
        Roster.community_id == profile.community_id, Roster.open)
        .order_by(Roster.weekday, Roster.start_time, Roster.name))
    return [RosterOffer(r, counts.get(r.id, 0), mine.get(r.id)) for r in rosters]


def community_roster(user: User, roster_id: int) -> Roster | None:
    """A roster of the volunteer's own community, open or not, whatever their standing
    (None for any other): the rosters a volunteer may open, apply to or leave."""
    return db.session.scalar(
        select(Roster).join(VolunteerProfile,
                            VolunteerProfile.community_id == Roster.community_id)
        .where(Roster.id == roster_id, VolunteerProfile.user_id == user.id))


def apply(roster: Roster, user: User) -> RosterMember:
    """Ask to join a roster of one's own community; a coordinator decides."""
    profile = approved_volunteer(user)
    if profile is None:
        raise RosterError(_l("Your sign-up has not been approved yet."))
    if roster.community_id != profile.community_id or not roster.open:
        raise RosterError(_l("This roster is not open to you."))
    if live_membership(user, roster) is not None:
        raise RosterError(_l("You have already applied to this roster."))
    member = RosterMember(roster=roster, user=user)
    db.session.add(member)
    db.session.flush()
    audit.record(user, "roster.apply", "roster", roster.id)
    return member


def applications(actor: User) -> list[RosterMember]:
    """Applications waiting for an answer on the rosters the actor manages, oldest first."""
    return list(db.session.scalars(
        select(RosterMember).join(Roster).join(Community)
        .where(community_scope(actor), RosterMember.status == MemberStatus.APPLIED)
        .order_by(RosterMember.applied_at)))


def live_membership(user: User, roster: Roster) -> RosterMember | None:
    """The volunteer's application or place on a roster, if any."""
    return db.session.scalar(select(RosterMember).where(
        RosterMember.user_id == user.id, RosterMember.roster_id == roster.id,
        RosterMember.status.in_(LIVE_MEMBER_STATUSES)))


# What a coordinator may do with an application or a place, from each state.
DECISIONS = {
    MemberStatus.APPLIED: (MemberStatus.APPROVED, MemberStatus.DECLINED),
    MemberStatus.APPROVED: (MemberStatus.REMOVED,),
}


def decide(member: RosterMember, status: MemberStatus, actor: User) -> None:
    """Approve or decline an application, or remove a member."""
    if status not in DECISIONS.get(member.status, ()):
        raise RosterError(_l("This application has already been dealt with."))
    if status == MemberStatus.APPROVED:
        if approved_volunteer(member.user) is None:
            raise RosterError(_l("Approve the volunteer's sign-up first."))
        if len(approved_members(member.roster)) >= member.roster.capacity:
            raise RosterError(_l("The roster is full. Raise its capacity or remove someone "
                                 "first."))
    _decide(member, status, actor)
    audit.record(actor, f"roster.{status.value}", "roster", member.roster_id,
                 volunteer_id=member.user_id)


def _decide(member: RosterMember, status: MemberStatus, actor: User) -> None:
    member.status, member.decided_at, member.decided_by_id = status, utcnow(), actor.id
    if status != MemberStatus.APPROVED and member.roster.leader_id == member.user_id:
        member.roster.leader_id = None
    db.session.flush()


def end_places(user_id: int, actor: User) -> None:
    """Remove a volunteer from every roster they applied to or are on (their sign-up was
    declined); the audit event is the decline's."""
    for member in db.session.scalars(select(RosterMember).where(
            RosterMember.user_id == user_id, RosterMember.status.in_(LIVE_MEMBER_STATUSES))):
        _decide(member, MemberStatus.REMOVED, actor)


def withdraw(member: RosterMember, user: User) -> None:
    """A volunteer takes back an application or leaves a roster."""
    _decide(member, MemberStatus.WITHDRAWN, user)
    audit.record(user, "roster.withdraw", "roster", member.roster_id)


# --- visiting ---------------------------------------------------------------------------------

def my_rosters(user: User) -> list[Roster]:
    """The rosters a volunteer may visit for now (:func:`scope.volunteer_rosters`)."""
    return list(db.session.scalars(
        select(Roster).where(Roster.id.in_(volunteer_rosters(user)))
        .order_by(Roster.weekday, Roster.start_time)))


def roster_for_visit(user: User, household: Household, today: date) -> Roster | None:
    """The roster a volunteer visits this household for: one meeting today, else the first."""
    return rosters_for_visits(user, [household.id], today).get(household.id)


def rosters_for_visits(user: User, household_ids: list[int], today: date) -> dict[int, Roster]:
    """Household id → ``roster_for_visit`` of each, in one query (households on none of the
    volunteer's rosters are left out)."""
    found: dict[int, Roster] = {}
    for household_id, roster in db.session.execute(
            select(RosterHousehold.household_id, Roster).select_from(Roster).join(RosterHousehold)
            .where(RosterHousehold.household_id.in_(household_ids),
                   Roster.id.in_(volunteer_rosters(user)))
            .order_by(Roster.weekday != today.weekday(), Roster.id)):
        found.setdefault(household_id, roster)
    return found
