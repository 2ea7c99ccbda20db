"""The door without signal (issue 14): a visit saved with the network off is kept on the
phone and sent when the network is back, once, with the time it happened at the door; an
ended session or a household gone from the worker's area never loses it silently.
Chromium from Debian, CSRF on, a 390 px screen; the phone's clock is set to the server's."""

import contextlib
import hashlib
import re
import time
from datetime import time as daytime
from datetime import timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Error, expect
from sqlalchemy import select

from carevisits.extensions import db
from carevisits.models import (
    MemberStatus,
    Roster,
    RosterMember,
    Visit,
    VolunteerProfile,
    VolunteerStatus,
)
from carevisits.scan.background import NOT_IN_SCOPE
from tests.browser import (
    PHONE,
    choose,
    door_path,
    no_horizontal_scroll,
    page_in_new_context,
    sign_in,
    translated,
    visit_count,
)
from tests.clock import TestClock
from tests.conftest import latest, make_app
from tests.live_server import serve
from tests.test_browser_door import type_readings

pytestmark = pytest.mark.browser

SAVED = "Saved on this phone; it is uploaded automatically when the network is back."


@pytest.fixture
def door(database_url, tmp_path, world):
    """The app with CSRF on, served over HTTP, with a clock the test moves; ``knobs`` make
    the door page answer late (``slow_door``: seconds) or the server fail on the visits sent
    to one door (``fail_token``)."""
    clock = TestClock()
    live_app = make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True, CLOCK=clock)
    knobs = {"slow_door": 0.0, "fail_token": None}

    @live_app.before_request
    def _knobs():
        from flask import abort, request
        if not request.path.startswith("/c/"):
            return
        if request.method == "GET" and knobs["slow_door"]:
            time.sleep(knobs["slow_door"])
        if request.method == "POST" and knobs["fail_token"] and request.path.endswith(
                knobs["fail_token"]):
            abort(500)

    with serve(live_app) as base_url:
        yield SimpleNamespace(url=base_url, clock=clock, app=live_app, knobs=knobs)


def fill_and_save_offline(page, door, household):
    """Open the household's form online, lose the signal, save: the phone keeps the visit."""
    page.goto(door.url + door_path(household))
    for elder in household.elders:
        choose(page, elder, "met_well")
    page.context.set_offline(True)
    page.locator("#checkin button[type=submit]").tap()
    expect(page.locator(".saved-offline")).to_have_text(translated(door.app, SAVED))


def test_a_visit_saved_without_signal_is_sent_once_with_its_door_time(world, door, phone):
    page = phone
    page.clock.set_system_time(door.clock())  # the phone's clock agrees with the server's
    sign_in(page, door.url, world.worker)
    at_the_door = door.clock()
    fill_and_save_offline(page, door, world.h1)
    expect(page.locator(".queue-count")).to_contain_text("1")
    assert visit_count() == 0

    door.clock.advance(hours=3)  # back in the street three hours later
    page.clock.set_system_time(door.clock())
    page.context.set_offline(False)
    expect(page.locator(".queue-sent")).to_contain_text(world.h1.full_address)
    expect(page.locator(".queue-count")).to_have_count(0)
    assert visit_count() == 1
    visit = latest(Visit)
    assert abs(visit.occurred_at - at_the_door) < timedelta(minutes=1)
    assert visit.server_time - visit.occurred_at > timedelta(hours=2, minutes=58)
    assert visit.sent_late and not visit.entered_late

    page.reload()  # sent means gone from the phone: nothing is sent twice
    expect(page.locator(".queue-count")).to_have_count(0)
    assert visit_count() == 1


def test_three_doors_sent_through_a_flapping_network_none_doubled_none_lost(world, door,
                                                                          phone):
    page = phone
    page.clock.set_system_time(door.clock())
    sign_in(page, door.url, world.coordinator)  # h1, h2 and h3 are in the street's scope
    doors = (world.h1, world.h2, world.h3)
    tabs = [page] + [page.context.new_page() for _ in doors[1:]]
    for tab, household in zip(tabs, doors, strict=True):  # three forms open, then no signal
        tab.goto(door.url + door_path(household))
        for elder in household.elders:
            choose(tab, elder, "met_well")
    page.context.set_offline(True)
    for tab in tabs:
        tab.locator("#checkin button[type=submit]").tap()
        expect(tab.locator(".saved-offline")).to_be_visible()
    expect(tabs[-1].locator(".queue-count")).to_contain_text("3")
    for _ in range(4):  # the signal comes and goes while three tabs send the same queue
        page.context.set_offline(False)
        page.wait_for_timeout(120)
        page.context.set_offline(True)
        page.wait_for_timeout(120)
    page.context.set_offline(False)
    page.reload()
    expect(page.locator(".queue-count")).to_have_count(0)
    db.session.rollback()
    households = sorted(db.session.scalars(select(Visit.household_id)))
    assert households == sorted(h.id for h in doors)


