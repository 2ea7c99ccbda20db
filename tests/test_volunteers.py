"""Volunteers and rosters: a sign-up a coordinator of the community approves, rosters that
open their households to approved members only, the volunteer's door form, the hours their
visits count, and a family account made with an invite code — through the pages each
person uses."""

import csv
import io
import re
from dataclasses import replace
from datetime import datetime, time, timedelta
from types import SimpleNamespace

import openpyxl
import pytest
from sqlalchemy import select

from carevisits.extensions import db
from carevisits.i18n import local_zone
from carevisits.models import (
    Alert,
    AlertKind,
    AlertLevel,
    AlertStatus,
    FamilyLink,
    Frequency,
    MemberStatus,
    Outcome,
    Role,
    Roster,
    RosterMember,
    ServiceItem,
    User,
    Visit,
    VisitMethod,
    VisitRecord,
    VolunteerProfile,
    VolunteerStatus,
)
from carevisits.models.base import local_today, utcnow
from carevisits.services import alerts, family, menus, rosters, volunteer_hours, volunteer_signups
from carevisits.services.checkin import CheckInError, ElderRecordInput, record_visit
from carevisits.services.exports import Month
from tests import factories
from tests.clock import SHANGHAI
from tests.conftest import count, latest, login

MADE_UP_TOKEN = "Zq0cB3cI2m9mZq0cB3cI2m9mZq0cB3cI2m9mZq0cB3c"
PENDING_ZH = "感谢您报名"
NOT_YET_ZH = "协调员通过您的报名后，就可以加入排班。"
NOT_APPROVED_ZH = "您的报名还没有通过审核。"
APPLIED_ZH = "已申请，等待协调员答复。"
FULL_ZH = "排班已满。请先增加名额或移出成员。"
DEALT_WITH_ZH = "这条申请已经处理过了。"
UNAVAILABLE_ZH = "您无需用此码登记"
NO_READINGS_ZH = "本排班不记录血压、脉搏等健康数据。"
INVITE_INVALID_ZH = "邀请码无效，请向社区重新索取。"
HOURS_HEADER_ZH = ["月份", "社区", "志愿者", "用户名", "电话", "上门次数", "时长(分钟)",
                   "时长(小时)"]
SIGNUP = {"display_name": "张志愿", "phone": "139 1234 5678", "availability": "周六上午",
          "username": "newvol", "password": "long-enough-1", "confirm": "long-enough-1"}


# --- helpers -----------------------------------------------------------------------------

def reread() -> None:
    """Drop the test session's snapshot, to read (or then write) after the requests wrote."""
    db.session.rollback()


def signed_in(app, user):
    client = app.test_client()
    assert login(client, user).status_code == 302
    return client


def text(response, status=200) -> str:
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def user_named(username: str) -> User | None:
    reread()
    return db.session.scalar(select(User).where(User.username == username))


def coordinator_of(community, username="ccoord2"):
    """A coordinator of one community (the world has one for 甲社区 only)."""
    reread()
    user = factories.user(Role.COORDINATOR, username=username, community=community)
    db.session.commit()
    return user


def new_volunteer(username: str, community=None, status=VolunteerStatus.APPROVED) -> User:
    """A volunteer account with a sign-up in the community, already answered."""
    reread()
    user = factories.user(Role.VOLUNTEER, username=username)
    if community is not None:
        db.session.add(VolunteerProfile(user=user, community=community, status=status))
    db.session.commit()
    return user


def make_roster(world, *households, **settings) -> Roster:
    """A roster of the households' community, saved by the admin through the service."""
    reread()
    data = rosters.RosterInput(
        name="周六上午组", community=households[0].grid.community, weekday=5,
        start_time=time(9, 30), visit_minutes=30, capacity=4, allow_observations=False,
        open=True, household_ids=[h.id for h in households])
    roster = rosters.save_roster(None, replace(data, **settings), world.admin)
    db.session.commit()
    return roster


def join(world, user, roster, *, approve=True) -> RosterMember:
    """The volunteer (signed up and approved in the roster's community) applies; approved
    by the admin unless ``approve=False``."""
    reread()
    if volunteer_signups.profile_of(user) is None:
        db.session.add(VolunteerProfile(user=user, community=roster.community,
                                        status=VolunteerStatus.APPROVED))
        db.session.flush()
    member = rosters.apply(roster, user)
    if approve:
        rosters.decide(member, MemberStatus.APPROVED, world.admin)
    db.session.commit()
    return member


def status_of(model, key):
    reread()
    return db.session.get(model, key).status


def roster_input(roster: Roster) -> rosters.RosterInput:
    """A roster's settings as they are, to change one."""
    return rosters.RosterInput(
        name=roster.name, community=roster.community, weekday=roster.weekday,
        start_time=roster.start_time, visit_minutes=roster.visit_minutes,
        capacity=roster.capacity, allow_observations=roster.allow_observations,
        open=roster.open, household_ids=[h.id for h in roster.households],
        leader_id=roster.leader_id)


