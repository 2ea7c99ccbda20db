"""The elder's daily check-in page in a real browser (issue 17 item 3): opened from the QR on
the fridge card in WeChat's browser on a phone, no sign-in, one huge button 我很好 pressed with
a thumb; CSRF on. Chromium from Debian (see tests/browser.py)."""

import re
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from carevisits import scheduler
from carevisits.extensions import db
from carevisits.models import Alert, AlertKind, AlertLevel, AlertStatus, Elder, SelfCheckin
from carevisits.models.base import utcnow
from carevisits.services import alerts, selfcheck
from tests.browser import PHONE, no_horizontal_scroll, page_in_new_context
from tests.clock import SHANGHAI, TestClock
from tests.conftest import count, make_app
from tests.live_server import serve

pytestmark = pytest.mark.browser

# WeChat's in-app browser on Android announces itself so (its engine is Chromium's).
WECHAT = {**PHONE, "user_agent": (
    "Mozilla/5.0 (Linux; Android 12; V2055A Build/SP1A.210812.003; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/107.0.5304.141 Mobile Safari/537.36 XWEB/5127 "
    "MMWEBSDK/20230303 MMWEBID/2585 MicroMessenger/8.0.34.2340(0x2800225D) WeChat/arm64 "
    "Weixin NetType/WIFI Language/zh_CN ABI/arm64")}


def test_the_elder_presses_i_am_well_and_the_missed_check_in_is_answered(
        app, world, live_server, browser):
    elder = db.session.get(Elder, world.h1.elders[0].id)
    elder.name = "王秀兰"
    selfcheck.enrol(elder, 9, actor=world.worker, now=utcnow() - timedelta(days=2))
    alerts.raise_alert(elder, AlertKind.MISSED_CHECKIN, AlertLevel.WARNING, {},
                       at=utcnow() - timedelta(hours=1))
    db.session.commit()
    schedule_before = (elder.last_contact_at, elder.due_at, elder.overdue_at)
    with page_in_new_context(browser, WECHAT) as page:
        response = page.goto(f"{live_server}/ok/{elder.checkin_token}")
        assert response.status == 200
        assert page.locator("h1").inner_text() == "秀兰，您好"
        assert "王秀兰" not in page.content()
        button = page.get_by_role("button", name="我很好")
        box = button.bounding_box()
        assert box["width"] >= 0.85 * 390 and box["height"] >= 300  # most of the screen
        size = float(button.evaluate("b => getComputedStyle(b).fontSize").removesuffix("px"))
        assert size >= 60  # letters a finger tall
        no_horizontal_scroll(page)
        with page.expect_navigation():
            button.tap()
        done = page.locator(".done")
        assert done.locator(".thanks").inner_text() == "谢谢，今天已打卡"
        assert re.fullmatch(r"\d\d:\d\d", done.locator(".time").inner_text())
        assert button.is_visible()  # pressing again tomorrow (or now) is always possible
    assert count(SelfCheckin, SelfCheckin.elder_id == elder.id) == 1
    db.session.rollback()
    alert = db.session.scalar(select(Alert).where(Alert.kind == AlertKind.MISSED_CHECKIN))
    assert alert.status == AlertStatus.RESOLVED
    after = db.session.get(Elder, elder.id)
    assert (after.last_contact_at, after.due_at, after.overdue_at) == schedule_before


def test_a_renewed_link_opens_a_page_that_says_nothing(app, world, live_server, phone):
    elder = db.session.get(Elder, world.h1.elders[0].id)
    selfcheck.enrol(elder, 9, actor=world.worker, now=utcnow())
    db.session.commit()
    old = elder.checkin_token
    selfcheck.renew(elder, actor=world.worker)
    db.session.commit()
    response = phone.goto(f"{live_server}/ok/{old}")
    assert response.status == 404
    text = phone.locator("body").inner_text()
    assert elder.name not in text and selfcheck.given_name(elder.name) not in text
    assert phone.locator("a").count() == 0 and phone.locator("button").count() == 0


# --- without signal, size and reach (issue 26, items 7 and 9) -------------------------------

MORNING = datetime(2026, 11, 18, 8, 50, tzinfo=SHANGHAI)  # ten minutes before the hour


@pytest.fixture
def elder_page(database_url, tmp_path, world):
    """The app with CSRF on and a clock the test moves, served over HTTP; h1's first elder
    takes part by 09:00 (enrolled the day before)."""
    clock = TestClock(MORNING - timedelta(days=1))
    elder = db.session.get(Elder, world.h1.elders[0].id)
    elder.name = "王秀兰"
    selfcheck.enrol(elder, 9, actor=world.worker, now=clock())
    db.session.commit()
    clock.set(MORNING)
    live_app = make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True, CLOCK=clock)
    with serve(live_app) as base_url:
        yield SimpleNamespace(url=f"{base_url}/ok/{elder.checkin_token}", clock=clock,
                              elder=elder)


