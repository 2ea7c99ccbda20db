"""The daily check-in's pages (issue 17 item 3): the elder's own page at /ok/<token> (no
sign-in, the given name only, one button, the same 404 bytes for every bad link), the staff
section of the elder page with its fridge card (the QR read back from the PDF), the family
page, and the missed check-in reaching the community's group robot."""

import re
from datetime import date, datetime
from urllib.parse import quote

import pypdfium2 as pdfium
import pytest
import zxingcpp
from sqlalchemy import select

from carevisits import scheduler
from carevisits.extensions import db, limiter
from carevisits.models import AuditEvent, Elder, SelfCheckin
from carevisits.services import selfcheck
from tests.clock import SHANGHAI
from tests.conftest import count
from tests.test_alerts import channel, client_as, webhook_receiver

DAY = date(2026, 11, 18)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hour, minute, tzinfo=SHANGHAI)


def elder_of(world, household=None) -> Elder:
    db.session.rollback()
    return db.session.get(Elder, (household or world.h1).elders[0].id)


@pytest.fixture
def taking_part(world, clock) -> Elder:
    """h1's first elder takes part by 09:00, enrolled at 07:00; the name is a real one."""
    clock.set(at(7))
    elder = elder_of(world)
    elder.name = "李秀英"
    selfcheck.enrol(elder, 9, actor=world.worker, now=clock())
    db.session.commit()
    return elder


def body(response) -> str:
    return response.get_data(as_text=True)


# --- the elder's page -------------------------------------------------------------------------

def test_the_page_greets_by_given_name_only_and_the_button_checks_in(
        client, world, clock, taking_part):
    clock.set(at(8, 12))
    page = client.get(f"/ok/{taking_part.checkin_token}")
    text = body(page)
    assert page.status_code == 200 and "秀英" in text and "李秀英" not in text
    assert world.h1.number not in text and world.h1.address not in text
    assert taking_part.phone not in text and "9 点前" in text
    # No link but the language switch back to this very page.
    links = re.findall(r'href="([^"]+)"', text)
    assert all(link.startswith("/lang/") or link.startswith("/static/") for link in links), links
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    pressed = client.post(f"/ok/{taking_part.checkin_token}")
    assert pressed.status_code == 302
    after = body(client.get(pressed.location))
    assert re.search(r'<p class="thanks">谢谢，今天已打卡</p>\s*<p class="time">08:12</p>', after)
    assert count(SelfCheckin, SelfCheckin.elder_id == taking_part.id) == 1


def test_the_page_in_english(client, world, clock, taking_part):
    client.set_cookie("lang", "en")
    text = body(client.get(f"/ok/{taking_part.checkin_token}"))
    assert "I am well" in text and "Hello, 秀英" in text


def test_bad_links_get_the_same_bytes(client, world, clock, taking_part):
    renewed = taking_part.checkin_token
    selfcheck.renew(elder_of(world), actor=world.worker)
    db.session.commit()
    other = elder_of(world, world.h2)
    selfcheck.enrol(other, 9, actor=world.worker, now=clock())
    db.session.commit()
    stopped = other.checkin_token
    selfcheck.stop(elder_of(world, world.h2), actor=world.worker)
    db.session.commit()
    answers = [client.get(f"/ok/{token}") for token in
               (renewed, stopped, "x" * 43, "a", "A" * 64 + "-_")]
    answers += [client.post(f"/ok/{token}") for token in (renewed, stopped, "made-up")]
    assert {a.status_code for a in answers} == {404}
    assert len({a.get_data() for a in answers}) == 1
    assert len({tuple(sorted((k, v) for k, v in a.headers.items())) for a in answers}) == 1
    assert "Set-Cookie" not in answers[0].headers
    assert count(SelfCheckin) == 0


def test_a_closed_record_closes_the_link(client, world, clock, taking_part):
    elder = elder_of(world)
    elder.closed_reason, elder.closed_on = "moved_away", DAY
    db.session.commit()
    assert client.get(f"/ok/{taking_part.checkin_token}").status_code == 404


def test_the_press_needs_the_pages_csrf_token_and_a_stale_page_shows_the_button_again(
        csrf_client, app, world, clock, taking_part):
    path = f"/ok/{taking_part.checkin_token}"
    stale = csrf_client.post(path, data={"csrf_token": "stale"})
    assert stale.status_code == 302 and stale.location.endswith(path)
    assert count(SelfCheckin) == 0
    page = body(csrf_client.get(path))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert csrf_client.post(path, data={"csrf_token": token}).status_code == 302
    assert count(SelfCheckin) == 1