def db_leader(roster: Roster) -> int | None:
    reread()
    return db.session.get(Roster, roster.id).leader_id


def roster_form(roster: Roster, **changes) -> dict:
    """The roster edit form as the page fills it in, with changes; None unticks a box."""
    reread()
    now = roster_input(roster)
    data = {"name": now.name, "weekday": str(now.weekday),
            "start_time": now.start_time.strftime("%H:%M"),
            "visit_minutes": str(now.visit_minutes), "capacity": str(now.capacity),
            "leader": str(now.leader_id or ""),
            "allow_observations": "y" if now.allow_observations else None,
            "open": "y" if now.open else None, "households": now.household_ids}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def decide(client, member: RosterMember, decision: str) -> str:
    """A coordinator's decision on an application or member; the page it lands on."""
    return text(client.post(f"/coordinator/rosters/{member.roster_id}/members/{member.id}",
                            data={"decision": decision}, follow_redirects=True))


def review(client, user, decision: str, note: str = ""):
    return client.post(f"/coordinator/volunteers/{user.id}/review",
                       data={"decision": decision, "note": note})


def check_in(client, household, key, outcomes=None, **fields):
    """Post the door form of a household: every elder met unless ``outcomes`` says otherwise."""
    data = {"idempotency_key": key,
            **{f"e{e.id}-outcome": (outcomes or {}).get(e.id, "met_well")
               for e in household.elders},
            **fields}
    return client.post(f"/c/{household.code.token}", data=data)


def assert_neutral(client, household):
    """The scan shows the same page as a made-up code, naming nobody."""
    page = client.get(f"/c/{household.code.token}")
    assert page.data == client.get(f"/c/{MADE_UP_TOKEN}").data
    body = text(page)
    assert UNAVAILABLE_ZH in body
    assert all(e.name not in body for e in household.elders)


def assert_form(client, household, roster):
    body = text(client.get(f"/c/{household.code.token}"))
    assert all(e.name in body for e in household.elders)
    assert f"志愿者上门 · {roster.name}" in body and 'name="minutes"' in body
    return body


def this_month() -> Month:
    now = utcnow().astimezone(local_zone())
    return Month(now.year, now.month)


def month_before(month: Month) -> Month:
    day = month.bounds(local_zone())[0] - timedelta(days=1)
    return Month(day.year, day.month)


def table_rows(page: str) -> list[list[str]]:
    """The cells of each body row of the page's tables."""
    return [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", page, re.S)
            if "<td>" in row]


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def read_xlsx(response) -> list[list]:
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    assert sheet.title == "志愿服务时长"
    return [list(r) for r in sheet.iter_rows(values_only=True)]


# --- 1. sign-up, approval, applications ---------------------------------------------------