def test_a_visit_waiting_when_the_session_ends_is_sent_after_signing_in(world, door, phone):
    page = phone
    page.clock.set_system_time(door.clock())
    sign_in(page, door.url, world.worker)
    fill_and_save_offline(page, door, world.h1)
    db.session.rollback()  # a fresh snapshot: the live server has written since
    world.worker.session_version += 1  # signed out everywhere meanwhile
    db.session.commit()

    page.context.set_offline(False)
    link = page.locator(".queue-signin a")
    expect(link).to_be_visible()
    assert visit_count() == 0
    with page.expect_navigation():
        link.tap()
    sign_in(page, door.url, world.worker)
    expect(page.locator(".queue-sent")).to_contain_text(world.h1.full_address)
    assert visit_count() == 1


def test_a_household_gone_from_the_area_is_refused_and_kept_until_dismissed(world, door,
                                                                            phone):
    page = phone
    page.clock.set_system_time(door.clock())
    sign_in(page, door.url, world.worker)
    fill_and_save_offline(page, door, world.h1)
    db.session.rollback()  # a fresh snapshot: the live server has written since
    world.h1.grid = world.grids[1]  # the household moved to a colleague's grid
    db.session.commit()

    page.context.set_offline(False)
    refused = page.locator(".queue-refused")
    expect(refused).to_contain_text(translated(door.app, str(NOT_IN_SCOPE)))
    expect(refused).to_contain_text(world.h1.full_address)
    page.goto(door.url + "/round/")
    expect(refused).to_contain_text(world.h1.full_address)  # still there on every page
    assert visit_count() == 0
    refused.locator("button.queue-dismiss").tap()
    expect(refused).to_have_count(0)
    page.reload()
    expect(refused).to_have_count(0)


KEPT_ON_PHONE = "{n} 条走访记录未能发送，仍保存在这部手机上"
KEPT = """() => new Promise((resolve, reject) => {
  const req = indexedDB.open("carevisits", 1);
  req.onsuccess = () => {
    const tx = req.result.transaction(["queue", "pack"], "readonly");
    const queue = tx.objectStore("queue").count(), pack = tx.objectStore("pack").getAll();
    tx.oncomplete = () => resolve({queue: queue.result, pack: pack.result});
  };
  req.onerror = () => reject(req.error);
})"""


def test_the_round_keeps_its_pack_and_sign_out_drops_it_and_keeps_the_visit(world, door,
                                                                          phone):
    page = phone
    page.clock.set_system_time(door.clock())
    sign_in(page, door.url, world.worker)
    fill_and_save_offline(page, door, world.h1)
    # The visit stays queued: its send is refused from the moment the network is back (set
    # before going online, or the queue may send it first).
    page.route("**/door/session.json", lambda route: route.abort())
    page.context.set_offline(False)
    keep_round(page, door)
    kept = page.evaluate(KEPT)
    assert kept["queue"] == 1
    [pack] = kept["pack"]
    assert [h["key"] for h in pack["data"]["households"]] == [
        hashlib.sha256(world.h1.code.token.encode()).hexdigest()]  # never the token itself
    assert world.h1.code.token not in str(pack)

    asked = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    with page.expect_navigation():
        page.locator("form.sign-out button").tap()
    assert asked == []  # nothing to agree to: the visit is not deleted
    assert page.evaluate(KEPT) == {"queue": 1, "pack": []}  # the pack goes, the visit stays
    expect(page.locator(".flash.warn")).to_contain_text(KEPT_ON_PHONE.format(n=1))
    expect(page.locator("#queue-banner")).to_be_hidden()  # nobody signed in: nothing shown
    for _ in range(50):  # the service worker drops the door form it kept
        if not page.evaluate('async () => !!(await caches.match("/door/offline"))'):
            break
        page.wait_for_timeout(100)
    page.context.set_offline(True)
    with contextlib.suppress(Error):  # no form kept: the browser's "no connection" page
        page.goto(door.url + door_path(world.h1))
    shown = None
    for _ in range(50):  # Chromium's error page replaces the navigation: read once settled
        with contextlib.suppress(Error):
            shown = page.content()
            break
        page.wait_for_timeout(100)
    assert shown is not None
    assert world.h1.elders[0].name not in shown and world.h1.full_address not in shown


