"""The area tree a street keeps for itself, and who works each grid on which dates:
a colleague's cover opens a grid's doors for its dates only, a grid changes hands in one
action, and the scope of every page follows on the very next request."""

import json
import re
from datetime import datetime, timedelta

from sqlalchemy import select

from carevisits.extensions import db
from carevisits.models import (
    AuditEvent,
    Community,
    Grid,
    GridAssignment,
    RequestClass,
    Role,
    Street,
    User,
)
from carevisits.models.base import local_today
from carevisits.services import areas, requests
from tests import factories
from tests.clock import SHANGHAI
from tests.conftest import count, login
from tests.factories import PASSWORD

NEUTRAL_ZH = "社区服务码"


def door(client, household) -> str:
    response = client.get(f"/c/{household.code.token}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def sees(client, household) -> bool:
    """Whether the signed-in worker gets the household's form (and not the neutral page)."""
    return household.elders[0].name in door(client, household)


def test_admin_creates_a_street_and_its_coordinator_builds_communities_and_grids(
        client, world, as_user):
    as_user(world.admin)
    assert client.post("/register/streets", data={"name": " 泉城路街道 "}).status_code == 302
    db.session.rollback()
    street = db.session.scalar(select(Street).where(Street.name == "泉城路街道"))
    assert street is not None
    again = client.post("/register/streets", data={"name": "泉城路街道"})
    assert again.status_code == 422 and "已有同名街道。" in again.get_data(as_text=True)
    client.post("/logout")

    login(client, world.coordinator)  # street one
    response = client.post(f"/register/streets/{world.streets[0].id}/communities",
                           data={"name": "丁社区", "hotline": "0531-86011009"})
    assert response.status_code == 302
    db.session.rollback()
    community = db.session.scalar(select(Community).where(Community.name == "丁社区"))
    assert community.street_id == world.streets[0].id and community.hotline == "0531-86011009"
    # Another street is not theirs; a bad hotline and a taken name are refused at the field.
    assert client.post(f"/register/streets/{street.id}/communities",
                       data={"name": "戊社区"}).status_code == 404
    refused = client.post(f"/register/communities/{community.id}",
                          data={"name": "甲社区", "hotline": "call me"})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "本街道已有同名社区。" in body or "只能填写数字、空格和连字符。" in body
    assert client.post(f"/register/communities/{community.id}/grids",
                       data={"name": "丁一网格"}).status_code == 302
    db.session.rollback()
    grid = db.session.scalar(select(Grid).where(Grid.name == "丁一网格"))
    assert grid.community_id == community.id
    blank = client.post(f"/register/communities/{community.id}/grids", data={"name": " "})
    assert blank.status_code == 422 and "请填写名称。" in blank.get_data(as_text=True)
    areas_page = client.get("/register/").get_data(as_text=True)
    assert "丁社区" in areas_page and "丁一网格" in areas_page and "泉城路街道" not in areas_page
    db.session.rollback()
    actions = {e.action for e in db.session.scalars(select(AuditEvent))}
    assert {"street.create", "community.save", "grid.save"} <= actions


def test_a_community_coordinator_keeps_to_their_community(client, world, as_user):
    as_user(world.community_coordinator)  # community 甲
    assert client.post(f"/register/streets/{world.streets[0].id}/communities",
                       data={"name": "新社区"}).status_code == 404
    other = world.communities[1]  # 乙
    assert client.post(f"/register/communities/{other.id}/grids",
                       data={"name": "x"}).status_code == 404
    assert client.get(f"/register/grids/{world.grids[2].id}").status_code == 404
    page = client.get("/register/").get_data(as_text=True)
    assert "甲社区" in page and "乙社区" not in page


def test_a_cover_opens_the_grid_for_its_dates_and_closes_it_on_the_next_request(
        app, client, world, clock):
    """worker2 covers grid 一 for worker's leave, from tomorrow for three days."""
    coordinator = app.test_client()
    login(coordinator, world.coordinator)
    today = local_today()
    response = coordinator.post(f"/register/grids/{world.grids[0].id}/covers", data={
        "worker": world.other_worker.id, "starts_on": str(today + timedelta(days=1)),
        "ends_on": str(today + timedelta(days=3))})
    assert response.status_code == 302

    login(client, world.other_worker)
    assert not sees(client, world.h1) and sees(client, world.h2)
    clock.advance(days=1)
    assert sees(client, world.h1) and sees(client, world.h2)
    round_page = client.get("/round/").get_data(as_text=True)
    assert world.h1.elders[0].name in round_page
    # While covering, the colleague owns the grid's new requests.
    db.session.rollback()
    request = requests.raise_request(world.h1.elders[0], kind="其他", description="灯坏了",
                                     request_class=RequestClass.SMALL,
                                     source=requests.RequestSource.PHONE, actor=world.admin)
    assert request.owner.id == world.other_worker.id
    db.session.rollback()
    clock.advance(days=3)  # the day after the last day: the same session, the next request
    assert not sees(client, world.h1) and sees(client, world.h2)
    assert world.h1.elders[0].name not in client.get("/round/").get_data(as_text=True)
    # worker kept their grid throughout.
    login(client, world.worker)
    assert sees(client, world.h1)


def test_a_cover_is_refused_with_its_reason(client, world, as_user):
    as_user(world.coordinator)
    today = local_today()
    response = client.post(f"/register/grids/{world.grids[0].id}/covers", data={
        "worker": world.other_worker.id, "starts_on": str(today),
        "ends_on": str(today - timedelta(days=2))})
    assert response.status_code == 422
    assert "结束日期早于开始日期。" in response.get_data(as_text=True)
    missing = client.post(f"/register/grids/{world.grids[0].id}/covers", data={})
    body = missing.get_data(as_text=True)
    assert missing.status_code == 422 and body.count("请填写日期。") == 2
    assert count(GridAssignment, GridAssignment.cover) == 0


def test_ending_a_cover_now_closes_the_doors_at_once(app, client, world):
    coordinator = app.test_client()
    login(coordinator, world.coordinator)
    today = local_today()
    coordinator.post(f"/register/grids/{world.grids[0].id}/covers", data={
        "worker": world.other_worker.id, "starts_on": str(today),
        "ends_on": str(today + timedelta(days=5))})
    login(client, world.other_worker)
    assert sees(client, world.h1)
    db.session.rollback()
    cover = db.session.scalar(select(GridAssignment).where(GridAssignment.cover))
    assert coordinator.post(f"/register/assignments/{cover.id}/end").status_code == 302
    assert not sees(client, world.h1)


def test_a_grid_changes_hands_in_one_action(app, client, world):
    """Grid 一 goes to worker2 from today: worker loses it on the next request, worker2
    has both their old grid's… no: a worker has one grid of their own, so worker2 leaves 二."""
    login(client, world.worker)
    assert sees(client, world.h1)
    coordinator = app.test_client()
    login(coordinator, world.coordinator)
    page = coordinator.get(f"/register/grids/{world.grids[0].id}").get_data(as_text=True)
    assert world.worker.display_name in page
    response = coordinator.post(f"/register/grids/{world.grids[0].id}/worker",
                                data={"worker": world.other_worker.id})
    assert response.status_code == 302
    assert not sees(client, world.h1)
    other = app.test_client()
    login(other, world.other_worker)
    assert sees(other, world.h1) and not sees(other, world.h2)
    db.session.rollback()
    assert db.session.get(type(world.worker), world.other_worker.id).grid_id == world.grids[0].id
    page = coordinator.get(f"/register/grids/{world.grids[0].id}").get_data(as_text=True)
    assert world.other_worker.display_name in page
    assert "无人负责" in coordinator.get("/register/").get_data(as_text=True)  # grid 二 now


def cover_form(client, world, starts_on, ends_on):
    return client.post(f"/register/grids/{world.grids[0].id}/covers", data={
        "worker": world.other_worker.id, "starts_on": str(starts_on), "ends_on": str(ends_on)})


def field_error(body: str, name: str) -> str:
    """The markup of one form field, from its input to the next field."""
    start = body.index(f'name="{name}"')
    end = body.find('<div class="field', start)
    return body[start:end if end != -1 else len(body)]


def test_a_cover_far_back_far_ahead_or_too_long_is_refused_at_its_field(client, world,
                                                                        as_user):
    from datetime import date

    as_user(world.coordinator)
    today = local_today()
    absurd = cover_form(client, world, date(1, 1, 1), date(9999, 12, 31))
    assert absurd.status_code == 422
    assert "天前" in field_error(absurd.get_data(as_text=True), "starts_on")
    too_long = cover_form(client, world, today, today + timedelta(days=366))
    assert too_long.status_code == 422
    assert "最长" in field_error(too_long.get_data(as_text=True), "ends_on")
    far_ahead = cover_form(client, world, today + timedelta(days=400),
                           today + timedelta(days=401))
    assert far_ahead.status_code == 422
    assert "一年" in field_error(far_ahead.get_data(as_text=True), "starts_on")
    assert count(GridAssignment, GridAssignment.cover) == 0
    # The limits themselves are allowed.
    assert cover_form(client, world, today - timedelta(days=30),
                      today + timedelta(days=334)).status_code == 302


def test_an_absurd_cover_already_stored_can_still_be_ended(client, world, as_user):
    from datetime import date

    from carevisits.models import GridAssignment as GA

    cover = GA(grid=world.grids[0], user=world.other_worker, starts_on=date(1, 1, 1),
               ends_on=date(9999, 12, 31), cover=True)
    db.session.add(cover)
    db.session.commit()
    as_user(world.coordinator)
    assert client.post(f"/register/assignments/{cover.id}/end").status_code == 302
    db.session.rollback()
    assert db.session.get(GA, cover.id).ends_on == local_today() - timedelta(days=1)
    from carevisits.services import areas
    first_day = GA(grid=world.grids[0], user=world.other_worker, starts_on=date.min,
                   ends_on=None, cover=True)
    areas._end(first_day, local_today())  # never an OverflowError
    assert first_day.ends_on == local_today() - timedelta(days=1)


def test_an_assignment_that_has_ended_cannot_be_ended_again(app, client, world, as_user,
                                                          clock):
    as_user(world.coordinator)
    today = local_today()
    assert cover_form(client, world, today, today + timedelta(days=2)).status_code == 302
    db.session.rollback()
    cover = db.session.scalar(select(GridAssignment).where(GridAssignment.cover))
    assert client.post(f"/register/assignments/{cover.id}/end").status_code == 302
    db.session.rollback()
    ended_on = db.session.get(GridAssignment, cover.id).ends_on
    audits = count(AuditEvent, AuditEvent.action == "grid.unassign")
    clock.advance(days=5)
    response = client.post(f"/register/assignments/{cover.id}/end", follow_redirects=True)
    assert "早已结束，未作任何更改" in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(GridAssignment, cover.id).ends_on == ended_on
    assert count(AuditEvent, AuditEvent.action == "grid.unassign") == audits
    # A cover still to come, called off, is not called off a second time either.
    assert cover_form(client, world, today + timedelta(days=10),
                      today + timedelta(days=12)).status_code == 302
    db.session.rollback()
    later = db.session.scalar(select(GridAssignment).where(GridAssignment.cover,
                                                           GridAssignment.id != cover.id))
    assert client.post(f"/register/assignments/{later.id}/end").status_code == 302
    assert client.post(f"/register/assignments/{later.id}/end").status_code == 302
    assert count(AuditEvent, AuditEvent.action == "grid.unassign") == audits + 1


# --- two or more workers per grid (issue 25) ------------------------------------------------

HANDOVER_DAY = datetime(2026, 12, 8, 10, 0, tzinfo=SHANGHAI)


def csrf_token(client, path: str) -> str:
    """The CSRF token of the form at ``path`` (the suite with CSRF on posts it as a browser
    does)."""
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def new_worker(client, world, username: str, choice: str | None = None):
    """Post the admin's new-account form for a grid worker of grid 一, with its CSRF token."""
    data = {"csrf_token": csrf_token(client, "/admin/users/new"), "username": username,
            "display_name": f"{username}名", "role": "grid_worker",
            "area": f"g:{world.grids[0].id}", "password": "a-good-password"}
    return client.post("/admin/users/new", data={**data, **({"handover": choice} if choice
                                                              else {})})


def grid_one_workers(world) -> set[str]:
    """The usernames of grid 一's own workers today, as the database has them now."""
    db.session.rollback()
    return {u.username for u in areas.own_workers(world.grids[0], local_today())}


def users_list_area(client, username: str) -> str:
    """The area cell of an account in the admin's users list."""
    page = client.get("/admin/users").get_data(as_text=True)
    row = next(r for r in re.findall(r"<tr.*?</tr>", page, re.S) if f">{username}</a>" in r)
    return " ".join(re.findall(r"<td>(.*?)</td>", row, re.S)[3].split())


def test_a_worker_account_for_a_grid_with_a_worker_asks_to_share_or_hand_over(
        app, csrf_client, world, clock):
    """Before issue 25 the new account silently took grid 一 from its worker (their area
    became "—", the message said only 账号已创建). Now the form asks; both answers work."""
    clock.set(HANDOVER_DAY)
    csrf_client.application.config["CLOCK"].set(HANDOVER_DAY)
    client = csrf_client
    token = csrf_token(client, "/login")
    assert client.post("/login", data={"username": "admin", "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302
    # Without a token nothing happens, as everywhere in this suite.
    assert client.post("/admin/users/new", data={"username": "x"}).status_code == 400
    asked = new_worker(client, world, "second")
    body = asked.get_data(as_text=True)
    assert asked.status_code == 422
    assert f"甲社区 · 一网格 已有网格员：{world.worker.display_name}" in body
    assert 'name="handover"' in body and 'value="share"' in body and 'value="handover"' in body
    assert count(User, User.username == "second") == 0 and grid_one_workers(world) == {"worker"}

    shared = new_worker(client, world, "second", "share")
    assert shared.status_code == 302
    flashed = client.get(shared.location).get_data(as_text=True)
    assert "账号已创建。" in flashed and "甲社区 · 一网格 现由" in flashed
    assert grid_one_workers(world) == {"worker", "second"}
    assert users_list_area(client, "worker") == "甲社区 · 一网格"
    assert users_list_area(client, "second") == "甲社区 · 一网格"

    # A third worker takes the grid over: both others leave it today.
    assert new_worker(client, world, "third").status_code == 422  # asked again
    handed = new_worker(client, world, "third", "handover")
    assert handed.status_code == 302
    assert grid_one_workers(world) == {"third"}
    assert users_list_area(client, "worker") == "—"
    assert users_list_area(client, "second") == "—"
    assert users_list_area(client, "third") == "甲社区 · 一网格"
    db.session.rollback()
    ended = {e.details["user_id"] for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "grid.unassign"))}
    assert ended == {world.worker.id, db.session.scalar(select(User.id).where(
        User.username == "second"))}
    # Choosing is asked only when the grid has a worker: grid 三 has none.
    data = {"csrf_token": csrf_token(client, "/admin/users/new"), "username": "fourth",
            "display_name": "四", "role": "grid_worker", "area": f"g:{world.grids[2].id}",
            "password": "a-good-password"}
    assert client.post("/admin/users/new", data=data).status_code == 302


def test_moving_a_worker_onto_a_taken_grid_asks_too(client, world, clock):
    clock.set(HANDOVER_DAY)
    login(client, world.admin)
    data = {"display_name": "二", "role": "grid_worker", "area": f"g:{world.grids[0].id}",
            "active": "y"}
    asked = client.post(f"/admin/users/{world.other_worker.id}", data=data)
    assert asked.status_code == 422 and "已有网格员" in asked.get_data(as_text=True)
    assert client.post(f"/admin/users/{world.other_worker.id}",
                       data={**data, "handover": "share"}).status_code == 302
    assert grid_one_workers(world) == {"worker", "worker2"}
    # Saving the account again with its own grid asks nothing.
    assert client.post(f"/admin/users/{world.other_worker.id}", data=data).status_code == 302


def test_two_workers_of_one_grid_both_see_its_doors(app, client, world, clock):
    clock.set(HANDOVER_DAY)
    areas.assign_worker(world.grids[0], world.other_worker, today=local_today(),
                        actor=world.admin, handover=False)
    db.session.commit()
    elder = world.h1.elders[0].name
    for who in (world.worker, world.other_worker):
        login(client, who)
        assert sees(client, world.h1), who.username
        assert elder in client.get("/round/").get_data(as_text=True)
        assert elder in client.get("/elders/").get_data(as_text=True)
        assert elder in client.get("/elders/?status=never").get_data(as_text=True)
        assert elder in json.dumps(client.get("/round/pack.json").get_json(),
                                   ensure_ascii=False)
        client.post("/logout")
    # worker2 left their own grid 二 to join 一; a worker of another grid sees neither.
    login(client, world.other_worker)
    assert not sees(client, world.h2)
    outsider = factories.user(Role.GRID_WORKER, username="outsider", grid=world.grids[2])
    db.session.commit()
    login(client, outsider)
    assert not sees(client, world.h1)
    assert elder not in client.get("/round/").get_data(as_text=True)


def test_a_same_day_handover_shows_a_sensible_history(app, client, world, clock):
    """A worker given grid 一 in the morning and handed it over the same afternoon held it on
    no whole day: the history says so, never an end before the start (2026-12-08 →
    2026-12-07 before issue 25)."""
    clock.set(HANDOVER_DAY)
    today = local_today()
    morning = areas.assign_worker(world.grids[0], world.other_worker, today=today,
                                  actor=world.admin)
    clock.advance(hours=5)
    areas.assign_worker(world.grids[0], factories.user(Role.GRID_WORKER, username="pm"),
                        today=today, actor=world.admin)
    db.session.commit()
    assert morning.never_held and not morning.still_on(today)
    login(client, world.coordinator)
    page = client.get(f"/register/grids/{world.grids[0].id}").get_data(as_text=True)
    history = page[page.index("本网格的负责记录"):]
    rows = [" ".join(re.sub(r"<[^>]+>", " ", r).split())
            for r in re.findall(r"<tr.*?</tr>", history, re.S)[1:]]
    # The newest first: the afternoon's worker holds it now; the morning's held it on no
    # day; the grid's worker of many years held it to yesterday.
    assert rows[0].startswith("用户") and rows[0].endswith("2026-12-08 — 立即结束")
    assert rows[1] == f"{world.other_worker.display_name} 2026-12-08 未生效：首日当天或之前已结束"
    assert rows[2] == f"{world.worker.display_name} 2000-01-01 2026-12-07"
    assert "2026-12-08 2026-12-07" not in " ".join(rows)


def test_a_coordinator_adds_a_second_worker_on_the_grid_page(app, client, world, clock):
    clock.set(HANDOVER_DAY)
    login(client, world.coordinator)
    page = client.get(f"/register/grids/{world.grids[0].id}").get_data(as_text=True)
    # A handover unless chosen otherwise, as before.
    assert re.search(r'<input checked id="handover-\d" name="handover" type="radio" '
                     r'value="handover">', page) and 'value="share"' in page
    response = client.post(f"/register/grids/{world.grids[0].id}/worker",
                           data={"worker": world.other_worker.id, "handover": "share"},
                           follow_redirects=True)
    assert "从今天起，该网格增加了一名网格员。" in response.get_data(as_text=True)
    assert grid_one_workers(world) == {"worker", "worker2"}
    for who in (world.worker, world.other_worker):
        login(client, who)
        assert sees(client, world.h1), who.username