def test_signup_waits_for_the_coordinator_then_the_volunteer_joins_a_roster(app, world):
    c1, c2 = world.communities[:2]
    other_roster = make_roster(world, world.h3, name="乙社区周二组")
    coordinator = signed_in(app, world.community_coordinator)  # 甲社区
    saved = coordinator.post(f"/coordinator/rosters/new?community={c1.id}", data={
        "name": "甲社区周三组", "weekday": "2", "start_time": "09:30", "visit_minutes": "40",
        "capacity": "2", "leader": "", "open": "y", "households": [world.h1.id]})
    assert saved.status_code == 302
    roster = latest(Roster)
    assert (roster.name, roster.community_id, roster.weekday, roster.start_time,
            roster.visit_minutes, [h.id for h in roster.households]) == (
        "甲社区周三组", c1.id, 2, time(9, 30), 40, [world.h1.id])

    newcomer = app.test_client()
    signup = newcomer.post("/volunteer/signup", data={**SIGNUP, "community": str(c1.id)})
    assert signup.status_code == 302 and signup.location.endswith("/volunteer/")
    user = user_named("newvol")
    profile = volunteer_signups.profile_of(user)
    assert user.role == Role.VOLUNTEER and user.phone == "139 1234 5678"
    assert (profile.status, profile.community_id, profile.availability) == (
        VolunteerStatus.PENDING, c1.id, "周六上午")
    waiting = text(newcomer.get("/volunteer/"))  # signed in by the sign-up
    assert PENDING_ZH in waiting and "甲社区的协调员会审核您的报名" in waiting
    offered = text(newcomer.get("/volunteer/rosters"))
    assert NOT_YET_ZH in offered and roster.name not in offered
    refused = newcomer.post(f"/volunteer/rosters/{roster.id}/apply", follow_redirects=True)
    assert NOT_APPROVED_ZH in text(refused) and count(RosterMember) == 0
    assert_neutral(newcomer, world.h1)

    # Only a coordinator whose scope covers 甲社区 can answer.
    stranger = signed_in(app, coordinator_of(c2))
    assert review(stranger, user, "approve").status_code == 404
    assert status_of(VolunteerProfile, user.id) == VolunteerStatus.PENDING
    assert "张志愿" in text(coordinator.get("/coordinator/volunteers"))
    assert review(coordinator, user, "approve").status_code == 302
    profile = volunteer_signups.profile_of(user_named("newvol"))
    assert (profile.status, profile.reviewed_by_id) == (
        VolunteerStatus.APPROVED, world.community_coordinator.id)

    offered = text(newcomer.get("/volunteer/rosters"))
    assert roster.name in offered and other_roster.name not in offered
    assert "申请加入" in offered
    assert newcomer.post(f"/volunteer/rosters/{other_roster.id}/apply").status_code == 404
    applied = newcomer.post(f"/volunteer/rosters/{roster.id}/apply", follow_redirects=True)
    assert APPLIED_ZH in text(applied)
    member = latest(RosterMember)
    assert (member.user_id, member.roster_id, member.status) == (
        user.id, roster.id, MemberStatus.APPLIED)
    assert newcomer.get(f"/volunteer/rosters/{roster.id}").status_code == 404  # not yet on it

    listed = text(coordinator.get("/coordinator/volunteers"))
    assert f'<strong>张志愿</strong> → <a href="/coordinator/rosters/{roster.id}">' in listed
    assert "张志愿：已通过。" in decide(coordinator, member, "approved")
    assert status_of(RosterMember, member.id) == MemberStatus.APPROVED
    assert roster.name in text(newcomer.get("/volunteer/"))
    assert world.h1.elders[0].name in text(newcomer.get(f"/volunteer/rosters/{roster.id}"))
    assert_form(newcomer, world.h1, roster)


def test_declined_and_removed_members_lose_the_roster_and_may_apply_again(app, world):
    roster = make_roster(world, world.h1)
    volunteer = signed_in(app, world.volunteer)
    coordinator = signed_in(app, world.community_coordinator)

    declined = join(world, world.volunteer, roster, approve=False)
    assert f"{world.volunteer.display_name}：未通过。" in decide(coordinator, declined, "declined")
    assert status_of(RosterMember, declined.id) == MemberStatus.DECLINED
    assert DEALT_WITH_ZH in decide(coordinator, declined, "approved")  # no second answer
    assert status_of(RosterMember, declined.id) == MemberStatus.DECLINED
    assert "申请加入" in text(volunteer.get("/volunteer/rosters"))

    volunteer.post(f"/volunteer/rosters/{roster.id}/apply")
    member = latest(RosterMember)
    assert member.id != declined.id and member.status == MemberStatus.APPLIED
    decide(coordinator, member, "approved")
    assert volunteer.get(f"/volunteer/rosters/{roster.id}").status_code == 200
    assert "已移出排班" in decide(coordinator, member, "removed")
    assert status_of(RosterMember, member.id) == MemberStatus.REMOVED
    assert volunteer.get(f"/volunteer/rosters/{roster.id}").status_code == 404
    assert roster.name not in text(volunteer.get("/volunteer/"))


def test_a_full_roster_refuses_another_member(app, world):
    roster = make_roster(world, world.h1, capacity=1)
    first, second = (join(world, new_volunteer(name, world.communities[0]), roster,
                          approve=False) for name in ("vol-a", "vol-b"))
    coordinator = signed_in(app, world.community_coordinator)
    decide(coordinator, first, "approved")
    assert FULL_ZH in decide(coordinator, second, "approved")
    assert status_of(RosterMember, second.id) == MemberStatus.APPLIED
    assert count(RosterMember, RosterMember.status == MemberStatus.APPROVED) == 1
    # Someone who has not applied sees it full, with no button to apply.
    onlooker = signed_in(app, new_volunteer("vol-c", world.communities[0]))
    offered = text(onlooker.get("/volunteer/rosters"))
    assert "已满" in offered and "申请加入" not in offered


def test_the_leader_must_be_an_approved_member(app, world):
    roster = make_roster(world, world.h1)
    member = join(world, world.volunteer, roster)
    applicant = join(world, new_volunteer("vol-a", world.communities[0]), roster,
                     approve=False)
    coordinator = signed_in(app, world.community_coordinator)
    page = coordinator.post(f"/coordinator/rosters/{roster.id}",
                            data=roster_form(roster, leader=str(applicant.user_id)))
    assert "不是有效的选择。" in text(page, 422)  # only approved members are offered
    assert db_leader(roster) is None
    with pytest.raises(rosters.RosterError):
        rosters.save_roster(roster, replace(roster_input(roster), leader_id=applicant.user_id),
                               world.admin)
    reread()

    saved = coordinator.post(f"/coordinator/rosters/{roster.id}",
                             data=roster_form(roster, leader=str(member.user_id)))
    assert saved.status_code == 302
    assert db_leader(roster) == member.user_id
    onlooker = signed_in(app, applicant.user)
    assert f"队长：{world.volunteer.display_name}" in text(onlooker.get("/volunteer/rosters"))
    decide(coordinator, member, "removed")  # a removed leader leads no more
    assert db_leader(roster) is None


