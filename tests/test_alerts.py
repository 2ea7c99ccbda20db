"""Alerts: schedules that run out, doors nobody opens, readings out of range, and the
messages that tell people — on a clock moved forward by the scan's ``--at`` and against
real receivers (an HTTP group robot and an SMTP server) on localhost."""

import email
import email.policy
import json
import re
import secrets
import socket
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from carevisits.database import write_transaction
from carevisits.extensions import db
from carevisits.models import (
    Alert,
    AlertEvent,
    AlertKind,
    AlertLevel,
    AlertStatus,
    AuditEvent,
    CareLevel,
    ChannelKind,
    DeliveryStatus,
    DoorCode,
    Elder,
    GridAssignment,
    Notification,
    NotificationChannel,
    Outcome,
    Role,
    User,
    Visit,
    VisitMethod,
)
from carevisits.models.base import local_today, utcnow
from carevisits.services import alerts, checkin, demo, notify, schedule
from tests import factories
from tests.clock import EVERY_WEEKDAY
from tests.conftest import count, latest, login
from tests.test_scan import statements_sent

LADDER_ZH = ["再次敲门并询问邻居", "给老人打电话", "给紧急联系人打电话", "请社区或民警开门查看"]
NO_ANSWER_ZH = "敲门无应答"
OVERDUE_ZH = "探访超期"
ABNORMAL_ZH = "体征异常"
WELFARE_ZH = "需上门确认安全"
RESOLVE_NOTE_REQUIRED_ZH = "请说明处理情况。"
FAILED_HEADING_ZH = "发送失败的通知"
SEND_AGAIN_ZH = "重新发送"
WAIT_SECONDS = 20  # the longest we wait for a background delivery to arrive
BADGE = re.compile(r'<span class="count">(\d+)</span>')


# --- helpers ---------------------------------------------------------------------------

def scene(care_level=CareLevel.KEY, households=1):
    """A street of its own with one grid, households of one elder, a worker and a street
    coordinator."""
    s = factories.street()
    c = factories.community(s)
    g = factories.grid(c)
    hs = [factories.household(g, care_level=care_level) for _ in range(households)]
    w = SimpleNamespace(
        street=s, community=c, grid=g, households=hs, household=hs[0], elder=hs[0].elders[0],
        worker=factories.user(Role.GRID_WORKER, grid=g),
        coordinator=factories.user(Role.COORDINATOR, street=s))
    db.session.commit()
    return w


def visit(household, visitor, outcome=Outcome.MET_WELL, at=None, **readings):
    """Record a visit through the check-in service (``at``: the phone's clock) and commit."""
    records = [checkin.ElderRecordInput(elder_id=e.id, outcome=Outcome(outcome), **readings)
               for e in household.elders]
    recorded, created = checkin.record_visit(
        visitor=visitor, household=household, records=records,
        idempotency_key=secrets.token_urlsafe(18), method=VisitMethod.SCANNED,
        door_code=household.code, client_time=at)
    assert created
    db.session.commit()
    return recorded


def check_in(client, household, outcome="met_well", token=None, **readings):
    """Post the door form for every elder of the household (readings for each)."""
    data = {"idempotency_key": secrets.token_urlsafe(18)}
    for e in household.elders:
        data[f"e{e.id}-outcome"] = outcome
        for name, value in readings.items():
            data[f"e{e.id}-{name}"] = str(value)
    return client.post(f"/c/{token or household.code.token}", data=data)


def scan(now):
    """One overdue scan as the cron job runs it; returns the new alerts' ids."""
    with write_transaction():
        new = alerts.scan_overdue(now)
        db.session.commit()
    return new


def fresh(obj):
    """The row as the database has it now."""
    db.session.rollback()
    return db.session.get(type(obj), obj.id)


def alerts_of(elder, kind=None):
    db.session.rollback()
    query = select(Alert).where(Alert.elder_id == elder.id).order_by(Alert.id)
    if kind is not None:
        query = query.where(Alert.kind == kind)
    return list(db.session.scalars(query))


def the_alert(elder, kind):
    found = alerts_of(elder, kind)
    assert len(found) == 1, found
    return found[0]


def events(alert):
    db.session.rollback()
    return list(db.session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert.id)
                                   .order_by(AlertEvent.id)))


def client_as(app, user, password=factories.PASSWORD):
    client = app.test_client()
    response = login(client, user, password)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def page(client, path):
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def badge(body) -> int:
    found = BADGE.findall(body)
    return int(found[0]) if found else 0


def join_notify_threads():
    for thread in threading.enumerate():
        if thread.name == "notify" and thread is not threading.current_thread():
            thread.join(timeout=30)
            assert not thread.is_alive(), "a notification sender did not finish"


