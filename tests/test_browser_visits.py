"""A wrong visit put right on a phone (issue 11 item 6): the worker records a visit, opens
it, corrects an outcome, and the elder's history shows the correction — CSRF on, in
Debian's chromium on a phone-sized screen."""

import re

import pytest
from sqlalchemy import select

from carevisits.extensions import db
from carevisits.models import Outcome, VisitCorrection, VisitRecord
from tests.browser import choose, door_path, no_horizontal_scroll, sign_in

pytestmark = pytest.mark.browser


def test_worker_corrects_an_outcome_and_the_history_shows_it(world, live_server, phone):
    page = phone
    first, second = world.h1.elders
    sign_in(page, live_server, world.worker)
    page.goto(live_server + door_path(world.h1))
    choose(page, first, "met_well")
    choose(page, second, "met_well")
    with page.expect_navigation():
        page.locator("#checkin button[type=submit]").tap()
    assert re.search(r"/visits/\d+$", page.url), page.url

    # Nobody opened for the second elder, who is away: put it right.
    with page.expect_navigation():
        page.get_by_role("link", name="更正这次探访").tap()
    assert page.url.endswith("/correct")
    no_horizontal_scroll(page)
    choose(page, second, "not_at_home")
    page.locator("input[name=reason]").fill("点错了：老人去女儿家了")
    with page.expect_navigation():
        page.locator("form.checkin button[type=submit]").tap()
    assert re.search(r"/visits/\d+$", page.url), page.url
    assert "探访已更正" in page.content()
    assert "已更正" in page.locator("section.card", has_text="已更正").first.inner_text()

    page.goto(f"{live_server}/elders/{second.id}")
    latest = page.locator("ul.visits li").first
    text = latest.inner_text()
    assert "已更正" in text and "外出" in text, text
    no_horizontal_scroll(page)

    db.session.rollback()
    outcome = db.session.scalar(select(VisitRecord.outcome)
                                .where(VisitRecord.elder_id == second.id))
    assert outcome == Outcome.NOT_AT_HOME
    kept = db.session.scalar(select(VisitCorrection))
    assert kept.changes == {str(second.id): {"outcome": ["met_well", "not_at_home"]}}
    assert kept.reason == "点错了：老人去女儿家了"
