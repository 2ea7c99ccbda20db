"""Follow-ups on a phone (issue 26, item 8): added at the door and shown on the round the
next day with its one-tap "done"; without signal, the door form kept on the phone shows the
elder's open follow-ups from the round pack, and one ticked there is done when the visit is
sent. Chromium from Debian, CSRF on, a 390 px screen."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from carevisits.extensions import db
from carevisits.models import FollowUp
from carevisits.services import followups
from tests.browser import choose, door_path, elder_fieldset, sign_in, visit_count
from tests.clock import SHANGHAI
from tests.conftest import latest
from tests.test_browser_offline import door, with_round  # noqa: F401 (door: a fixture)

pytestmark = pytest.mark.browser


def test_added_at_the_door_then_done_from_the_round(world, door, phone):  # noqa: F811
    page, elder = phone, world.h1.elders[0]
    page.clock.set_system_time(door.clock())
    sign_in(page, door.url, world.worker)
    page.goto(door.url + door_path(world.h1))
    for e in world.h1.elders:
        choose(page, e, "met_well")
    part = elder_fieldset(page, elder)
    part.locator("details.followup-add summary").tap()
    part.locator("label.choice", has_text="复测血压").tap()
    part.locator("label.star").tap()
    with page.expect_navigation():
        page.locator("#checkin button[type=submit]").tap()
    assert latest(FollowUp).what == "复测血压"

    door.clock.advance(days=1)
    page.goto(door.url + "/round/")
    item = page.locator("#followups li", has_text="复测血压")
    expect(item).to_contain_text(elder.name)
    expect(item).to_contain_text("★")
    with page.expect_navigation():
        item.locator("button.followup-done").tap()
    expect(page.locator("#followups")).to_have_count(0)
    assert latest(FollowUp).done_by_id == world.worker.id


def test_without_signal_the_kept_door_form_shows_and_does_the_follow_up(
        world, door, phone):  # noqa: F811
    page, elder = phone, world.h1.elders[0]
    today = door.clock().astimezone(SHANGHAI).date()
    followup = followups.add(elder, followups.FollowUpInput("送药", today, important=True),
                             actor=world.worker, today=today)
    db.session.commit()
    with_round(page, door, world.worker)

    page.context.set_offline(True)
    page.goto(door.url + door_path(world.h1))
    box = elder_fieldset(page, elder).locator("label.followup")
    expect(box).to_have_text(f"★ 送药 {today.isoformat()}")
    expect(elder_fieldset(page, world.h1.elders[1]).locator("label.followup")).to_have_count(0)
    box.tap()
    for e in world.h1.elders:
        choose(page, e, "met_well")
    page.locator("#checkin button[type=submit]").tap()
    expect(page.locator(".saved-offline")).to_be_visible()
    assert latest(FollowUp).done_at is None

    door.clock.advance(minutes=30)
    page.clock.set_system_time(door.clock())
    page.context.set_offline(False)
    expect(page.locator(".queue-sent")).to_contain_text(world.h1.full_address)
    assert visit_count() == 1
    done = latest(FollowUp)
    assert done.id == followup.id and done.done_visit_id is not None
    assert abs(done.done_at - door.clock()) < timedelta(minutes=1)  # done when it arrived
