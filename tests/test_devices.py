"""Devices of households (issue 17, item 2): kept on the household page by those who edit it
— with the last signals and what was done with each —, in the register import and on the
command line; the silence thresholds per household and per street."""

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from carevisits.extensions import db
from carevisits.models import AuditEvent, Device, DeviceKind, Household, SignalKind
from carevisits.models.base import local_today, utcnow
from carevisits.services import devices, register_fields, schedule, signals
from tests.conftest import count
from tests.integration_world import api_key, device


def live_codes(household) -> list[str]:
    db.session.rollback()  # what the database has now
    return [d.code for d in db.session.scalars(select(Device).where(
        Device.household_id == household.id, Device.removed_at.is_(None)).order_by(Device.id))]


def field_error(body: str, field: str) -> str:
    """The error shown at a form field (empty if none)."""
    match = re.search(rf'id="{field}".*?<p class="error" role="alert">([^<]+)</p>', body, re.S)
    return match[1] if match else ""


# --- the household page ---------------------------------------------------------------

def test_the_household_page_shows_devices_and_what_each_signal_did(as_user, world):
    key = api_key("水务网关", street=world.streets[0])
    device(world.h1, "WM-0001")
    for elder in world.h1.elders:
        schedule.pause(elder, reason="住女儿家", expected_end=local_today() + timedelta(days=5),
                       actor=world.worker, today=local_today())
    db.session.commit()
    for n, (kind, value) in enumerate([(SignalKind.NO_USAGE, 3), (SignalKind.NO_USAGE, 30),
                                       (SignalKind.SOS, None)]):
        signals.receive(key, event_id=f"e{n}", device_code="WM-0001", kind=kind,
                        occurred_at=utcnow() - timedelta(minutes=10 - n), value=value)
    db.session.commit()

    page = as_user(world.worker).get(f"/register/households/{world.h1.id}")
    body = page.get_data(as_text=True)

    assert page.status_code == 200 and "WM-0001" in body
    rows = re.findall(r'<td class="signal-(\w+)">', body)
    assert rows == ["opened", "suppressed", "below_threshold"]  # newest first
    assert "未预警：老人外出（已暂停）" in body and "未预警：未达阈值" in body
    assert body.count('href="/alerts/') >= 1  # the emergency alert is one click away
    assert "/devices" not in body  # a grid worker reads, does not edit


def test_a_coordinator_adds_and_removes_devices_with_errors_at_the_field(as_user, world):
    client = as_user(world.coordinator)
    path = f"/register/households/{world.h1.id}"
    device(world.h3, "DS-TAKEN", DeviceKind.DOOR_SENSOR)
    db.session.commit()

    added = client.post(f"{path}/devices", data={"kind": "water_meter", "code": " WM-7 "})
    assert added.status_code == 302
    taken = client.post(f"{path}/devices", data={"kind": "door_sensor", "code": "DS-TAKEN"})
    bad = client.post(f"{path}/devices", data={"kind": "water_meter", "code": "水表 一号"})
    no_kind = client.post(f"{path}/devices", data={"kind": "toaster", "code": "T-1"})

    assert live_codes(world.h1) == ["WM-7"]
    assert taken.status_code == bad.status_code == no_kind.status_code == 422
    assert field_error(taken.get_data(as_text=True), "code")
    assert field_error(bad.get_data(as_text=True), "code")
    assert field_error(no_kind.get_data(as_text=True), "kind")
    page = client.get(path).get_data(as_text=True)
    assert "WM-7" in page and 'action="/register/households/' in page

    [wm7] = db.session.scalars(select(Device).where(Device.code == "WM-7")).all()
    removed = client.post(f"{path}/devices/{wm7.id}/remove")
    assert removed.status_code == 302 and live_codes(world.h1) == []
    actions = [e.action for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.action.like("device.%")).order_by(AuditEvent.id))]
    assert actions == ["device.add", "device.remove"]
    # A device id freed by its removal may be registered again, elsewhere.
    devices.add(world.admin, world.h2, DeviceKind.WATER_METER, "WM-7")
    db.session.commit()
    assert live_codes(world.h2) == ["WM-7"]


def test_a_device_of_another_household_cannot_be_removed_through_this_one(as_user, world):
    other = device(world.h2, "WM-H2")
    db.session.commit()
    response = as_user(world.coordinator).post(
        f"/register/households/{world.h1.id}/devices/{other.id}/remove")
    assert response.status_code == 404 and live_codes(world.h2) == ["WM-H2"]


def test_the_household_threshold_is_set_and_cleared_on_its_page(as_user, world):
    client = as_user(world.community_coordinator)
    path = f"/register/households/{world.h1.id}"

    assert client.post(f"{path}/silence", data={"silence_hours": "24"}).status_code == 302
    db.session.rollback()
    assert db.session.get(Household, world.h1.id).silence_hours == 24
    refused = client.post(f"{path}/silence", data={"silence_hours": "0"})
    assert refused.status_code == 422 and field_error(refused.get_data(as_text=True),
                                                      "silence_hours")
    assert client.post(f"{path}/silence", data={"silence_hours": ""}).status_code == 302
    db.session.rollback()
    household = db.session.get(Household, world.h1.id)
    assert household.silence_hours is None and signals.threshold(household) == 12


