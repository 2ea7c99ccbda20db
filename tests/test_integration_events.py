"""Outgoing integration events (issue 17, items 4 and 5): alert, visit and request events to
the keys that may read them, a work order's status back to the platform that sent it — each
one message of the outbox, posted signed to a real local receiver, retried on failure, never
to a revoked key or outside a key's area."""

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from carevisits.extensions import db
from carevisits.models import (
    AlertKind,
    AlertLevel,
    ApiPermission,
    DeliveryStatus,
    DeviceKind,
    Notification,
    Outcome,
    RequestStatus,
    SignalKind,
    VisitMethod,
)
from carevisits.models.base import utcnow
from carevisits.services import (
    alerts,
    checkin,
    notify,
    requests,
    signals,
    signatures,
    workorders,
)
from tests.conftest import login
from tests.integration_world import Receiver, api_key, device


def settle() -> None:
    """Let the sender that every commit with new messages starts finish (as in production:
    messages go out after the commit, from a background thread)."""
    for thread in threading.enumerate():
        if thread.name == "notify":
            thread.join(timeout=30)


def deliver(at) -> None:
    """Whatever is due at ``at`` after the background sender is done."""
    settle()
    notify.deliver_due(at)


def events_of(key) -> list[dict]:
    db.session.expire_all()
    return [{"event": n.event, **json.loads(n.text)} for n in db.session.scalars(
        select(Notification).where(Notification.api_key_id == key.id).order_by(Notification.id))]


def test_an_alert_s_life_reaches_the_keys_that_may_read_it_in_its_area(world):
    url = "https://city.example.org/hook"
    listening = api_key("网格平台", street=world.streets[0], webhook_url=url,
                        permissions=[ApiPermission.READ_ALERTS])
    api_key("二街道平台", street=world.streets[1], webhook_url=url)  # another area
    api_key("只读登记", webhook_url=url, permissions=[ApiPermission.READ_REGISTER])
    api_key("无回调", street=world.streets[0])  # no webhook
    revoked = api_key("已停用", webhook_url=url)
    revoked.revoked_at = utcnow()
    db.session.commit()
    elder = world.h1.elders[0]

    alert = alerts.raise_alert(elder, AlertKind.NO_ANSWER, AlertLevel.WARNING, {})
    alerts.acknowledge(alert, world.worker)
    alerts.resolve(alert, actor=world.worker, note="见到了")
    db.session.commit()

    sent = events_of(listening)
    assert [e["event"] for e in sent] == ["alert.opened", "alert.acknowledged", "alert.resolved"]
    assert sent[0]["data"]["alert_id"] == alert.id and sent[0]["data"]["elder_id"] == elder.id
    assert sent[2]["data"]["status"] == "resolved"
    assert db.session.query(Notification).count() == 3  # nobody else heard of it


def test_a_scan_s_alerts_are_told_in_one_go(world, clock):
    key = api_key("网格平台", street=world.streets[0], webhook_url="https://x.example.org/h")
    db.session.commit()
    clock.advance(days=30)  # every elder overdue

    opened = alerts.scan_overdue(utcnow())
    db.session.commit()

    street_one = {e.id for h in (world.h1, world.h2, world.h3) for e in h.elders}
    told = {e["data"]["elder_id"] for e in events_of(key) if e["event"] == "alert.opened"}
    assert told == street_one and len(opened) == len(street_one) + 1  # h4: street two


def test_a_visit_and_a_closed_request_are_told(world):
    key = api_key("网格平台", community=world.communities[0],
                  webhook_url="https://x.example.org/h",
                  permissions=[ApiPermission.READ_VISITS, ApiPermission.READ_REQUESTS])
    db.session.commit()
    elder = world.h2.elders[0]
    visit, _ = checkin.record_visit(
        visitor=world.other_worker, household=world.h2, method=VisitMethod.SCANNED,
        door_code=world.h2.code, idempotency_key="event-visit-0001",
        records=[checkin.ElderRecordInput(elder.id, Outcome.MET_WELL)])
    request = requests.file_request(world.other_worker, elder, kind="其他", description="买药",
                                    request_class=requests.RequestClass.SMALL,
                                    source=requests.RequestSource.VISIT)
    requests.change_status(request, RequestStatus.IN_PROGRESS, actor=world.other_worker)
    requests.change_status(request, RequestStatus.RESOLVED, actor=world.other_worker,
                           note="已代买")
    db.session.commit()

    sent = events_of(key)
    assert [e["event"] for e in sent] == ["visit.recorded", "request.closed"]
    assert sent[0]["data"] == {"visit_id": visit.id, "elder_id": elder.id,
                               "outcome": "met_well", "method": "scanned",
                               "occurred_at": visit.occurred_at.isoformat()}
    assert sent[1]["data"]["status"] == "resolved" and sent[1]["data"]["resolution"] == "已代买"


def test_events_are_posted_signed_with_the_key_s_secret(app, world, loopback_robots):
    with Receiver() as receiver:
        key = api_key("网格平台", street=world.streets[0], webhook_url=receiver.url)
        gateway = api_key("网关", street=world.streets[0])
        device(world.h2, "SOS-1", DeviceKind.SOS_BUTTON)
        db.session.commit()
        signals.receive(gateway, event_id="e1", device_code="SOS-1", kind=SignalKind.SOS,
                        occurred_at=utcnow(), value=None)
        db.session.commit()
        deliver(utcnow())

    [(path, headers, body)] = receiver.posts
    assert path == "/carevisits/events" and headers["X-Carevisits-Event"] == "alert.opened"
    assert signatures.verify(key.signing_secret, headers[signatures.HEADER], body, utcnow())
    assert not signatures.verify("another secret", headers[signatures.HEADER], body, utcnow())
    event = json.loads(body)
    assert event["event"] == "alert.opened" and event["data"]["kind"] == "emergency"