def with_round(page, door, user):
    """The phone's clock set to the server's, ``user`` signed in, the round kept."""
    page.clock.set_system_time(door.clock())
    sign_in(page, door.url, user)
    keep_round(page, door)


def save_at_door_offline(page, door, household):
    """Without signal, open the household's door URL, everyone met, save."""
    page.context.set_offline(True)
    page.goto(door.url + door_path(household))
    for elder in household.elders:
        choose(page, elder, "met_well")
    page.locator("#checkin button[type=submit]").tap()


def keep_round(page, door, path="/round/"):
    """Open the round online: the pack is kept and the service worker keeps the door form."""
    page.goto(door.url + path)
    for _ in range(200):  # a loaded machine installs the worker slowly
        ready = page.evaluate("""async () => {
          const form = await caches.match("/door/offline");
          const kept = await new Promise(resolve => {
            const req = indexedDB.open("carevisits", 1);
            req.onsuccess = () => {
              const get = req.result.transaction("pack").objectStore("pack").get("round");
              get.onsuccess = () => resolve(!!get.result);
            };
          });
          return !!form && kept && !!navigator.serviceWorker.controller;
        }""")
        if ready:
            return
        page.wait_for_timeout(100)
    raise AssertionError("the round pack and the door form were not kept")


def test_a_door_opened_without_signal_shows_the_form_from_the_pack(world, door, phone):
    page = phone
    with_round(page, door, world.worker)
    at_the_door = door.clock()

    page.context.set_offline(True)
    page.goto(door.url + door_path(world.h1))
    expect(page.locator(".door-address")).to_have_text(world.h1.full_address)
    expect(page.locator(".roster-badge")).to_have_count(0)  # a worker's visit: no roster
    expect(page.locator("input[name=minutes]")).to_have_count(0)
    for elder in world.h1.elders:
        choose(page, elder, "met_well")
    # The form's own warnings name the elder, as online.
    first = world.h1.elders[0]
    type_readings(page, first, "190", "95")
    flag = page.locator(f"fieldset.elder:has([name='e{first.id}-systolic']) .reading-flag")
    expect(flag).to_be_visible()
    expect(flag).to_contain_text(first.name)
    for reading in ("systolic", "diastolic"):
        page.fill(f"[name='e{first.id}-{reading}']", "")
    no_horizontal_scroll(page)
    page.locator("#checkin button[type=submit]").tap()
    expect(page.locator(".saved-offline")).to_have_text(translated(door.app, SAVED))
    assert visit_count() == 0

    door.clock.advance(hours=1)
    page.clock.set_system_time(door.clock())
    page.context.set_offline(False)
    expect(page.locator(".queue-sent")).to_contain_text(world.h1.full_address)
    assert visit_count() == 1
    visit = latest(Visit)
    assert abs(visit.occurred_at - at_the_door) < timedelta(minutes=1)
    assert sorted(r.elder_id for r in visit.records) == sorted(e.id for e in world.h1.elders)


def test_a_compact_cards_address_opens_the_kept_form_in_either_case(world, door, phone):
    """The card says /C/<TOKEN> (issue 18); a phone may lower-case it: both are the door,
    for the service worker and the pack's lookup as for the server."""
    with_round(phone, door, world.worker)
    phone.context.set_offline(True)
    token = world.h1.code.token
    for path in (f"/C/{token}", f"/c/{token.lower()}"):
        phone.goto(door.url + path)
        expect(phone.locator(".door-address")).to_have_text(world.h1.full_address)


UNPACKED = ("This card is not in today's round pack on this phone. Type the household "
            "number printed on the card to record the visit.")


