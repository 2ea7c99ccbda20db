"""Issue 11 item 6: a wrong visit is corrected or voided (the old values kept, the schedule
and the alerts following), and a visit can be recorded late."""

import secrets
from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import select

from carevisits.extensions import db
from carevisits.models import (
    Alert,
    AlertEvent,
    AlertKind,
    AlertStatus,
    AuditEvent,
    CareLevel,
    Delivery,
    Elder,
    Frequency,
    Outcome,
    Role,
    ServiceItem,
    Visit,
    VisitMethod,
)
from carevisits.models.base import utcnow
from carevisits.services import alerts, checkin, menus
from tests import factories
from tests.clock import SHANGHAI
from tests.conftest import login

VOIDED_ZH = "已作废"
CORRECTED_ZH = "已更正"
LATE_ZH = "补录"


def scene(care_level=CareLevel.GENERAL):
    """A street of its own: one household of one elder, its worker, a colleague of the same
    grid and the street's coordinator."""
    s = factories.street()
    g = factories.grid(factories.community(s))
    h = factories.household(g, care_level=care_level)
    w = SimpleNamespace(household=h, elder=h.elders[0],
                        worker=factories.user(Role.GRID_WORKER, grid=g),
                        colleague=factories.user(Role.GRID_WORKER, grid=g),
                        coordinator=factories.user(Role.COORDINATOR, street=s))
    db.session.commit()
    return w


def visit(w, outcome=Outcome.MET_WELL, visitor=None, at=None, **readings):
    """A visit through the check-in service, committed."""
    recorded, _ = checkin.record_visit(
        visitor=visitor or w.worker, household=w.household,
        records=[checkin.ElderRecordInput(w.elder.id, Outcome(outcome), **readings)],
        idempotency_key=secrets.token_urlsafe(18), method=VisitMethod.SCANNED,
        door_code=w.household.code, client_time=at)
    db.session.commit()
    return recorded.id


def fresh(model, id_):
    db.session.rollback()
    return db.session.get(model, id_)


def signed_in(app, user):
    client = app.test_client()
    assert login(client, user).status_code == 302
    return client


def correct(client, visit_id, elder, outcome="met_well", **fields):
    data = {f"e{elder.id}-outcome": outcome, **{f"e{elder.id}-{k}": str(v)
                                                  for k, v in fields.items()}}
    return client.post(f"/visits/{visit_id}/correct", data=data)


# --- correcting ------------------------------------------------------------------------

def test_the_visitor_corrects_an_outcome_the_old_value_is_kept_and_the_schedule_follows(
        app, clock):
    w = scene()
    first = visit(w, at=utcnow() - timedelta(days=3))
    second = visit(w)  # tapped "met" by mistake: nobody was home
    assert fresh(Elder, w.elder.id).last_contact_at == fresh(Visit, second).occurred_at
    client = signed_in(app, w.worker)
    page = client.get(f"/visits/{second}").get_data(as_text=True)
    assert f"/visits/{second}/correct" in page and f"/visits/{second}/void" in page
    response = correct(client, second, w.elder, "not_at_home")
    assert response.status_code == 302, response.get_data(as_text=True)
    elder, old = fresh(Elder, w.elder.id), fresh(Visit, first)
    assert elder.last_contact_at == old.occurred_at  # recounted from the visits that count
    assert elder.due_at == old.occurred_at + timedelta(days=7)
    fixed = fresh(Visit, second)
    assert fixed.records[0].outcome == Outcome.NOT_AT_HOME and fixed.corrected_at is not None
    (kept,) = fixed.corrections
    assert kept.action == "correct" and kept.actor_id == w.worker.id
    assert kept.changes == {str(w.elder.id): {"outcome": ["met_well", "not_at_home"]}}
    shown = client.get(f"/visits/{second}").get_data(as_text=True)
    assert f"{w.elder.name} · 探访情况: 见到，一切正常 → 外出（已知）" in shown
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "visit.correct",
                                                      AuditEvent.subject_id == second))
    history = signed_in(app, w.coordinator).get(f"/elders/{w.elder.id}").get_data(as_text=True)
    assert CORRECTED_ZH in history


