"""What every browser test shares: Debian's chromium driven by Playwright (never a
downloaded browser), a phone-sized context, a live server with CSRF on, and the steps a
thumb takes (sign in, choose an outcome). Loaded as a pytest plugin by conftest.py, so
its fixtures are there for every test module."""

from contextlib import contextmanager

import pytest
from flask_babel import gettext
from playwright import sync_api
from sqlalchemy import func, select

from carevisits.extensions import db
from carevisits.models import Visit
from tests import factories
from tests.conftest import make_app
from tests.live_server import serve

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3,
         "is_mobile": True, "has_touch": True, "locale": "zh-CN",
         "timezone_id": "Asia/Shanghai"}
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def live_server(database_url, tmp_path, world):  # a test may override it (an empty database)
    """The app with CSRF on, served over HTTP on the database ``world`` filled."""
    live_app = make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)
    with serve(live_app) as base_url:
        yield base_url


@contextmanager
def page_in_new_context(browser, options: dict):
    """One page in a fresh browser context (no cookies), closed at the end."""
    context = browser.new_context(**options)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def phone(browser):
    """A fresh phone-sized browser context (no cookies): one page in it."""
    with page_in_new_context(browser, PHONE) as page:
        yield page


def door_path(household) -> str:
    return f"/c/{household.code.token}"


def translated(app, message: str) -> str:
    """What the app shows for ``message`` in its default language, compiled catalogue or not."""
    with app.test_request_context():
        return gettext(message)


def sign_in(page, base_url, user, password=factories.PASSWORD):
    """Fill in the sign-in form (wherever the page is) and wait for the redirect."""
    if not page.url.startswith(f"{base_url}/login"):
        page.goto(f"{base_url}/login")
    page.locator("#username").fill(user.username)
    page.locator("#password").fill(password)
    with page.expect_navigation():
        page.locator("form button[type=submit]").tap()
    assert "/login" not in page.url, page.content()


def elder_fieldset(page, elder):
    return page.locator("fieldset.elder", has_text=elder.name)


def choose(page, elder, outcome: str):
    """Tap an outcome button of one elder, as a thumb would."""
    fieldset = elder_fieldset(page, elder)
    label = fieldset.locator(f"label.choice-{outcome}")
    label.tap()
    assert label.locator("input").is_checked()


def visit_count() -> int:
    # End the test's transaction (and expire what it loaded) so the count sees what the
    # live server has committed since.
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Visit))


def no_horizontal_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url} is {width}px wide on a 390px screen"


