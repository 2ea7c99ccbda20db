"""Issue 11 item 7: phone check-ins (电话问候) from the elder page and the round; whether a
call resets the schedule is the street's policy per care level; a call is never a door
visit in the figures."""

import re
from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import select

from carevisits.extensions import db
from carevisits.models import (
    Alert,
    AlertKind,
    AlertStatus,
    CareLevel,
    Elder,
    Role,
    Visit,
    VisitMethod,
)
from carevisits.models.base import utcnow
from carevisits.services import alerts
from tests import factories
from tests.clock import SHANGHAI
from tests.conftest import login

CALL_PAGE = re.compile(r'name="idempotency_key"[^>]*value="([^"]+)"')


def scene():
    """A street of its own with an elder of every care level, a worker and a coordinator."""
    s = factories.street()
    g = factories.grid(factories.community(s))
    hs = {level: factories.household(g, care_level=level) for level in CareLevel}
    w = SimpleNamespace(street=s, households=hs,
                        elders={level: h.elders[0] for level, h in hs.items()},
                        worker=factories.user(Role.GRID_WORKER, grid=g),
                        coordinator=factories.user(Role.COORDINATOR, street=s))
    db.session.commit()
    return w


def signed_in(app, user):
    client = app.test_client()
    assert login(client, user).status_code == 302
    return client


def call(client, elder, outcome="met_well", back=None, notes="聊了几句"):
    path = f"/elders/{elder.id}/phone" + ("?back=round" if back == "round" else "")
    form = client.get(path)
    assert form.status_code == 200
    key = CALL_PAGE.search(form.get_data(as_text=True)).group(1)
    return client.post(path, data={"idempotency_key": key, "outcome": outcome,
                                   "notes": notes})


def fresh(elder):
    db.session.rollback()
    return db.session.get(Elder, elder.id)


def test_a_call_counts_for_a_general_elder_but_not_for_key_or_focus_by_default(app, clock):
    w = scene()
    client = signed_in(app, w.worker)
    for level, counts in ((CareLevel.GENERAL, True), (CareLevel.FOCUS, False),
                          (CareLevel.KEY, False)):
        response = call(client, w.elders[level])
        assert response.status_code == 302 and response.location.endswith(
            f"/elders/{w.elders[level].id}")
        elder = fresh(w.elders[level])
        assert (elder.last_contact_at is not None) == counts, level
        if counts:
            assert elder.due_at == elder.last_contact_at + timedelta(days=7)
        else:
            assert "不能代替上门探访" in client.get(response.location).get_data(as_text=True)
    db.session.rollback()
    calls = db.session.scalars(select(Visit).where(Visit.method == VisitMethod.PHONE)).all()
    assert len(calls) == 3 and all(len(v.records) == 1 for v in calls)
    history = client.get(f"/elders/{w.elders[CareLevel.KEY].id}").get_data(as_text=True)
    assert "接通，一切正常" in history and "聊了几句" in history


def test_the_street_policy_decides_and_a_change_recounts_last_contacts(app, clock):
    w = scene()
    key = w.elders[CareLevel.KEY]
    worker = signed_in(app, w.worker)
    assert call(worker, key).status_code == 302
    assert fresh(key).last_contact_at is None
    coordinator = signed_in(app, w.coordinator)
    settings = coordinator.get("/alerts/settings").get_data(as_text=True)
    assert 'name="general_phone"' in settings and "电话联系上老人算作一次联系" in settings
    response = coordinator.post(f"/alerts/settings/policy/{w.street.id}", data={
        "key_interval": 1, "key_grace": 6, "focus_interval": 3, "focus_grace": 12,
        "general_interval": 7, "general_grace": 24, "key_phone": "y", "general_phone": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)
    elder = fresh(key)
    assert elder.last_contact_at is not None  # the earlier call counts now
    assert elder.due_at == elder.last_contact_at + timedelta(days=1)


def test_a_counting_call_resolves_the_overdue_alert_and_a_missed_call_raises_nothing(
        app, clock):
    w = scene()
    general, key = w.elders[CareLevel.GENERAL], w.elders[CareLevel.KEY]
    clock.advance(days=9)
    alerts.scan_overdue(utcnow())
    db.session.commit()
    client = signed_in(app, w.worker)
    assert call(client, general).status_code == 302
    db.session.rollback()
    statuses = {a.elder_id: a.status for a in db.session.scalars(
        select(Alert).where(Alert.kind == AlertKind.OVERDUE))}
    assert statuses[general.id] == AlertStatus.RESOLVED
    assert statuses[key.id] != AlertStatus.RESOLVED  # a call does not replace the door
    for _ in range(2):
        assert call(client, key, "no_answer").status_code == 302
    db.session.rollback()
    assert db.session.scalar(select(Alert).where(Alert.kind == AlertKind.NO_ANSWER)) is None


def test_the_round_has_a_phone_button_per_elder_that_leads_back_to_the_round(app, clock):
    w = scene()
    client = signed_in(app, w.worker)
    round_page = client.get("/round/").get_data(as_text=True)
    for elder in w.elders.values():
        assert f"/elders/{elder.id}/phone?back=round" in round_page
    response = call(client, w.elders[CareLevel.GENERAL], "met_concern", back="round")
    assert response.status_code == 302 and response.location.endswith("/round/")
    assert "已记录" in client.get("/round/").get_data(as_text=True)


def test_a_call_without_an_outcome_is_refused_at_its_field(app, clock):
    w = scene()
    client = signed_in(app, w.worker)
    elder = w.elders[CareLevel.GENERAL]
    key = CALL_PAGE.search(client.get(f"/elders/{elder.id}/phone").get_data(as_text=True))
    response = client.post(f"/elders/{elder.id}/phone",
                           data={"idempotency_key": key.group(1), "notes": "x" * 1001})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and body.count('class="error"') == 2
    assert db.session.scalar(select(Visit.id)) is None


def test_monthly_figures_count_calls_apart_from_door_visits_and_voided_visits_not_at_all(
        app, clock):
    w = scene()
    client = signed_in(app, w.worker)
    general = w.elders[CareLevel.GENERAL]
    call(client, general)
    for h in w.households.values():
        data = {"idempotency_key": f"door-visit-{h.id:08d}",
                **{f"e{e.id}-outcome": "met_well" for e in h.elders}}
        assert client.post(f"/c/{h.code.token}", data=data).status_code == 302
    db.session.rollback()
    wrong = db.session.scalar(select(Visit).where(Visit.method == VisitMethod.SCANNED)
                              .order_by(Visit.id.desc()))
    assert client.post(f"/visits/{wrong.id}/void", data={"reason": "重复登记"}).status_code == 302
    summary = signed_in(app, w.coordinator).get(
        f"/coordinator/summary?month={utcnow().astimezone(SHANGHAI).strftime('%Y-%m')}")
    body = summary.get_data(as_text=True)
    row = re.search(r"<tr><td>[^<]+</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td></tr>", body)
    assert row.groups() == ("2", "1", "2")  # door visits, phone calls, elders met at the door