def test_only_the_visitor_within_a_day_and_coordinators_may_change_a_visit(app, clock):
    w = scene()
    visit_id = visit(w)
    assert correct(signed_in(app, w.colleague), visit_id, w.elder).status_code == 403
    clock.advance(hours=25)
    worker = signed_in(app, w.worker)
    assert f"/visits/{visit_id}/correct" not in worker.get(f"/visits/{visit_id}").get_data(
        as_text=True)
    assert correct(worker, visit_id, w.elder, "no_answer").status_code == 403
    assert worker.post(f"/visits/{visit_id}/void", data={"reason": "x"}).status_code == 403
    response = correct(signed_in(app, w.coordinator), visit_id, w.elder, "met_concern")
    assert response.status_code == 302
    assert fresh(Visit, visit_id).records[0].outcome == Outcome.MET_CONCERN


def test_readings_corrected_but_still_abnormal_keep_their_alert_with_a_note(app, clock):
    # Corrected to normal readings, the alert is resolved (tests/test_visit_effects.py).
    w = scene()
    visit_id = visit(w, systolic=178, diastolic=104)
    alert = db.session.scalar(select(Alert).where(Alert.kind == AlertKind.ABNORMAL))
    response = correct(signed_in(app, w.worker), visit_id, w.elder, systolic=168,
                       diastolic=98)
    assert response.status_code == 302
    alert = fresh(Alert, alert.id)
    assert alert.status == AlertStatus.OPEN  # a person closes it, now knowing why
    assert alert.details["systolic"] == 168 and alert.details["diastolic"] == 98
    note = db.session.scalar(select(AlertEvent).where(AlertEvent.alert_id == alert.id,
                                                      AlertEvent.action == "note"))
    assert "178/104" in note.note and "168/98" in note.note


def test_services_delivered_are_corrected_and_the_old_ones_kept(app, clock):
    w = scene()
    menus.seed_catalogue()
    bp_item, bath = (db.session.scalar(select(ServiceItem).where(ServiceItem.name == n))
                     for n in ("量血压", "助洁"))
    for item in (bp_item, bath):
        menus.add_to_menu(w.elder, item=item, frequency=Frequency.EVERY_VISIT, notes="",
                          starts_on=utcnow().date() - timedelta(days=1), ends_on=None,
                          actor=w.coordinator)
    recorded, _ = checkin.record_visit(
        visitor=w.worker, household=w.household, method=VisitMethod.SCANNED,
        idempotency_key=secrets.token_urlsafe(18), door_code=w.household.code,
        records=[checkin.ElderRecordInput(w.elder.id, Outcome.MET_WELL,
                                          deliveries=[menus.DeliveryInput(bp_item.id)])])
    db.session.commit()
    client = signed_in(app, w.worker)
    response = client.post(f"/visits/{recorded.id}/correct", data={
        f"e{w.elder.id}-outcome": "met_well", f"e{w.elder.id}-svc": str(bath.id),
        f"e{w.elder.id}-qty-{bath.id}": "2"})
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.rollback()
    given = db.session.scalars(select(Delivery).where(Delivery.visit_id == recorded.id)).all()
    assert [(d.item_id, d.quantity) for d in given] == [(bath.id, 2)]
    (kept,) = fresh(Visit, recorded.id).corrections
    assert kept.changes[str(w.elder.id)]["services"] == [{"量血压": 1}, {"助洁": 2}]


def test_a_correction_is_refused_at_its_field_when_readings_are_given_for_an_absent_elder(
        app, clock):
    w = scene()
    visit_id = visit(w)
    response = correct(signed_in(app, w.worker), visit_id, w.elder, "no_answer", systolic=130,
                       diastolic=80)
    assert response.status_code == 422
    assert fresh(Visit, visit_id).records[0].outcome == Outcome.MET_WELL


