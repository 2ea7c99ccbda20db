"""Volunteers and rosters: sign-up and approval, applications, the visits' hours."""

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select

from carevisits.extensions import db
from carevisits.models import (
    LIVE_MEMBER_STATUSES,
    Community,
    Grid,
    Household,
    MemberStatus,
    Role,
    Roster,
    RosterHousehold,
    RosterMember,
    User,
    Visit,
    VolunteerProfile,
    VolunteerStatus,
)
from carevisits.models.base import utcnow
from carevisits.services import accounts, audit
from carevisits.services.checkin import VISIT_MINUTES_RANGE
from carevisits.services.exports import Month
from carevisits.services.scope import can_see_household, community_scope

AVAILABILITY_MAX = 200
CAPACITY_RANGE = (1, 50)


class VolunteerError(ValueError):
    """A sign-up, roster or application that breaks a rule; the message is for the user."""


# --- sign-up and approval -------------------------------------------------------------------

def sign_up(*, username: str, display_name: str, phone: str, password: str,
            community: Community, availability: str) -> User:
    """A new volunteer account, pending until a coordinator of the community approves it."""
    if not phone.strip():
        raise VolunteerError(_l("Enter a phone number the coordinator can call."))
    try:
        user = accounts.create_user(actor=None, username=username, display_name=display_name,
                                    password=password, role=Role.VOLUNTEER,
                                    scope=accounts.Scope(), phone=phone)
    except accounts.AccountError as err:
        raise VolunteerError(str(err)) from None
    start_profile(user, community, availability)
    return user


def start_profile(user: User, community: Community, availability: str) -> VolunteerProfile:
    """The sign-up of a volunteer account: pending until a coordinator of the community
    approves it."""
    _check_availability(availability)
    profile = VolunteerProfile(user=user, community=community, availability=availability.strip())
    db.session.add(profile)
    db.session.flush()
    audit.record(user, "volunteer.sign_up", "user", user.id, community_id=community.id)
    return profile


def _check_availability(text: str) -> None:
    if len(text.strip()) > AVAILABILITY_MAX:
        raise VolunteerError(_l("Availability is limited to %(n)d characters.",
                                n=AVAILABILITY_MAX))


def profile_of(user: User) -> VolunteerProfile | None:
    return db.session.get(VolunteerProfile, user.id)


def update_profile(user: User, *, phone: str, availability: str) -> None:
    """The volunteer's own phone number and the times they can help."""
    if not phone.strip():
        raise VolunteerError(_l("Enter a phone number the coordinator can call."))
    _check_availability(availability)
    user.phone = phone.strip()[:30]
    profile_of(user).availability = availability.strip()
    audit.record(user, "volunteer.profile", "user", user.id)


def signups(actor: User) -> Select:
    """SELECT of the volunteer profiles of the communities the actor manages, newest first."""
    return (select(VolunteerProfile).join(Community)
            .where(community_scope(actor))
            .order_by(VolunteerProfile.applied_at.desc()))


def managed_profile(actor: User, user_id: int) -> VolunteerProfile | None:
    """A volunteer's profile, if it is in a community the actor manages."""
    return db.session.scalar(signups(actor).where(VolunteerProfile.user_id == user_id))


def review(profile: VolunteerProfile, *, approve: bool, actor: User, note: str = "") -> None:
    """Approve or decline a sign-up; declining also ends the volunteer's roster places."""
    profile.status = VolunteerStatus.APPROVED if approve else VolunteerStatus.DECLINED
    profile.reviewed_at, profile.reviewed_by = utcnow(), actor
    profile.review_note = note.strip()[:200]
    if not approve:
        for member in db.session.scalars(select(RosterMember).where(
                RosterMember.user_id == profile.user_id,
                RosterMember.status.in_(LIVE_MEMBER_STATUSES))):
            _decide(member, MemberStatus.REMOVED, actor)
    audit.record(actor, "volunteer.approve" if approve else "volunteer.decline", "user",
                 profile.user_id)


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
    return db.session.scalar(managed_rosters(actor).where(Roster.id == roster_id))