def test_a_roster_may_not_include_another_communitys_households(app, world):
    c1 = world.communities[0]
    # The street's coordinator sees both communities, so scope alone would let it through.
    coordinator = signed_in(app, world.coordinator)
    page = coordinator.post(f"/coordinator/rosters/new?community={c1.id}", data={
        "name": "甲社区混合组", "weekday": "2", "start_time": "09:30", "visit_minutes": "30",
        "capacity": "2", "open": "y", "households": [world.h1.id, world.h3.id]})
    text(page, 422)
    assert count(Roster) == 0
    reread()
    with pytest.raises(rosters.RosterError, match="排班的住户必须在本社区内"):
        make_roster(world, world.h1, world.h3, name="甲社区混合组")  # the service, as the admin
    reread()
    roster = make_roster(world, world.h1)
    with pytest.raises(rosters.RosterError):
        rosters.save_roster(roster, replace(roster_input(roster),
                                               household_ids=[world.h1.id, world.h3.id]),
                               world.coordinator)
    reread()
    assert [h.id for h in db.session.get(Roster, roster.id).households] == [world.h1.id]


def test_the_leader_sees_every_phone_and_members_the_leaders(app, world):
    roster = make_roster(world, world.h1)
    leader, member, other = (new_volunteer(name, roster.community)
                             for name in ("leader", "member", "other"))
    for index, user in enumerate((leader, member, other)):
        user.phone = f"1390000000{index}"
        db.session.commit()
        join(world, user, roster)
    roster = db.session.get(Roster, roster.id)
    rosters.save_roster(roster, replace(roster_input(roster), leader_id=leader.id),
                           world.admin)
    db.session.commit()
    page = f"/volunteer/rosters/{roster.id}"
    seen_by_leader = text(signed_in(app, leader).get(page))
    assert all(phone in seen_by_leader for phone in ("13900000000", "13900000001",
                                                     "13900000002"))
    seen_by_member = text(signed_in(app, member).get(page))
    assert "13900000000" in seen_by_member and "13900000001" in seen_by_member
    assert "13900000002" not in seen_by_member and other.display_name in seen_by_member


# --- 2. sign-up validation ----------------------------------------------------------------

@pytest.mark.parametrize(("changes", "message"), [
    ({"username": "VOL"}, "该用户名已被使用。"),  # the world's volunteer, in any case
    ({"password": "short-1", "confirm": "short-1"}, "至少10个字符。"),
    ({"confirm": "long-enough-2"}, "两次输入的密码不一致。"),
    ({"phone": ""}, "请填写协调员能联系到您的电话。"),
    ({"community": ""}, "请选择您所在的社区。"),
], ids=["taken-username", "short-password", "mismatched-confirm", "no-phone", "no-community"])
def test_a_bad_signup_says_why_and_stores_nothing(client, world, changes, message):
    users = count(User)
    data = {**SIGNUP, "community": str(world.communities[0].id), **changes}
    assert message in text(client.post("/volunteer/signup", data=data), 422)
    assert count(User) == users and count(VolunteerProfile) == 0
    assert client.get("/volunteer/").status_code == 302  # not signed in: off to the login


def test_a_declined_signup_is_told_so_and_cannot_apply(app, world):
    roster = make_roster(world, world.h1)
    newcomer = new_volunteer("vol-a", world.communities[0], status=VolunteerStatus.PENDING)
    coordinator = signed_in(app, world.community_coordinator)
    assert review(coordinator, newcomer, "decline", note="请先参加培训").status_code == 302
    volunteer = signed_in(app, newcomer)
    page = text(volunteer.get("/volunteer/"))
    assert "您的报名未通过" in page and "请先参加培训" in page
    refused = volunteer.post(f"/volunteer/rosters/{roster.id}/apply", follow_redirects=True)
    assert NOT_APPROVED_ZH in text(refused) and count(RosterMember) == 0