def scan_round(clock) -> list[int]:
    """One scheduler round as of the server's clock: the missed check-in alerts it opened."""
    db.session.rollback()
    return scheduler.run_scans(clock())[4]


def test_i_am_well_without_signal_arrives_once_and_no_missed_alert_is_raised(
        app, world, elder_page, browser):
    with page_in_new_context(browser, WECHAT) as page:
        page.clock.set_system_time(elder_page.clock())  # the phone agrees with the server
        page.goto(elder_page.url)
        page.context.set_offline(True)  # the signal drops in the flat
        page.get_by_role("button", name="我很好").tap()
        kept = page.locator(".kept")
        expect(kept.locator(".thanks")).to_have_text("已记下，联网后自动发送")
        expect(kept.locator(".time")).to_have_text("08:50")
        assert page.url == elder_page.url  # no browser error page
        assert count(SelfCheckin) == 0

        elder_page.clock.set(MORNING + timedelta(minutes=30))  # 09:20: the hour has passed
        page.clock.set_system_time(elder_page.clock())
        assert scan_round(elder_page.clock) == []  # within the grace: nobody alerted yet
        page.context.set_offline(False)  # the signal is back: sent by itself
        expect(page.locator(".done .thanks")).to_have_text("谢谢，今天已打卡")
        expect(page.locator(".done .time")).to_have_text("08:50")  # when it was pressed
        page.reload()
        page.wait_for_timeout(300)
    assert count(SelfCheckin) == 1
    kept_press = db.session.scalar(select(SelfCheckin))
    assert abs(kept_press.at - MORNING) < timedelta(minutes=1)
    assert kept_press.received_at - kept_press.at > timedelta(minutes=29)
    elder_page.clock.set(MORNING + timedelta(hours=3))
    assert scan_round(elder_page.clock) == []
    assert count(Alert, Alert.kind == AlertKind.MISSED_CHECKIN) == 0


def test_a_press_kept_when_the_page_was_closed_is_sent_at_the_next_opening(
        app, world, elder_page, browser):
    with page_in_new_context(browser, WECHAT) as page:
        page.goto(elder_page.url)
        page.context.set_offline(True)
        page.get_by_role("button", name="我很好").tap()
        expect(page.locator(".kept")).to_be_visible()
        page.goto("about:blank")  # the browser is closed; next morning it is opened again
        page.context.set_offline(False)
        page.goto(elder_page.url)
        expect(page.locator(".done .thanks")).to_have_text("谢谢，今天已打卡")
    assert count(SelfCheckin) == 1


TARGETS = """() => [...document.querySelectorAll("a, button, input:not([type=hidden])")]
  .filter(e => e.offsetParent !== null)
  .map(e => { const r = e.getBoundingClientRect();
              return {what: e.textContent.trim(), w: r.width, h: r.height, top: r.top,
                      bottom: r.bottom}; })"""
LINES = """b => { const r = document.createRange(); r.selectNodeContents(b);
  return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size; }"""


def small_targets(page) -> list[dict]:
    return [t for t in page.evaluate(TARGETS) if t["w"] < 44 or t["h"] < 44]


def test_every_tap_target_is_thumb_sized_and_no_small_link_sits_by_the_button(
        app, world, elder_page, browser):
    with page_in_new_context(browser, PHONE) as page:
        page.goto(elder_page.url)
        assert small_targets(page) == []
        with page.expect_navigation():
            page.get_by_role("button", name="我很好").tap()
        thanks = page.locator(".done .thanks")
        assert thanks.inner_text() == "谢谢，今天已打卡"
        assert float(thanks.evaluate("e => getComputedStyle(e).fontSize")[:-2]) >= 36
        time_size = page.locator(".done .time").evaluate("e => getComputedStyle(e).fontSize")
        assert float(time_size[:-2]) >= 48
        assert small_targets(page) == []
        button = page.get_by_role("button", name="我很好").bounding_box()
        links = [t for t in page.evaluate(TARGETS) if t["what"] != "我很好"]
        assert links and all(t["top"] - (button["y"] + button["height"]) >= 48 for t in links)
        no_horizontal_scroll(page)


ZOOM_150 = {**PHONE, "viewport": {"width": 260, "height": 563}, "device_scale_factor": 4.5}


def test_at_150_percent_zoom_the_buttons_words_stay_on_one_line(app, world, elder_page,
                                                               browser):
    with page_in_new_context(browser, ZOOM_150) as page:  # 390 px seen at 150%: 260 CSS px
        page.goto(elder_page.url)
        button = page.get_by_role("button", name="我很好")
        assert button.evaluate(LINES) == 1
        assert small_targets(page) == []
        with page.expect_navigation():
            button.tap()
        assert page.locator(".done .thanks").is_visible()
        assert button.evaluate(LINES) == 1
        assert small_targets(page) == []
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 260
