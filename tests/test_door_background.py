"""Background sends of the door form (issue 14 §1, §3): the same view answers a script in
JSON in the user's language; a visit kept on the phone counts from its time at the door up
to 72 hours back, and is refused beyond; an ended session or a household outside the area is
answered so that the phone keeps the visit and says why."""

import re
import secrets
from datetime import timedelta

import pytest

from carevisits.extensions import db
from carevisits.models import Visit
from carevisits.services.doorcodes import issue_code
from carevisits.services.visit_times import QUEUED_WINDOW
from tests import factories
from tests.conftest import count, latest, login

JSON = {"Accept": "application/json"}


def send(client, household, at, queued=True, key=None, age=None, outcome="met_well",
         **headers):
    """The form as the phone's queue sends it: every elder met, the phone's time at the door
    and (``age``) how long it waited on the phone by the phone's own clock."""
    data = {"idempotency_key": key or secrets.token_urlsafe(18), "client_time": at.isoformat(),
            **{f"e{e.id}-outcome": outcome for e in household.elders}}
    if queued:
        data["queued"] = "1"
    if age is not None:
        data["queued_age"] = str(int(age.total_seconds()))
    return client.post(f"/c/{household.code.token}", data=data, headers={**JSON, **headers})


def test_a_queued_visit_counts_from_the_door_and_is_marked_sent_late(client, world, clock):
    login(client, world.worker)
    at_the_door = clock() - timedelta(hours=70)
    key = secrets.token_urlsafe(18)
    response = send(client, world.h1, at_the_door, key=key)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.json["ok"] and response.json["sent_late"]
    visit = latest(Visit)
    assert visit.occurred_at == at_the_door and visit.sent_late and not visit.entered_late
    assert response.json["url"] == f"/visits/{visit.id}"
    again = send(client, world.h1, at_the_door, key=key)  # the phone never heard the answer
    assert again.status_code == 200 and again.json["visit"] == visit.id
    assert count(Visit) == 1


def test_a_visit_queued_beyond_72_hours_is_refused_with_a_message(client, world, clock):
    login(client, world.worker)
    response = send(client, world.h1, clock() - QUEUED_WINDOW - timedelta(minutes=1))
    assert response.status_code == 422
    assert not response.json["ok"] and "72" in response.json["error"]
    assert count(Visit) == 0


def test_a_form_sent_straight_away_is_not_held_to_the_queue_window(client, world, clock):
    login(client, world.worker)  # an ordinary save with a wild phone clock: server time
    response = send(client, world.h1, clock() - timedelta(days=5), queued=False)
    assert response.status_code == 201
    assert not latest(Visit).sent_late


def test_errors_come_back_in_the_users_language(client, world, clock):
    login(client, world.worker)
    data = {"idempotency_key": secrets.token_urlsafe(18)}  # no outcome chosen
    response = client.post(f"/c/{world.h1.code.token}", data=data, headers=JSON)
    assert response.status_code == 422 and "请选择" in response.json["error"], response.json
    assert f"{world.h1.elders[0].name}：" in response.json["error"]


@pytest.mark.parametrize("who", ["anonymous", "other_worker"])
def test_no_session_asks_to_sign_in_and_no_scope_is_refused(client, world, clock, who):
    if who == "anonymous":
        response = send(client, world.h1, clock())
        assert response.status_code == 401 and response.json["signin"]
        assert client.get("/door/session.json", headers=JSON).status_code == 401
    else:
        login(client, world.other_worker)
        response = send(client, world.h1, clock())
        assert response.status_code == 403 and "不在" in response.json["error"]
    assert count(Visit) == 0


def test_an_expired_csrf_token_asks_to_sign_in(csrf_client, world):
    client = csrf_client
    login_page = client.get("/login").get_data(as_text=True)
    assert "csrf_token" in login_page
    response = client.post(f"/c/{world.h1.code.token}", data={"x": "1"}, headers=JSON)
    assert response.status_code in (400, 401) and response.json["signin"]