def test_a_volunteer_account_without_a_signup_finishes_it_on_the_profile(app, world):
    # Volunteer accounts made by an admin (or before sign-ups existed) have no community yet.
    volunteer = signed_in(app, world.volunteer)
    for page in ("/volunteer/", "/volunteer/rosters"):
        assert volunteer.get(page).location == "/volunteer/profile"
    form = {"phone": "13900000000", "availability": "周末"}
    assert "请选择您所在的社区。" in text(volunteer.post("/volunteer/profile", data=form), 422)
    assert db.session.get(VolunteerProfile, world.volunteer.id) is None
    sent = volunteer.post("/volunteer/profile",
                          data={**form, "community": world.h1.grid.community_id})
    assert sent.location == "/volunteer/"
    db.session.rollback()
    profile = db.session.get(VolunteerProfile, world.volunteer.id)
    assert (profile.community_id, profile.status, profile.user.phone) == (
        world.h1.grid.community_id, VolunteerStatus.PENDING, "13900000000")
    assert "感谢您报名" in text(volunteer.get("/volunteer/"))


# --- 3. a roster's households are in scope for its approved members only ------------------

# Four ways a volunteer's place ends; each closes the door at once.
ENDINGS = {
    "removed": lambda w: w.coordinator.post(
        f"/coordinator/rosters/{w.roster.id}/members/{w.member.id}", data={"decision": "removed"}),
    "signup-declined": lambda w: review(w.coordinator, w.member.user, "decline"),
    "roster-closed": lambda w: w.coordinator.post(f"/coordinator/rosters/{w.roster.id}",
                                                  data=roster_form(w.roster, open=None)),
    "left": lambda w: w.volunteer.post(f"/volunteer/rosters/{w.roster.id}/leave"),
}


@pytest.mark.parametrize("ending", ENDINGS)
def test_the_door_opens_with_the_membership_and_closes_with_it(app, world, ending):
    roster = make_roster(world, world.h1)
    member = join(world, world.volunteer, roster, approve=False)
    volunteer = signed_in(app, world.volunteer)
    coordinator = signed_in(app, world.community_coordinator)
    assert_neutral(volunteer, world.h1)  # applied is not yet a member

    decide(coordinator, member, "approved")
    assert_form(volunteer, world.h1, roster)
    assert_neutral(volunteer, world.h2)  # same community, not on the roster
    assert volunteer.get(f"/visit/{world.h2.number}").status_code == 404

    ended = ENDINGS[ending](SimpleNamespace(coordinator=coordinator, volunteer=volunteer,
                                            member=member, roster=roster))
    assert ended.status_code == 302
    assert_neutral(volunteer, world.h1)
    assert volunteer.get(f"/visit/{world.h1.number}").status_code == 404
    assert UNAVAILABLE_ZH in text(check_in(volunteer, world.h1, "after-the-end-00001"))
    assert count(Visit) == 0


def test_approving_a_declined_volunteer_again_does_not_restore_their_places(app, world):
    roster = make_roster(world, world.h1)
    member = join(world, world.volunteer, roster)
    coordinator = signed_in(app, world.community_coordinator)
    for decision in ("decline", "approve"):
        assert review(coordinator, world.volunteer, decision).status_code == 302
    assert status_of(RosterMember, member.id) == MemberStatus.REMOVED
    assert_neutral(signed_in(app, world.volunteer), world.h1)


# --- 4. the volunteer's visit ------------------------------------------------------------

@pytest.mark.parametrize("readings", [{"systolic": "130", "diastolic": "80"}, {"pulse": "72"}],
                         ids=["blood-pressure", "pulse"])
def test_readings_only_on_a_roster_that_allows_them(app, world, readings):
    roster = make_roster(world, world.h2)
    join(world, world.volunteer, roster)
    volunteer = signed_in(app, world.volunteer)
    elder = world.h2.elders[0]
    assert f'name="e{elder.id}-systolic"' not in assert_form(volunteer, world.h2, roster)
    fields = {f"e{elder.id}-{k}": v for k, v in readings.items()}
    refused = check_in(volunteer, world.h2, "readings-refused-01", **fields)
    assert NO_READINGS_ZH in text(refused, 422) and count(Visit) == 0

    coordinator = signed_in(app, world.community_coordinator)
    assert coordinator.post(f"/coordinator/rosters/{roster.id}",
                            data=roster_form(roster, allow_observations="y")).status_code == 302
    assert f'name="e{elder.id}-systolic"' in assert_form(volunteer, world.h2, roster)
    assert check_in(volunteer, world.h2, "readings-allowed-01", **fields).status_code == 302
    record = latest(VisitRecord)
    assert {k: str(getattr(record, k)) for k in readings} == readings


def _menu(world, elder, *names):
    """Put services on the elder's menu, due at every visit; returns name → item id."""
    reread()
    menus.seed_catalogue()
    items = {i.name: i for i in db.session.scalars(select(ServiceItem)
                                                   .where(ServiceItem.name.in_(names)))}
    for name in names:
        menus.add_to_menu(db.session.get(type(elder), elder.id), item=items[name],
                          frequency=Frequency.EVERY_VISIT, notes="", starts_on=local_today(),
                          ends_on=None, actor=world.admin)
    db.session.commit()
    return {name: item.id for name, item in items.items()}


