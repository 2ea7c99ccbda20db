"""The worker's door-to-done path in a real browser on a phone-sized screen, CSRF on.

Playwright drives Debian's chromium (never a downloaded browser) against the app served
on a free local port; the data comes from the ``world`` fixture in the same database.
"""

import re

import pypdfium2 as pdfium
import pytest
import zxingcpp
from flask_babel import gettext
from sqlalchemy import func, select

from carevisits.extensions import db
from carevisits.models import Outcome, ServiceRequest, Visit, VisitMethod, VisitRecord
from carevisits.services import family
from carevisits.services.checkin import ElderRecordInput, record_visit
from tests import factories
from tests.conftest import make_app
from tests.live_server import serve

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser

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
def live_server(database_url, tmp_path, world):
    """The app with CSRF on, served over HTTP on the database ``world`` filled."""
    live_app = make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)
    with serve(live_app) as base_url:
        yield base_url


@pytest.fixture
def phone(browser):
    """A fresh phone-sized browser context (no cookies): one page in it."""
    context = browser.new_context(**PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


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


def test_worker_records_visit_with_readings_and_sees_it_in_history(app, world, live_server,
                                                                   phone):
    page = phone
    h1 = world.h1
    first, second = h1.elders

    sign_in(page, live_server, world.worker)
    response = page.goto(live_server + door_path(h1))
    assert response.status == 200
    assert page.locator("form#checkin").is_visible()

    choose(page, first, "met_well")
    choose(page, second, "met_concern")
    fieldset = elder_fieldset(page, first)
    fieldset.locator("details summary").first.tap()  # readings and notes
    systolic = fieldset.locator("input[name$='-systolic']")
    assert systolic.is_visible()
    systolic.tap()
    systolic.press_sequentially("135")
    fieldset.locator("input[name$='-diastolic']").press_sequentially("85")
    with page.expect_navigation():
        page.locator("#checkin button[type=submit]").tap()

    assert re.search(r"/visits/\d+$", page.url), page.url
    assert page.locator("h1").inner_text() == translated(app, "Visit recorded")
    records = page.locator("ul.records li")
    assert records.count() == 2
    assert "135/85" in records.filter(has_text=first.name).inner_text()
    assert "135/85" not in records.filter(has_text=second.name).inner_text()

    with page.expect_navigation():
        page.locator("ul.records a", has_text=first.name).tap()
    assert page.url.endswith(f"/elders/{first.id}")
    assert page.locator("h1").inner_text().startswith(first.name)
    latest = page.locator("ul.visits li").first
    assert "135/85" in latest.inner_text()
    assert world.worker.display_name in latest.inner_text()

    assert visit_count() == 1
    rows = db.session.execute(select(VisitRecord.elder_id, VisitRecord.outcome,
                                     VisitRecord.systolic, VisitRecord.diastolic)).all()
    assert sorted(tuple(r) for r in rows) == sorted([(first.id, "met_well", 135, 85),
                                                    (second.id, "met_concern", None, None)])


def test_sending_the_same_form_twice_records_one_visit(world, live_server, phone):
    page = phone
    h1 = world.h1

    # The worker's real path: scan the card, sign in from the neutral page, land on the form.
    page.goto(live_server + door_path(h1))
    with page.expect_navigation():
        page.locator("a.button.primary").tap()
    sign_in(page, live_server, world.worker)
    assert page.url == live_server + door_path(h1)
    for elder in h1.elders:
        choose(page, elder, "met_well")
    key = page.locator("input[name=idempotency_key]").input_value()
    assert len(key) >= 16

    # CSRF is on for this server: the form without its token is refused and records nothing.
    refused = page.evaluate("""async () => {
        const data = new FormData(document.getElementById("checkin"));
        data.delete("csrf_token");
        return (await fetch(location.href, {method: "POST", body: data})).status;
    }""")
    assert refused == 400
    assert visit_count() == 0

    # Two sends of the same form at once (a double tap, a retry racing the first try):
    # both land on the one visit.
    sent = page.evaluate("""async () => {
        const form = document.getElementById("checkin");
        const send = () => fetch(form.action || location.href,
                                 {method: "POST", body: new FormData(form)});
        const replies = await Promise.all([send(), send()]);
        return replies.map(r => ({status: r.status, url: r.url}));
    }""")
    assert [r["status"] for r in sent] == [200, 200], sent
    assert sent[0]["url"] == sent[1]["url"], sent
    assert re.search(r"/visits/\d+$", sent[0]["url"]), sent
    assert visit_count() == 1

    # The form itself sent once more (the reply to the first send was lost): still that visit.
    with page.expect_navigation():
        page.locator("#checkin button[type=submit]").tap()
    assert page.url == sent[0]["url"]
    assert visit_count() == 1
    assert db.session.scalar(select(Visit.idempotency_key)) == key


def test_back_and_save_again_records_one_visit(world, live_server, phone):
    """Save, then the phone's Back button, then Save on the form as the browser shows it.

    Chrome puts back what was filled in (outcomes, readings), so to the worker this is the
    same form sent twice; it must not record the visit a second time.
    """
    page = phone
    h1 = world.h1
    first = h1.elders[0]
    door = live_server + door_path(h1)
    sign_in(page, live_server, world.worker)
    page.goto(door)
    for elder in h1.elders:
        choose(page, elder, "met_well")
    fieldset = elder_fieldset(page, first)
    fieldset.locator("details summary").first.tap()  # readings and notes
    fieldset.locator("input[name$='-systolic']").fill("135")
    fieldset.locator("input[name$='-diastolic']").fill("85")
    with page.expect_navigation():
        page.locator("#checkin button[type=submit]").tap()
    recorded = page.url
    assert re.search(r"/visits/\d+$", recorded), recorded
    assert visit_count() == 1

    page.go_back()
    assert page.url == door
    with page.expect_navigation():
        page.locator("#checkin button[type=submit]").tap()
    visits = visit_count()
    assert visits == 1, (
        f"Back + Save on the restored form recorded {visits} visits (now at {page.url}); "
        "the form came back with a new idempotency key")
    if re.search(r"/visits/\d+$", page.url):
        assert page.url == recorded


def test_anonymous_scan_learns_nothing(world, live_server, browser):
    context = browser.new_context(**PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        real = page.goto(live_server + door_path(world.h1))
        real_html, real_body = page.content(), real.body()
        made_up = page.goto(live_server + "/c/" + "x" * len(world.h1.code.token))
        made_up_html, made_up_body = page.content(), made_up.body()
    finally:
        context.close()

    assert real.status == made_up.status == 200
    h1 = world.h1
    secrets = [h1.address, h1.full_address, h1.number, h1.code.token]
    for elder in h1.elders:
        secrets += [elder.name, elder.phone, elder.emergency_phone, elder.emergency_contact]
    for secret in secrets:
        assert secret not in real_html
        assert secret.encode() not in real_body
    assert real_html == made_up_html
    assert real_body == made_up_body


def test_pages_fit_a_phone_screen(world, live_server, phone):
    page = phone
    page.goto(live_server + "/login")
    no_horizontal_scroll(page)
    sign_in(page, live_server, world.worker)
    page.goto(live_server + door_path(world.h1))
    assert page.locator("form#checkin").is_visible()
    no_horizontal_scroll(page)
    for summary in page.locator("details summary").all():
        summary.tap()
    no_horizontal_scroll(page)


def test_coordinator_prints_a_grid_and_a_worker_scans_a_card(browser, live_server, phone,
                                                             world, tmp_path):
    office = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN",
                                 has_touch=True,  # sign_in() taps, as on a phone
                                 accept_downloads=True)
    office.set_default_timeout(TIMEOUT_MS)
    try:
        page = office.new_page()
        sign_in(page, live_server, world.community_coordinator)
        page.goto(f"{live_server}/printing/")
        page.select_option("#area", f"g:{world.grids[0].id}")
        page.locator("label.choice-a4-8up").click()
        page.locator("label.choice-reprint").click()
        page.locator("button.primary[type=submit]").click()
        download_link = page.locator("a[href$='/cards.pdf']")
        download_link.wait_for()  # the job page refreshes itself until the PDF is ready
        with page.expect_download() as info:
            download_link.click()
        path = tmp_path / "cards.pdf"
        info.value.save_as(path)
    finally:
        office.close()

    doc = pdfium.PdfDocument(path.read_bytes())
    try:
        image = doc[0].render(scale=150 / 72).to_pil()
        urls = [r.text for r in zxingcpp.read_barcodes(image)]
    finally:
        doc.close()
    assert urls == [f"https://cv.example.org/c/{world.h1.code.token}"]

    door = urls[0].replace("https://cv.example.org", live_server)
    phone.goto(door)
    with phone.expect_navigation():
        phone.locator("a.button").tap()  # the neutral page's sign-in button
    sign_in(phone, live_server, world.worker)
    assert phone.url == door
    assert world.h1.elders[0].name in phone.content()


def test_family_journey_on_a_phone(browser, live_server, phone, world):
    """A family member scans the invite's QR address, signs in, accepts, reads the log and
    sends a request, which the grid worker then owns."""
    elder = world.h1.elders[0]
    record_visit(visitor=world.worker, household=elder.household, method=VisitMethod.SCANNED,
                 idempotency_key="family-journey-visit-1",
                 records=[ElderRecordInput(e.id, Outcome.MET_WELL, systolic=128, diastolic=80)
                          for e in elder.household.elders])
    invite = family.create_invite(elder, relation="女儿", may_see_observations=True,
                                  actor=world.worker)
    db.session.commit()

    phone.goto(f"{live_server}/family/?code={invite.code}")  # what the QR code opens
    sign_in(phone, live_server, world.family)
    phone.goto(f"{live_server}/family/?code={invite.code}")
    assert phone.locator("#code").input_value() == invite.code
    with phone.expect_navigation():
        phone.locator("button.primary").tap()
    assert f"/family/elders/{elder.id}" in phone.url
    log = phone.locator("ul.visits li").first.inner_text()
    assert world.worker.display_name in log and "128/80" in log

    phone.locator("details summary", has_text="向社区求助").tap()
    phone.locator("textarea[name=description]").fill("家里的灯坏了，妈妈够不着")
    with phone.expect_navigation():
        phone.locator("form button.primary[type=submit]").tap()
    assert "诉求已发送给社区" in phone.content()
    db.session.rollback()
    request = db.session.scalar(select(ServiceRequest))
    assert request.description == "家里的灯坏了，妈妈够不着" and request.owner_id == world.worker.id
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
