"""The area tree a street keeps for itself, and who works each grid on which dates:
a colleague's cover opens a grid's doors for its dates only, a grid changes hands in one
action, and the scope of every page follows on the very next request."""

from datetime import timedelta

from sqlalchemy import select

from carevisits.extensions import db
from carevisits.models import AuditEvent, Community, Grid, GridAssignment, RequestClass, Street
from carevisits.models.base import local_today
from carevisits.services import requests
from tests.conftest import count, login

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
