"""Any address (issue 25, item 3): a single-storey house (平房) or a courtyard is a household
of its own, with no building, unit or room; forms accept it, and cards, rounds, pages and
the import show what was given, never a made-up 1号楼1室."""

from datetime import datetime

import pytest

from carevisits.extensions import db
from carevisits.models import Household
from carevisits.services import households
from carevisits.services.register_rows import Register, RowCheck
from tests import factories
from tests.clock import SHANGHAI
from tests.conftest import latest, login
from tests.test_printing import make_pdf, read_pdf

MORNING = datetime(2026, 12, 8, 9, 30, tzinfo=SHANGHAI)


@pytest.fixture
def bungalow(world, clock):
    """A 平房 of grid 一 with one elder: its address alone."""
    clock.set(MORNING)
    h = factories.household(world.grids[0], address="明湖西街74号", building="", unit="",
                            room="")
    db.session.commit()
    return h


def test_a_household_with_only_its_road_and_number_is_created_from_the_form(
        client, world, as_user, clock):
    clock.set(MORNING)
    as_user(world.coordinator)
    response = client.post("/register/households/new", data={
        "grid": world.grids[0].id, "address": "明湖西街74号", "building": "", "unit": "",
        "room": ""})
    assert response.status_code == 302, response.get_data(as_text=True)
    household = latest(Household)
    assert (household.address, household.building, household.unit, household.room) == (
        "明湖西街74号", "", "", "")
    page = client.get(response.location).get_data(as_text=True)
    assert "明湖西街74号" in page and "号楼" not in page and "明湖西街74号室" not in page
    again = client.post("/register/households/new", data={
        "grid": world.grids[0].id, "address": " 明湖西街74号 "})
    assert again.status_code == 422
    assert f"户号 {household.number}" in again.get_data(as_text=True)  # one house, one household


def test_an_address_typed_in_one_box_is_the_same_household_as_its_parts(
        client, world, as_user, clock):
    clock.set(MORNING)
    as_user(world.coordinator)
    first = client.post("/register/households/new", data={
        "grid": world.grids[0].id, "address": "湖滨路60号2-2-402"})
    assert first.status_code == 302
    household = latest(Household)
    assert household.full_address == "湖滨路60号2号楼2单元402室"
    second = client.post("/register/households/new", data={
        "grid": world.grids[0].id, "address": "湖滨路60号", "building": "2号楼",
        "unit": "2", "room": "402室"})
    assert second.status_code == 422 and household.number in second.get_data(as_text=True)


def test_the_address_of_a_household_can_lose_its_building_and_room(
        client, world, as_user, clock):
    clock.set(MORNING)
    as_user(world.coordinator)
    h = world.h2
    response = client.post(f"/register/households/{h.id}/edit", data={
        "address": "曲水亭街东巷3号院", "building": "", "unit": "", "room": ""})
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(Household, h.id).full_address == "曲水亭街东巷3号院"


def test_the_service_keeps_no_invented_parts(world, clock):
    clock.set(MORNING)
    h = households.create_household(world.grids[0], actor=world.coordinator,
                                    address="泉城路12号", building="", unit="1", room="301")
    assert h.full_address == "泉城路12号1单元301室"


def test_a_bungalows_card_shows_its_address_and_nothing_made_up(world, bungalow):
    codes, text = read_pdf(make_pdf(world, [bungalow], "a6-card"))
    assert len(codes[0]) == 1  # its QR code is there and decodes
    assert "明湖西街74号" in text
    assert "号楼" not in text and "室" not in text and "单元" not in text


def test_rounds_and_the_print_page_show_a_bungalow_by_its_address(client, world, bungalow):
    login(client, world.worker)
    page = client.get("/round/").get_data(as_text=True)
    assert "明湖西街74号" in page and "明湖西街74号号楼" not in page
    assert bungalow.elders[0].name in page
    client.post("/logout")
    login(client, world.community_coordinator)
    printing = client.get(f"/printing/grids/{world.grids[0].id}").get_data(as_text=True)
    assert "明湖西街74号" in printing and "明湖西街74号号楼" not in printing
    assert f"{world.h1.address}3号楼" in printing  # a building keeps its 号楼


def test_a_bungalow_at_the_door_and_on_the_elder_page_shows_its_address(client, world,
                                                                        bungalow):
    login(client, world.worker)
    door = client.get(f"/c/{bungalow.code.token}").get_data(as_text=True)
    assert "明湖西街74号" in door and "号楼" not in door
    elder = client.get(f"/elders/{bungalow.elders[0].id}").get_data(as_text=True)
    assert "明湖西街74号" in elder and "明湖西街74号号楼" not in elder


def _place(world, **cells) -> tuple[dict | None, list]:
    """The household a register row of grid 一 names, and the row's errors."""
    register = Register(world.streets[0].id, None)
    check = RowCheck(2, {"community": world.grids[0].community.name,
                         "grid": world.grids[0].name, **cells}, register, MORNING.date(), {})
    return check.household(), check.errors


def test_an_import_row_may_give_any_address(world, bungalow):
    found, errors = _place(world, address="明湖西街74号")
    assert errors == [] and found["id"] == bungalow.id  # the 平房 already on the register
    found, errors = _place(world, address="曲水亭街东巷3号院")
    assert errors == [] and found["id"] is None
    assert (found["address"], found["building"], found["unit"], found["room"]) == (
        "曲水亭街东巷3号院", "", "", "")
    # Separate columns, building and room blank.
    found, errors = _place(world, address="明湖西街74号", building="", unit="", room="")
    assert errors == [] and found["id"] == bungalow.id
    found, errors = _place(world, address="泉城路12号", building="", unit="1", room="301室")
    assert errors == [] and (found["building"], found["unit"], found["room"]) == ("", "1",
                                                                                  "301")
    # Too long is still an error, at its column.
    _, errors = _place(world, address="泉城路12号", building="", room="3" * 21)
    assert [(e.column, str(e.message)) for e in errors] == [("房号", "内容过长")]


def test_one_address_written_two_ways_in_a_sheet_is_one_household(world, clock):
    clock.set(MORNING)
    h = factories.household(world.grids[0], address="湖滨路60号", building="2", unit="2",
                            room="402")
    db.session.commit()
    for cells in ({"address": "湖滨路60号2-2-402"}, {"address": "湖滨路60号2号楼2单元402室"},
                  {"address": "湖滨路60号2号楼2单元402"},
                  {"address": "湖滨路60号", "building": "2号楼", "unit": "2单元",
                   "room": "402"}):
        found, errors = _place(world, **cells)
        assert errors == [] and found["id"] == h.id, cells
