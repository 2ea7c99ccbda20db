"""The worker's door-to-done path in a real browser on a phone-sized screen, CSRF on.

Playwright drives Debian's chromium (never a downloaded browser) against the app served
on a free local port; the data comes from the ``world`` fixture in the same database.
"""

import re
from urllib.parse import urlsplit

import pypdfium2 as pdfium
import pytest
import zxingcpp
from sqlalchemy import select

from carevisits.extensions import db
from carevisits.i18n import local_zone
from carevisits.models import (
    Outcome,
    Role,
    Roster,
    ServiceRequest,
    User,
    Visit,
    VisitMethod,
    VisitRecord,
    VolunteerProfile,
    VolunteerStatus,
)
from carevisits.services import family
from carevisits.services.checkin import ElderRecordInput, record_visit
from tests import factories
from tests.browser import (
    PHONE,
    TIMEOUT_MS,
    choose,
    door_path,
    elder_fieldset,
    no_horizontal_scroll,
    sign_in,
    translated,
    visit_count,
)

pytestmark = pytest.mark.browser

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
        secrets += [elder.name, elder.phone, *(c["phone"] for c in elder.emergency_contacts),
                    *(c["name"] for c in elder.emergency_contacts)]
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
    assert urls == [f"https://CV.EXAMPLE.ORG/C/{world.h1.code.token}"]  # compact (issue 18)

    door = live_server + urlsplit(urls[0]).path  # the phone opens /C/<TOKEN> here
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

    ask = phone.locator("details", has=phone.locator("summary", has_text="向社区求助"))
    ask.locator("summary").tap()
    ask.locator("textarea[name=description]").fill("家里的灯坏了，妈妈够不着")
    with phone.expect_navigation():
        ask.locator("button.primary[type=submit]").tap()
    assert "诉求已发送给社区" in phone.content()
    db.session.rollback()
    request = db.session.scalar(select(ServiceRequest))
    assert request.description == "家里的灯坏了，妈妈够不着" and request.owner_id == world.worker.id
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390