# --- voiding ---------------------------------------------------------------------------

def test_a_voided_visit_reopens_the_no_answer_alert_it_resolved_and_stays_struck_through(
        app, clock):
    w = scene(CareLevel.KEY)
    visit(w, Outcome.NO_ANSWER)
    alert = db.session.scalar(select(Alert).where(Alert.kind == AlertKind.NO_ANSWER))
    clock.advance(minutes=30)
    wrong = visit(w)  # the wrong door's card: this elder was not seen
    assert fresh(Alert, alert.id).status == AlertStatus.RESOLVED
    client = signed_in(app, w.worker)
    assert client.post(f"/visits/{wrong}/void", data={"reason": ""}).status_code == 422
    response = client.post(f"/visits/{wrong}/void", data={"reason": "扫错了门卡"})
    assert response.status_code == 302
    alert = fresh(Alert, alert.id)
    assert alert.status == AlertStatus.OPEN and alert.resolved_by_visit_id is None
    assert [e.action for e in alert.events][-2:] == ["resolved", "reopened"]
    gone = fresh(Visit, wrong)
    assert gone.voided_at is not None and gone.void_reason == "扫错了门卡"
    assert fresh(Elder, w.elder.id).last_contact_at is None  # never really seen
    history = signed_in(app, w.coordinator).get(f"/elders/{w.elder.id}").get_data(as_text=True)
    assert 'class="voided"' in history and VOIDED_ZH in history and "扫错了门卡" in history
    assert f"/visits/{wrong}/correct" not in client.get(f"/visits/{wrong}").get_data(
        as_text=True)  # a voided visit is final


def test_a_voided_visit_reopens_the_overdue_alert_when_the_elder_is_overdue_again(app, clock):
    w = scene(CareLevel.KEY)
    clock.advance(days=2)
    alerts.scan_overdue(utcnow())
    db.session.commit()
    overdue = db.session.scalar(select(Alert).where(Alert.kind == AlertKind.OVERDUE))
    wrong = visit(w)
    assert fresh(Alert, overdue.id).status == AlertStatus.RESOLVED
    response = signed_in(app, w.coordinator).post(f"/visits/{wrong}/void",
                                                   data={"reason": "记错了老人"})
    assert response.status_code == 302
    assert fresh(Alert, overdue.id).status == AlertStatus.OPEN
    assert len(alerts.scan_overdue(utcnow())) == 0  # one alert, not a second one


def test_a_no_answer_corrected_to_met_resolves_its_alert(app, clock):
    w = scene(CareLevel.KEY)
    wrong = visit(w, Outcome.NO_ANSWER)
    alert = db.session.scalar(select(Alert).where(Alert.kind == AlertKind.NO_ANSWER))
    assert correct(signed_in(app, w.worker), wrong, w.elder).status_code == 302
    assert fresh(Alert, alert.id).status == AlertStatus.RESOLVED
    assert fresh(Elder, w.elder.id).last_contact_at == fresh(Visit, wrong).occurred_at


# --- recorded late -----------------------------------------------------------------------

