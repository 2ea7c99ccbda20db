"""The register's households and elders: created and kept in the app, closed and reopened,
every change audited, likely duplicates confirmed before they are saved."""

from datetime import timedelta

from sqlalchemy import select

from carevisits.database import write_transaction
from carevisits.extensions import db
from carevisits.models import (
    Alert,
    AlertKind,
    AlertLevel,
    AlertStatus,
    AuditEvent,
    CareLevel,
    ClosedReason,
    DoorCode,
    Elder,
    FamilyLink,
    Household,
    LivingSituation,
    Outcome,
    VisitMethod,
)
from carevisits.models.base import local_today, utcnow
from carevisits.services import alerts, doorcodes
from carevisits.services.checkin import ElderRecordInput, record_visit
from carevisits.services.elders import likely_duplicates
from tests.conftest import count, latest

ELDER = {
    "name": "刘桂兰", "gender": "女", "birth_year": "1938", "phone": "13912345678",
    "contacts-0-name": "刘伟", "contacts-0-relation": "儿子", "contacts-0-phone": "13800001111",
    "contacts-1-name": "", "contacts-1-relation": "", "contacts-1-phone": "",
    "contacts-2-name": "张敏", "contacts-2-relation": "邻居", "contacts-2-phone": "0531-86123456",
    "living_situation": "alone", "care_level": "key", "health_notes": "糖尿病，按时服药",
    "tags": "行动不便、听力差, 独居失能",
}


def _event(action, subject_id):
    db.session.rollback()
    return db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == action, AuditEvent.subject_id == subject_id)
        .order_by(AuditEvent.id.desc()).limit(1))


def _new_household(client, grid, **fields):
    data = {"grid": grid.id, "address": "芙蓉街37号院", "building": "2", "unit": "3",
            "room": "302", **fields}
    return client.post("/register/households/new", data=data)


def test_a_new_household_has_a_number_and_a_card_and_joins_the_round_with_its_elder(
        client, world, as_user):
    as_user(world.coordinator)
    response = _new_household(client, world.grids[0])
    assert response.status_code == 302
    household = latest(Household)
    assert doorcodes.is_valid_household_number(household.number)
    assert household.full_address == "芙蓉街37号院2号楼3单元302室"
    assert doorcodes.live_code(household) is not None
    page = client.get(response.location).get_data(as_text=True)
    assert household.number in page and f"/printing/grids/{household.grid_id}" in page
    assert _event("household.create", household.id).details["changes"]["room"] == [None, "302"]
    # The same address twice in the street: refused, at the room field.
    again = _new_household(client, world.grids[1])
    assert again.status_code == 422 and household.number in again.get_data(as_text=True)

    response = client.post(f"/register/households/{household.id}/elders/new", data=ELDER)
    assert response.status_code == 302
    as_user(world.worker)
    assert "刘桂兰" in client.get("/round/").get_data(as_text=True)


def test_a_household_is_edited_moved_within_its_street_and_closed(client, app, world,
                                                                   as_user):
    as_user(world.coordinator)
    h = world.h1
    token, elder_ids = h.code.token, [e.id for e in h.elders]
    url = f"/register/households/{h.id}"
    assert client.get(f"{url}/edit").status_code == 200
    data = {"address": "芙蓉街38号院", "building": "5", "unit": "", "room": "101"}
    assert client.post(f"{url}/edit", data=data).status_code == 302
    assert _event("household.update", h.id).details["changes"]["address"] == [
        "测试路1号院", "芙蓉街38号院"]

    assert client.post(f"{url}/move", data={"grid": world.grids[3].id}).status_code == 422
    assert client.post(f"{url}/move", data={"grid": world.grids[2].id}).status_code == 302
    db.session.rollback()
    assert db.session.get(Household, h.id).grid_id == world.grids[2].id

    # Elders still living here: the close needs the reason they leave the register for.
    refused = client.post(f"{url}/close", data={"reason": "", "closed_on": str(local_today())})
    assert refused.status_code == 422 and "请选择原因" in refused.get_data(as_text=True)
    assert client.post(f"{url}/close", data={
        "reason": "moved_away", "closed_on": str(local_today())}).status_code == 302
    db.session.rollback()
    closed = db.session.get(Household, h.id)
    assert closed.closed_at is not None and doorcodes.live_code(closed) is None
    assert count(DoorCode, DoorCode.household_id == h.id, DoorCode.revoked_at.is_(None)) == 0
    assert all(db.session.get(Elder, i).closed_reason == ClosedReason.MOVED_AWAY
               for i in elder_ids)
    page = client.get(url).get_data(as_text=True)
    assert "已关闭" in page and h.elders[0].name in page  # the history stays readable
    assert client.get(f"{url}/edit").status_code == 404
    # A closed household gets no card: not offered on its grid's print page, not printed
    # with its community (which would give it a live code again).
    printing = client.get(f"/printing/grids/{world.grids[2].id}").get_data(as_text=True)
    assert h.number not in printing and world.h3.number in printing
    assert client.post("/printing/", data={
        "area": f"c:{world.communities[1].id}", "layout": "a6-card",
        "mode": "new", "confirm_new": "y"}).status_code == 302
    db.session.rollback()
    assert doorcodes.live_code(db.session.get(Household, h.id)) is None

    anonymous = app.test_client()
    old_card = anonymous.get(f"/c/{token}")
    made_up = anonymous.get("/c/" + "x" * len(token))
    assert old_card.status_code == made_up.status_code == 200
    assert old_card.data == made_up.data