def test_presses_are_limited_per_address(app, client, world, clock, taking_part, monkeypatch):
    monkeypatch.setitem(app.config, "SELF_CHECKINS_PER_ADDRESS", "3 per minute")
    limiter.reset()
    path = f"/ok/{taking_part.checkin_token}"
    codes = [client.post(path).status_code for _ in range(4)]
    assert codes == [302, 302, 302, 429]
    refused = client.post(path)
    assert refused.status_code == 429 and "<a " not in body(refused)
    assert client.get(path).status_code == 200  # the page itself still opens


# --- staff ------------------------------------------------------------------------------------

def test_a_worker_enrols_an_elder_changes_the_hour_renews_and_stops(app, world, clock):
    clock.set(at(10))
    worker = client_as(app, world.worker)
    elder = elder_of(world)
    page = body(worker.get(f"/elders/{elder.id}"))
    assert "平安打卡" in page or "Daily check-in" in page
    assert worker.post(f"/elders/{elder.id}/checkin", data={"hour": "8"}).status_code == 302
    first = elder_of(world).checkin_token
    assert first and elder_of(world).checkin_by_hour == 8
    page = body(worker.get(f"/elders/{elder.id}"))
    assert selfcheck.personal_url("https://cv.example.org", first) in page
    assert worker.post(f"/elders/{elder.id}/checkin", data={"hour": "11"}).status_code == 302
    assert elder_of(world).checkin_by_hour == 11 and elder_of(world).checkin_token == first
    assert worker.post(f"/elders/{elder.id}/checkin/renew").status_code == 302
    assert elder_of(world).checkin_token != first
    assert worker.get(f"/ok/{first}").status_code == 404
    assert worker.post(f"/elders/{elder.id}/checkin/stop").status_code == 302
    assert elder_of(world).checkin_token is None


@pytest.mark.parametrize("hour", ["0", "24", "abc", "", "9.5"])
def test_a_bad_hour_is_refused_at_the_field(app, world, clock, hour):
    worker = client_as(app, world.worker)
    elder = elder_of(world)
    refused = worker.post(f"/elders/{elder.id}/checkin", data={"hour": hour})
    assert refused.status_code == 422
    assert 'class="error"' in body(refused)
    assert elder_of(world).checkin_token is None


def test_staff_see_the_last_weeks_check_ins(app, world, clock, taking_part):
    for day in (15, 17, 18):
        clock.set(datetime(2026, 11, day, 7, 45, tzinfo=SHANGHAI))
        selfcheck.check_in(taking_part.checkin_token, clock())
        db.session.commit()
    clock.set(datetime(2026, 11, 3, 7, 45, tzinfo=SHANGHAI))  # weeks before: not listed
    db.session.add(SelfCheckin(elder_id=taking_part.id, at=clock()))
    db.session.commit()
    clock.set(at(12))
    page = body(client_as(app, world.worker).get(f"/elders/{taking_part.id}"))
    for day in (15, 17, 18):
        assert f"2026-11-{day} 07:45" in page
    assert "2026-11-03" not in page


def read_pdf(pdf: bytes) -> tuple[list[str], str]:
    doc = pdfium.PdfDocument(pdf)
    try:
        page = doc[0]
        image = page.render(scale=150 / 72).to_pil()
        textpage = page.get_textpage()
        text = textpage.get_text_range()
        return sorted(r.text for r in zxingcpp.read_barcodes(image)), text
    finally:
        doc.close()


