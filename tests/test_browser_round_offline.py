"""The round without signal (issue 26 §5, §6): the round page and the door forms open from
the phone, every page says 无网络, and after a save 下一户 leads to the next due household of
the round (offline, past the doors whose visit waits on the phone); a card the phone's pack
has never seen is recorded by the number printed on it, checked by the server when it
arrives; the round kept on a phone is one account's and goes at sign-out.
Chromium from Debian, CSRF on, a 390 px screen; the phone's clock is set to the server's."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from carevisits.extensions import db
from carevisits.models import Outcome, Visit, VisitMethod
from carevisits.scan.background import NOT_IN_SCOPE
from carevisits.services import schedule
from tests import factories, test_browser_offline
from tests.browser import choose, door_path, no_horizontal_scroll, sign_in, translated, visit_count
from tests.conftest import latest
from tests.test_browser_offline import keep_round

pytestmark = pytest.mark.browser
door = test_browser_offline.door  # the live app with a clock the test moves (a fixture)

SAVED = "Saved on this phone; it is uploaded automatically when the network is back."

KEPT_ROUND = """async () => {
  const round = await caches.match("/round/");
  return round ? round.headers.get("X-Kept-For") : null;
}"""


def keep_the_round(page, door, user):
    """``user`` signed in with the phone's clock set to the server's; the round opened online
    until the service worker controls the page and has kept the round, the form and the pack."""
    page.clock.set_system_time(door.clock())
    sign_in(page, door.url, user)
    keep_round(page, door)  # the service worker is installed and controls the page now
    page.goto(door.url + "/round/")  # …so this round passes through it and is kept
    for _ in range(100):
        if page.evaluate(KEPT_ROUND) == str(user.id):
            return
        page.wait_for_timeout(100)
    raise AssertionError("the round page was not kept")


def no_signal_shown(page, app):
    expect(page.locator("#no-signal")).to_be_visible()
    expect(page.locator("#no-signal")).to_contain_text(translated(app, "No signal"))


def the_round(world, door):
    """The worker's grid: h5, h1, h7 overdue (in that order: the longest unseen first) and h6
    seen this morning; the round page shows them so."""
    grid = world.grids[0]
    h5 = factories.household(grid, building="1")
    h6 = factories.household(grid, building="2")
    h7 = factories.household(grid, building="4")
    for household, days in ((h5, 40), (world.h1, 30), (h7, 20), (h6, 0)):
        for elder in household.elders:
            elder.last_contact_at = door.clock() - timedelta(days=days, hours=1)
        schedule.refresh(household.elders)
    db.session.commit()
    return h5, h6, h7


def save_here(page, household):
    """Everyone met, all well, saved: kept on the phone (no signal)."""
    for elder in household.elders:
        choose(page, elder, "met_well")
    page.locator("#checkin button[type=submit]").tap()


def next_household(page):
    """Tap 下一户 on the page of a visit just saved, and land on the round."""
    with page.expect_navigation():
        page.locator(".after-save .next-household").tap()


def test_offline_the_round_and_door_forms_open_and_next_household_leads_on(world, door,
                                                                          phone):
    page = phone
    h5, h6, h7 = the_round(world, door)
    keep_the_round(page, door, world.worker)
    numbers = page.locator("li[data-number]").evaluate_all(
        "rows => rows.map(r => r.getAttribute('data-number'))")
    assert list(dict.fromkeys(numbers)) == [h.number for h in (h5, world.h1, h7, h6)]

    page.context.set_offline(True)
    page.goto(door.url + "/round/")  # from the phone
    no_signal_shown(page, door.app)
    for household in (h5, world.h1, h7, h6):
        expect(page.locator("main")).to_contain_text(household.elders[0].name)
    no_horizontal_scroll(page)
    with page.expect_navigation():  # a top link: a page that needs the network, which says so
        page.locator(".top nav a", has_text=translated(door.app, "Elders")).tap()
    no_signal_shown(page, door.app)
    expect(page.locator("#offline-elsewhere")).to_be_visible()
    with page.expect_navigation():
        page.locator("#offline-elsewhere .back-to-round").tap()
    expect(page.locator("main")).to_contain_text(h5.elders[0].name)

    page.goto(door.url + door_path(h5))  # the first door of the round
    no_signal_shown(page, door.app)
    expect(page.locator(".door-address")).to_have_text(h5.full_address)
    save_here(page, h5)
    expect(page.locator(".saved-offline")).to_have_text(translated(door.app, SAVED))
    expect(page.locator(".after-save .back-to-round")).to_be_visible()
    next_household(page)
    assert page.url.endswith(f"/round/#after-{h5.number}")
    no_signal_shown(page, door.app)
    marked = page.locator("li.round-next")
    expect(marked).to_have_count(2)  # h1's two elders
    for elder in world.h1.elders:
        expect(page.locator("li.round-next", has_text=elder.name)).to_be_in_viewport()
    expect(page.locator("li.waiting-here")).to_contain_text(h5.elders[0].name)

    page.goto(door.url + door_path(world.h1))
    save_here(page, world.h1)
    next_household(page)
    expect(marked).to_have_count(1)
    expect(marked).to_contain_text(h7.elders[0].name)

    page.goto(door.url + door_path(h7))
    save_here(page, h7)
    next_household(page)  # h5 and h1 wait on the phone, h6 is not due: no door is left
    expect(page.locator("#round-none")).to_be_visible()
    expect(marked).to_have_count(0)
    assert visit_count() == 0

    page.context.set_offline(False)
    expect(page.locator(".queue-count")).to_have_count(0, timeout=30_000)
    db.session.rollback()
    visited = sorted(db.session.scalars(db.select(Visit.household_id)))
    assert visited == sorted(h.id for h in (h5, world.h1, h7))


def test_online_next_household_after_a_visit_sent_is_the_next_due_one(world, door, phone):
    page = phone
    h5, h6, h7 = the_round(world, door)
    keep_the_round(page, door, world.worker)
    page.goto(door.url + door_path(h5))
    for elder in h5.elders:
        choose(page, elder, "met_well")
    with page.expect_navigation():
        page.locator("#checkin button[type=submit]").tap()
    assert "/visits/" in page.url
    expect(page.locator("#no-signal")).to_be_hidden()
    expect(page.locator(".after-save .back-to-round")).to_have_text(
        translated(door.app, "Back to the round"))
    next_household(page)
    expect(page.locator("li.round-next").first).to_contain_text(world.h1.elders[0].name)
    expect(page.locator("li.round-next").first).to_be_in_viewport()


def test_offline_a_card_the_pack_has_never_seen_is_recorded_by_its_number_once(world, door,
                                                                              phone):
    page = phone
    keep_the_round(page, door, world.worker)
    new = factories.household(world.grids[0], elders=2, building="9")  # after the pack
    db.session.commit()

    page.context.set_offline(True)
    page.goto(door.url + door_path(new))
    no_signal_shown(page, door.app)
    expect(page.locator(".unpacked-card")).to_have_text(translated(
        door.app, "This card is not in today's round pack on this phone. Type the household "
        "number printed on the card to record the visit."))
    expect(page.locator("#offline-door")).to_be_hidden()
    wrong = new.number[:-1] + str((int(new.number[-1]) + 1) % 10)  # the check digit is off
    page.locator("#offline-number").fill(wrong)
    with page.expect_navigation():
        page.locator("#offline-unpacked button[type=submit]").tap()
    expect(page.locator(".bad-number")).to_be_visible()
    page.locator("#offline-number").fill(f"{new.number[:4]} {new.number[4:]}")  # as printed
    with page.expect_navigation():
        page.locator("#offline-unpacked button[type=submit]").tap()
    assert page.url == f"{door.url}/visit/{new.number}"
    title = translated(door.app, "Household no. %(number)s") % {"number": new.number}
    expect(page.locator(".door-address")).to_have_text(title)
    expect(page.locator(".everyone-note")).to_contain_text(new.number)
    expect(page.locator("fieldset.elder")).to_have_count(1)
    expect(page.locator("input[name=reason]")).not_to_have_value("")
    for elder in new.elders:
        assert elder.name not in page.content()
    no_horizontal_scroll(page)
    page.locator("label.choice-met_well").tap()
    notes = page.locator("fieldset.elder summary.notes-summary")
    expect(notes).to_have_text(translated(door.app, "Notes"))  # no readings, no mood here
    notes.tap()
    page.locator("textarea[name=everyone-notes]").fill("两位老人都在家")
    page.locator("#checkin button[type=submit]").tap()
    expect(page.locator(".saved-offline")).to_have_text(translated(door.app, SAVED))
    expect(page.locator(".after-save .next-household")).to_be_visible()
    assert visit_count() == 0

    page.context.set_offline(False)
    expect(page.locator(".queue-sent")).to_contain_text(title)
    page.reload()
    expect(page.locator(".queue-count")).to_have_count(0)
    assert visit_count() == 1
    visit = latest(Visit)
    assert visit.household_id == new.id and visit.method == VisitMethod.MANUAL
    assert sorted((r.elder_id, r.outcome, r.notes) for r in visit.records) == sorted(
        (e.id, Outcome.MET_WELL, "两位老人都在家") for e in new.elders)


def test_offline_a_number_outside_the_workers_area_is_refused_and_kept_with_its_reason(
        world, door, phone):
    page = phone
    keep_the_round(page, door, world.worker)
    page.context.set_offline(True)
    page.goto(door.url + "/round/")
    page.locator("#number").fill(world.h2.number)  # a colleague's household
    with page.expect_navigation():
        page.locator("form.number-box button[type=submit]").tap()
    page.locator("label.choice-no_answer").tap()
    page.locator("#checkin button[type=submit]").tap()
    expect(page.locator(".saved-offline")).to_be_visible()

    page.context.set_offline(False)
    refused = page.locator(".queue-refused")
    expect(refused).to_contain_text(translated(door.app, str(NOT_IN_SCOPE)))
    expect(refused).to_contain_text(world.h2.number)
    page.goto(door.url + "/round/")
    expect(refused).to_contain_text(world.h2.number)  # kept, with its reason, until dismissed
    assert visit_count() == 0


def test_the_round_kept_on_a_phone_is_one_accounts_and_goes_at_sign_out(world, door, phone):
    page = phone
    keep_the_round(page, door, world.worker)
    mine = world.h1.elders[0].name
    with page.expect_navigation():
        page.locator("form.sign-out button").tap()
    for _ in range(50):
        if page.evaluate(KEPT_ROUND) is None:
            break
        page.wait_for_timeout(100)
    assert page.evaluate(KEPT_ROUND) is None

    keep_the_round(page, door, world.other_worker)  # another account on the same phone
    page.context.set_offline(True)
    page.goto(door.url + "/round/")
    no_signal_shown(page, door.app)
    expect(page.locator("main")).to_contain_text(world.h2.elders[0].name)
    assert mine not in page.content()