def test_an_elder_is_created_and_edited_with_every_field_and_each_change_audited(
        client, world, as_user):
    as_user(world.community_coordinator)
    response = client.post(f"/register/households/{world.h1.id}/elders/new", data=ELDER)
    assert response.status_code == 302
    elder = latest(Elder)
    assert (elder.name, elder.gender, elder.birth_year, elder.phone) == (
        "刘桂兰", "女", 1938, "13912345678")
    assert elder.emergency_contacts == [
        {"name": "刘伟", "relation": "儿子", "phone": "13800001111"},
        {"name": "张敏", "relation": "邻居", "phone": "0531-86123456"}]
    assert elder.living_situation == LivingSituation.ALONE
    assert elder.care_level == CareLevel.KEY and elder.health_notes == "糖尿病，按时服药"
    assert elder.tags == ["行动不便", "听力差", "独居失能"]
    assert elder.due_at is not None and elder.due_at <= utcnow()  # the first visit: now
    created = _event("elder.create", elder.id)
    assert created.actor_id == world.community_coordinator.id
    assert created.details["changes"]["care_level"] == [None, "key"]

    page = client.get(f"/elders/{elder.id}").get_data(as_text=True)
    assert f"/register/elders/{elder.id}/edit" in page
    assert f"/register/households/{world.h1.id}" in page
    form = client.get(f"/register/elders/{elder.id}/edit").get_data(as_text=True)
    assert "13800001111" in form and "行动不便、听力差、独居失能" in form

    due_before = elder.due_at
    changed = {**ELDER, "phone": "１３９ 1234 5679", "care_level": "general",
               "contacts-0-phone": "13800002222", "tags": "听力差"}
    assert client.post(f"/register/elders/{elder.id}/edit", data=changed).status_code == 302
    event = _event("elder.update", elder.id)
    assert event.actor_id == world.community_coordinator.id and event.at is not None
    assert event.details["changes"]["phone"] == ["13912345678", "13912345679"]
    assert event.details["changes"]["care_level"] == ["key", "general"]
    assert event.details["changes"]["tags"] == [["行动不便", "听力差", "独居失能"], ["听力差"]]
    assert event.details["changes"]["emergency_contacts"][1][0]["phone"] == "13800002222"
    assert set(event.details["changes"]) == {"phone", "care_level", "tags",
                                             "emergency_contacts"}
    elder = db.session.get(Elder, elder.id)
    assert elder.care_level == CareLevel.GENERAL and elder.due_at == due_before  # never seen

    # Moved to another household of the area, found by its number.
    response = client.post(f"/register/elders/{elder.id}/move",
                           data={"number": world.h2.number})
    assert response.status_code == 302
    assert _event("elder.move", elder.id).details["changes"]["household"][1].startswith(
        world.h2.number)
    outside = client.post(f"/register/elders/{elder.id}/move", data={"number": world.h3.number})
    assert outside.status_code == 422 and "您辖区内没有这个户号" in outside.get_data(as_text=True)


def test_every_error_of_the_elder_form_is_shown_at_once_in_chinese(client, world, as_user):
    as_user(world.coordinator)
    bad = {**ELDER, "name": " ", "gender": "", "birth_year": "1850", "phone": "12345",
           "contacts-0-name": "", "contacts-0-phone": "", "contacts-2-phone": "138",
           "tags": "这是一个太长太长的标签词"}
    before = count(Elder)
    response = client.post(f"/register/households/{world.h1.id}/elders/new", data=bad)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and count(Elder) == before
    for message in ("请填写老人姓名。", "请选择性别。", "请填写出生年份，如 1942",
                    "请填写手机号（11 位）", "请填写联系人的姓名或电话。", "最多 10 个标签"):
        assert message in body, message
    assert body.count('role="alert"') == 7


