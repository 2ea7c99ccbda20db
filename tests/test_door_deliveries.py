"""Deliveries are chosen, never assumed (issue 26, item 1): the door form shows the services
due without ticking them, so a save with nothing chosen records no delivery; the all-done
button ticks exactly the services due; the confirmation lists what was recorded as
delivered, or says none was. The volunteer's form follows the same rule."""

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from carevisits.extensions import db
from carevisits.models import Delivery, Frequency, Visit
from carevisits.services import menus
from tests.clock import SHANGHAI
from tests.conftest import count, latest, login
from tests.test_door import catalogue, elder_part, on_menu, post_visit
from tests.test_services import deliver
from tests.test_volunteers import assert_form, join, make_roster, signed_in, text

__all__ = ["catalogue"]  # a fixture, used by name

# A Wednesday morning, and a Saturday within the volunteers' roster hours (09:30).
WEDNESDAY = datetime(2026, 11, 18, 9, 40, tzinfo=SHANGHAI)
SATURDAY = datetime(2026, 11, 21, 9, 40, tzinfo=SHANGHAI)
ALL_DONE_ZH = "应做服务已全部完成"


def boxes(form: str, elder) -> dict[int, tuple[bool, bool]]:
    """Each service box of an elder on the door form: item id → (marked due, ticked)."""
    found = re.findall(rf'<label class="pick service( due)?">\s*<input type="checkbox" '
                       rf'name="e{elder.id}-svc" value="(\d+)"( checked)?>',
                       elder_part(form, elder))
    return {int(item): (bool(due), bool(ticked)) for due, item, ticked in found}


def all_done_button(form: str, elder) -> bool:
    """Whether the elder's part of the form has the all-done button."""
    return bool(re.search(rf'<button type="button" class="[^"]*\ball-done\b[^"]*"[^>]*>'
                          rf'\s*{ALL_DONE_ZH}\s*</button>', elder_part(form, elder)))


@pytest.fixture
def menu(world, catalogue, clock):
    """The first elder of h1 receives 谈心疏导, 助餐 and 洗衣 at every visit, and 量血压
    weekly, given yesterday (so not due); the second elder has no menu."""
    clock.set(WEDNESDAY - timedelta(days=1))
    elder = world.h1.elders[0]
    due = [catalogue[n] for n in ("谈心疏导", "助餐", "洗衣")]
    for item in due:
        on_menu(elder, item, world.worker)
    on_menu(elder, catalogue["量血压"], world.worker, Frequency.WEEKLY)
    deliver(world.h1, world.worker, {elder.id: [menus.DeliveryInput(catalogue["量血压"])]},
            "deliveries-yesterday-01")
    clock.set(WEDNESDAY)
    return elder, due, catalogue["量血压"]


def test_due_services_are_shown_not_ticked_and_nothing_chosen_records_no_delivery(
        client, world, menu):
    elder, due, weekly = menu
    other = world.h1.elders[1]
    login(client, world.worker)
    form = client.get(f"/c/{world.h1.code.token}").get_data(as_text=True)
    assert boxes(form, elder) == {**{i: (True, False) for i in due}, weekly: (False, False)}
    assert all_done_button(form, elder) and not all_done_button(form, other)

    # Only 见到，一切正常 for each elder, and save: what the form sends with nothing chosen.
    response = post_visit(client, world.h1, {e: "met_well" for e in world.h1.elders})
    assert response.status_code == 302, response.get_data(as_text=True)
    visit = latest(Visit)
    assert count(Delivery, Delivery.visit_id == visit.id) == 0
    page = client.get(response.location).get_data(as_text=True)
    records = page[page.index('<ul class="records'):]
    mine = records[records.index(elder.name):records.index("</li>")]
    assert "本次服务：无" in mine and "助餐" not in mine


def test_the_all_done_choice_records_every_due_service_and_the_confirmation_lists_them(
        client, world, menu, catalogue):
    elder, due, weekly = menu
    login(client, world.worker)
    form = client.get(f"/c/{world.h1.code.token}").get_data(as_text=True)
    # The all-done button ticks the boxes marked due: the form then sends those.
    marked = [item for item, (is_due, _) in boxes(form, elder).items() if is_due]
    response = post_visit(client, world.h1, {e: "met_well" for e in world.h1.elders},
                          **{f"e{elder.id}-svc": [str(i) for i in marked]})
    assert response.status_code == 302, response.get_data(as_text=True)
    visit = latest(Visit)
    given = db.session.scalars(select(Delivery).where(Delivery.visit_id == visit.id)).all()
    assert sorted((d.elder_id, d.item_id, d.quantity) for d in given) == sorted(
        (elder.id, i, 1.0) for i in due)
    page = client.get(response.location).get_data(as_text=True)
    records = page[page.index('<ul class="records'):]
    mine = records[records.index(elder.name):records.index("</li>")]
    for shown in ("谈心疏导 1次", "助餐 1份", "洗衣 1次"):
        assert shown in mine
    assert "量血压" not in mine and "本次服务：无" not in mine
    # The elder with no menu: none recorded, and said so.
    other = records[records.index(world.h1.elders[1].name):]
    assert "本次服务：无" in other[:other.index("</li>")]


def test_the_volunteers_form_follows_the_same_rule(app, world, catalogue, clock):
    clock.set(SATURDAY)
    elder = world.h2.elders[0]
    talk = catalogue["谈心疏导"]
    on_menu(elder, talk, world.admin)
    roster = make_roster(world, world.h2)
    join(world, world.volunteer, roster)
    volunteer = signed_in(app, world.volunteer)
    form = assert_form(volunteer, world.h2, roster)
    assert boxes(form, elder) == {talk: (True, False)} and all_done_button(form, elder)
    response = volunteer.post(f"/c/{world.h2.code.token}", data={
        "idempotency_key": "volunteer-nothing-chosen", f"e{elder.id}-outcome": "met_well"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert count(Delivery) == 0
    assert "本次服务：无" in text(volunteer.get(response.location))