def save_roster(roster: Roster | None, data: RosterInput, actor: User) -> Roster:
    """Create or change a roster after checking its households, capacity and leader."""
    if not data.name.strip():
        raise VolunteerError(_l("Enter a name."))
    if not 0 <= data.weekday <= 6:
        raise VolunteerError(_l("Choose a weekday."))
    if not CAPACITY_RANGE[0] <= data.capacity <= CAPACITY_RANGE[1]:
        raise VolunteerError(_l("Capacity must be between %(min)d and %(max)d.",
                                min=CAPACITY_RANGE[0], max=CAPACITY_RANGE[1]))
    if not VISIT_MINUTES_RANGE[0] <= data.visit_minutes <= VISIT_MINUTES_RANGE[1]:
        raise VolunteerError(_l("Minutes per visit must be between %(min)d and %(max)d.",
                                min=VISIT_MINUTES_RANGE[0], max=VISIT_MINUTES_RANGE[1]))
    households = _roster_households(data, actor)
    if roster is None:
        roster = Roster(community=data.community)
        db.session.add(roster)
    elif roster.community_id != data.community.id:
        raise VolunteerError(_l("A roster stays in its community; make a new one instead."))
    members = approved_members(roster) if roster.id else []
    if data.capacity < len(members):
        raise VolunteerError(_l("%(n)d volunteers are already on this roster: remove some "
                                "before lowering the capacity.", n=len(members)))
    if data.leader_id is not None and data.leader_id not in {m.user_id for m in members}:
        raise VolunteerError(_l("The leader must be an approved member of the roster."))
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
        raise VolunteerError(_l("Choose at least one household."))
    households = db.session.scalars(
        select(Household).join(Grid, Household.grid_id == Grid.id)
        .where(Household.id.in_(data.household_ids), Grid.community_id == data.community.id)
    ).all()
    if len(households) != len(set(data.household_ids)) or not all(
            can_see_household(actor, h) for h in households):
        raise VolunteerError(_l("A roster's households must be in its community."))
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
    return [m for m in roster.members if m.status == MemberStatus.APPROVED]


# --- applications -----------------------------------------------------------------------------

@dataclass
class RosterOffer:
    """An open roster as a volunteer browses it: how full, and where they stand."""

    roster: Roster
    members: int
    mine: RosterMember | None

    @property
    def full(self) -> bool:
        return self.members >= self.roster.capacity


def offers(user: User) -> list[RosterOffer]:
    """The open rosters of the volunteer's community, with their own standing in each."""
    profile = profile_of(user)
    if profile is None or profile.status != VolunteerStatus.APPROVED:
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


def apply(roster: Roster, user: User) -> RosterMember:
    """Ask to join a roster of one's own community; a coordinator decides."""
    profile = profile_of(user)
    if profile is None or profile.status != VolunteerStatus.APPROVED:
        raise VolunteerError(_l("Your sign-up has not been approved yet."))
    if roster.community_id != profile.community_id or not roster.open:
        raise VolunteerError(_l("This roster is not open to you."))
    if live_membership(user, roster) is not None:
        raise VolunteerError(_l("You have already applied to this roster."))
    member = RosterMember(roster=roster, user=user)
    db.session.add(member)
    db.session.flush()
    audit.record(user, "roster.apply", "roster", roster.id)
    return member


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
        raise VolunteerError(_l("This application has already been dealt with."))
    if status == MemberStatus.APPROVED:
        profile = profile_of(member.user)
        if profile is None or profile.status != VolunteerStatus.APPROVED:
            raise VolunteerError(_l("Approve the volunteer's sign-up first."))
        if len(approved_members(member.roster)) >= member.roster.capacity:
            raise VolunteerError(_l("The roster is full. Raise its capacity or remove someone "
                                    "first."))
    _decide(member, status, actor)
    audit.record(actor, f"roster.{status.value}", "roster", member.roster_id,
                 volunteer_id=member.user_id)


def _decide(member: RosterMember, status: MemberStatus, actor: User) -> None:
    member.status, member.decided_at, member.decided_by_id = status, utcnow(), actor.id
    if status != MemberStatus.APPROVED and member.roster.leader_id == member.user_id:
        member.roster.leader_id = None
    db.session.flush()


def withdraw(member: RosterMember, user: User) -> None:
    """A volunteer takes back an application or leaves a roster."""
    _decide(member, MemberStatus.WITHDRAWN, user)
    audit.record(user, "roster.withdraw", "roster", member.roster_id)


def my_rosters(user: User) -> list[Roster]:
    """The open rosters a volunteer may visit for now (approved sign-up and place)."""
    profile = profile_of(user)
    if profile is None or profile.status != VolunteerStatus.APPROVED:
        return []
    return list(db.session.scalars(
        select(Roster).join(RosterMember).where(
            RosterMember.user_id == user.id, RosterMember.status == MemberStatus.APPROVED,
            Roster.open).order_by(Roster.weekday, Roster.start_time)))


def roster_for_visit(user: User, household: Household, today: date) -> Roster | None:
    """The roster a volunteer visits this household for: today's, else the first."""
    rosters = [r for r in my_rosters(user)
               if db.session.get(RosterHousehold, (r.id, household.id)) is not None]
    rosters.sort(key=lambda r: (r.weekday != today.weekday(), r.id))
    return rosters[0] if rosters else None


# --- hours ------------------------------------------------------------------------------------

@dataclass
class HoursLine:
    """One volunteer's visits and minutes in a month."""

    user: User
    community: str
    visits: int
    minutes: int

    @property
    def hours(self) -> float:
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
