"""The door records only what happened (issue 26, items 1 and 2), on a phone: a due service
is shown, not ticked; 应做服务已全部完成 ticks them all; the confirmation lists what was
recorded (or says none); 182/108 shows the crisis advice while typing and raises a 紧急
alert whose confirmation repeats it with numbers to call, and correcting it to 150/95 closes
that alert — online and from the round pack.
Chromium from Debian, CSRF on, a 390 px screen, the clock set to a Wednesday morning."""

import re
from datetime import datetime

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from carevisits.extensions import db
from carevisits.models import (
    Alert,
    AlertKind,
    AlertLevel,
    AlertStatus,
    Delivery,
    Frequency,
    ServiceItem,
)
from carevisits.models.base import local_today
from carevisits.services import menus
from tests import factories
from tests.browser import (
    choose,
    door_path,
    elder_fieldset,
    no_horizontal_scroll,
    sign_in,
    translated,
)
from tests.clock import SHANGHAI, TestClock
from tests.conftest import make_app
from tests.live_server import serve
from tests.test_browser_door import save, type_readings
from tests.test_browser_offline import SAVED, door, with_round

__all__ = ["door"]  # a fixture, used by name

pytestmark = pytest.mark.browser

WEDNESDAY = datetime(2026, 11, 18, 9, 40, tzinfo=SHANGHAI)
DUE = ("谈心疏导", "助餐", "洗衣")


@pytest.fixture
def live_server(database_url, tmp_path, world, clock):
    """The app with CSRF on, its clock and the test's both on a Wednesday morning."""
    clock.set(WEDNESDAY)
    live_app = make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True,
                        CLOCK=TestClock(WEDNESDAY))
    with serve(live_app) as base_url:
        yield base_url


def due_menu(elder, worker) -> dict[str, int]:
    """谈心疏导, 助餐 and 洗衣 at every visit for the elder: name → item id."""
    menus.seed_catalogue()
    items = {i.name: i for i in db.session.scalars(
        select(ServiceItem).where(ServiceItem.name.in_(DUE)))}
    for name in DUE:
        menus.add_to_menu(elder, item=items[name], frequency=Frequency.EVERY_VISIT, notes="",
                          starts_on=local_today(), ends_on=None, actor=worker)
    db.session.commit()
    return {name: item.id for name, item in items.items()}


def service_boxes(page, elder):
    return elder_fieldset(page, elder).locator(f"input[name='e{elder.id}-svc']")


def shown_not_ticked(page, elder, other):
    """The elder's three due services are on the form, none ticked; the other elder, with
    nothing due, has no all-done button. Returns the elder's boxes."""
    boxes = service_boxes(page, elder)
    expect(boxes).to_have_count(3)
    for i in range(3):
        assert boxes.nth(i).is_visible() and not boxes.nth(i).is_checked()
    assert elder_fieldset(page, other).locator("button.all-done").count() == 0
    return boxes


def deliveries() -> list[tuple[int, int]]:
    db.session.rollback()
    return sorted((d.elder_id, d.item_id) for d in db.session.scalars(select(Delivery)))


def test_a_due_service_is_not_ticked_and_the_all_done_button_ticks_them(world, live_server,
                                                                        phone):
    page = phone
    elder, other = world.h1.elders
    ids = due_menu(elder, world.worker)
    sign_in(page, live_server, world.worker)

    # Only 见到，一切正常 and save: nothing recorded as delivered, and the page says so.
    page.goto(live_server + door_path(world.h1))
    shown_not_ticked(page, elder, other)
    choose(page, elder, "met_well")
    choose(page, other, "met_well")
    save(page)
    assert re.search(r"/visits/\d+$", page.url), page.url
    assert deliveries() == []
    expect(page.locator("ul.records li", has_text=elder.name)).to_contain_text("本次服务：无")

    # The next visit: one tap on 应做服务已全部完成 ticks all three, and they are recorded.
    page.goto(live_server + door_path(world.h1))
    choose(page, elder, "met_well")
    choose(page, other, "met_well")
    all_done = elder_fieldset(page, elder).locator("button.all-done")
    expect(all_done).to_have_text("应做服务已全部完成")
    all_done.tap()
    boxes = service_boxes(page, elder)
    for i in range(3):
        expect(boxes.nth(i)).to_be_checked()
    no_horizontal_scroll(page)
    save(page)
    shown = page.locator("ul.records li", has_text=elder.name)
    for words in ("谈心疏导 1次", "助餐 1份", "洗衣 1次"):
        expect(shown).to_contain_text(words)
    assert deliveries() == sorted((elder.id, i) for i in ids.values())