def test_the_fridge_card_carries_the_personal_link_the_given_name_and_the_hotline(
        app, world, clock, taking_part):
    worker = client_as(app, world.worker)
    response = worker.get(f"/elders/{taking_part.id}/checkin/card.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert f"filename*=UTF-8''{quote('平安打卡卡片-秀英.pdf')}" in disposition
    codes, text = read_pdf(response.get_data())
    assert codes == [selfcheck.personal_url("https://cv.example.org",
                                            taking_part.checkin_token)]
    assert "秀英" in text and "李秀英" not in text and "每天 9 点前按一下「我很好」" in text
    assert "0531-1234567" in text  # the community's hotline
    assert "社区服务码" not in text and world.h1.number not in text  # not a door card
    db.session.rollback()
    assert db.session.scalar(select(AuditEvent.action).where(
        AuditEvent.action == "selfcheck.card")) == "selfcheck.card"


def test_no_card_for_an_elder_not_taking_part(app, world, clock):
    worker = client_as(app, world.worker)
    response = worker.get(f"/elders/{world.h1.elders[0].id}/checkin/card.pdf")
    assert response.status_code == 302


# --- family -----------------------------------------------------------------------------------

def test_the_family_sees_todays_check_in_and_the_link_to_open_on_the_elders_phone(
        app, world, clock, taking_part):
    from carevisits.models import FamilyLink
    db.session.add(FamilyLink(user=world.family, elder_id=taking_part.id, relation="女儿"))
    db.session.commit()
    family = client_as(app, world.family)
    page = body(family.get(f"/family/elders/{taking_part.id}"))
    url = selfcheck.personal_url("https://cv.example.org", taking_part.checkin_token)
    assert url in page and "<svg" in page and "今天已打卡" not in page
    clock.set(at(8, 30))
    selfcheck.check_in(taking_part.checkin_token, clock())
    db.session.commit()
    assert "今天已打卡 ✓ 08:30" in body(family.get(f"/family/elders/{taking_part.id}"))


def test_the_family_page_of_an_elder_not_taking_part_shows_no_check_in(app, world, clock):
    from carevisits.models import FamilyLink
    db.session.add(FamilyLink(user=world.family, elder_id=world.h1.elders[0].id,
                              relation="女儿"))
    db.session.commit()
    page = body(client_as(app, world.family).get(f"/family/elders/{world.h1.elders[0].id}"))
    assert "daily-checkin" not in page


# --- the alert reaches the grid worker the same day ---------------------------------------

def test_a_missed_check_in_goes_to_the_board_and_the_communitys_robot(
        app, world, clock, taking_part, loopback_robots):
    with webhook_receiver() as receiver:
        channel(world.communities[0], receiver.url)
        clock.set(at(9, 25))  # within the grace a press kept without signal has to arrive
        assert scheduler.run_scans(clock())[4] == []
        clock.set(at(9, 35))  # the default grace (30 minutes) is over
        round_ = scheduler.run_scans(clock())
        assert len(round_[4]) == 1 and round_[2] == 1
        assert len(receiver.bodies) == 1
        assert "李秀英" in receiver.bodies[0][2].decode()
    worker = client_as(app, world.worker)
    board = body(worker.get("/alerts/"))
    assert "李秀英" in board and "未平安打卡" in board
    detail = worker.get(f"/alerts/{round_[4][0]}")
    assert detail.status_code == 200 and "未平安打卡" in body(detail)


# --- the page's script sends a press kept without signal (issue 26, item 7) -----------------

JSON = {"Accept": "application/json"}


def test_a_kept_press_is_dated_when_pressed_and_one_however_often_sent(
        client, world, clock, taking_part):
    clock.set(at(9, 40))
    url = f"/ok/{taking_part.checkin_token}"
    fields = {"key": "b3c1d2e4f5a6978812345678", "waited": str(50 * 60)}  # pressed at 08:50
    for _ in range(2):  # the answer to the first send was lost: the page sends it again
        answer = client.post(url, data=fields, headers=JSON)
        assert answer.status_code == 200 and answer.get_json() == {"ok": True}
    assert count(SelfCheckin, SelfCheckin.elder_id == taking_part.id) == 1
    assert "<p class=\"time\">08:50</p>" in body(client.get(url))
    refused = client.post(url, data={"key": "no spaces allowed"}, headers=JSON)
    assert refused.status_code == 400 and refused.get_json() == {"ok": False, "retry": False}
    stale = client.post(url, data={"key": "b3c1d2e4f5a6978800000000",
                                   "waited": str(73 * 3600)}, headers=JSON)
    assert stale.status_code == 422  # waited three days: no news of today, dropped
    assert count(SelfCheckin, SelfCheckin.elder_id == taking_part.id) == 1


def test_a_kept_press_with_a_stale_token_is_asked_to_fetch_a_fresh_one(csrf_client, world,
                                                                       taking_part):
    url = f"/ok/{taking_part.checkin_token}"
    answer = csrf_client.post(url, data={"key": "b3c1d2e4f5a6978812345678",
                                         "csrf_token": "from-yesterday"}, headers=JSON)
    assert answer.status_code == 400 and answer.get_json() == {"ok": False, "retry": True}
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      body(csrf_client.get(url))).group(1)
    again = csrf_client.post(url, data={"key": "b3c1d2e4f5a6978812345678",
                                        "csrf_token": token}, headers=JSON)
    assert again.status_code == 200 and again.get_json() == {"ok": True}
    assert count(SelfCheckin, SelfCheckin.elder_id == taking_part.id) == 1


def test_a_kept_press_for_a_renewed_link_gets_the_one_gone_page(client, world, taking_part):
    url = f"/ok/{taking_part.checkin_token}"
    gone = body(client.get("/ok/made-up-token"))
    selfcheck.renew(elder_of(world), actor=world.worker)
    db.session.commit()
    answer = client.post(url, data={"key": "b3c1d2e4f5a6978812345678"}, headers=JSON)
    assert answer.status_code == 404 and body(answer) == gone
