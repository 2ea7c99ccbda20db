"""Issue 26 item 3: what a visit sets off lives in one place (services/visit_effects.py), so
that a corrected or voided visit leaves the elder, the schedule and every alert where a fresh
recording of the final values (or no visit at all) would put them."""

import json
import secrets
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from carevisits.extensions import db
from carevisits.models import (
    Alert,
    AlertEvent,
    AlertKind,
    AlertLevel,
    AlertStatus,
    CareLevel,
    Elder,
    FamilyLink,
    Notification,
    Outcome,
    RequestClass,
    RequestStatus,
    Role,
    ServiceRequest,
    VisitMethod,
)
from carevisits.services import alerts, checkin, corrections, phone_calls, schedule
from tests import factories
from tests.clock import SHANGHAI
from tests.conftest import login
from tests.integration_world import api_key
from tests.test_corrections import correct, fresh, scene, signed_in, visit

ABNORMAL_ZH = "alert-calm"  # the family page's calm note of an abnormal-readings alert
T0 = datetime(2026, 11, 16, 8, 0, tzinfo=SHANGHAI)  # the elders come on the list
VISITED = T0 + timedelta(days=3)  # the visit that is recorded, corrected, voided


def test_a_reading_corrected_to_normal_closes_the_abnormal_alert_the_family_saw(app, clock):
    w = scene()
    relative = factories.user(Role.FAMILY, username="relative")
    db.session.add(FamilyLink(user=relative, elder=w.elder, relation="女儿"))
    db.session.commit()
    visit_id = visit(w, systolic=182, diastolic=108)
    alert_id = db.session.scalar(select(Alert.id).where(Alert.kind == AlertKind.ABNORMAL))
    family = app.test_client()
    assert login(family, relative).status_code == 302
    assert ABNORMAL_ZH in family.get(f"/family/elders/{w.elder.id}").get_data(as_text=True)

    response = correct(signed_in(app, w.worker), visit_id, w.elder, systolic=150, diastolic=95)
    assert response.status_code == 302, response.get_data(as_text=True)
    alert = fresh(Alert, alert_id)
    assert alert.status == AlertStatus.RESOLVED and alert.resolved_by_visit_id == visit_id
    resolved = db.session.scalar(select(AlertEvent).where(AlertEvent.alert_id == alert_id,
                                                          AlertEvent.action == "resolved"))
    assert "更正" in resolved.note and "182/108 → 150/95" in resolved.note, resolved.note
    assert ABNORMAL_ZH not in family.get(f"/family/elders/{w.elder.id}").get_data(as_text=True)


# --- record → correct → void, against a fresh recording ---------------------------------

def pinned_scene(care_level):
    """A scene whose elder is on the list since T0 exactly, so that twins compare equal."""
    w = scene(care_level)
    w.household.created_at = w.elder.created_at = T0
    schedule.refresh([w.elder])
    db.session.commit()
    return w


def record(w, at, outcome, **readings) -> int:
    """A visit at the door at ``at`` exactly (entered afterwards), committed."""
    recorded, _ = checkin.record_visit(
        visitor=w.worker, household=w.household, method=VisitMethod.SCANNED,
        records=[checkin.ElderRecordInput(w.elder.id, Outcome(outcome), **readings)],
        idempotency_key=secrets.token_urlsafe(18), door_code=w.household.code, visited_at=at)
    db.session.commit()
    return recorded.id


def where_it_ends(w, now) -> dict:
    """The elder, the schedule and the open alerts after the overdue scan at ``now``."""
    alerts.scan_overdue(now)
    db.session.commit()
    elder = fresh(Elder, w.elder.id)
    return {"last contact": elder.last_contact_at, "due": elder.due_at,
            "overdue": elder.overdue_at, "state": schedule.state(elder, now),
            "open alerts": sorted((a.kind.value, a.level.value, a.opened_at) for a in
                                  db.session.scalars(select(Alert).where(
                                      Alert.elder_id == elder.id,
                                      Alert.status != AlertStatus.RESOLVED)))}


