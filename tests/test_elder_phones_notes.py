"""An elder's further numbers and notes (备注, issue 25): kept by the elder form (the numbers
in one box, read as a spreadsheet's phone cell is), shown on the elder page and at the door
(further numbers as numbers to call beside the elder's phone, notes with the tags), and
never given to an integration."""

import json
from datetime import datetime

from carevisits.extensions import db
from carevisits.models import ApiPermission, Elder
from carevisits.services import apikeys
from tests.clock import SHANGHAI
from tests.conftest import latest, login
from tests.test_register_records import ELDER, _event

MORNING = datetime(2026, 12, 8, 9, 30, tzinfo=SHANGHAI)
NOTES = "轮椅\n听力差，敲门要大声"


def test_the_elder_form_keeps_further_numbers_and_notes(client, world, as_user, clock):
    clock.set(MORNING)
    as_user(world.community_coordinator)
    data = {**ELDER, "other_phones": "0531-8888 6666 / 139-0000-2222、13912345678",
            "notes": NOTES}
    response = client.post(f"/register/households/{world.h1.id}/elders/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    elder = latest(Elder)
    # The elder's own phone (13912345678) is not repeated among the further numbers.
    assert elder.other_phones == ["0531-88886666", "13900002222"]
    assert elder.notes == NOTES
    assert _event("elder.create", elder.id).details["changes"]["other_phones"] == [
        None, ["0531-88886666", "13900002222"]]

    form = client.get(f"/register/elders/{elder.id}/edit").get_data(as_text=True)
    assert "0531-88886666、13900002222" in form and "听力差，敲门要大声" in form
    changed = {**data, "other_phones": "", "notes": ""}
    assert client.post(f"/register/elders/{elder.id}/edit", data=changed).status_code == 302
    assert _event("elder.update", elder.id).details["changes"] == {
        "other_phones": [["0531-88886666", "13900002222"], []], "notes": [NOTES, ""]}


def test_a_further_number_that_cannot_be_read_is_named_at_its_box(client, world, as_user,
                                                                  clock):
    clock.set(MORNING)
    as_user(world.community_coordinator)
    before = db.session.query(Elder).count()
    response = client.post(f"/register/households/{world.h1.id}/elders/new",
                           data={**ELDER, "other_phones": "0531-88886666/儿子家"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "无法识别为电话号码：儿子家" in body
    assert db.session.query(Elder).count() == before


def _with_phones_and_notes(elder: Elder) -> Elder:
    elder.other_phones = ["0531-88886666转123", "13900002222"]
    elder.notes = NOTES
    db.session.commit()
    return elder


def test_the_elder_page_and_the_door_show_further_numbers_and_notes(client, world, clock):
    clock.set(MORNING)
    elder = _with_phones_and_notes(world.h1.elders[0])
    login(client, world.worker)
    page = client.get(f"/elders/{elder.id}").get_data(as_text=True)
    door = client.get(f"/c/{world.h1.code.token}").get_data(as_text=True)
    for body in (page, door):
        assert 'href="tel:0531-88886666,123">0531-88886666转123</a>' in body
        assert 'href="tel:13900002222">13900002222</a>' in body
        assert "轮椅\n听力差，敲门要大声" in body
    # At the door the further numbers stand beside the elder's own, in the elder's part.
    part = door[door.index(elder.name):door.index("</fieldset>", door.index(elder.name))]
    assert f'href="tel:{elder.phone}"' in part and 'href="tel:13900002222"' in part
    assert "轮椅" in part
    other = world.h1.elders[1]
    other_part = door[door.index(other.name):]
    assert "13900002222" not in other_part[:other_part.index("</fieldset>")]


def test_an_integration_gets_no_further_number_and_no_notes(client, world, clock):
    clock.set(MORNING)
    elder = _with_phones_and_notes(world.h1.elders[0])
    key = apikeys.create(world.admin, name="read", street=world.streets[0],
                         permissions=list(ApiPermission)).raw
    db.session.commit()
    answer = client.get("/api/v1/elders", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200
    body = json.dumps(answer.json, ensure_ascii=False)
    assert elder.name in body
    for secret in ("0531-88886666", "13900002222", "轮椅", "敲门要大声", "other_phones",
                   "notes"):
        assert secret not in body, secret


def test_editing_an_elder_with_more_contacts_than_empty_rows_keeps_them_all(
        client, world, as_user, clock):
    """An imported cell gives one contact per number: four are shown and kept."""
    clock.set(MORNING)
    elder = world.h1.elders[0]
    contacts = [{"relation": "女儿", "name": "王芳", "phone": "13912345678"},
                {"relation": "女儿", "name": "王芳", "phone": "0531-88886666"},
                {"relation": "儿子", "name": "王强", "phone": "13800001111"},
                {"relation": "邻居", "name": "张敏", "phone": "13800002222"}]
    elder.emergency_contacts = contacts
    db.session.commit()
    as_user(world.community_coordinator)
    form = client.get(f"/register/elders/{elder.id}/edit").get_data(as_text=True)
    assert 'name="contacts-3-phone"' in form and "13800002222" in form
    rows = {f"contacts-{i}-{key}": c[key] for i, c in enumerate(contacts)
            for key in ("name", "relation", "phone")}
    data = {**ELDER, "name": elder.name, "birth_year": str(elder.birth_year),
            "phone": elder.phone, **rows}
    assert client.post(f"/register/elders/{elder.id}/edit", data=data).status_code == 302
    db.session.rollback()
    assert db.session.get(Elder, elder.id).emergency_contacts == [
        {"name": c["name"], "relation": c["relation"], "phone": c["phone"]} for c in contacts]


def test_an_imported_contact_with_only_a_name_or_only_a_phone_stays_editable(
        client, world, as_user, clock):
    """The import keeps such contacts (with a warning); the form saves the record with them
    and asks for a name or a phone only where a row has neither."""
    clock.set(MORNING)
    elder = world.h1.elders[0]
    contacts = [{"relation": "女儿", "name": "王芳", "phone": ""},
                {"relation": "", "name": "", "phone": "13800002222"}]
    elder.emergency_contacts = contacts
    db.session.commit()
    as_user(world.community_coordinator)
    rows = {f"contacts-{i}-{key}": c[key] for i, c in enumerate([*contacts, *[{
        "name": "", "relation": "", "phone": ""}] * 2]) for key in ("name", "relation", "phone")}
    data = {**ELDER, "name": elder.name, "birth_year": str(elder.birth_year),
            "phone": elder.phone, **rows}
    assert client.post(f"/register/elders/{elder.id}/edit", data=data).status_code == 302
    db.session.rollback()
    assert db.session.get(Elder, elder.id).emergency_contacts == contacts
    data["contacts-2-relation"] = "邻居"
    refused = client.post(f"/register/elders/{elder.id}/edit", data=data)
    assert refused.status_code == 422
    assert "请填写联系人的姓名或电话" in refused.get_data(as_text=True)
