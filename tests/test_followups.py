"""Follow-ups (issue 26, item 8): added at the door, on the worker's round from their day
until done, done in one tap at the next visit or from the round, overdue ones on the
grid worker's page and the coordinator's dashboard, in the pack for the offline door; seen
by staff in scope only."""

import re
import secrets
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from carevisits.extensions import db
from carevisits.models import AuditEvent, FollowUp, Role
from carevisits.services import followups
from tests import factories
from tests.clock import SHANGHAI
from tests.conftest import count, latest, login

# A Wednesday morning in Shanghai; the follow-ups below are for Thursday.
WEDNESDAY = datetime(2026, 11, 18, 9, 30, tzinfo=SHANGHAI)
THURSDAY = date(2026, 11, 19)


def door_post(client, household, *, key=None, **fields):
    """The door form of ``household`` sent with every elder met and ``fields`` beside."""
    return client.post(f"/c/{household.code.token}", data={
        "idempotency_key": key or secrets.token_urlsafe(18),
        **{f"e{e.id}-outcome": "met_well" for e in household.elders}, **fields})


def round_followups(client) -> str:
    """The round's follow-up section as text ('' when it has none)."""
    body = client.get("/round/").get_data(as_text=True)
    found = re.search(r'<section class="card followups" id="followups">(.*?)</section>', body,
                      re.S)
    return found.group(1) if found else ""


@pytest.fixture
def wednesday(clock):
    """The app's clock at WEDNESDAY (and the test moves it on from there)."""
    clock.set(WEDNESDAY)
    return clock


def test_added_at_the_door_on_the_round_its_day_and_done_at_the_next_visit(
        client, world, wednesday):
    elder, other = world.h1.elders
    login(client, world.worker)
    form = client.get(f"/c/{world.h1.code.token}").get_data(as_text=True)
    assert f'name="e{elder.id}-fu-what"' in form and "复测血压" in form  # offered at the door

    answer = door_post(client, world.h1, **{f"e{elder.id}-fu-what": "复测血压",
                                            f"e{elder.id}-fu-when": "tomorrow",
                                            f"e{elder.id}-fu-star": "1"})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    followup = latest(FollowUp)
    visit_id = int(answer.location.rsplit("/", 1)[1])
    assert (followup.elder_id, followup.what, followup.due_on, followup.important,
            followup.created_visit_id, followup.created_by_id) == (
        elder.id, "复测血压", THURSDAY, True, visit_id, world.worker.id)
    assert count(FollowUp) == 1  # nothing for the elder it was not written for
    assert round_followups(client) == ""  # Wednesday: not yet

    wednesday.advance(days=1)
    today = round_followups(client)
    assert "复测血压" in today and elder.name in today and "★" in today
    assert other.name not in today
    form = client.get(f"/c/{world.h1.code.token}").get_data(as_text=True)
    assert f'name="e{elder.id}-fu-done" value="{followup.id}"' in form

    answer = door_post(client, world.h1, **{f"e{elder.id}-fu-done": str(followup.id)})
    assert answer.status_code == 302
    done = latest(FollowUp)
    assert done.done_by_id == world.worker.id
    assert done.done_visit_id == int(answer.location.rsplit("/", 1)[1]) != visit_id
    assert round_followups(client) == ""
    assert f'name="e{elder.id}-fu-done"' not in client.get(
        f"/c/{world.h1.code.token}").get_data(as_text=True)
    db.session.rollback()
    assert [e.action for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.action.like("followup.%")).order_by(AuditEvent.id))] == [
        "followup.create", "followup.done"]


def test_a_form_sent_twice_adds_one_follow_up_and_a_bad_one_saves_nothing(
        client, world, wednesday):
    elder = world.h1.elders[0]
    login(client, world.worker)
    fields = {f"e{elder.id}-fu-text": "帮忙联系社区医生", f"e{elder.id}-fu-when": "days",
              f"e{elder.id}-fu-days": "3"}
    key = secrets.token_urlsafe(18)
    assert door_post(client, world.h1, key=key, **fields).status_code == 302
    assert door_post(client, world.h1, key=key, **fields).status_code == 302  # resent
    assert count(FollowUp) == 1
    assert latest(FollowUp).due_on == date(2026, 11, 21)

    visits = count(AuditEvent, AuditEvent.action == "visit.create")
    refused = door_post(client, world.h1, **{f"e{elder.id}-fu-what": "送药",
                                             f"e{elder.id}-fu-when": "date",
                                             f"e{elder.id}-fu-date": "2026-11-17"})
    assert refused.status_code == 422
    assert "随访日期须为今天或以后" in refused.get_data(as_text=True)
    assert count(FollowUp) == 1
    assert count(AuditEvent, AuditEvent.action == "visit.create") == visits


