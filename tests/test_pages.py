"""The worker's round, elder pages and search, and account administration."""

import re
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from carevisits.extensions import db
from carevisits.models import (
    AlertKind,
    AlertLevel,
    AuditEvent,
    ClosedReason,
    Elder,
    GridAssignment,
    Outcome,
    Role,
    User,
    VisitMethod,
)
from carevisits.models.base import local_today, utcnow
from carevisits.services import alerts, schedule
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
    assert "第4次" not in first
    assert "第1页，共2页" in first  # the pager says there is a second page
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


def _field_errors(body: str) -> dict[str, list[str]]:
    """Each form field's name → the error messages shown in its own box."""
    boxes = re.findall(r'<div class="field[^"]*has-error">(.*?)</div>', body, re.S)
    return {re.search(r'name="(\w+)"', box).group(1):
            re.findall(r'<p class="error" role="alert">(.*?)</p>', box) for box in boxes}


def test_a_new_account_is_a_grid_worker_unless_chosen_and_every_error_shows_at_once(
        client, world):
    login(client, world.admin)
    page = client.get("/admin/users/new").get_data(as_text=True)
    assert re.search(r'<option selected value="grid_worker">', page)
    refused = client.post("/admin/users/new", data={
        "username": "worker", "display_name": "", "role": "grid_worker", "area": "",
        "password": "short"})
    assert refused.status_code == 422
    errors = _field_errors(refused.get_data(as_text=True))
    assert set(errors) == {"username", "display_name", "area", "password"}, errors
    assert "已被使用" in errors["username"][0] and "网格" in errors["area"][0]
    assert "10" in errors["password"][0]
    refused = client.post(f"/admin/users/{world.admin.id}", data={
        "display_name": "管理员", "role": "coordinator", "area": "", "password": "short"})
    errors = _field_errors(refused.get_data(as_text=True))
    assert set(errors) == {"role", "area", "password"}, errors


def test_every_form_leaves_checking_to_the_server():
    """A browser's own "Please fill out this field." is English and one at a time: every form
    with fields says novalidate, and the server answers in Chinese at each field."""
    templates = Path(__file__).parent.parent / "templates"
    missing = []
    for path in sorted(templates.rglob("*.html")):
        for form in re.finditer(r"<form\b([^>]*)>(.*?)</form>", path.read_text(), re.S):
            attrs, body = form.groups()
            fields = re.search(r'field\(|\{\{\s*\w+\.\w+\((?!\))|required|<textarea|<select'
                               r'|<input(?![^>]*type="hidden")', body)
            if fields and "novalidate" not in attrs:
                missing.append(f"{path.relative_to(templates)}: <form{attrs}>")
    assert not missing, missing


def test_resolving_an_alert_without_a_note_is_refused_at_the_field_in_chinese(client, world):
    elder = world.h1.elders[0]
    alert = alerts.raise_alert(elder, AlertKind.ABNORMAL, AlertLevel.WARNING, {})
    db.session.commit()
    login(client, world.worker)
    detail = client.get(f"/alerts/{alert.id}").get_data(as_text=True)
    assert re.search(r'<form method="post" action="/alerts/\d+/resolve" novalidate>', detail)
    refused = client.post(f"/alerts/{alert.id}/resolve", data={"note": ""})
    assert refused.status_code == 422
    assert _field_errors(refused.get_data(as_text=True)) == {"note": ["请说明处理情况。"]}


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


def _groups(body: str) -> list[str]:
    """The headings of a round's groups (communities and grids), in page order."""
    found = re.findall(r'<h2>([^<]+?) <span class="round-counts|<summary><strong>([^<]+)</strong>',
                       body)
    return [community or grid for community, grid in found]


def test_a_coordinators_round_is_grouped_by_community_and_grid_most_urgent_first(client, world):
    g3 = world.grids[2]
    late = factories.household(g3)
    _seen(world.h3.elders[0], 9)
    _seen(late.elders[0], 10)  # 乙社区: two overdue
    for elder in world.h1.elders:
        _seen(elder, 1)  # 甲社区 一网格: all well; 二网格 (h2): never seen, due now
    db.session.commit()
    login(client, world.coordinator)
    body = client.get("/round/").get_data(as_text=True)
    assert _groups(body) == ["乙社区", "三网格", "甲社区", "二网格", "一网格"]
    assert body.count('<details class="round-group">') == 3  # every grid folded
    yi = body[body.index("<h2>乙社区"):body.index("<h2>甲社区")]
    assert "2位老人" in yi and "逾期2位" in yi and "该探访" not in yi
    jia = body[body.index("<h2>甲社区"):]
    assert re.search(r"<h2>甲社区 <span[^>]*>3位老人 · <span class=\"badge warn\">该探访1位", jia)
    assert all(e.name in body for h in (world.h1, world.h2, world.h3, late) for e in h.elders)


def test_a_worker_covering_a_colleagues_grid_sees_the_round_by_grid(client, world, app):
    _seen(world.h2.elders[0], 12)
    db.session.add(GridAssignment(grid=world.grids[1], user=world.worker, cover=True,
                                  starts_on=local_today(),
                                  ends_on=local_today() + timedelta(days=3)))
    db.session.commit()
    login(client, world.worker)
    body = client.get("/round/").get_data(as_text=True)
    # The colleague's grid, with an overdue elder, comes first.
    assert _groups(body) == ["甲社区 · 二网格", "甲社区 · 一网格"]
    covered, own = (body.index("甲社区 · 二网格"), body.index("甲社区 · 一网格"))
    assert body.count('<details class="card round-group" open>') == 2
    assert "代班至" in body[covered:own] and "逾期1位" in body[covered:own]
    assert body.index(world.h2.elders[0].name) < own < body.index(world.h1.elders[0].name)


def test_closed_elders_are_not_on_the_round(client, world):
    closed = db.session.get(Elder, world.h1.elders[1].id)
    closed.closed_reason, closed.closed_on = ClosedReason.CARE_HOME, date(2026, 11, 1)
    db.session.commit()
    login(client, world.worker)
    assert world.h1.elders[1].name not in client.get("/round/").get_data(as_text=True)