def overdue_scan(*worlds):
    """The scan finds the elders overdue a day after they came on the list."""
    alerts.scan_overdue(T0 + timedelta(days=1))
    db.session.commit()


def earlier_knock(*worlds):
    """Nobody opened the door the day before."""
    for w in worlds:
        record(w, VISITED - timedelta(days=1), "no_answer")


def missed_checkin(*worlds):
    """The elder's own daily check-in did not come the morning before."""
    for w in worlds:
        alerts.raise_alert(w.elder, AlertKind.MISSED_CHECKIN, AlertLevel.WARNING, {},
                           at=VISITED - timedelta(hours=20))
    db.session.commit()


def nothing(*worlds):
    """No history."""


CASES = {  # care level, history, (outcome, readings) recorded, then corrected to
    "182/108 corrected to 150/95": (
        CareLevel.GENERAL, nothing, ("met_well", {"systolic": 182, "diastolic": 108}),
        ("met_well", {"systolic": 150, "diastolic": 95})),
    "150/95 corrected to 182/108": (
        CareLevel.GENERAL, overdue_scan, ("met_well", {"systolic": 150, "diastolic": 95}),
        ("met_concern", {"systolic": 182, "diastolic": 108})),
    "met corrected to no answer, overdue": (
        CareLevel.KEY, overdue_scan, ("met_well", {}), ("no_answer", {})),
    "no answer corrected to met, overdue": (
        CareLevel.KEY, overdue_scan, ("no_answer", {}), ("met_well", {"pulse": 130})),
    "no answer corrected to not at home": (
        CareLevel.GENERAL, nothing, ("no_answer", {}), ("not_at_home", {})),
    "met after a knock corrected to not at home": (
        CareLevel.FOCUS, earlier_knock, ("met_well", {}), ("not_at_home", {})),
    "met after a missed check-in corrected to refused": (
        CareLevel.GENERAL, missed_checkin, ("met_concern", {}), ("refused", {})),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_record_correct_void_ends_where_a_fresh_recording_would(app, clock, case):
    care_level, history, (outcome, readings), (final, final_readings) = CASES[case]
    clock.set(T0)
    changed, fresh_final, never = (pinned_scene(care_level) for _ in range(3))
    clock.set(VISITED + timedelta(minutes=20))
    history(changed, fresh_final, never)
    visit_id = record(changed, VISITED, outcome, **readings)
    record(fresh_final, VISITED, final, **final_readings)
    now = VISITED + timedelta(hours=1)
    clock.set(now)

    client = signed_in(app, changed.coordinator)
    response = correct(client, visit_id, changed.elder, final, **final_readings)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert where_it_ends(changed, now) == where_it_ends(fresh_final, now)

    response = client.post(f"/visits/{visit_id}/void", data={"reason": "记错了老人"})
    assert response.status_code == 302
    assert where_it_ends(changed, now) == where_it_ends(never, now)


def test_every_case_ends_somewhere_else_than_where_it_started(app, clock):
    """The cases above change something: the original recording and the final one differ
    in the elder, the schedule or the open alerts (else the comparison proves nothing)."""
    clock.set(T0)
    worlds = {case: (pinned_scene(level), pinned_scene(level))
              for case, (level, *_rest) in CASES.items()}
    clock.set(VISITED + timedelta(minutes=20))
    now = VISITED + timedelta(hours=1)
    for case, (_level, history, (outcome, readings), (final, final_readings)) in CASES.items():
        first, second = worlds[case]
        history(first, second)
        record(first, VISITED, outcome, **readings)
        record(second, VISITED, final, **final_readings)
    clock.set(now)
    for case, (first, second) in worlds.items():
        assert where_it_ends(first, now) != where_it_ends(second, now), case


# --- late is schedule.state ---------------------------------------------------------------

def test_a_void_reopens_no_overdue_alert_for_an_elder_paused_since(app, clock):
    clock.set(T0)
    w = pinned_scene(CareLevel.KEY)
    overdue_scan(w)
    clock.set(VISITED + timedelta(minutes=20))
    visit_id = record(w, VISITED, "met_well")
    overdue = db.session.scalar(select(Alert).where(Alert.kind == AlertKind.OVERDUE))
    assert overdue.status == AlertStatus.RESOLVED
    schedule.pause(fresh(Elder, w.elder.id), reason="住院", expected_end=date(2026, 12, 1),
                   actor=w.coordinator, today=date(2026, 11, 19))
    db.session.commit()
    clock.advance(days=2)  # without the visit the elder would be late, but is in hospital
    corrections.void_visit(fresh(checkin.Visit, visit_id), fresh(type(w.coordinator),
                                                                 w.coordinator.id), "记错了老人")
    db.session.commit()
    assert fresh(Alert, overdue.id).status == AlertStatus.RESOLVED
    assert schedule.state(fresh(Elder, w.elder.id), clock()) == schedule.State.PAUSED


@pytest.mark.parametrize(("care_level", "answered"), [(CareLevel.KEY, False),
                                                      (CareLevel.GENERAL, True)])
def test_a_call_corrected_to_reached_answers_the_overdue_alert_only_where_calls_count(
        app, clock, care_level, answered):
    clock.set(T0)
    w = pinned_scene(care_level)
    overdue_scan(w)
    clock.set(VISITED)
    call, counted = phone_calls.record_phone_call(
        caller=w.worker, elder=w.elder, outcome=Outcome.NO_ANSWER, notes="",
        idempotency_key=secrets.token_urlsafe(18))
    db.session.commit()
    assert not counted
    response = correct(signed_in(app, w.coordinator), call.id, w.elder, "met_well")
    assert response.status_code == 302, response.get_data(as_text=True)
    elder = fresh(Elder, w.elder.id)
    overdue = db.session.scalar(select(Alert).where(Alert.kind == AlertKind.OVERDUE))
    assert (overdue.status == AlertStatus.RESOLVED) is answered
    assert (elder.last_contact_at is not None) is answered  # the street's phone policy


# --- requests and integrations --------------------------------------------------------------

def test_a_request_raised_at_a_voided_visit_stays_open_with_a_note_for_its_owner(app, clock):
    w = scene()
    recorded, _ = checkin.record_visit(
        visitor=w.worker, household=w.household, method=VisitMethod.SCANNED,
        idempotency_key=secrets.token_urlsafe(18), door_code=w.household.code,
        records=[checkin.ElderRecordInput(
            w.elder.id, Outcome.MET_CONCERN, request=checkin.RequestInput(
                "生活照料", "换灯泡", RequestClass.SMALL))])
    db.session.commit()
    response = signed_in(app, w.worker).post(f"/visits/{recorded.id}/void",
                                             data={"reason": "扫错了门卡"})
    assert response.status_code == 302
    db.session.rollback()
    request = db.session.scalar(select(ServiceRequest).where(
        ServiceRequest.visit_id == recorded.id))
    assert request.status == RequestStatus.OPEN
    assert "扫错了门卡" in request.events[-1].note


def test_integrations_hear_a_visit_recorded_corrected_and_voided(app, clock):
    w = scene()
    key = api_key("平台", street=w.household.grid.community.street,
                  webhook_url="https://hooks.example.org/cv")
    db.session.commit()
    visit_id = visit(w)
    client = signed_in(app, w.worker)
    assert correct(client, visit_id, w.elder, "met_concern").status_code == 302
    assert client.post(f"/visits/{visit_id}/void", data={"reason": "重复"}).status_code == 302
    db.session.rollback()
    sent = [json.loads(n.text) for n in db.session.scalars(
        select(Notification).where(Notification.api_key_id == key.id,
                                   Notification.event.like("visit.%"))
        .order_by(Notification.id))]
    assert [(e["event"], e["data"]["visit_id"], e["data"]["outcome"]) for e in sent] == [
        ("visit.recorded", visit_id, "met_well"), ("visit.corrected", visit_id, "met_concern"),
        ("visit.voided", visit_id, "met_concern")]