def test_182_108_shows_the_advice_and_raises_an_urgent_alert(world, live_server, phone):
    page = phone
    household = factories.household(world.grids[0])
    db.session.commit()
    elder = household.elders[0]
    sign_in(page, live_server, world.worker)
    page.goto(live_server + door_path(household))
    choose(page, elder, "met_concern")
    advice = elder_fieldset(page, elder).locator(".crisis-advice")
    expect(advice).to_be_hidden()
    type_readings(page, elder, "182", "108")
    expect(advice).to_be_visible()  # while typing, before saving
    for words in ("胸痛", "头痛", "视物模糊", "乏力", "120", "家庭医生"):
        expect(advice).to_contain_text(words)
    expect(advice.locator("a[href='tel:120']")).to_be_visible()
    page.fill(f"[name='e{elder.id}-diastolic']", "")
    page.locator(f"[name='e{elder.id}-diastolic']").press_sequentially("98")
    page.fill(f"[name='e{elder.id}-systolic']", "")
    page.locator(f"[name='e{elder.id}-systolic']").press_sequentially("170")
    expect(advice).to_be_hidden()  # high, not a crisis: the ordinary flag only
    expect(elder_fieldset(page, elder).locator(".reading-flag")).to_be_visible()
    page.fill(f"[name='e{elder.id}-systolic']", "")
    page.locator(f"[name='e{elder.id}-systolic']").press_sequentially("182")
    page.fill(f"[name='e{elder.id}-diastolic']", "")
    page.locator(f"[name='e{elder.id}-diastolic']").press_sequentially("108")
    expect(advice).to_be_visible()
    no_horizontal_scroll(page)
    save(page)

    raised = page.locator(".alert-raised")
    expect(raised).to_have_count(1)
    expect(raised).to_contain_text("体征异常")
    expect(raised).to_contain_text("紧急")
    for words in ("胸痛", "头痛", "视物模糊", "乏力", "家庭医生"):
        expect(raised).to_contain_text(words)
    expect(raised.locator("a[href='tel:120']")).to_be_visible()
    expect(raised.locator(f"a[href='tel:{elder.phone}']")).to_be_visible()
    db.session.rollback()
    alert = db.session.scalar(select(Alert).where(Alert.elder_id == elder.id))
    assert (alert.kind, alert.level) == (AlertKind.ABNORMAL, AlertLevel.URGENT)

    # A typing mistake: it was 150/95. Correcting it closes the alert it raised.
    with page.expect_navigation():
        page.get_by_role("link", name="更正这次探访").tap()
    page.fill(f"[name='e{elder.id}-systolic']", "150")
    page.fill(f"[name='e{elder.id}-diastolic']", "95")
    page.locator("input[name=reason]").fill("血压输错了，应为150/95")
    with page.expect_navigation():
        page.locator("form.checkin button[type=submit]").tap()
    assert "探访已更正" in page.content()
    db.session.rollback()
    alert = db.session.scalar(select(Alert).where(Alert.elder_id == elder.id))
    assert alert.status == AlertStatus.RESOLVED and alert.resolved_by_visit_id is not None


def test_the_door_from_the_round_pack_follows_the_same_rules(world, door, phone):
    page = phone
    door.clock.set(WEDNESDAY)
    elder, other = world.h1.elders
    ids = due_menu(elder, world.worker)
    with_round(page, door, world.worker)

    page.context.set_offline(True)
    page.goto(door.url + door_path(world.h1))
    expect(page.locator(".door-address")).to_have_text(world.h1.full_address)
    boxes = shown_not_ticked(page, elder, other)
    choose(page, elder, "met_concern")
    choose(page, other, "met_well")
    elder_fieldset(page, elder).locator("button.all-done").tap()
    for i in range(3):
        expect(boxes.nth(i)).to_be_checked()
    type_readings(page, elder, "182", "108")
    advice = elder_fieldset(page, elder).locator(".crisis-advice")
    expect(advice).to_be_visible()
    expect(advice.locator("a[href='tel:120']")).to_be_visible()
    page.locator("#checkin button[type=submit]").tap()
    expect(page.locator(".saved-offline")).to_have_text(translated(door.app, SAVED))

    door.clock.advance(minutes=20)
    page.clock.set_system_time(door.clock())
    page.context.set_offline(False)
    expect(page.locator(".queue-sent")).to_contain_text(world.h1.full_address)
    assert deliveries() == sorted((elder.id, i) for i in ids.values())
    alert = db.session.scalar(select(Alert).where(Alert.elder_id == elder.id))
    assert (alert.kind, alert.level) == (AlertKind.ABNORMAL, AlertLevel.URGENT)