def test_a_card_not_in_the_pack_asks_the_worker_for_its_number_offline(world, door, phone):
    """Issue 26 §6: the signed-in worker is told, and asked for the number on the card (what
    follows is in tests/test_browser_round_offline.py); nothing of the household is shown."""
    page = phone
    sign_in(page, door.url, world.worker)
    keep_round(page, door)
    page.context.set_offline(True)
    page.goto(door.url + door_path(world.h2))  # a colleague's grid: not in the pack
    expect(page.locator(".unpacked-card")).to_have_text(translated(door.app, UNPACKED))
    expect(page.locator("#offline-number")).to_be_visible()
    expect(page.locator("#offline-door")).to_be_hidden()
    expect(page.locator(".offline-hint")).to_be_hidden()  # the pack is there, and fresh
    assert world.h2.elders[0].name not in page.content()
    assert world.h2.full_address not in page.content()


# The findings of the review of issue 14's browser side, one test each.

QUEUED = """() => new Promise((resolve, reject) => {
  const req = indexedDB.open("carevisits", 1);
  req.onsuccess = () => {
    const get = req.result.transaction("queue").objectStore("queue").getAll();
    get.onsuccess = () => resolve(get.result.map(i => ({state: i.state, user: i.user,
                                                         url: i.url})));
  };
  req.onerror = () => reject(req.error);
})"""


def outcomes_box(page, elder):
    return page.locator(f"fieldset.elder:has([name='e{elder.id}-outcome']) fieldset.outcomes")


def test_a_visit_missing_an_outcome_is_marked_on_the_phone_never_kept(world, door, phone):
    page = phone
    with_round(page, door, world.worker)
    page.context.set_offline(True)
    page.goto(door.url + door_path(world.h1))
    first, second = world.h1.elders
    choose(page, first, "met_well")  # the second elder forgotten
    page.locator("#checkin button[type=submit]").tap()
    box = outcomes_box(page, second)
    expect(box).to_have_class(re.compile(r"\bhas-error\b"))
    expect(box.locator("p.error")).to_have_text(translated(door.app, "Choose what happened."))
    expect(outcomes_box(page, first).locator("p.error")).to_have_count(0)
    type_readings(page, first, "300", "90")  # beyond the box's own limit
    page.locator("#checkin button[type=submit]").tap()
    systolic = page.locator(f".field:has([name='e{first.id}-systolic'])")
    expect(systolic).to_have_class(re.compile(r"\bhas-error\b"))
    expect(systolic.locator("p.error")).to_have_text(translated(
        door.app, "Enter a number from %(min)s to %(max)s.") % {"min": 60, "max": 260})
    page.fill(f"[name='e{first.id}-systolic']", "150")
    expect(page.locator(".phone-check-all")).to_have_text(translated(
        door.app, "Nothing was saved. Correct the marked fields and send again."))
    expect(page.locator(".saved-offline")).to_have_count(0)
    assert page.evaluate(QUEUED) == []

    choose(page, second, "not_at_home")
    page.locator("#checkin button[type=submit]").tap()
    expect(page.locator(".saved-offline")).to_have_text(translated(door.app, SAVED))
    expect(box.locator("p.error")).to_have_count(0)
    page.context.set_offline(False)
    expect(page.locator(".queue-sent")).to_contain_text(world.h1.full_address)
    assert visit_count() == 1


def test_a_refused_visit_opens_again_with_what_was_entered(world, door, phone):
    page = phone
    page.clock.set_system_time(door.clock())
    sign_in(page, door.url, world.worker)
    first, second = world.h1.elders
    page.goto(door.url + door_path(world.h1))
    choose(page, first, "met_concern")
    choose(page, second, "not_at_home")
    type_readings(page, first, "150", "90")
    # "Visited earlier", three days back: only the server knows its 48 hours.
    earlier = (door.clock() - timedelta(days=3)).astimezone(ZoneInfo("Asia/Shanghai"))
    page.locator("details.late-entry summary").tap()
    page.locator("[name=visited_at]").fill(earlier.strftime("%Y-%m-%dT%H:%M"))
    page.context.set_offline(True)
    page.locator("#checkin button[type=submit]").tap()
    expect(page.locator(".saved-offline")).to_be_visible()

    page.context.set_offline(False)
    refused = page.locator(".queue-refused")
    expect(refused).to_contain_text(world.h1.full_address)
    expect(refused).to_contain_text("48")  # the server's reason
    expect(refused.locator(".queue-summary")).to_contain_text(first.name)
    expect(refused.locator(".queue-summary")).to_contain_text(second.name)
    expect(page.locator(".saved-offline")).to_have_count(0)  # not "saved" any more
    no_horizontal_scroll(page)
    assert visit_count() == 0

    with page.expect_navigation():
        refused.locator("button.queue-reopen").tap()
    assert page.url == door.url + door_path(world.h1)
    expect(page.locator(f"[name='e{first.id}-outcome'][value=met_concern]")).to_be_checked()
    expect(page.locator(f"[name='e{second.id}-outcome'][value=not_at_home]")).to_be_checked()
    expect(page.locator(f"[name='e{first.id}-systolic']")).to_have_value("150")
    expect(page.locator(f"[name='e{first.id}-diastolic']")).to_have_value("90")
    visited = page.locator("[name=visited_at]")
    expect(visited).to_have_value(earlier.strftime("%Y-%m-%dT%H:%M"))
    visited.fill("")  # it was today after all
    with page.expect_navigation():
        page.locator("#checkin button[type=submit]").tap()
    assert "/visits/" in page.url
    assert visit_count() == 1
    record = [r for r in latest(Visit).records if r.elder_id == first.id][0]
    assert record.systolic == 150
    expect(page.locator(".queue-refused")).to_have_count(0)  # replaced by the visit sent
    assert page.evaluate(QUEUED) == []


