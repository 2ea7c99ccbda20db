"""A visit recorded by the household number on a phone that has no round pack for that
household (issue 26 §6): the phone knows no elder there, so it sends one outcome and one
note "for everyone registered at this door"; the server checks the number and the area when
the visit arrives, records that outcome for each elder on the register, and refuses it, with
a reason the phone keeps, for a household that is not the visitor's."""

import secrets
from datetime import timedelta

from carevisits.extensions import db
from carevisits.models import Delivery, Outcome, Visit, VisitMethod
from carevisits.scan.background import NOT_IN_SCOPE
from tests.conftest import count, latest, login

JSON = {"Accept": "application/json"}
REASON = "门卡不在手机上的巡访包里（无网络）"


def send_for_everyone(client, household, at, key=None, outcome="met_well", notes="",
                      **extra):
    """What the phone's queue sends for a door it had no pack for: the typed number in the
    address, one outcome and note for everyone, the reason, its time at the door."""
    data = {"idempotency_key": key or secrets.token_urlsafe(18),
            "client_time": at.isoformat(), "queued": "1", "queued_age": "600",
            "reason": REASON, "everyone-outcome": outcome, "everyone-notes": notes, **extra}
    return client.post(f"/visit/{household.number}", data=data, headers=JSON)


def test_one_outcome_is_recorded_for_each_elder_on_the_register(client, world, clock):
    login(client, world.worker)
    first, second = world.h1.elders
    response = send_for_everyone(client, world.h1, clock(), notes="两位都在家，精神好")
    assert response.status_code == 201, response.get_data(as_text=True)
    visit = latest(Visit)
    assert visit.household_id == world.h1.id and visit.method == VisitMethod.MANUAL
    assert visit.manual_reason == REASON and visit.door_code is None
    assert sorted((r.elder_id, r.outcome, r.notes) for r in visit.records) == sorted(
        [(first.id, Outcome.MET_WELL, "两位都在家，精神好"),
         (second.id, Outcome.MET_WELL, "两位都在家，精神好")])
    db.session.refresh(first)
    assert first.last_contact_at is not None  # a contact, as from the household's own form


def test_sent_again_it_is_the_same_visit_even_after_the_household_left_the_area(
        client, world, clock):
    login(client, world.worker)
    key = secrets.token_urlsafe(18)
    assert send_for_everyone(client, world.h1, clock(), key=key).status_code == 201
    world.h1.grid = world.grids[1]  # moved to a colleague's grid before the answer came
    db.session.commit()
    again = send_for_everyone(client, world.h1, clock(), key=key)
    assert again.status_code == 200 and again.json["ok"]
    assert count(Visit) == 1
    other = send_for_everyone(client, world.h1, clock(), key=key, outcome="no_answer")
    # Other answers under that key are no resend: the area is checked, and it has moved.
    assert other.status_code == 403
    assert count(Visit) == 1


def test_a_household_outside_the_visitors_area_is_refused_with_its_reason(client, world,
                                                                          clock):
    login(client, world.worker)
    response = send_for_everyone(client, world.h2, clock())  # a colleague's grid
    assert response.status_code == 403
    assert not response.json["ok"] and response.json["error"] == str(NOT_IN_SCOPE)
    assert count(Visit) == 0


def test_nothing_is_recorded_for_one_elder_that_was_not_chosen_for_everyone(client, world,
                                                                            clock):
    """Readings, services or another outcome sent for one elder beside the one outcome for
    everyone are not the visitor's choice for everyone: dropped, never recorded."""
    login(client, world.worker)
    first, second = world.h1.elders
    response = send_for_everyone(client, world.h1, clock(), outcome="no_answer", **{
        f"e{first.id}-outcome": "met_well", f"e{first.id}-systolic": "150",
        f"e{first.id}-diastolic": "90", f"e{second.id}-svc": "1"})
    assert response.status_code == 201, response.get_data(as_text=True)
    visit = latest(Visit)
    assert {r.outcome for r in visit.records} == {Outcome.NO_ANSWER}
    assert all(r.systolic is None for r in visit.records)
    assert count(Delivery) == 0


def test_an_outcome_that_is_none_of_the_buttons_is_refused_at_arrival(client, world, clock):
    login(client, world.worker)
    response = send_for_everyone(client, world.h1, clock() - timedelta(minutes=5),
                                 outcome="maybe")
    assert response.status_code == 422
    assert not response.json["ok"] and world.h1.elders[0].name in response.json["error"]
    assert count(Visit) == 0


def test_a_volunteer_outside_any_roster_of_the_household_is_refused(client, world, clock):
    login(client, world.volunteer)
    response = send_for_everyone(client, world.h1, clock())
    assert response.status_code == 403
    assert count(Visit) == 0