def test_a_closed_elder_leaves_rounds_scans_and_door_forms_and_keeps_their_history(
        client, world, as_user, clock):
    h = world.h1
    closing, staying = h.elders[1], h.elders[0]
    record_visit(visitor=world.worker, household=h, method=VisitMethod.SCANNED,
                 door_code=h.code, idempotency_key="before-closing-0001",
                 records=[ElderRecordInput(closing.id, Outcome.MET_WELL, notes="血压平稳"),
                          ElderRecordInput(staying.id, Outcome.MET_WELL)])
    alert = alerts.raise_alert(closing, AlertKind.NO_ANSWER, AlertLevel.URGENT, {})
    db.session.add(FamilyLink(user=world.family, elder=closing, relation="女儿"))
    db.session.commit()
    alert_id, name = alert.id, closing.name

    as_user(world.coordinator)
    future = client.post(f"/register/elders/{closing.id}/close", data={
        "reason": "deceased", "closed_on": str(local_today() + timedelta(days=1))})
    assert future.status_code == 422 and "日期不能晚于今天" in future.get_data(as_text=True)
    assert client.post(f"/register/elders/{closing.id}/close", data={
        "reason": "deceased", "closed_on": str(local_today())}).status_code == 302
    db.session.rollback()
    resolved = db.session.get(Alert, alert_id)
    assert resolved.status == AlertStatus.RESOLVED and "去世" in resolved.resolution
    assert _event("elder.close", closing.id).details["resolved_alerts"] == [alert_id]

    page = client.get(f"/elders/{closing.id}").get_data(as_text=True)
    assert "血压平稳" in page and "去世" in page and "重新启用" in page
    as_user(world.worker)
    assert name not in client.get("/round/").get_data(as_text=True)
    door = client.get(f"/c/{h.code.token}").get_data(as_text=True)
    assert staying.name in door and name not in door
    clock.advance(days=30)
    db.session.rollback()
    with write_transaction():
        opened = alerts.scan_overdue(utcnow())
        db.session.commit()
    assert {db.session.get(Alert, i).elder_id for i in opened} >= {staying.id}
    assert count(Alert, Alert.elder_id == closing.id, Alert.status != AlertStatus.RESOLVED) == 0
    as_user(world.family)
    family_page = client.get(f"/family/elders/{closing.id}").get_data(as_text=True)
    assert "此档案已于" in family_page and world.worker.display_name in family_page

    as_user(world.coordinator)
    reopen = client.post(f"/register/elders/{closing.id}/reopen", follow_redirects=True)
    assert "已重新启用" in reopen.get_data(as_text=True), reopen.get_data(as_text=True)[-3000:]
    db.session.rollback()
    reopened = db.session.get(Elder, closing.id)
    assert reopened.active and reopened.closed_on is None
    assert abs(reopened.due_at - utcnow()) < timedelta(minutes=1)  # due now, not 30 days late
    assert reopened.overdue_at > utcnow()
    assert _event("elder.reopen", closing.id).details["changes"]["closed_reason"] == [
        "deceased", None]
    as_user(world.worker)
    assert name in client.get("/round/").get_data(as_text=True)


def test_a_likely_duplicate_is_named_and_saved_only_when_confirmed(client, world, as_user):
    other = world.h3.elders[0]  # same street (一街道), another community
    as_user(world.coordinator)
    url = f"/register/households/{world.h1.id}/elders/new"
    same = {**ELDER, "name": other.name.replace("", " ").strip(), "birth_year": "1940"}
    before = count(Elder)
    response = client.post(url, data=same)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and count(Elder) == before
    assert other.name in body and f"/elders/{other.id}" in body and "仍然保存" in body
    assert client.post(url, data={**same, "confirm": "y"}).status_code == 302
    assert count(Elder) == before + 1

    # A similar name in the same household: same surname, one character different.
    housemate = world.h1.elders[0]
    similar = housemate.name[:-1] + "丁"
    response = client.post(url, data={**ELDER, "name": similar, "birth_year": "1950"})
    assert response.status_code == 422 and f"/elders/{housemate.id}" in response.get_data(
        as_text=True)
    # Another street's namesake is not a duplicate; nor is renaming nobody.
    db.session.add(Elder(household=world.h4, name="赵大海", birth_year=1940))
    db.session.commit()
    assert likely_duplicates("赵大海", 1940, world.h1) == []
    assert [e.name for e in likely_duplicates("赵 大海", 1940, world.h4)] == ["赵大海"]
    found = likely_duplicates(housemate.name, 1940, world.h1, exclude_id=housemate.id)
    assert world.h1.elders[1] in found and housemate not in found  # 老人N甲 / 老人N乙
    edit = client.post(f"/register/elders/{housemate.id}/edit", data={
        **ELDER, "name": housemate.name, "birth_year": "1940"})
    assert edit.status_code == 302  # its own name and year: no warning about itself


def test_workers_read_households_but_cannot_edit_and_coordinators_only_their_area(
        client, world, as_user):
    as_user(world.worker)
    page = client.get(f"/register/households/{world.h1.id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and world.h1.elders[0].name in body
    assert "/edit" not in body and "/elders/new" not in body  # read only
    elder = world.h1.elders[0]
    for url in (f"/register/elders/{elder.id}/edit", f"/register/households/{world.h1.id}/edit",
                f"/register/households/{world.h1.id}/elders/new"):
        assert client.get(url).status_code == 403
    assert client.post(f"/register/elders/{elder.id}/close", data={
        "reason": "deceased", "closed_on": str(local_today())}).status_code == 403
    as_user(world.community_coordinator)  # community 甲: h3 is in 乙
    h3 = world.h3
    assert client.get(f"/register/elders/{h3.elders[0].id}/edit").status_code == 404
    assert client.post(f"/register/households/{h3.id}/edit", data={
        "address": "x", "building": "1", "room": "1"}).status_code == 404
    assert client.post(f"/register/households/{h3.id}/elders/new", data=ELDER).status_code == 404
    assert _new_household(client, world.grids[2]).status_code == 422  # not a grid of theirs