@pytest.fixture
def work_order(world):
    def make(url):
        key = api_key("12345热线", street=world.streets[0], webhook_url=url,
                      permissions=[ApiPermission.WRITE_WORK_ORDERS])
        request, _ = workorders.receive(
            key, external_ref="GD-77", household_number=world.h1.number, elder_id=None,
            description="楼道灯坏了", deadline=utcnow() + timedelta(days=1), kind=None)
        db.session.commit()
        return key, request
    return make


def test_a_work_order_s_status_change_calls_the_callback_once(app, world, loopback_robots,
                                                              work_order):
    with Receiver() as receiver:
        key, request = work_order(receiver.url)
        requests.change_status(request, RequestStatus.IN_PROGRESS, actor=world.worker)
        db.session.commit()
        deliver(utcnow())
        deliver(utcnow() + timedelta(hours=2))  # nothing is sent again

    [event] = receiver.events()
    assert event["event"] == "work_order.status"
    assert event["data"]["external_ref"] == "GD-77" and event["data"]["status"] == "in_progress"
    assert {"note", "at"} <= set(event["data"])
    assert signatures.verify(key.signing_secret, receiver.posts[0][1][signatures.HEADER],
                             receiver.posts[0][2], utcnow())


def test_a_failed_callback_is_retried_until_it_is_received(app, world, loopback_robots,
                                                          work_order, clock):
    with Receiver(statuses=[503, 500]) as receiver:
        _key, request = work_order(receiver.url)
        requests.change_status(request, RequestStatus.RESOLVED, actor=world.worker,
                               note="已修好")
        db.session.commit()
        deliver(utcnow())  # the sender after the commit tried once: 503
        assert len(receiver.posts) == 1  # and the retry is not due yet
        clock.advance(minutes=2)
        deliver(utcnow())
        assert len(receiver.posts) == 2  # 500
        deliver(utcnow())
        assert len(receiver.posts) == 2  # the next retry waits five minutes
        clock.advance(minutes=6)
        deliver(utcnow())

    db.session.expire_all()
    [note] = db.session.scalars(select(Notification).where(
        Notification.event == "work_order.status")).all()
    assert note.status == DeliveryStatus.SENT and note.attempts == 3
    assert len(receiver.posts) == 3
    assert len({body for _p, _h, body in receiver.posts}) == 1  # the same event each time
    assert receiver.events()[0]["data"]["status"] == "resolved"


def test_a_revoked_key_s_pending_events_are_not_sent(app, world, loopback_robots, work_order):
    with Receiver() as receiver:
        key, request = work_order(receiver.url)
        requests.change_status(request, RequestStatus.IN_PROGRESS, actor=world.worker)
        key.revoked_at = utcnow()
        db.session.commit()
        deliver(utcnow())
        deliver(utcnow() + timedelta(hours=3))

    assert receiver.posts == []
    db.session.expire_all()
    note = db.session.scalar(select(Notification).where(Notification.api_key_id == key.id))
    assert note.status == DeliveryStatus.FAILED and "revoked" in note.last_error
    assert note.attempts == 1  # given up at once, not retried


def test_the_board_still_lists_failed_alert_messages_beside_failed_events(app, client, world):
    key = api_key("网格平台", webhook_url="https://x.example.org/h")
    alert = alerts.raise_alert(world.h1.elders[0], AlertKind.NO_ANSWER, AlertLevel.WARNING, {})
    db.session.flush()
    db.session.add_all([
        Notification(api_key_id=key.id, event="alert.opened", text="{}",
                     status=DeliveryStatus.FAILED, attempts=5, last_error="refused"),
        Notification(alert_id=alert.id, channel_id=None, text="机器人消息",
                     status=DeliveryStatus.FAILED, attempts=5, last_error="refused")])
    db.session.commit()

    assert len(db.session.scalars(notify.failed_notifications(world.coordinator)).all()) == 1
    login(client, world.coordinator)
    page = client.get("/alerts/")
    assert page.status_code == 200 and world.h1.elders[0].name in page.get_data(as_text=True)


def test_with_nobody_listening_a_check_in_queues_nothing_and_starts_no_sender(world):
    """A street without integrations pays nothing: no message is written and no background
    sender starts after the commit (on PostgreSQL the INSERT … SELECT reports no row count:
    counting it as "some" started a sender after every check-in)."""
    api_key("no webhook", street=world.streets[0], permissions=[ApiPermission.READ_VISITS])
    visit, _ = checkin.record_visit(
        visitor=world.worker, household=world.h1, method=VisitMethod.SCANNED,
        door_code=world.h1.code, idempotency_key="nobody-listens",
        records=[checkin.ElderRecordInput(e.id, Outcome.MET_WELL) for e in world.h1.elders])
    assert visit.id is not None and notify.PENDING_FLAG not in db.session.info
    db.session.commit()
    assert not [t for t in threading.enumerate() if t.name == "notify"]
    assert db.session.scalars(select(Notification)).all() == []