def test_a_shared_phone_shows_and_deletes_only_the_signed_in_accounts_visits(world, door,
                                                                           phone):
    page = phone
    page.clock.set_system_time(door.clock())
    sign_in(page, door.url, world.worker)
    fill_and_save_offline(page, door, world.h1)
    db.session.rollback()
    world.worker.session_version += 1  # A's session ends while the visit waits
    db.session.commit()
    page.context.set_offline(False)
    expect(page.locator(".queue-signin")).to_be_visible()

    page.goto(door.url + "/login")
    expect(page.locator(".queue-count")).to_have_count(0)  # nobody signed in: nothing shown
    sign_in(page, door.url, world.other_worker)  # B takes the shared phone
    page.goto(door.url + "/round/")
    others = page.locator(".queue-others")
    expect(others).to_contain_text("1")
    expect(page.locator(".queue-count")).to_have_count(0)
    assert world.h1.full_address not in page.locator("#queue-banner").inner_text()
    asked = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    with page.expect_navigation():
        page.locator("form.sign-out button").tap()
    assert asked == []  # none of B's visits wait: nothing to ask
    assert [i["state"] for i in page.evaluate(QUEUED)] == ["waiting"]  # A's visit kept
    assert visit_count() == 0

    sign_in(page, door.url, world.worker)  # A comes back: the visit is sent
    expect(page.locator(".queue-sent")).to_contain_text(world.h1.full_address)
    assert visit_count() == 1


def volunteer_roster(world):
    """The volunteer visits h1 for a roster that takes no readings."""
    db.session.add_all([
        VolunteerProfile(user=world.volunteer, community=world.h1.grid.community,
                         status=VolunteerStatus.APPROVED),
        Roster(name="周三探访队", community=world.h1.grid.community, weekday=2,
               start_time=daytime(9, 30), households=[world.h1], allow_observations=False,
               members=[RosterMember(user=world.volunteer, status=MemberStatus.APPROVED)])])
    db.session.commit()


def test_a_volunteers_form_without_signal_is_the_rosters_as_online(world, door, phone):
    volunteer_roster(world)
    page = phone
    page.clock.set_system_time(door.clock())
    sign_in(page, door.url, world.volunteer)
    keep_round(page, door, "/volunteer/")
    page.context.set_offline(True)
    page.goto(door.url + door_path(world.h1))
    expect(page.locator(".door-address")).to_have_text(world.h1.full_address)
    expect(page.locator(".roster-name")).to_have_text("周三探访队")
    expect(page.locator("input[name=minutes]")).to_have_count(1)
    expect(page.locator("input[name$='-systolic']")).to_have_count(0)  # no readings here
    expect(page.locator(".reading-flag")).to_have_count(0)
    expect(page.locator(".notes-summary").first).to_have_text(
        translated(door.app, "Mood and notes"))
    for elder in world.h1.elders:
        choose(page, elder, "met_well")
    page.locator("input[name=minutes]").fill("45")
    page.locator("#checkin button[type=submit]").tap()
    expect(page.locator(".saved-offline")).to_be_visible()
    page.context.set_offline(False)
    expect(page.locator(".queue-sent")).to_contain_text(world.h1.full_address)
    visit = latest(Visit)
    assert visit.roster is not None and visit.roster.name == "周三探访队"
    assert visit.duration_minutes == 45


