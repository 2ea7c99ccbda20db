"""The elder's daily check-in page in a real browser (issue 17 item 3): opened from the QR on
the fridge card in WeChat's browser on a phone, no sign-in, one huge button 我很好 pressed with
a thumb; CSRF on. Chromium from Debian (see tests/browser.py)."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from carevisits.extensions import db
from carevisits.models import Alert, AlertKind, AlertLevel, AlertStatus, Elder, SelfCheckin
from carevisits.models.base import utcnow
from carevisits.services import alerts, selfcheck
from tests.browser import PHONE, no_horizontal_scroll, page_in_new_context
from tests.conftest import count

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
        done = page.locator("p.done")
        assert re.fullmatch(r"今天已打卡 ✓ \d\d:\d\d", done.inner_text()), done.inner_text()
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