def test_the_street_threshold_is_set_with_the_visit_policy(as_user, world):
    client = as_user(world.coordinator)
    street = world.streets[0]
    page = client.get("/alerts/settings").get_data(as_text=True)
    assert 'name="silence_hours"' in page and 'value="12"' in page
    policy = {"key_interval": 1, "key_grace": 6, "focus_interval": 3, "focus_grace": 12,
              "general_interval": 7, "general_grace": 24}

    saved = client.post(f"/alerts/settings/policy/{street.id}",
                        data={**policy, "silence_hours": "8"})
    refused = client.post(f"/alerts/settings/policy/{street.id}",
                          data={**policy, "silence_hours": "500"})

    assert saved.status_code == 302 and refused.status_code == 422
    db.session.rollback()
    assert signals.threshold(db.session.get(Household, world.h2.id)) == 8


# --- the command line -----------------------------------------------------------------

def test_devices_on_the_command_line(runner, world):
    number = world.h1.number
    added = runner.invoke(args=["devices", "add", "--household", number, "--kind",
                                "water_meter", "WM-CLI-1"])
    again = runner.invoke(args=["devices", "add", "--household", number, "--kind",
                                "door_sensor", "WM-CLI-1"])
    unknown = runner.invoke(args=["devices", "add", "--household", "99999999", "--kind",
                                  "water_meter", "WM-CLI-2"])
    threshold = runner.invoke(args=["devices", "threshold", "--street", "一街道", "10"])
    listed = runner.invoke(args=["devices", "list", "--household", number])

    assert added.exit_code == 0, added.output
    assert again.exit_code != 0 and "code" in again.output
    assert unknown.exit_code != 0
    assert threshold.exit_code == 0
    assert "WM-CLI-1\twater_meter" in listed.output and "10 h (street)" in listed.output
    removed = runner.invoke(args=["devices", "remove", "WM-CLI-1"])
    assert removed.exit_code == 0 and live_codes(world.h1) == []
    assert runner.invoke(args=["devices", "remove", "WM-CLI-1"]).exit_code != 0


# --- the register import --------------------------------------------------------------

HEADER = ["户号", "社区", "网格", "住址", "姓名", "出生年份", "设备编号"]


def csv_file(rows) -> io.BytesIO:
    lines = [",".join(HEADER)] + [",".join(row) for row in rows]
    return io.BytesIO(("\ufeff" + "\n".join(lines) + "\n").encode("utf-8"))


def upload(client, rows):
    return client.post("/register/import", data={"file": (csv_file(rows), "台账.csv")},
                       content_type="multipart/form-data")


def test_the_import_registers_devices_once_and_reports_every_bad_one(as_user, world):
    client = as_user(world.coordinator)
    device(world.h4, "WM-STREET2")  # street two's
    db.session.commit()
    h1, elder = world.h1, world.h1.elders[0]
    good = [[h1.number, "", "", "", elder.name, "1940", "水表:WM-100、门磁:DS-100"],
            ["", "甲社区", "一网格", "新华路2号院1号楼1单元101室", "钱玉英", "1942",
             "紧急按钮：SOS-100"]]
    bad = [[h1.number, "", "", "", elder.name, "1940", "烤箱:X-1"],
           ["", "甲社区", "一网格", "新华路3号院1号楼1单元101室", "孙玉英", "1941",
            "水表:WM-STREET2"],
           ["", "甲社区", "一网格", "新华路4号院1号楼1单元101室", "李玉英", "1943", "WM-200"]]

    refused = upload(client, good + bad).get_data(as_text=True)
    errors = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td>", refused)
    assert [(line, column, value) for line, column, value in errors] == [
        ("4", "设备编号", "烤箱:X-1"), ("5", "设备编号", "水表:WM-STREET2"),
        ("6", "设备编号", "WM-200")]

    preview = upload(client, good).get_data(as_text=True)
    sha = re.search(r'name="sha" type="hidden" value="([0-9a-f]{64})"', preview)[1]
    assert client.post("/register/import/apply", data={"sha": sha}).status_code == 302

    assert live_codes(h1) == ["WM-100", "DS-100"]
    new = db.session.scalar(select(Household).where(Household.address == "新华路2号院"))
    assert [(d.code, d.kind) for d in db.session.scalars(select(Device).where(
        Device.household_id == new.id))] == [("SOS-100", DeviceKind.SOS_BUTTON)]
    before = count(Device)
    again = upload(client, good).get_data(as_text=True)
    sha = re.search(r'name="sha" type="hidden" value="([0-9a-f]{64})"', again)[1]
    assert client.post("/register/import/apply", data={"sha": sha}).status_code == 302
    assert count(Device) == before  # importing the same file again changes nothing


@pytest.mark.parametrize(("cell", "found"), [
    ("水表:WM-1", [(DeviceKind.WATER_METER, "WM-1")]),
    ("智能电表：EM-2；手环:B-3", [(DeviceKind.ELECTRICITY_METER, "EM-2"),
                              (DeviceKind.WEARABLE, "B-3")]),
    ("door_sensor:D:4 door_sensor:D:4", [(DeviceKind.DOOR_SENSOR, "D:4")]),
])
def test_the_device_cell_is_read_as_kind_and_id(app, cell, found):
    assert register_fields.devices(cell) == found