def test_a_door_whose_visit_waits_on_the_phone_says_so_and_asks_before_a_second(world, door,
                                                                               phone):
    page = phone
    with_round(page, door, world.worker)
    save_at_door_offline(page, door, world.h1)
    expect(page.locator(".saved-offline")).to_be_visible()
    expect(page.locator("#queue-door")).to_have_count(0)  # "saved" says it already

    page.reload()  # not sure it took; or the card scanned again
    note = page.locator("#queue-door")
    expect(note).to_be_visible()
    expect(note).to_contain_text(re.compile(r"\b\d\d:\d\d\b"))
    for elder in world.h1.elders:
        choose(page, elder, "met_well")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.locator("#checkin button[type=submit]").tap()
    page.wait_for_timeout(300)
    assert asked  # the worker is asked, says no: nothing more is kept
    expect(page.locator(".saved-offline")).to_have_count(0)
    assert len(page.evaluate(QUEUED)) == 1

    page.context.set_offline(False)  # the waiting visit is sent: the note goes
    expect(page.locator(".queue-sent")).to_contain_text(world.h1.full_address)
    expect(note).to_have_count(0)
    assert visit_count() == 1


def test_a_door_the_network_answers_too_slowly_gets_the_kept_form(world, door, phone):
    page = phone
    with_round(page, door, world.worker)
    door.knobs["slow_door"] = 9  # a stairwell's trickle of signal: 9 s to answer
    page.goto(door.url + door_path(world.h1))
    expect(page.locator(".door-address")).to_have_text(world.h1.full_address)
    # The kept form (marked as such), not the server's late answer, which has no such note.
    expect(page.locator(".offline-note")).to_be_visible()
    door.knobs["slow_door"] = 0
    for elder in world.h1.elders:
        choose(page, elder, "met_well")
    with page.expect_navigation():  # the server answers a save: sent at once
        page.locator("#checkin button[type=submit]").tap()
    assert "/visits/" in page.url
    assert visit_count() == 1


def test_one_visit_the_server_keeps_failing_does_not_hold_up_the_others(world, door, phone):
    page = phone
    page.clock.set_system_time(door.clock())
    sign_in(page, door.url, world.coordinator)
    for household in (world.h1, world.h2):
        fill_and_save_offline(page, door, household)
        page.route("**/door/session.json", lambda route: route.abort())  # kept for now
        page.context.set_offline(False)
    page.unroute("**/door/session.json")
    door.knobs["fail_token"] = world.h1.code.token  # a server bug on the first visit only
    page.goto(door.url + "/round/")
    expect(page.locator(".queue-sent")).to_contain_text(world.h2.full_address)
    failing = page.locator(".queue-failing")
    expect(failing).to_contain_text(world.h1.full_address)
    expect(page.locator(".queue-count")).to_contain_text("1")
    assert visit_count() == 1

    door.knobs["fail_token"] = None  # fixed: the next try sends it
    page.reload()
    expect(page.locator(".queue-sent")).to_contain_text(world.h1.full_address)
    expect(failing).to_have_count(0)
    assert visit_count() == 2


def test_signing_out_without_signal_deletes_nothing_and_says_why(world, door, phone):
    page = phone
    page.clock.set_system_time(door.clock())
    sign_in(page, door.url, world.worker)
    fill_and_save_offline(page, door, world.h1)  # the network is off now
    at = page.url
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("form.sign-out button").tap()
    expect(page.locator(".queue-notice")).to_have_text(translated(
        door.app, "Signing out needs the network: try again where there is signal. "
        "Nothing was deleted."))
    assert page.url == at
    assert len(page.evaluate(QUEUED)) == 1

    page.context.set_offline(False)
    expect(page.locator(".queue-sent")).to_contain_text(world.h1.full_address)
    page.goto(door.url + "/round/")
    assert "/login" not in page.url  # still signed in
    assert visit_count() == 1


def test_after_sending_the_page_no_longer_says_saved_or_no_signal(world, door, phone):
    page = phone
    with_round(page, door, world.worker)
    save_at_door_offline(page, door, world.h1)
    expect(page.locator(".saved-offline")).to_be_visible()
    expect(page.locator(".offline-note")).to_be_visible()
    page.context.set_offline(False)
    expect(page.locator(".queue-sent")).to_contain_text(world.h1.full_address)
    expect(page.locator(".saved-offline")).to_have_count(0)
    expect(page.locator(".offline-note")).to_be_hidden()

    stored = 'Object.keys(sessionStorage).filter(k => k.indexOf("checkin-") === 0)'
    assert page.evaluate(stored)  # the door page's key, kept for the Back button
    with page.expect_navigation():
        page.locator("form.sign-out button").tap()
    assert page.evaluate(stored) == []