def test_done_from_the_round_in_one_tap(client, world, wednesday):
    elder = world.h1.elders[0]
    followup = followups.add(elder, followups.FollowUpInput("送药", THURSDAY),
                             actor=world.worker, today=WEDNESDAY.date())
    db.session.commit()
    wednesday.advance(days=1)
    login(client, world.worker)
    body = client.get("/round/").get_data(as_text=True)
    assert f'action="/round/followups/{followup.id}/done?back=round"' in body

    answer = client.post(f"/round/followups/{followup.id}/done?back=round")
    assert answer.status_code == 302 and answer.location.endswith("/round/")
    assert latest(FollowUp).done_at is not None and latest(FollowUp).done_visit_id is None
    assert round_followups(client) == ""
    assert client.post(f"/round/followups/{followup.id}/done").status_code == 302  # again
    assert count(AuditEvent, AuditEvent.action == "followup.done") == 1


def test_overdue_on_the_worker_page_and_the_dashboard_in_scope(client, world, wednesday):
    elder = world.h1.elders[0]
    followups.add(elder, followups.FollowUpInput("复测血压", THURSDAY, important=True),
                  actor=world.worker, today=WEDNESDAY.date())
    db.session.commit()
    login(client, world.coordinator)
    wednesday.advance(days=1)  # its day: not overdue yet
    assert '<strong class="followups-overdue">0</strong>' in client.get(
        "/coordinator/").get_data(as_text=True)

    wednesday.advance(days=2)  # Saturday: two days past
    board = client.get("/coordinator/").get_data(as_text=True)
    assert '<strong class="followups-overdue">1</strong>' in board
    panel = board.split('id="followups-panel"')[1].split("</section>")[0]
    assert "复测血压" in panel and elder.name in panel and "逾期2天" in panel
    page = client.get(f"/coordinator/workers/{world.worker.id}").get_data(as_text=True)
    section = page.split('id="followups-overdue"')[1].split("</section>")[0]
    assert "复测血压" in section and elder.name in section
    # Not the neighbouring grid's worker's; not another street's coordinator's.
    page = client.get(f"/coordinator/workers/{world.other_worker.id}").get_data(as_text=True)
    assert "复测血压" not in page.split('id="followups-overdue"')[1].split("</section>")[0]
    elsewhere = factories.user(Role.COORDINATOR, street=world.streets[1])
    db.session.commit()
    login(client, elsewhere)
    assert '<strong class="followups-overdue">0</strong>' in client.get(
        "/coordinator/").get_data(as_text=True)
    # The worker's own round shows it, overdue, at the top.
    login(client, world.worker)
    assert "逾期2天" in round_followups(client)


def test_only_staff_in_scope_see_or_do_follow_ups(client, world, wednesday):
    elder = world.h1.elders[0]
    followup = followups.add(elder, followups.FollowUpInput("联系家属", WEDNESDAY.date()),
                             actor=world.worker, today=WEDNESDAY.date())
    db.session.commit()
    login(client, world.other_worker)
    assert round_followups(client) == ""
    assert client.post(f"/round/followups/{followup.id}/done").status_code == 404
    for outsider in (world.family, world.volunteer):
        login(client, outsider)
        assert client.post(f"/round/followups/{followup.id}/done").status_code == 403
    assert latest(FollowUp).done_at is None
    assert followups.open_in_scope(world.volunteer) == {}
    assert followups.open_for_elders(world.family, [elder]) == {}

    login(client, world.community_coordinator)  # community 甲 holds grid 一
    assert "联系家属" in round_followups(client)
    assert "联系家属" in client.get(f"/elders/{elder.id}").get_data(as_text=True)


def test_the_round_pack_carries_the_open_follow_ups(client, world, wednesday):
    elder = world.h1.elders[0]
    followup = followups.add(elder, followups.FollowUpInput("复测血压", THURSDAY, important=True),
                             actor=world.worker, today=WEDNESDAY.date())
    done = followups.add(elder, followups.FollowUpInput("送药", THURSDAY),
                         actor=world.worker, today=WEDNESDAY.date())
    followups.mark_done(done, actor=world.worker, now=WEDNESDAY)
    db.session.commit()
    login(client, world.worker)
    [household] = client.get("/round/pack.json").json["households"]
    packed = {e["id"]: e["followups"] for e in household["elders"]}
    assert packed[elder.id] == [{"id": followup.id, "what": "复测血压",
                                 "due_on": THURSDAY.isoformat(), "important": True}]
    assert packed[world.h1.elders[1].id] == []


def test_a_follow_up_is_for_today_or_a_later_day_within_a_year():
    today = date(2026, 11, 18)
    assert followups.due_on(today) == today + timedelta(days=1)
    assert followups.due_on(today, days=0) == today
    assert followups.due_on(today, on=date(2027, 11, 18)) == date(2027, 11, 18)
    for bad in ({"days": -1}, {"on": date(2027, 11, 19)}):
        with pytest.raises(followups.FollowUpError):
            followups.due_on(today, **bad)
