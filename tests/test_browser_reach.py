"""Size and reach on a phone (issue 26, item 9): every tap target of the worker's door form,
round, elder's page, elder list and phone check-in, and of the family page, is at least 44×44
CSS px (the elder's 我很好 page is measured by its own tests, issue 26 item 7), measured in
Chromium at the 390×844 phone viewport with every fold-out opened; the save button of a
one-elder door form shows on the first screen; the site has an icon. CSRF on."""

from datetime import datetime

import pytest
from sqlalchemy import select

from carevisits.extensions import db
from carevisits.models import CareLevel, Frequency, Outcome, ServiceItem, VisitMethod
from carevisits.services import family, followups, menus, selfcheck
from carevisits.services.checkin import ElderRecordInput, record_visit
from tests import factories
from tests.browser import PHONE, door_path, no_horizontal_scroll, page_in_new_context, sign_in
from tests.clock import SHANGHAI
from tests.conftest import make_app
from tests.live_server import serve

pytestmark = pytest.mark.browser

WEDNESDAY = datetime(2026, 11, 18, 9, 30, tzinfo=SHANGHAI)
PHONE_HEIGHT = 844
MIN_TAP = 44  # CSS px, both ways

# Every target a thumb may tap, as the page shows it: a box or a radio inside a label is
# tapped through its label (the label is the target); what is not shown has no box.
TAP_TARGETS = """() => {
  const seen = new Set(), small = [];
  for (const el of document.querySelectorAll(
      "a[href], button, input:not([type=hidden]), select, textarea, summary")) {
    const label = (el.type === "checkbox" || el.type === "radio") && el.closest("label");
    const target = label || el;
    if (seen.has(target)) continue;
    seen.add(target);
    const box = target.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;  // not shown
    if (getComputedStyle(target).visibility === "hidden") continue;
    if (box.width < 44 || box.height < 44) {
      const words = (target.innerText || target.value || target.getAttribute("aria-label")
                     || target.name || "").trim().replace(/\\s+/g, " ").slice(0, 30);
      small.push(`${target.tagName.toLowerCase()}${target.className ? "." +
        String(target.className).trim().replace(/\\s+/g, ".") : ""} «${words}» ` +
        `${Math.round(box.width)}×${Math.round(box.height)}`);
    }
  }
  return small;
}"""


def open_everything(page) -> None:
    """Unfold every fold-out, so that what is inside is measured too."""
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")


def small_targets(page) -> list[str]:
    """Each target under 44×44 px on the page as shown, named with its words and size."""
    return page.evaluate(TAP_TARGETS)


@pytest.fixture
def reach_world(app, world):
    """The world at a Wednesday morning: h1's two elders with services due and a follow-up
    for today; a one-elder household of the worker's grid with a service due, tags and
    emergency contacts; a family member of h1's first elder with visits to read."""
    app.config["CLOCK"].set(WEDNESDAY)
    menus.seed_catalogue()
    items = list(db.session.scalars(select(ServiceItem).where(
        ServiceItem.name.in_(("助餐", "量血压", "代买药")))))
    alone = factories.household(world.h1.grid, care_level=CareLevel.KEY, building="5")
    alone.elders[0].tags = ["行动不便", "听力差"]
    db.session.flush()
    for elder in [*world.h1.elders, *alone.elders]:
        for item in items:
            menus.add_to_menu(elder, item=item, frequency=Frequency.EVERY_VISIT, notes="",
                              starts_on=WEDNESDAY.date(), ends_on=None, actor=world.admin)
    for elder in world.h1.elders:
        followups.add(elder, followups.FollowUpInput("复测血压", WEDNESDAY.date(),
                                                     important=True),
                      actor=world.worker, today=WEDNESDAY.date())
    relative = world.h1.elders[0]
    for n in range(3):
        record_visit(visitor=world.worker, household=world.h1, method=VisitMethod.SCANNED,
                     door_code=world.h1.code, idempotency_key=f"reach-visit-{n:04d}",
                     records=[ElderRecordInput(e.id, Outcome.MET_WELL, systolic=130,
                                               diastolic=80) for e in world.h1.elders])
    invite = family.create_invite(relative, relation="女儿", may_see_observations=True,
                                  actor=world.worker)
    family.accept(invite.code, world.family)
    selfcheck.enrol(relative, 10, actor=world.worker, now=WEDNESDAY)
    db.session.commit()
    world.alone = alone
    return world


@pytest.fixture
def live_server(database_url, tmp_path, app, reach_world):
    """The app with CSRF on, at the test's own clock."""
    live_app = make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True,
                        CLOCK=app.config["CLOCK"])
    with serve(live_app) as base_url:
        yield base_url


def test_every_tap_target_is_at_least_44_px_both_ways(reach_world, live_server, phone,
                                                      browser):
    w = reach_world
    sign_in(phone, live_server, w.worker)
    small = {}
    for name, path in (("door form, two elders", door_path(w.h1)),
                       ("door form, one elder", door_path(w.alone)),
                       ("round", "/round/"),
                       ("elder's page", f"/elders/{w.h1.elders[0].id}"),
                       ("elder list", "/elders/"),
                       ("phone check-in", f"/elders/{w.h1.elders[0].id}/phone?back=round")):
        phone.goto(live_server + path)
        if "/c/" in path:
            for label in phone.locator("label.choice-met_well").all():
                label.tap()  # what shows for an elder met shows too
        no_horizontal_scroll(phone)
        if path == "/round/" or name == "elder's page":  # their follow-ups measured too
            assert phone.locator("#followups button.followup-done").count() >= 1
        open_everything(phone)
        small[name] = small_targets(phone)

    with page_in_new_context(browser, PHONE) as relative:
        sign_in(relative, live_server, w.family)
        relative.goto(f"{live_server}/family/elders/{w.h1.elders[0].id}")
        open_everything(relative)
        small["family page"] = small_targets(relative)
    report = "\n".join(f"{page}: {target}" for page, found in small.items() for target in found)
    assert report == "", "tap targets under 44×44 px:\n" + report


def test_the_save_button_of_a_one_elder_form_is_on_the_first_screen(
        reach_world, live_server, phone):
    sign_in(phone, live_server, reach_world.worker)
    phone.goto(live_server + door_path(reach_world.alone))
    save = phone.locator("#checkin button[type=submit]")
    box = save.bounding_box()  # the page as it opens, not scrolled
    assert phone.evaluate("window.scrollY") == 0
    no_horizontal_scroll(phone)  # nothing made narrower by pushing the rest sideways
    assert box["y"] + box["height"] <= PHONE_HEIGHT, f"the save button ends at y={box}"
    assert phone.locator("fieldset.elder").count() == 1


def test_the_site_has_an_icon(reach_world, live_server, phone):
    response = phone.request.get(f"{live_server}/favicon.ico")
    assert response.status == 200 and response.headers["content-type"] == (
        "image/vnd.microsoft.icon")
    assert response.body()[:4] == b"\x00\x00\x01\x00"  # an ICO file's header
    sign_in(phone, live_server, reach_world.worker)
    assert phone.locator("link[rel=icon]").get_attribute("href") == "/favicon.ico"