def test_reading_services_are_not_offered_where_volunteers_record_no_readings(app, world):
    elder = world.h2.elders[0]
    ids = _menu(world, elder, "量血压", "谈心疏导")
    roster = make_roster(world, world.h2)
    join(world, world.volunteer, roster)
    volunteer = signed_in(app, world.volunteer)
    box = 'name="e{}-svc" value="{}"'.format
    form = assert_form(volunteer, world.h2, roster)
    assert box(elder.id, ids["谈心疏导"]) in form and box(elder.id, ids["量血压"]) not in form
    refused = check_in(volunteer, world.h2, "bp-service-refused", **{
        f"e{elder.id}-svc": [ids["量血压"], ids["谈心疏导"]]})
    assert refused.status_code == 422 and count(Visit) == 0
    # The service itself refuses it too, whatever form sent it.
    reread()
    with pytest.raises(CheckInError, match="本排班不记录血压"):
        record_visit(visitor=world.volunteer, household=world.h2, method=VisitMethod.SCANNED,
                     idempotency_key="bp-service-direct-01", roster=roster,
                     records=[ElderRecordInput(elder.id, Outcome.MET_WELL, deliveries=[
                         menus.DeliveryInput(ids["量血压"])])])
    reread()
    # Where readings are allowed, and for staff, it is offered (due, and not ticked).
    assert box(elder.id, ids["量血压"]) in text(signed_in(app, world.other_worker).get(
        f"/c/{world.h2.code.token}"))
    coordinator = signed_in(app, world.community_coordinator)
    assert coordinator.post(f"/coordinator/rosters/{roster.id}",
                            data=roster_form(roster, allow_observations="y")).status_code == 302
    assert f'{box(elder.id, ids["量血压"])}>' in assert_form(volunteer, world.h2, roster)


def test_a_visit_outside_the_rosters_day_and_hours_is_flagged_for_the_leader(app, world, clock):
    # 周六上午组 meets on Saturdays at 09:30 (Shanghai).
    roster = make_roster(world, world.h1, world.h2)
    leader = join(world, world.volunteer, roster)
    member = join(world, new_volunteer("vol-b", world.communities[0]), roster)
    reread()
    rosters.save_roster(db.session.get(Roster, roster.id), replace(
        roster_input(db.session.get(Roster, roster.id)), leader_id=leader.user_id), world.admin)
    db.session.commit()
    clock.set(datetime(2026, 11, 21, 10, 15, tzinfo=SHANGHAI))  # Saturday, on time
    assert check_in(signed_in(app, member.user), world.h1, "roster-on-time-01").status_code == 302
    clock.set(datetime(2026, 11, 23, 2, 52, tzinfo=SHANGHAI))  # Monday night
    assert check_in(signed_in(app, member.user), world.h2, "roster-monday-01").status_code == 302
    assert count(Visit) == 2  # both recorded and counted

    page = text(signed_in(app, world.volunteer).get(f"/volunteer/rosters/{roster.id}"))
    lines = re.findall(r"<li( class=\"off-schedule\")?>(.*?)</li>", page.split("最近的上门")[1],
                       re.S)
    assert [bool(flag) for flag, _ in lines] == [True, False]  # newest first
    (_, monday), (_, saturday) = lines
    assert "2026-11-23 02:52" in monday and "不在排班的日子或时段" in monday
    assert "2026-11-21 10:15" in saturday and "不在排班" not in saturday
    # Plain members do not see the list; the coordinators do.
    assert "最近的上门" not in text(signed_in(app, member.user).get(
        f"/volunteer/rosters/{roster.id}"))
    coordinator = text(signed_in(app, world.community_coordinator).get(
        f"/coordinator/rosters/{roster.id}"))
    assert coordinator.count("不在排班的日子或时段") == 1


def test_a_household_on_two_rosters_is_visited_for_the_one_meeting_today(app, world, clock):
    # 周六上午组 meets on Saturdays, 周一下午组 (made later) on Mondays; both visit h1.
    saturday = make_roster(world, world.h1)
    monday = make_roster(world, world.h1, name="周一下午组", weekday=0, start_time=time(14))
    join(world, world.volunteer, saturday)
    join(world, world.volunteer, monday)
    volunteer = signed_in(app, world.volunteer)
    # On a Wednesday neither meets: the visit counts for the first made.
    assert clock().astimezone(SHANGHAI).weekday() == 2
    assert check_in(volunteer, world.h1, "two-rosters-visit-01").status_code == 302
    reread()
    assert latest(Visit).roster_id == saturday.id
    clock.set(datetime(2026, 11, 23, 14, 0, tzinfo=SHANGHAI))  # a Monday
    assert "周六上午组" not in assert_form(volunteer, world.h1, monday)
    clock.set(datetime(2026, 11, 21, 9, 30, tzinfo=SHANGHAI))  # a Saturday
    assert "周一下午组" not in assert_form(volunteer, world.h1, saturday)