def late_form(client, w, when, key=None):
    return client.post(f"/c/{w.household.code.token}", data={
        "idempotency_key": key or secrets.token_urlsafe(18),
        f"e{w.elder.id}-outcome": "met_well",
        "visited_at": when.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")})


def test_a_visit_recorded_late_counts_from_when_it_happened_and_is_marked(app, clock):
    clock.advance(days=3)  # the household has been on the list for a while
    w = scene()
    clock.advance(days=1)
    client = signed_in(app, w.worker)
    earlier = (utcnow() - timedelta(hours=20)).replace(second=0, microsecond=0)
    response = late_form(client, w, earlier)
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.rollback()
    recorded = db.session.scalar(select(Visit).order_by(Visit.id.desc()))
    assert recorded.entered_late and recorded.occurred_at == earlier
    assert fresh(Elder, w.elder.id).last_contact_at == earlier
    history = signed_in(app, w.coordinator).get(f"/elders/{w.elder.id}").get_data(as_text=True)
    assert LATE_ZH in history


def test_a_late_time_outside_the_limits_is_refused_at_its_field(app, clock):
    w = scene()
    clock.advance(hours=10)  # the household came on the list 10 hours ago
    client = signed_in(app, w.worker)
    for when, says in ((utcnow() + timedelta(hours=2), "不能晚于现在"),
                       (utcnow() - timedelta(hours=49), "48"),
                       (w.household.created_at - timedelta(hours=1), "还没有列入台账")):
        response = late_form(client, w, when)
        assert response.status_code == 422, when
        body = response.get_data(as_text=True)
        assert 'class="field  has-error"' in body or "has-error" in body
        assert says in body, (when, body[body.find("late-entry"):][:800])
    assert db.session.scalar(select(Visit.id)) is None


# --- a closed elder ----------------------------------------------------------------------
def closed_after_a_visit(w, clock):
    """The elder was overdue, a visit resolved the alert, then the record was closed."""
    from carevisits.models import ClosedReason
    from carevisits.models.base import local_today
    from carevisits.services import elders

    clock.advance(days=2)
    alerts.scan_overdue(utcnow())
    db.session.commit()
    overdue = db.session.scalar(select(Alert).where(Alert.kind == AlertKind.OVERDUE))
    visited = visit(w)
    elders.close_elder(fresh(Elder, w.elder.id), reason=ClosedReason.DECEASED,
                       on=local_today(), actor=w.coordinator, today=local_today())
    db.session.commit()
    clock.advance(days=3)
    elder = fresh(Elder, w.elder.id)
    return visited, overdue.id, (elder.due_at, elder.overdue_at)


def test_voiding_a_visit_of_a_closed_elder_leaves_the_alerts_and_schedule_alone(app, clock):
    w = scene(CareLevel.KEY)
    visited, overdue, schedule_before = closed_after_a_visit(w, clock)
    response = signed_in(app, w.coordinator).post(f"/visits/{visited}/void",
                                                   data={"reason": "记错了老人"})
    assert response.status_code == 302
    assert fresh(Visit, visited).voided_at is not None
    assert fresh(Alert, overdue).status == AlertStatus.RESOLVED
    assert db.session.scalar(select(Alert).where(Alert.status != AlertStatus.RESOLVED)) is None
    elder = fresh(Elder, w.elder.id)
    assert (elder.due_at, elder.overdue_at) == schedule_before
    assert elder.last_contact_at is None  # the history is still counted right


def test_correcting_a_visit_of_a_closed_elder_raises_no_alert(app, clock):
    w = scene(CareLevel.KEY)
    visited, overdue, schedule_before = closed_after_a_visit(w, clock)
    client = signed_in(app, w.coordinator)
    assert correct(client, visited, w.elder, outcome="no_answer").status_code == 302
    assert fresh(Alert, overdue).status == AlertStatus.RESOLVED
    assert db.session.scalar(select(Alert).where(Alert.status != AlertStatus.RESOLVED)) is None
    elder = fresh(Elder, w.elder.id)
    assert (elder.due_at, elder.overdue_at) == schedule_before
    assert alerts.reopen(fresh(Alert, overdue), w.coordinator, "") is False


def test_an_overdue_request_of_a_closed_elder_raises_no_alert(app, clock):
    from carevisits.models import ClosedReason, RequestClass, RequestSource
    from carevisits.models.base import local_today
    from carevisits.services import elders, requests

    w = scene()
    requests.raise_request(w.elder, kind="生活照料", description="换灯泡",
                           request_class=RequestClass.SMALL, source=RequestSource.PHONE,
                           actor=w.coordinator)
    elders.close_elder(w.elder, reason=ClosedReason.MOVED_AWAY, on=local_today(),
                       actor=w.coordinator, today=local_today())
    db.session.commit()
    clock.advance(days=3)
    assert requests.scan_overdue_requests(utcnow()) == []