def test_volunteer_journey_on_a_phone(app, browser, live_server, phone, world):
    """A volunteer signs up on a phone; a coordinator approves them, makes a roster and
    approves their application; the volunteer scans a roster household's card, records the
    visit with its minutes and sees their hours, which the coordinator sees too."""
    community = world.communities[0]  # 甲社区: h1 (two elders) and h2 ...
    off_roster = factories.household(world.grids[0], building="7")  # ... and one left off
    db.session.commit()
    h1, h2 = world.h1, world.h2
    name, phone_number, username = "志愿者小李", "139 1234 5678", "xiaoli"
    password = "volunteer-pass-1"
    roster_name = "周六上午甲社区"

    # The volunteer signs up on their phone and is told to wait for a coordinator.
    page = phone
    page.goto(f"{live_server}/volunteer/signup")
    no_horizontal_scroll(page)
    page.locator("#display_name").fill(name)
    page.locator("#phone").fill(phone_number)
    page.locator("#community").select_option(str(community.id))
    page.locator("#availability").fill("周六上午")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("#confirm").fill(password)
    with page.expect_navigation():
        page.locator("main form button.primary[type=submit]").tap()
    assert page.url == f"{live_server}/volunteer/", page.content()
    assert page.locator("h1").inner_text() == translated(app, "Thank you for signing up")
    waiting = page.locator("main section.card").inner_text()
    assert community.name in waiting and phone_number in waiting
    db.session.rollback()
    volunteer = db.session.scalar(select(User).where(User.username == username))
    assert volunteer.role == Role.VOLUNTEER
    assert db.session.get(VolunteerProfile, volunteer.id).status == VolunteerStatus.PENDING

    office = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN",
                                 timezone_id="Asia/Shanghai",
                                 has_touch=True)  # sign_in() taps, as on a phone
    office.set_default_timeout(TIMEOUT_MS)
    try:
        desk = office.new_page()
        # A coordinator of the street approves the sign-up ...
        sign_in(desk, live_server, world.coordinator)
        desk.goto(f"{live_server}/coordinator/volunteers")
        signup = desk.locator("li", has_text=name).filter(
            has=desk.locator("button[name=decision][value=approve]"))
        assert phone_number in signup.inner_text()
        with desk.expect_navigation():
            signup.locator("button[name=decision][value=approve]").click()
        assert name in desk.locator("p.flash").inner_text()

        # ... and makes a roster of two of the community's three households, without
        # blood pressure for volunteers.
        with desk.expect_navigation():
            desk.locator("a[href$='/coordinator/rosters/new']").first.click()
        with desk.expect_navigation():  # a street's coordinator picks the community first
            desk.locator("main a.button", has_text=community.name).click()
        assert f"community={community.id}" in desk.url
        desk.locator("#name").fill(roster_name)
        desk.locator("#weekday").select_option("5")
        desk.locator("#start_time").fill("09:30")
        desk.locator("#capacity").fill("3")
        assert not desk.locator("#allow_observations").is_checked()
        assert desk.locator("input[name=households]").count() == 3
        for household in (h1, h2):
            desk.locator(f"input[name=households][value='{household.id}']").check()
        with desk.expect_navigation():
            desk.get_by_role("button", name=translated(app, "Save roster")).click()
        assert re.search(r"/coordinator/rosters/\d+$", desk.url), desk.content()
        db.session.rollback()
        roster = db.session.scalar(select(Roster).where(Roster.name == roster_name))
        assert roster.community_id == community.id and not roster.allow_observations
        assert sorted(h.id for h in roster.households) == sorted([h1.id, h2.id])

        # The volunteer finds it under 排班 and applies.
        page.goto(f"{live_server}/volunteer/")
        with page.expect_navigation():
            page.locator("nav.tabs a", has_text=translated(app, "Rosters")).tap()
        offer = page.locator("li.roster", has_text=roster_name)
        with page.expect_navigation():
            offer.get_by_role("button", name=translated(app, "Apply to join")).tap()
        assert offer.locator(".badge").inner_text() == translated(app, "Applied")
        no_horizontal_scroll(page)

        # The coordinator approves the application from the volunteers page.
        desk.goto(f"{live_server}/coordinator/volunteers")
        application = desk.locator("li", has_text=roster_name).filter(
            has=desk.locator("button[name=decision][value=approved]"))
        assert name in application.inner_text()
        with desk.expect_navigation():
            application.locator("button[name=decision][value=approved]").click()
        assert name in desk.locator("p.flash").inner_text()
        assert desk.locator("button[name=decision][value=approved]").count() == 0

        page.reload()
        assert offer.locator(".badge").inner_text() == translated(app, "Member")

        # At the door of a roster household: the volunteer form, minutes, no readings.
        door = live_server + door_path(h1)
        page.goto(door)
        assert page.locator("form#checkin").is_visible()
        badge = translated(app, "Volunteer visit · %(roster)s") % {"roster": roster_name}
        assert page.locator("p.badge").inner_text() == badge
        assert page.locator("input[name$='-systolic'], input[name$='-diastolic'], "
                            "input[name$='-pulse']").count() == 0
        no_horizontal_scroll(page)
        first, second = h1.elders
        choose(page, first, "met_well")
        choose(page, second, "met_concern")
        minutes = page.locator("#minutes")
        minutes.tap()
        minutes.press_sequentially("45")
        with page.expect_navigation():
            page.locator("#checkin button[type=submit]").tap()
        assert re.search(r"/visits/\d+$", page.url), page.content()
        assert page.locator("h1").inner_text() == translated(app, "Visit recorded")
        assert "计入服务时长：45 分钟" in page.locator("main").inner_text()
        assert page.locator("ul.records li").count() == 2

        db.session.rollback()
        visit = db.session.scalar(select(Visit))
        assert (visit.visitor_id, visit.roster_id, visit.duration_minutes) == (
            volunteer.id, roster.id, 45)
        assert all(r.systolic is None for r in visit.records)
        month = visit.occurred_at.astimezone(local_zone()).strftime("%Y-%m")

        # The volunteer's hours: this month, one visit, 0.8 hours (45 minutes).
        with page.expect_navigation():
            page.locator("main a.button.primary").tap()  # back to my rosters
        assert page.url == f"{live_server}/volunteer/"
        assert "0.8" in page.locator("main p.figure").inner_text()
        with page.expect_navigation():
            page.locator("nav.tabs a", has_text=translated(app, "My hours")).tap()
        row = page.locator("table.figures tbody tr")
        assert row.count() == 1
        assert row.locator("td").all_inner_texts() == [month, "1", "0.8"]
        assert "45" in page.locator("ul.history").inner_text()
        no_horizontal_scroll(page)

        # A household of the community that is not on the roster: the neutral page, the
        # same as for a made-up code, with nothing of the household on it.
        page.goto(live_server + door_path(off_roster))
        refused = page.content()
        assert page.locator("form#checkin").count() == 0
        assert page.locator("h1").inner_text() == translated(app, "Community service code")
        for secret in [off_roster.full_address, off_roster.number,
                       *(e.name for e in off_roster.elders)]:
            assert secret not in refused
        page.goto(live_server + "/c/" + "x" * len(off_roster.code.token))
        assert page.content() == refused
        assert visit_count() == 1

        # The coordinator's monthly hours: the volunteer with one visit.
        desk.goto(f"{live_server}/coordinator/volunteer-hours")
        line = desk.locator("table.list tbody tr", has_text=name)
        assert line.locator("td").all_inner_texts() == [name, phone_number, community.name,
                                                        "1", "0.8"]
    finally:
        office.close()