def test_minutes_out_of_range_are_refused(app, world):
    roster = make_roster(world, world.h2)
    join(world, world.volunteer, roster)
    volunteer = signed_in(app, world.volunteer)
    for minutes in ("4", "481"):
        page = text(check_in(volunteer, world.h2, f"minutes-{minutes}-000001", minutes=minutes),
                    422)
        assert "分钟数应在5到480之间。" in page
    assert count(Visit) == 0


def test_a_volunteer_visit_counts_for_the_schedule_and_shows_on_the_elder_page(app, world):
    roster = make_roster(world, world.h1)
    join(world, world.volunteer, roster)
    met, away = world.h1.elders
    for elder in (met, away):
        alerts.raise_alert(elder, AlertKind.OVERDUE, AlertLevel.WARNING, {})
    db.session.commit()
    volunteer = signed_in(app, world.volunteer)
    posted = check_in(volunteer, world.h1, "volunteer-visit-0001",
                      outcomes={away.id: "not_at_home"}, minutes="45")
    assert posted.status_code == 302
    assert world.h1.address in text(volunteer.get(posted.location))

    visit = latest(Visit)
    assert (visit.visitor_id, visit.roster_id, visit.duration_minutes, visit.method) == (
        world.volunteer.id, roster.id, 45, VisitMethod.SCANNED)
    assert met.last_contact_at == visit.occurred_at
    assert met.due_at == visit.occurred_at + timedelta(days=7)  # 一般: weekly
    assert away.last_contact_at is None  # not at home is no contact
    states = {a.elder_id: a.status for a in db.session.scalars(select(Alert))}
    assert states[met.id] == AlertStatus.RESOLVED and states[away.id] != AlertStatus.RESOLVED

    staff = signed_in(app, world.worker)
    page = text(staff.get(f"/elders/{met.id}"))
    assert re.search(rf"{world.volunteer.display_name} <span class=\"muted\">志愿者", page)
    assert "志愿者排班" in page and roster.name in page  # the staff see who else visits


# --- 5. hours ----------------------------------------------------------------------------

@pytest.fixture
def hours(app, world):
    """This month: the world's volunteer made two visits in 甲社区 (45 minutes entered, and
    none: the roster's 40), a volunteer of 乙社区 one of 30; last month, one of 60. A grid
    worker's visits, even with a roster and minutes given, count for nothing."""
    roster = make_roster(world, world.h1, visit_minutes=40)
    join(world, world.volunteer, roster)
    neighbour = new_volunteer("vol-b", world.communities[1])
    neighbours = make_roster(world, world.h3, name="乙社区周二组")
    join(world, neighbour, neighbours)
    volunteer = signed_in(app, world.volunteer)
    assert check_in(volunteer, world.h1, "hours-entered-00001", minutes="45").status_code == 302
    assert check_in(volunteer, world.h1, "hours-default-00001").status_code == 302
    assert check_in(signed_in(app, world.worker), world.h1, "hours-staff-000001",
                    minutes="90").status_code == 302
    reread()
    world.volunteer.phone = "13600000001"
    last_month = record(world.volunteer, world.h1, "hours-last-month-01", roster, 60)
    last_month.occurred_at = this_month().bounds(local_zone())[0] - timedelta(days=1)
    record(neighbour, world.h3, "hours-neighbour-01", neighbours, 30)
    record(world.worker, world.h1, "hours-staff-000002", roster, 120)
    db.session.commit()
    return SimpleNamespace(**vars(world), neighbour=neighbour, volunteer_client=volunteer)


def record(visitor, household, key, roster, minutes) -> Visit:
    visit, created = record_visit(
        visitor=visitor, household=household, method=VisitMethod.SCANNED,
        door_code=household.code, idempotency_key=key, roster=roster,
        duration_minutes=minutes,
        records=[ElderRecordInput(e.id, Outcome.MET_WELL) for e in household.elders])
    assert created
    return visit


def totals(actor, month) -> dict[str, tuple[int, int]]:
    reread()
    return {line.user.username: (line.visits, line.minutes)
            for line in volunteer_hours.monthly_hours(actor, month, local_zone())}