def test_without_a_fresh_pack_a_card_asks_for_its_number_and_says_how_to_get_one(world,
                                                                                 door, phone):
    page = phone
    with_round(page, door, world.worker)
    page.clock.set_system_time(door.clock() + timedelta(days=3, hours=1))
    page.context.set_offline(True)
    page.goto(door.url + door_path(world.h1))
    expect(page.locator(".unpacked-card")).to_have_text(translated(door.app, UNPACKED))
    expect(page.locator(".offline-hint")).to_have_text(translated(
        door.app, "Open your round once with signal to use door cards without signal."))
    assert world.h1.elders[0].name not in page.content()


def test_a_phone_clock_days_off_still_dates_the_visit_at_the_door(world, door, phone):
    page = phone
    page.clock.set_system_time(door.clock() + timedelta(days=2, hours=5))  # set wrong
    sign_in(page, door.url, world.worker)
    at_the_door = door.clock()
    fill_and_save_offline(page, door, world.h1)
    door.clock.advance(hours=2)
    page.clock.set_system_time(door.clock() + timedelta(days=2, hours=5))
    page.context.set_offline(False)
    expect(page.locator(".queue-sent")).to_contain_text(world.h1.full_address)
    visit = latest(Visit)
    assert abs(visit.occurred_at - at_the_door) < timedelta(minutes=2)


def test_signing_out_while_the_server_refuses_keeps_the_visit_for_the_next_sign_in(world, door,
                                                                                   phone):
    page = phone
    page.clock.set_system_time(door.clock())
    sign_in(page, door.url, world.worker)
    door.knobs["fail_token"] = world.h1.code.token  # the server fails every send of it (500)
    fill_and_save_offline(page, door, world.h1)
    page.context.set_offline(False)
    expect(page.locator(".queue-failing")).to_contain_text(world.h1.full_address)

    with page.expect_navigation():
        page.locator("form.sign-out button").tap()  # tries once more, then keeps it
    assert "/login" in page.url
    expect(page.locator(".flash.warn")).to_contain_text(KEPT_ON_PHONE.format(n=1))
    assert [i["state"] for i in page.evaluate(QUEUED)] == ["waiting"]
    assert visit_count() == 0
    page.goto(door.url + "/round/")
    assert "/login" in page.url  # this browser is signed out

    door.knobs["fail_token"] = None  # the server is well again
    sign_in(page, door.url, world.other_worker)  # a colleague borrows the phone
    page.goto(door.url + "/round/")
    expect(page.locator(".queue-others")).to_contain_text("1")
    expect(page.locator(".queue-count")).to_have_count(0)
    assert world.h1.full_address not in page.locator("main").inner_text()
    page.evaluate("() => window.cvQueue.flush()")
    assert visit_count() == 0  # never sent by another account
    with page.expect_navigation():
        page.locator("form.sign-out button").tap()
    expect(page.locator(".flash.warn")).to_have_count(0)  # none of theirs waited

    sign_in(page, door.url, world.worker)  # the same account again: sent, once
    expect(page.locator(".queue-sent")).to_contain_text(world.h1.full_address)
    assert page.evaluate(QUEUED) == []
    page.reload()
    page.evaluate("() => window.cvQueue.flush()")
    assert visit_count() == 1


def test_signing_out_on_this_phone_leaves_the_other_phone_signed_in(world, door, browser):
    with page_in_new_context(browser, PHONE) as first, \
            page_in_new_context(browser, PHONE) as second:
        sign_in(first, door.url, world.worker)
        sign_in(second, door.url, world.worker)
        with first.expect_navigation():
            first.locator("form.sign-out button").tap()
        assert "/login" in first.url
        second.goto(door.url + "/round/")
        assert "/login" not in second.url  # the second phone goes on

        second.goto(door.url + "/account")
        with second.expect_navigation():
            second.get_by_role("button", name="在所有设备上退出登录").tap()
        assert "/login" in second.url
        second.goto(door.url + "/round/")
        assert "/login" in second.url