def wait_for(predicate, what):
    deadline = time.monotonic() + WAIT_SECONDS
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def webhook_receiver(port=0, block=False, status=200, headers=()):
    """A group robot on localhost recording every POST body and counting the connections it
    accepts; it answers ``status`` with ``headers``. With ``block``, each request waits until
    ``receiver.release`` is set (it always is when the block ends)."""
    receiver = SimpleNamespace(bodies=[], connections=0, received=threading.Event(),
                               release=threading.Event())
    if not block:
        receiver.release.set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            receiver.bodies.append((self.path, self.headers["Content-Type"], body))
            receiver.received.set()
            receiver.release.wait(timeout=60)
            reply = b'{"errcode":0,"errmsg":"ok"}'
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        def verify_request(self, request, client_address):
            receiver.connections += 1
            return True

    server = Server(("127.0.0.1", port), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/cgi-bin/webhook/send?key=t"
    thread = threading.Thread(target=server.serve_forever, name="test-webhook", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class Inbox:
    """An aiosmtpd handler keeping every envelope."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def channel(community, target, kind=ChannelKind.WEBHOOK):
    ch = NotificationChannel(community_id=community.id, kind=kind, target=target)
    db.session.add(ch)
    db.session.commit()
    return ch


def messages(receiver):
    return [json.loads(body) for _path, _type, body in receiver.bodies]


# --- 1. time travel per care level -----------------------------------------------------

# (scans that must find the elder not yet overdue — the last one inside the grace period —,
# the first scan that finds it overdue), as offsets from the last visit.
TIMELINE = {
    CareLevel.KEY: ([timedelta(hours=12), timedelta(days=1), timedelta(days=1, hours=5)],
                    timedelta(days=1, hours=7)),
    CareLevel.FOCUS: ([timedelta(days=1), timedelta(days=2), timedelta(days=3),
                       timedelta(days=3, hours=11)], timedelta(days=3, hours=13)),
    CareLevel.GENERAL: ([timedelta(days=1), timedelta(days=3), timedelta(days=6),
                         timedelta(days=7, hours=23)], timedelta(days=8, hours=1)),
}
LATER = [timedelta(days=1), timedelta(days=3), timedelta(days=8), timedelta(days=8),
         timedelta(days=20)]


@pytest.mark.parametrize("care_level", list(TIMELINE), ids=lambda c: c.value)
def test_an_elder_becomes_overdue_after_the_care_level_interval_and_grace(
        app, runner, care_level):
    w = scene(care_level)
    visit(w.household, w.worker, at=utcnow() - timedelta(hours=2))
    last = fresh(w.elder).last_contact_at
    quiet, overdue = TIMELINE[care_level]
    for offset in quiet:
        if care_level == CareLevel.KEY:  # the cron command, with a local time and no zone
            local = (last + offset).astimezone(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
            result = runner.invoke(args=["alerts", "scan", "--at", local.isoformat()])
            assert result.exit_code == 0, result.output
            assert result.output.startswith("0 new overdue alerts"), (offset, result.output)
        else:
            assert scan(last + offset) == []
        assert alerts_of(w.elder) == [], f"overdue already at +{offset}"
    if care_level == CareLevel.KEY:
        result = runner.invoke(args=["alerts", "scan", "--at", (last + overdue).isoformat()])
        assert result.exit_code == 0, result.output
        assert result.output.startswith("1 new overdue alerts"), result.output
    else:
        assert len(scan(last + overdue)) == 1
    alert = the_alert(w.elder, AlertKind.OVERDUE)
    assert alert.level == (AlertLevel.URGENT if care_level == CareLevel.KEY
                           else AlertLevel.WARNING)
    assert alert.status == AlertStatus.OPEN and alert.opened_at == last + overdue
    for offset in LATER:  # however many scans run, the elder keeps one alert
        scan(last + overdue + offset)
    assert [a.id for a in alerts_of(w.elder)] == [alert.id]
    assert [e.action for e in events(alert)] == ["opened"]
    board = page(client_as(app, w.coordinator), "/alerts/")
    assert w.elder.name in board and OVERDUE_ZH in board


def test_the_same_scan_run_twice_opens_nothing_the_second_time(app, runner):
    w = scene(CareLevel.KEY, households=3)
    at = (utcnow() + timedelta(days=2)).isoformat()  # never visited: due since created
    first = runner.invoke(args=["alerts", "scan", "--at", at])
    second = runner.invoke(args=["alerts", "scan", "--at", at])
    assert first.exit_code == second.exit_code == 0
    assert first.output.startswith("3 new overdue alerts"), first.output
    assert second.output.startswith("0 new overdue alerts"), second.output
    assert count(Alert) == 3
    assert {a.elder_id for a in db.session.scalars(select(Alert))} == {
        h.elders[0].id for h in w.households}


def test_a_scan_time_that_is_not_iso_is_refused(runner, app):
    result = runner.invoke(args=["alerts", "scan", "--at", "next tuesday"])
    assert result.exit_code != 0 and "ISO 8601" in result.output
    assert count(Alert) == 0


# --- 2. street policy and the elder's own interval --------------------------------------

def _policy(key=(1, 6), focus=(3, 12), general=(7, 24)):
    data = {}
    for name, (interval, grace) in (("key", key), ("focus", focus), ("general", general)):
        data[f"{name}_interval"], data[f"{name}_grace"] = str(interval), str(grace)
    return data


def test_a_street_policy_change_moves_due_dates(app):
    w = scene(CareLevel.KEY)
    other = scene(CareLevel.KEY)  # another street keeps the default
    visit(w.household, w.worker, at=utcnow() - timedelta(hours=1))
    visit(other.household, other.worker, at=utcnow() - timedelta(hours=1))
    last = fresh(w.elder).last_contact_at
    coordinator = client_as(app, w.coordinator)
    response = coordinator.post(f"/alerts/settings/policy/{w.street.id}",
                                data=_policy(key=(2, 6)))
    assert response.status_code == 302
    assert "探访规则已保存" in page(coordinator, response.location)
    assert fresh(w.elder).due_at == last + timedelta(days=2)
    assert fresh(other.elder).due_at == fresh(other.elder).last_contact_at + timedelta(days=1)

    scan(last + timedelta(days=1, hours=7))  # overdue under the old policy, not the new
    assert alerts_of(w.elder) == []
    assert len(alerts_of(other.elder, AlertKind.OVERDUE)) == 1
    scan(last + timedelta(days=2, hours=7))
    assert len(alerts_of(w.elder, AlertKind.OVERDUE)) == 1
    # The coordinator of another street cannot change this street's policy.
    stranger = client_as(app, other.coordinator)
    assert stranger.post(f"/alerts/settings/policy/{w.street.id}",
                         data=_policy(key=(30, 6))).status_code == 404
    assert fresh(w.elder).due_at == last + timedelta(days=2)


def test_each_settings_change_writes_one_audit_event(app):
    w = scene()
    coordinator = client_as(app, w.coordinator)
    start = count(AuditEvent)
    assert coordinator.post(f"/alerts/settings/policy/{w.street.id}",
                            data={**_policy(key=(2, 6)), "general_phone": "y"}).status_code == 302
    assert coordinator.post("/alerts/settings/channels", data={
        "community": f"c:{w.community.id}", "kind": "email",
        "target": "office@example.com"}).status_code == 302
    added = latest(NotificationChannel)
    assert (added.target, added.active) == ("office@example.com", True)
    assert coordinator.post(f"/alerts/settings/channels/{added.id}/remove").status_code == 302
    assert not fresh(added).active
    trail = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id).offset(start)).all()
    assert [(e.action, e.subject_type, e.subject_id, e.actor_id) for e in trail] == [
        ("policy.update", "street", w.street.id, w.coordinator.id),
        ("channel.create", "community", w.community.id, w.coordinator.id),
        ("channel.remove", "community", w.community.id, w.coordinator.id)]
    assert trail[0].details == {"phone_counts": {"key": False, "focus": False, "general": True}}


def test_an_elders_own_interval_overrides_the_care_level(app):
    w = scene(CareLevel.KEY)
    visit(w.household, w.worker, at=utcnow() - timedelta(hours=1))
    last = fresh(w.elder).last_contact_at
    coordinator = client_as(app, w.coordinator)
    response = coordinator.post(f"/elders/{w.elder.id}/interval", data={"days": "10"})
    assert response.status_code == 302
    assert fresh(w.elder).due_at == last + timedelta(days=10)
    # A later street policy change does not undo the elder's own interval.
    assert coordinator.post(f"/alerts/settings/policy/{w.street.id}",
                            data=_policy(key=(2, 6))).status_code == 302
    assert fresh(w.elder).due_at == last + timedelta(days=10)
    scan(last + timedelta(days=2, hours=7))
    scan(last + timedelta(days=9))
    assert alerts_of(w.elder) == []
    scan(last + timedelta(days=10, hours=7))
    assert len(alerts_of(w.elder, AlertKind.OVERDUE)) == 1
    # A grid worker may not change how often an elder is visited.
    worker = client_as(app, w.worker)
    assert worker.post(f"/elders/{w.elder.id}/interval", data={"days": "30"}).status_code == 403
    assert fresh(w.elder).visit_interval_days == 10


# --- 3. pauses ----------------------------------------------------------------------------

def _local_today():
    return utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date()


def test_a_paused_elder_raises_no_overdue_alert_until_the_pause_ends(app):
    w = scene(CareLevel.KEY)
    visit(w.household, w.worker, at=utcnow() - timedelta(hours=1))
    last = fresh(w.elder).last_contact_at
    worker = client_as(app, w.worker)
    until = _local_today() + timedelta(days=3)
    response = worker.post(f"/elders/{w.elder.id}/pause",
                           data={"reason": "住院治疗", "until": until.isoformat()})
    assert response.status_code == 302
    profile = page(worker, response.location)
    assert "已暂停探访" in profile and "暂停中" in profile and until.isoformat() in profile
    assert fresh(w.elder).overdue_at < last + timedelta(days=2)  # it would be overdue

    scan(last + timedelta(days=2))  # inside the pause
    assert alerts_of(w.elder) == []
    round_page = page(worker, "/round/")
    assert "暂停中" in round_page
    scan(last + timedelta(days=6))  # the expected end has passed
    alert = the_alert(w.elder, AlertKind.OVERDUE)
    assert alert.level == AlertLevel.URGENT


def test_a_pause_ending_in_the_past_is_refused(app):
    w = scene(CareLevel.KEY)
    worker = client_as(app, w.worker)
    response = worker.post(f"/elders/{w.elder.id}/pause", data={
        "reason": "住院", "until": (_local_today() - timedelta(days=1)).isoformat()})
    assert response.status_code == 422 and "结束日期已过" in response.get_data(as_text=True)
    assert fresh(w.elder).paused_until is None


def test_resuming_makes_the_elder_due_now(app):
    w = scene(CareLevel.GENERAL)
    visit(w.household, w.worker, at=utcnow() - timedelta(hours=1))
    worker = client_as(app, w.worker)
    worker.post(f"/elders/{w.elder.id}/pause", data={
        "reason": "去女儿家住", "until": (_local_today() + timedelta(days=30)).isoformat()})
    assert fresh(w.elder).paused_until is not None
    before = utcnow()
    response = worker.post(f"/elders/{w.elder.id}/resume")
    after = utcnow()
    assert response.status_code == 302
    elder = fresh(w.elder)
    assert elder.paused_until is None
    assert before <= elder.due_at <= after  # was a week away
    profile = page(worker, f"/elders/{w.elder.id}")
    assert "该探访了" in profile and "暂停中" not in profile
    scan(after + timedelta(hours=1))  # the general grace (24 h) still runs
    assert alerts_of(w.elder) == []
    scan(after + timedelta(hours=25))
    assert len(alerts_of(w.elder, AlertKind.OVERDUE)) == 1


# --- 4. the no-answer ladder --------------------------------------------------------------

def test_one_unanswered_door_of_a_key_elder_asks_for_a_welfare_check(app):
    w = scene(CareLevel.KEY)
    worker = client_as(app, w.worker)
    assert check_in(worker, w.household, "no_answer").status_code == 302
    alert = the_alert(w.elder, AlertKind.NO_ANSWER)
    assert alert.level == AlertLevel.URGENT and alert.status == AlertStatus.OPEN
    assert alert.details["welfare_check"] is True and alert.details["in_a_row"] == 1
    board = page(worker, "/alerts/")
    assert NO_ANSWER_ZH in board and WELFARE_ZH in board and w.elder.name in board


def test_a_general_elder_is_escalated_on_the_second_unanswered_door(app):
    w = scene(CareLevel.GENERAL)
    visit(w.household, w.worker, at=utcnow() - timedelta(hours=30))  # seen yesterday
    worker = client_as(app, w.worker)
    assert check_in(worker, w.household, "no_answer").status_code == 302
    first = the_alert(w.elder, AlertKind.NO_ANSWER)
    assert first.level == AlertLevel.WARNING and first.details["welfare_check"] is False
    assert WELFARE_ZH not in page(worker, f"/alerts/{first.id}")

    assert check_in(worker, w.household, "no_answer").status_code == 302
    second = the_alert(w.elder, AlertKind.NO_ANSWER)
    assert second.id == first.id
    assert second.level == AlertLevel.URGENT
    assert second.details["welfare_check"] is True and second.details["in_a_row"] == 2
    assert [e.action for e in events(second)] == ["opened", "escalated"]
    detail = page(worker, f"/alerts/{second.id}")
    assert "紧急" in detail and WELFARE_ZH in detail and "已连续2次敲门无应答" in detail
    assert "升级为紧急" in detail


def test_ladder_steps_are_ticked_off_by_name(app):
    w = scene(CareLevel.KEY)
    worker = client_as(app, w.worker)
    check_in(worker, w.household, "no_answer")
    alert = the_alert(w.elder, AlertKind.NO_ANSWER)
    detail = page(worker, f"/alerts/{alert.id}")
    positions = [detail.find(rung) for rung in LADDER_ZH]
    assert -1 not in positions and positions == sorted(positions)  # all four, in order
    assert 'class="done"' not in detail

    notes = ["敲了三次门,邻居说昨晚见过", "老人电话无人接听", "儿子说老人没去他家"]
    for n, note in enumerate(notes, start=1):
        response = worker.post(f"/alerts/{alert.id}/step", data={"note": note})
        assert response.status_code == 302
        alert = fresh(alert)
        assert alert.ladder_step == n
    assert alert.status == AlertStatus.ACKNOWLEDGED and alert.acknowledged_by_id == w.worker.id
    steps = [e for e in events(alert) if e.action == "step"]
    assert [e.actor_id for e in steps] == [w.worker.id] * 3
    assert [e.note for e in steps] == [f"{n}: {note}" for n, note in enumerate(notes, 1)]
    detail = page(worker, f"/alerts/{alert.id}")
    assert detail.count('class="done"') == 3
    assert f"已完成：{LADDER_ZH[3]}" in detail  # the next rung is offered
    assert "完成一步处置" in detail and w.worker.display_name in detail

    worker.post(f"/alerts/{alert.id}/step", data={"note": "民警已到场"})
    worker.post(f"/alerts/{alert.id}/step", data={"note": "多点了一次"})
    assert fresh(alert).ladder_step == 4  # there is no fifth rung
    detail = page(worker, f"/alerts/{alert.id}")
    assert detail.count('class="done"') == 4 and "已完成：" not in detail


def test_a_no_answer_knocked_before_a_later_meeting_raises_no_alarm(app):
    """A phone out of signal sends its unanswered knock after a colleague has met the
    elder: the elder has been seen since, so no welfare check must be called."""
    w = scene(CareLevel.KEY)
    visit(w.household, w.worker, at=utcnow() - timedelta(hours=1))
    visit(w.household, w.worker, Outcome.NO_ANSWER, at=utcnow() - timedelta(hours=3))
    assert alerts_of(w.elder, AlertKind.NO_ANSWER) == []


def test_a_queued_meeting_from_before_the_unanswered_knock_does_not_close_it(app):
    """Met at 9, nobody opens at 10, the 9 o'clock visit arrives late: the door that
    stayed shut at 10 still needs someone."""
    w = scene(CareLevel.GENERAL)
    visit(w.household, w.worker, Outcome.NO_ANSWER, at=utcnow() - timedelta(hours=1))
    alert = the_alert(w.elder, AlertKind.NO_ANSWER)
    visit(w.household, w.worker, at=utcnow() - timedelta(hours=2))
    assert fresh(alert).status == AlertStatus.OPEN


# --- 5. abnormal readings -------------------------------------------------------------------

ABNORMAL = {
    "systolic 165": {"systolic": 165, "diastolic": 90},
    "diastolic 105": {"systolic": 150, "diastolic": 105},
    "pulse 45": {"pulse": 45},
    "pulse 130": {"pulse": 130},
}


@pytest.mark.parametrize("case", list(ABNORMAL))
def test_abnormal_readings_open_an_alert_that_normal_readings_close(app, case):
    w = scene(CareLevel.FOCUS)
    worker = client_as(app, w.worker)
    assert check_in(worker, w.household, **ABNORMAL[case]).status_code == 302
    alert = the_alert(w.elder, AlertKind.ABNORMAL)
    assert alert.status == AlertStatus.OPEN
    assert case.split()[0] in alert.details["abnormal"]
    detail = page(worker, f"/alerts/{alert.id}")
    shown = ABNORMAL[case].get("systolic", ABNORMAL[case].get("pulse"))
    assert ABNORMAL_ZH in detail and str(shown) in detail

    response = check_in(worker, w.household, systolic=128, diastolic=80, pulse=72)
    assert response.status_code == 302
    later = latest(Visit)
    alert = fresh(alert)
    assert alert.status == AlertStatus.RESOLVED and alert.resolved_by_visit_id == later.id
    assert alert.resolution == "后续探访测量正常，自动解除。"
    assert len(alerts_of(w.elder)) == 1


def test_normal_readings_open_nothing(app):
    w = scene(CareLevel.FOCUS)
    worker = client_as(app, w.worker)
    check_in(worker, w.household, systolic=135, diastolic=85, pulse=70)
    assert alerts_of(w.elder) == []


def test_the_systolic_threshold_comes_from_the_app_config(app, monkeypatch):
    w = scene(CareLevel.FOCUS)
    worker = client_as(app, w.worker)
    monkeypatch.setitem(app.config["ALERT_THRESHOLDS"], "systolic_high", 170)
    check_in(worker, w.household, systolic=165, diastolic=90)
    assert alerts_of(w.elder) == []
    monkeypatch.setitem(app.config["ALERT_THRESHOLDS"], "systolic_high", 150)
    check_in(worker, w.household, systolic=155, diastolic=90)
    alert = the_alert(w.elder, AlertKind.ABNORMAL)
    assert alert.details["abnormal"] == ["systolic"] and alert.details["systolic"] == 155


# --- 6. resolution by a visit, and by people ---------------------------------------------------

def test_a_visit_that_meets_the_elder_resolves_overdue_and_no_answer_alerts(app):
    w = scene(CareLevel.KEY)
    visit(w.household, w.worker, at=utcnow() - timedelta(hours=47))
    scan(utcnow())  # last seen 47 h ago: overdue
    overdue = the_alert(w.elder, AlertKind.OVERDUE)
    worker = client_as(app, w.worker)
    check_in(worker, w.household, "no_answer")
    no_answer = the_alert(w.elder, AlertKind.NO_ANSWER)
    assert badge(page(worker, "/round/")) == 2

    assert check_in(worker, w.household, "met_concern").status_code == 302
    met = latest(Visit)
    for alert in (fresh(overdue), fresh(no_answer)):
        assert alert.status == AlertStatus.RESOLVED
        assert alert.resolved_by_visit_id == met.id and alert.resolved_by_id == w.worker.id
        assert alert.resolution == "探访时已见到老人，自动解除。"
        assert events(alert)[-1].action == "resolved"
    assert badge(page(worker, "/round/")) == 0
    assert "目前没有需要处理的告警" in page(worker, "/alerts/")


def test_acknowledge_then_resolve_with_a_note_records_who_and_when(app):
    w = scene(CareLevel.KEY)
    check_in(client_as(app, w.worker), w.household, "no_answer")
    alert = the_alert(w.elder, AlertKind.NO_ANSWER)
    coordinator = client_as(app, w.coordinator)
    assert "我来处理" in page(coordinator, f"/alerts/{alert.id}")

    before = utcnow()
    assert coordinator.post(f"/alerts/{alert.id}/acknowledge").status_code == 302
    alert = fresh(alert)
    assert alert.status == AlertStatus.ACKNOWLEDGED
    assert alert.acknowledged_by_id == w.coordinator.id
    assert before <= alert.acknowledged_at <= utcnow()
    board = page(coordinator, "/alerts/")
    assert "处理中" in board and w.coordinator.display_name in board

    refused = coordinator.post(f"/alerts/{alert.id}/resolve", data={"note": ""})
    assert refused.status_code == 422
    assert RESOLVE_NOTE_REQUIRED_ZH in refused.get_data(as_text=True)
    assert fresh(alert).status == AlertStatus.ACKNOWLEDGED

    note = "已电话联系,老人在女儿家住,平安"
    before = utcnow()
    response = coordinator.post(f"/alerts/{alert.id}/resolve", data={"note": note})
    assert response.status_code == 302 and response.location.endswith("/alerts/")
    alert = fresh(alert)
    assert alert.status == AlertStatus.RESOLVED and alert.resolution == note
    assert alert.resolved_by_id == w.coordinator.id and alert.resolved_by_visit_id is None
    assert before <= alert.resolved_at <= utcnow()
    history = [(e.action, e.actor_id, e.note) for e in events(alert)]
    assert history == [("opened", None, ""), ("acknowledged", w.coordinator.id, ""),
                       ("resolved", w.coordinator.id, note)]
    assert "告警已处理完毕" in page(coordinator, response.location)
    assert w.elder.name not in page(coordinator, "/alerts/")
    assert w.elder.name in page(coordinator, "/alerts/?status=resolved")
    detail = page(coordinator, f"/alerts/{alert.id}")
    assert note in detail and "已接手" in detail and "我来处理" not in detail


def test_a_note_of_only_spaces_does_not_resolve_an_alert(app):
    w = scene(CareLevel.KEY)
    check_in(client_as(app, w.worker), w.household, "no_answer")
    alert = the_alert(w.elder, AlertKind.NO_ANSWER)
    coordinator = client_as(app, w.coordinator)
    refused = coordinator.post(f"/alerts/{alert.id}/resolve", data={"note": "   "})
    assert refused.status_code == 422
    assert RESOLVE_NOTE_REQUIRED_ZH in refused.get_data(as_text=True)
    alert = fresh(alert)
    assert alert.status == AlertStatus.OPEN and alert.resolution == ""


def _unseen_for(elder, days):
    elder = db.session.get(Elder, elder.id)
    elder.last_contact_at = utcnow() - timedelta(days=days)
    schedule.refresh([elder])


def _board_order(body, elders):
    return sorted(elders, key=lambda e: body.index(f"· {e.name}"))


def test_the_board_puts_urgent_first_then_the_longest_waiting_with_grid_and_worker(app):
    w = scene(CareLevel.GENERAL, households=4)
    long_overdue, just_overdue, urgent, abnormal = (h.elders[0] for h in w.households)
    _unseen_for(long_overdue, 16)  # weekly with a day's grace: overdue 8 days
    _unseen_for(just_overdue, 9)  # overdue since yesterday
    db.session.commit()
    alerts.raise_alert(abnormal, AlertKind.ABNORMAL, AlertLevel.WARNING, {},
                       at=utcnow() - timedelta(days=2))
    db.session.commit()
    scan(utcnow())  # one scan opens both overdue alerts at the same moment
    alerts.raise_alert(urgent, AlertKind.NO_ANSWER, AlertLevel.URGENT, {"welfare_check": True})
    db.session.commit()
    stand_in = factories.user(Role.GRID_WORKER, username="standin")
    db.session.add(GridAssignment(grid=w.grid, user=stand_in, cover=True,
                                  starts_on=local_today(),
                                  ends_on=local_today() + timedelta(days=3)))
    db.session.commit()
    board = page(client_as(app, w.coordinator), "/alerts/")
    assert _board_order(board, [abnormal, just_overdue, urgent, long_overdue]) == [
        urgent, long_overdue, abnormal, just_overdue]
    assert board.count(w.grid.label) == 4
    assert f"今天负责的网格员：{w.worker.display_name}、{stand_in.display_name}" in board


def writes(statements: list[str]) -> list[str]:
    """The INSERT, UPDATE and DELETE statements among those sent."""
    return [s.lstrip() for s in statements
            if s.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE")]


def test_opening_the_board_writes_nothing_the_scan_opens_overdue_alerts(app):
    w = scene(CareLevel.KEY)
    visit(w.household, w.worker, at=utcnow() - timedelta(hours=47))  # overdue now
    clients = [client_as(app, w.coordinator), client_as(app, w.worker)]
    with statements_sent() as sent:
        for client in clients:
            for path in ("/alerts/", "/alerts/?status=resolved", "/alerts/?kind=overdue"):
                board = page(client, path)
                assert w.elder.name not in board and badge(board) == 0
    assert writes(sent) == [] and alerts_of(w.elder) == []

    with statements_sent() as sent:  # the scheduler's round (carevisits/scheduler.py)
        scan(utcnow())
    assert any(statement.startswith("INSERT INTO alert ") for statement in writes(sent))
    for client in clients:
        board = page(client, "/alerts/")
        assert w.elder.name in board and badge(board) == 1
        assert the_alert(w.elder, AlertKind.OVERDUE).level == AlertLevel.URGENT


def test_several_alerts_are_taken_on_with_one_button(app):
    w = scene(CareLevel.GENERAL, households=3)
    elsewhere = scene(CareLevel.GENERAL)
    opened = [alerts.raise_alert(e, AlertKind.ABNORMAL, AlertLevel.WARNING, {})
              for e in (*(h.elders[0] for h in w.households), elsewhere.elder)]
    db.session.commit()
    first, second, third, foreign = (a.id for a in opened)
    worker = client_as(app, w.worker)
    board = page(worker, "/alerts/?kind=abnormal")
    assert board.count('type="checkbox" name="alert"') == 3 and "接手所勾选的告警" in board

    nothing = worker.post("/alerts/acknowledge?kind=abnormal", data={})
    assert nothing.location.endswith("/alerts/?kind=abnormal")
    assert "请先勾选您要处理的告警" in page(worker, nothing.location)
    taken = worker.post("/alerts/acknowledge?kind=abnormal",
                        data={"alert": [first, second, foreign]})
    assert taken.status_code == 302 and taken.location.endswith("/alerts/?kind=abnormal")
    assert "已接手2条告警" in page(worker, taken.location)
    db.session.rollback()
    status = {a: (db.session.get(Alert, a).status, db.session.get(Alert, a).acknowledged_by_id)
              for a in (first, second, third, foreign)}
    assert status == {first: (AlertStatus.ACKNOWLEDGED, w.worker.id),
                      second: (AlertStatus.ACKNOWLEDGED, w.worker.id),
                      third: (AlertStatus.OPEN, None), foreign: (AlertStatus.OPEN, None)}
    again = worker.post("/alerts/acknowledge", data={"alert": [first, third]})
    assert "已接手1条告警" in page(worker, again.location)  # the first was taken already
    assert [e.action for e in events(db.session.get(Alert, first))] == ["opened", "acknowledged"]


# --- 7. scans at once ----------------------------------------------------------------------

def _race(app, at, threads=2):
    """Run the overdue scan from several threads released together; returns their results."""
    barrier = threading.Barrier(threads)
    results, errors = [], []

    def run():
        try:
            with app.app_context():
                barrier.wait(timeout=30)
                with write_transaction():
                    new = alerts.scan_overdue(at)
                    db.session.commit()
                results.append(new)
        except Exception as err:  # noqa: BLE001 - reported by the caller
            errors.append(err)

    started = [threading.Thread(target=run, name=f"scan-{i}") for i in range(threads)]
    for t in started:
        t.start()
    for t in started:
        t.join(timeout=60)
    assert errors == [] and len(results) == threads, errors
    return results


def test_two_scans_at_once_open_each_alert_once(app, world):
    elders = list(db.session.scalars(select(Elder)))
    assert len(elders) == 5
    db.session.rollback()
    for day in range(9, 14):  # a few rounds: a race lost once in a while still shows
        results = _race(app, utcnow() + timedelta(days=day))  # never seen: all overdue
        opened = sorted(results[0] + results[1])
        assert len(opened) == 5 and len(set(opened)) == 5, results
        unresolved = {e.id: [a for a in alerts_of(e, AlertKind.OVERDUE)
                             if a.status != AlertStatus.RESOLVED] for e in elders}
        assert {k: len(v) for k, v in unresolved.items()} == {e.id: 1 for e in elders}
        for found in unresolved.values():  # somebody sees them all; the next round begins
            alerts.resolve(found[0], actor=world.admin, note="已见到")
        db.session.commit()
    assert count(Alert) == 25
    assert count(AlertEvent, AlertEvent.action == "opened") == 25


# --- 8. notifications to real receivers -----------------------------------------------------

def test_a_no_answer_is_posted_once_to_the_communitys_group_robot(app, world, loopback_robots):
    key = factories.household(world.grids[0], care_level=CareLevel.KEY)
    db.session.commit()
    elder = key.elders[0]
    with webhook_receiver() as receiver:
        channel(world.communities[0], receiver.url)
        channel(world.communities[2], receiver.url + "&other")  # another community's robot
        worker = client_as(app, world.worker)
        assert check_in(worker, key, "no_answer").status_code == 302
        wait_for(lambda: receiver.bodies, "the webhook message")
        join_notify_threads()
        alert = the_alert(elder, AlertKind.NO_ANSWER)
        assert len(receiver.bodies) == 1
        path, content_type, _body = receiver.bodies[0]
        assert path.endswith("key=t") and content_type == "application/json"
        message = messages(receiver)[0]
        assert set(message) == {"msgtype", "text"} and message["msgtype"] == "text"
        content = message["text"]["content"]
        assert elder.name in content and NO_ANSWER_ZH in content and "紧急" in content
        assert f"https://cv.example.org/alerts/{alert.id}" in content
        note = latest(Notification)
        assert note.status == DeliveryStatus.SENT and note.attempts == 1
        assert count(Notification) == 1


def test_an_alert_is_emailed_to_the_communitys_address(app, world, monkeypatch):
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
        monkeypatch.setitem(app.config, "SMTP_PORT", port)
        channel(world.communities[0], "jiashequ@example.org", kind=ChannelKind.EMAIL)
        elder = world.h1.elders[0]
        worker = client_as(app, world.worker)
        assert check_in(worker, world.h1, systolic=182, diastolic=110).status_code == 302
        wait_for(lambda: len(inbox.envelopes) >= 2, "two emails (one per elder)")
        join_notify_threads()
        assert len(inbox.envelopes) == 2
        assert {tuple(e.rcpt_tos) for e in inbox.envelopes} == {("jiashequ@example.org",)}
        alert = the_alert(elder, AlertKind.ABNORMAL)
        parsed = [email.message_from_bytes(e.original_content, policy=email.policy.default)
                  for e in inbox.envelopes]
        mine = [m for m in parsed if elder.name in m.get_content()]
        assert len(mine) == 1
        body = mine[0].get_content()
        assert ABNORMAL_ZH in body and f"/alerts/{alert.id}" in body
        assert mine[0]["Subject"].startswith("【爱心敲门】")
        assert mine[0]["From"] == app.config["SMTP_FROM"]
        assert count(Notification, Notification.status == DeliveryStatus.SENT) == 2
    finally:
        controller.stop()


def test_a_dead_receiver_is_retried_then_shown_on_the_board(app, world, loopback_robots):
    port = free_port()  # nothing listens here
    dead = f"http://127.0.0.1:{port}/robot"
    channel(world.communities[0], dead)
    key = factories.household(world.grids[0], care_level=CareLevel.KEY)
    db.session.commit()
    worker = client_as(app, world.worker)
    before = utcnow()
    assert check_in(worker, key, "no_answer").status_code == 302
    join_notify_threads()
    note = latest(Notification)
    assert note.status == DeliveryStatus.PENDING and note.attempts == 1
    assert note.last_error and note.next_attempt_at > before + timedelta(seconds=30)

    coordinator = client_as(app, world.coordinator)
    board = page(coordinator, "/alerts/")
    assert FAILED_HEADING_ZH in board and dead in board and SEND_AGAIN_ZH in board
    assert f"/alerts/notifications/{note.id}/retry" in board
    assert "已放弃" not in board
    assert FAILED_HEADING_ZH not in page(worker, "/alerts/")

    # Not yet due: nothing is tried.
    assert notify.deliver_due(note.next_attempt_at - timedelta(seconds=1)) == (0, 0)
    assert fresh(note).attempts == 1
    attempts = 1
    while fresh(note).status == DeliveryStatus.PENDING:
        assert notify.deliver_due(fresh(note).next_attempt_at) == (0, 1)
        attempts += 1
        assert fresh(note).attempts == attempts
        assert attempts <= 10
    note = fresh(note)
    assert note.status == DeliveryStatus.FAILED and note.attempts == len(notify.RETRY_AFTER) + 1
    assert notify.deliver_due(utcnow() + timedelta(days=3)) == (0, 0)  # given up
    board = page(coordinator, "/alerts/")
    assert FAILED_HEADING_ZH in board and "已放弃" in board and SEND_AGAIN_ZH in board
    assert f"已尝试{note.attempts}次" in board

    # The robot is back on its address; the coordinator sends the message again.
    with webhook_receiver(port=port) as receiver:
        response = coordinator.post(f"/alerts/notifications/{note.id}/retry")
        assert response.status_code == 302
        wait_for(lambda: receiver.bodies, "the message sent again")
        join_notify_threads()
        assert len(receiver.bodies) == 1
        assert NO_ANSWER_ZH in messages(receiver)[0]["text"]["content"]
    assert fresh(note).status == DeliveryStatus.SENT
    assert FAILED_HEADING_ZH not in page(coordinator, "/alerts/")


def test_a_receiver_that_hangs_does_not_hold_up_the_check_in(app, world, loopback_robots):
    key = factories.household(world.grids[0], care_level=CareLevel.KEY)
    db.session.commit()
    with webhook_receiver(block=True) as receiver:
        channel(world.communities[0], receiver.url)
        worker = client_as(app, world.worker)
        response = check_in(worker, key, "no_answer")
        assert response.status_code == 302 and "/visits/" in response.location
        # The check-in has answered; the robot has the message and is still holding on.
        assert receiver.received.wait(timeout=WAIT_SECONDS)
        assert not receiver.release.is_set()
        note = latest(Notification)
        assert note.status == DeliveryStatus.PENDING and note.attempts == 0
        assert the_alert(key.elders[0], AlertKind.NO_ANSWER).level == AlertLevel.URGENT
        receiver.release.set()
        join_notify_threads()
        note = fresh(note)
        assert note.status == DeliveryStatus.SENT and note.attempts == 1


# --- 9. scope -----------------------------------------------------------------------------------

def test_each_role_sees_the_alerts_of_its_own_area(app, world):
    households = [world.h1, world.h2, world.h3, world.h4]
    opened = {}
    for h in households:
        for elder in h.elders:
            opened[elder.id] = alerts.raise_alert(elder, AlertKind.NO_ANSWER,
                                                  AlertLevel.WARNING, {"in_a_row": 1})
    db.session.commit()
    names = {h.id: [e.name for e in h.elders] for h in households}

    def sees(user, visible, badge_count):
        client = client_as(app, user)
        board = page(client, "/alerts/")
        for h in households:
            for name in names[h.id]:
                assert (name in board) == (h in visible), (user.username, name)
        assert badge(board) == badge_count, user.username
        for h in households:
            for elder in h.elders:
                status = client.get(f"/alerts/{opened[elder.id].id}").status_code
                assert status == (200 if h in visible else 404), (user.username, elder.name)

    sees(world.worker, [world.h1], 2)
    sees(world.other_worker, [world.h2], 1)
    sees(world.community_coordinator, [world.h1, world.h2], 3)
    sees(world.coordinator, [world.h1, world.h2, world.h3], 4)
    sees(world.admin, households, 5)
    # Resolving one alert lowers the badge of everyone who could see it.
    db.session.rollback()
    alerts.resolve(db.session.get(Alert, opened[world.h1.elders[0].id].id),
                   actor=world.admin, note="已见到")
    db.session.commit()
    assert badge(page(client_as(app, world.worker), "/round/")) == 1
    assert badge(page(client_as(app, world.other_worker), "/round/")) == 1


def test_a_worker_cannot_act_on_another_grids_alert(app, world):
    alert = alerts.raise_alert(world.h2.elders[0], AlertKind.NO_ANSWER, AlertLevel.URGENT, {})
    db.session.commit()
    worker = client_as(app, world.worker)
    assert worker.post(f"/alerts/{alert.id}/acknowledge").status_code == 404
    assert worker.post(f"/alerts/{alert.id}/step", data={"note": "x"}).status_code == 404
    assert worker.post(f"/alerts/{alert.id}/resolve", data={"note": "x"}).status_code == 404
    alert = fresh(alert)
    assert alert.status == AlertStatus.OPEN and alert.ladder_step == 0


# --- 10. the demo street, two days on ---------------------------------------------------------

ROUND_ITEM = re.compile(r'<a href="/elders/(\d+)">.*?</li>', re.S)


def _round_badges(body):
    return {int(m.group(1)): m.group(0) for m in ROUND_ITEM.finditer(body)}


@pytest.mark.parametrize("start", EVERY_WEEKDAY, ids=lambda t: t.strftime("%a%H"))
def test_demo_street_two_days_on(app, runner, clock, start, loopback_robots):
    clock.set(start)
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    worker_user = db.session.scalar(select(User).where(User.username == "worker"))
    worker = client_as(app, "worker", demo.DEMO_PASSWORD)
    coordinator = client_as(app, "coordinator", demo.DEMO_PASSWORD)
    today = _round_badges(page(worker, "/round/"))
    assert today

    later = utcnow() + timedelta(days=2)
    result = runner.invoke(args=["alerts", "scan", "--at", later.isoformat()])
    assert result.exit_code == 0, result.output
    new = int(result.output.split()[0])
    assert new > 0
    db.session.rollback()
    overdue = list(db.session.scalars(
        select(Alert).where(Alert.kind == AlertKind.OVERDUE)))
    assert len(overdue) == new
    mine = [a for a in overdue if a.elder.household.grid_id == worker_user.grid_id]
    assert mine

    board = page(coordinator, "/alerts/?kind=overdue")
    assert re.search(rf"<small class=\"muted\">{new}</small>", board)
    # The badge counts every unresolved alert: the scan also opened the request-overdue
    # alerts of the demo's late requests (the board itself only reads).
    unresolved = count(Alert, Alert.status != AlertStatus.RESOLVED)
    assert OVERDUE_ZH in board and badge(board) == unresolved >= new
    worker_board = page(worker, "/alerts/")
    in_my_grid = [a for a in db.session.scalars(select(Alert).where(
        Alert.status != AlertStatus.RESOLVED)) if a.elder.household.grid_id == worker_user.grid_id]
    assert badge(worker_board) == len(in_my_grid) >= len(mine)
    for a in mine:
        assert a.elder.name in worker_board

    # The worker's round two days on: every elder with an alert shows as overdue.
    clock.set(later)
    two_days_on = _round_badges(page(worker, "/round/"))
    for a in mine:
        assert "badge late" in two_days_on[a.elder_id]
    assert (sum("badge late" in item for item in two_days_on.values())
            > sum("badge late" in item for item in today.values()))

    # A key elder living alone in the worker's grid does not open the door.
    elder = next(e for e in (a.elder for a in mine)
                 if e.care_level == CareLevel.KEY and len(e.household.elders) == 1)
    household = elder.household
    token = db.session.scalar(select(DoorCode.token).where(
        DoorCode.household_id == household.id, DoorCode.revoked_at.is_(None)))
    with webhook_receiver() as receiver:
        response = coordinator.post("/alerts/settings/channels", data={
            "community": f"c:{household.grid.community_id}", "kind": "webhook",
            "target": receiver.url})
        assert response.status_code == 302
        assert check_in(worker, household, "no_answer", token=token).status_code == 302
        wait_for(lambda: receiver.bodies, "the welfare-check message")
        join_notify_threads()
        alert = the_alert(elder, AlertKind.NO_ANSWER)
        assert alert.level == AlertLevel.URGENT and alert.details["welfare_check"] is True
        assert len(receiver.bodies) == 1
        content = messages(receiver)[0]["text"]["content"]
        assert elder.name in content and NO_ANSWER_ZH in content
        assert f"/alerts/{alert.id}" in content
        assert WELFARE_ZH in page(coordinator, f"/alerts/{alert.id}")

        # The next day somebody meets her: both her alerts close.
        clock.advance(days=1)
        assert check_in(worker, household, "met_well", token=token).status_code == 302
        met = latest(Visit)
        for a in (fresh(alert), the_alert(elder, AlertKind.OVERDUE)):
            assert a.status == AlertStatus.RESOLVED and a.resolved_by_visit_id == met.id
        join_notify_threads()
        assert len(receiver.bodies) == 1  # resolving sends nothing