def test_a_visit_kept_before_the_card_was_replaced_counts(client, world, clock):
    """Queued at the door, then the card was replaced before the phone had signal: the
    visit counts by the card it scanned; one queued after the replacement is refused."""
    old = world.h1.code
    clock.advance(hours=1)
    at_the_door = clock()
    clock.advance(hours=1)
    issue_code(world.h1)  # the coordinator printed a new card an hour after the visit
    db.session.commit()
    clock.advance(hours=1)
    world.h1.code = old
    login(client, world.worker)
    kept = send(client, world.h1, at_the_door)
    assert kept.status_code == 201 and latest(Visit).occurred_at == at_the_door
    assert latest(Visit).door_code_id == old.id
    after = send(client, world.h1, clock() - timedelta(minutes=30))
    assert after.status_code == 409 and "换" in after.json["error"]
    assert send(client, world.h1, clock(), queued=False).status_code == 409
    assert count(Visit) == 1


@pytest.mark.parametrize("phone_clock", [timedelta(days=-4), timedelta(hours=6)])
def test_a_queued_visit_is_dated_by_its_wait_whatever_the_phone_clock_says(
        client, world, clock, phone_clock):
    """A cheap phone in airplane mode cannot set its clock: days behind or hours ahead, the
    visit counts from when it was made, by how long it waited on the phone."""
    login(client, world.worker)
    waited = timedelta(minutes=40)
    response = send(client, world.h1, clock() - waited + phone_clock, age=waited)
    assert response.status_code == 201, response.json
    visit = latest(Visit)
    assert abs(visit.occurred_at - (clock() - waited)) < timedelta(seconds=5)
    assert visit.sent_late


def test_a_visit_that_waited_beyond_72_hours_is_refused_whatever_the_phone_clock(
        client, world, clock):
    login(client, world.worker)
    response = send(client, world.h1, clock(), age=QUEUED_WINDOW + timedelta(minutes=1))
    assert response.status_code == 422 and "72" in response.json["error"]
    assert count(Visit) == 0


def test_a_resend_of_a_recorded_visit_is_ok_after_the_household_closed(client, world, clock):
    """The phone gave up waiting for the answer while the server recorded the visit; by
    the time it sends again the household was closed: the visit is there, so it is sent."""
    login(client, world.worker)
    key = secrets.token_urlsafe(18)
    first = send(client, world.h1, clock(), key=key, age=timedelta(minutes=1))
    assert first.status_code == 201
    db.session.rollback()  # this session's reads began before the visit was written
    world.h1.closed_at = clock()
    db.session.commit()
    again = send(client, world.h1, clock(), key=key, age=timedelta(minutes=2))
    assert again.status_code == 200 and again.json["ok"]
    assert again.json["visit"] == first.json["visit"] and count(Visit) == 1


def test_the_same_key_with_other_answers_is_refused_not_dropped(client, world, clock):
    login(client, world.worker)
    key = secrets.token_urlsafe(18)
    assert send(client, world.h1, clock(), key=key).status_code == 201
    other = send(client, world.h1, clock(), key=key, outcome="met_concern")
    assert other.status_code == 422 and "更正" in other.json["error"]
    assert {r.outcome.value for r in latest(Visit).records} == {"met_well"}
    assert count(Visit) == 1


def test_a_stale_csrf_token_with_a_live_session_is_sent_again(csrf_client, world):
    client = csrf_client
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"username": "worker", "password": factories.PASSWORD,
                                       "csrf_token": token}).status_code == 302
    response = client.post(f"/c/{world.h1.code.token}", data={"csrf_token": "stale"},
                           headers=JSON)
    assert response.status_code == 400 and response.json["retry"]
    assert "signin" not in response.json
    fresh = client.get("/door/session.json", headers=JSON)
    assert fresh.status_code == 200 and fresh.json["csrf"]