def test_monthly_hours_sum_entered_and_default_minutes_per_month(hours):
    month = this_month()
    assert totals(hours.coordinator, month) == {"vol": (2, 85), "vol-b": (1, 30)}
    assert totals(hours.coordinator, month_before(month)) == {"vol": (1, 60)}
    assert totals(hours.community_coordinator, month) == {"vol": (2, 85)}
    staff_visits = count(Visit, Visit.visitor_id == hours.worker.id)
    assert staff_visits == 2 and count(Visit, Visit.roster_id.is_not(None),
                                       Visit.visitor_id == hours.worker.id) == 0


def test_volunteer_and_coordinator_pages_show_the_hours(app, hours):
    month = this_month()
    mine = {r[0]: r[1:] for r in table_rows(text(hours.volunteer_client.get("/volunteer/hours")))}
    assert mine == {str(month): ["2", "1.4"], str(month_before(month)): ["1", "1.0"]}
    assert "本月：上门 2 次，共 1.4 小时" in text(hours.volunteer_client.get("/volunteer/"))

    street = text(signed_in(app, hours.coordinator).get(
        f"/coordinator/volunteer-hours?month={month}"))
    lines = {r[0]: r[2:] for r in table_rows(street)}
    assert lines == {hours.volunteer.display_name: ["甲社区", "2", "1.4"],
                     hours.neighbour.display_name: ["乙社区", "1", "0.5"]}
    community = text(signed_in(app, hours.community_coordinator).get(
        f"/coordinator/volunteer-hours?month={month}"))
    assert hours.neighbour.display_name not in community
    earlier = text(signed_in(app, hours.coordinator).get(
        f"/coordinator/volunteer-hours?month={month_before(month)}"))
    assert {r[0]: r[3:] for r in table_rows(earlier)} == {
        hours.volunteer.display_name: ["1", "1.0"]}


def test_hours_exports_have_the_totals_in_scope(app, hours):
    month = this_month()
    coordinator = signed_in(app, hours.community_coordinator)
    rows = read_csv(coordinator.get(f"/coordinator/exports/volunteer-hours.csv?month={month}"))
    line = [str(month), "甲社区", hours.volunteer.display_name, "vol", "13600000001"]
    assert rows == [HOURS_HEADER_ZH, [*line, "2", "85", "1.4"]]
    sheet = read_xlsx(coordinator.get(f"/coordinator/exports/volunteer-hours.xlsx?month={month}"))
    assert sheet == [HOURS_HEADER_ZH, [*line, 2, 85, 1.4]]
    # Another community's coordinator does not see this volunteer; the street sees both.
    other = signed_in(app, coordinator_of(hours.communities[1]))
    rows = read_csv(other.get(f"/coordinator/exports/volunteer-hours.csv?month={month}"))
    assert [r[3] for r in rows[1:]] == ["vol-b"]
    street = signed_in(app, hours.coordinator)
    rows = read_csv(street.get(f"/coordinator/exports/volunteer-hours.csv?month={month}"))
    assert sorted(r[3] for r in rows[1:]) == ["vol", "vol-b"]


# --- 6. family sign-up with an invite code -----------------------------------------------

def _invite(world, **when):
    reread()
    invite = family.create_invite(world.h1.elders[0], relation="女儿",
                                  may_see_observations=False, actor=world.worker, **when)
    db.session.commit()
    return invite.code


FAMILY_SIGNUP = {**SIGNUP, "username": "daughter", "display_name": "王女儿"}


def test_family_signup_with_an_invite_links_the_elder(client, world):
    elder, code = world.h1.elders[0], _invite(world)
    users = count(User)
    taken = client.post("/family/signup", data={**FAMILY_SIGNUP, "code": code, "username": "fam"})
    assert "该用户名已被使用。" in text(taken, 422) and count(User) == users

    done = client.post("/family/signup", data={**FAMILY_SIGNUP, "code": code.lower()})
    assert done.status_code == 302 and done.location.endswith(f"/family/elders/{elder.id}")
    assert elder.name in text(client.get(done.location))
    relative = user_named("daughter")
    assert relative.role == Role.FAMILY
    link = latest(FamilyLink)
    assert (link.user_id, link.elder_id, link.relation) == (relative.id, elder.id, "女儿")


@pytest.mark.parametrize("which", ["made-up", "expired", "used"])
def test_family_signup_with_a_bad_code_creates_no_account(app, client, world, which):
    if which == "made-up":
        code = "NOSUCHCODE"
    elif which == "expired":
        code = _invite(world, now=utcnow() - timedelta(days=family.INVITE_DAYS, minutes=1))
    else:
        code = _invite(world)
        first = app.test_client().post("/family/signup", data={**FAMILY_SIGNUP, "code": code})
        assert first.status_code == 302
    users, links = count(User), count(FamilyLink)
    page = client.post("/family/signup", data={**FAMILY_SIGNUP, "username": "son", "code": code})
    assert INVITE_INVALID_ZH in text(page, 422)
    assert (count(User), count(FamilyLink)) == (users, links) and user_named("son") is None
