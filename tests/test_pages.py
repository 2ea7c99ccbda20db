"""The worker's round, elder pages and search, and account administration."""

from datetime import date, timedelta

from sqlalchemy import select

from carevisits.extensions import db
from carevisits.models import AuditEvent, ClosedReason, Elder, Outcome, Role, User, VisitMethod
from carevisits.models.base import utcnow
from carevisits.services import schedule
from carevisits.services.checkin import ElderRecordInput, record_visit
from tests import factories
from tests.conftest import count, latest, login


def _seen(elder, days_ago):
    elder.last_contact_at = utcnow() - timedelta(days=days_ago)
    schedule.refresh([elder])


def test_round_shows_overdue_first_then_due_grouped_by_building(client, world):
    g1 = world.grids[0]
    a = factories.household(g1, building="5", room="501")
    b = factories.household(g1, building="5", room="502")
    _seen(world.h1.elders[0], 1)
    _seen(world.h1.elders[1], 2)
    _seen(a.elders[0], 9)  # b's elder was never seen
    db.session.commit()
    login(client, world.worker)
    body = client.get("/round/").get_data(as_text=True)
    # a: seen 9 days ago, weekly → 2 days overdue; b: new on the list → due now;
    # then h1's elders, seen 2 and 1 days ago, not due yet.
    order = [body.index(e.name) for e in (a.elders[0], b.elders[0], world.h1.elders[1],
                                            world.h1.elders[0])]
    assert order == sorted(order)
    assert body.index("5号楼") < body.index("3号楼")
    assert "逾期2天" in body and "该探访了" in body and "2天前见过" in body
    assert world.h2.elders[0].name not in body  # the neighbouring grid is not on my round


def test_elder_history_is_newest_first_and_paginated(client, world, app):
    elder = world.h2.elders[0]
    for i in range(25):
        record_visit(visitor=world.other_worker, household=world.h2, method=VisitMethod.SCANNED,
                     idempotency_key=f"history-{i:012d}",
                     client_time=utcnow() - timedelta(hours=40 - i),
                     records=[ElderRecordInput(elder.id, Outcome.MET_WELL, notes=f"第{i}次")])
    db.session.commit()
    login(client, world.other_worker)
    first = client.get(f"/elders/{elder.id}").get_data(as_text=True)
    assert first.index("第24次") < first.index("第23次")
    assert "第4次" not in first and "共 2 页" in first or "2" in first
    second = client.get(f"/elders/{elder.id}?page=2").get_data(as_text=True)
    assert "第4次" in second and "第24次" not in second


def test_viewing_an_elder_is_audited(client, world):
    login(client, world.worker)
    client.get(f"/elders/{world.h1.elders[0].id}")
    event = latest(AuditEvent)
    assert (event.action, event.subject_id, event.actor_id) == (
        "elder.view", world.h1.elders[0].id, world.worker.id)


def test_search_finds_by_name_phone_and_number_within_scope(client, world):
    login(client, world.community_coordinator)
    target = world.h1.elders[0]
    for q in (target.name, target.phone, world.h1.number):
        body = client.get("/elders/", query_string={"q": q}).get_data(as_text=True)
        assert f"/elders/{target.id}" in body, q
    outside = client.get("/elders/", query_string={"q": world.h3.elders[0].name})
    assert f"/elders/{world.h3.elders[0].id}" not in outside.get_data(as_text=True)


# --- administration ---------------------------------------------------------------------

def test_admin_creates_a_grid_worker_who_can_sign_in(client, world):
    login(client, world.admin)
    response = client.post("/admin/users/new", data={
        "username": "newworker", "display_name": "新网格员", "role": "grid_worker",
        "area": f"g:{world.grids[2].id}", "password": "a-good-password"})
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.rollback()
    user = db.session.scalar(select(User).where(User.username == "newworker"))
    assert user.role == Role.GRID_WORKER and user.grid_id == world.grids[2].id
    client.post("/logout")
    assert login(client, "newworker", password="a-good-password").status_code == 302
    assert world.h3.elders[0].name in client.get("/round/").get_data(as_text=True)


def test_admin_form_refuses_bad_accounts_in_chinese(client, world):
    login(client, world.admin)
    before = count(User)
    cases = [
        ({"role": "grid_worker", "area": ""}, "网格"),
        ({"role": "coordinator", "area": f"g:{world.grids[0].id}"}, "社区"),
        ({"username": "worker"}, "已被使用"),
        ({"password": "short"}, "10"),
        ({"username": "有 空格"}, "字母"),
        ({"role": "emperor"}, "有效"),
    ]
    for change, expected in cases:
        data = {"username": "fresh", "display_name": "某人", "role": "grid_worker",
                "area": f"g:{world.grids[0].id}", "password": "a-good-password", **change}
        response = client.post("/admin/users/new", data=data)
        assert response.status_code == 422, change
        assert expected in response.get_data(as_text=True), change
    assert count(User) == before


def test_admin_cannot_lock_themselves_out(client, world):
    login(client, world.admin)
    response = client.post(f"/admin/users/{world.admin.id}", data={
        "display_name": "管理员", "role": "admin", "area": "", "active": ""})
    assert response.status_code == 422
    assert db.session.get(User, world.admin.id).active


def test_round_shows_a_coordinator_their_whole_area(client, world):
    login(client, world.coordinator)
    body = client.get("/round/").get_data(as_text=True)
    for h in (world.h1, world.h2, world.h3):
        assert h.elders[0].name in body
    assert world.h4.elders[0].name not in body


def test_closed_elders_are_not_on_the_round(client, world):
    closed = db.session.get(Elder, world.h1.elders[1].id)
    closed.closed_reason, closed.closed_on = ClosedReason.CARE_HOME, date(2026, 11, 1)
    db.session.commit()
    login(client, world.worker)
    assert world.h1.elders[1].name not in client.get("/round/").get_data(as_text=True)
