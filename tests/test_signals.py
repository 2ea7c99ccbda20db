"""Signals from devices (issue 17, item 2): kept once per key and event id, refused for a
device the key cannot reach, and turned into the alerts a coordinator works through — the
urgent call for help, the silent flat (suppressed while the elder stays with family), the
flat in use again — sharing the ladder of a door nobody opens."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from carevisits.database import write_transaction
from carevisits.extensions import db
from carevisits.models import (
    Alert,
    AlertEvent,
    AlertKind,
    AlertLevel,
    AlertStatus,
    ApiKey,
    CareLevel,
    DeviceKind,
    Outcome,
    Signal,
    SignalKind,
    VisitMethod,
)
from carevisits.models.base import local_today, utcnow
from carevisits.services import alerts, checkin, devices, phone_calls, schedule, signals
from tests import factories
from tests.conftest import count
from tests.integration_world import api_key, device


@pytest.fixture
def gateway(world):
    """Street one's meter gateway, h1's water meter (h1: two elders) and h2's SOS button."""
    key = api_key("水务网关", street=world.streets[0])
    meter = device(world.h1, "WM-0001")
    button = device(world.h2, "SOS-0002", DeviceKind.SOS_BUTTON)
    db.session.commit()
    return key, meter, button


def send(key, code, kind, value=None, event=None, hours_ago=0):
    """A signal as the API passes it on, committed as the request would be."""
    result = signals.receive(key, event_id=event or f"{code}-{kind}-{value}-{hours_ago}",
                             device_code=code, kind=kind,
                             occurred_at=utcnow() - timedelta(hours=hours_ago), value=value)
    db.session.commit()
    return result


def open_alerts(elder, kind):
    return list(db.session.scalars(select(Alert).where(
        Alert.elder_id == elder.id, Alert.kind == kind, Alert.status != AlertStatus.RESOLVED)))


def test_a_call_for_help_opens_an_urgent_alert_once_per_event_id(world, gateway):
    key, _meter, _button = gateway
    first = send(key, "SOS-0002", SignalKind.SOS, event="evt-1")
    again = send(key, "SOS-0002", SignalKind.SOS, event="evt-1")

    assert first.created and not again.created
    assert again.signal.id == first.signal.id
    [alert] = open_alerts(world.h2.elders[0], AlertKind.EMERGENCY)
    assert alert.level == AlertLevel.URGENT
    assert alert.details == {"signal": "sos", "device": "sos_button",
                             "signal_id": first.signal.id}
    assert first.signal.outcome == "opened" and first.signal.alert_id == alert.id
    assert count(Signal) == 1
    assert count(AlertEvent, AlertEvent.alert_id == alert.id) == 1  # opened, nothing more


def test_a_fall_alerts_every_elder_of_the_household_even_one_away(world, gateway):
    key, _meter, _button = gateway
    away, other = world.h1.elders
    schedule.pause(away, reason="住女儿家", expected_end=local_today() + timedelta(days=9),
                   actor=world.coordinator, today=local_today())
    device(world.h1, "BAND-7", DeviceKind.WEARABLE)
    db.session.commit()

    result = send(key, "BAND-7", SignalKind.FALL)

    for elder in (away, other):
        [alert] = open_alerts(elder, AlertKind.EMERGENCY)
        assert alert.level == AlertLevel.URGENT and alert.details["signal"] == "fall"
    assert result.signal.outcome == "opened"


def test_unknown_removed_and_foreign_devices_are_refused_alike(world, gateway):
    key, meter, _button = gateway
    elsewhere = device(world.h4, "WM-STREET2")  # street two: outside the key's area
    removed = device(world.h3, "WM-OLD")
    devices.remove(world.admin, removed)
    db.session.commit()

    messages = set()
    for code in ("NO-SUCH-METER", "WM-OLD", "WM-STREET2"):
        with pytest.raises(signals.SignalError) as refused:
            signals.receive(key, event_id=f"e-{code}", device_code=code,
                            kind=SignalKind.SOS, occurred_at=utcnow(), value=None)
        assert refused.value.field == "device_id"
        messages.add(str(refused.value.message))
    assert len(messages) == 1  # nothing tells a key which devices exist elsewhere
    db.session.rollback()
    assert count(Signal) == 0 and count(Alert) == 0
    assert meter.code and elsewhere.household_id == world.h4.id


def test_the_same_event_id_from_another_key_is_another_event(world, gateway):
    key, _meter, _button = gateway
    other = api_key("另一网关", community=world.communities[1])  # 乙社区: h2 is not in it
    device(world.h3, "WM-0003")
    db.session.commit()

    send(key, "SOS-0002", SignalKind.SOS, event="same")
    second = send(other, "WM-0003", SignalKind.SOS, event="same")

    assert second.created and count(Signal) == 2


def test_a_silence_under_the_threshold_only_records_the_signal(world, gateway):
    key, _meter, _button = gateway
    result = send(key, "WM-0001", SignalKind.NO_USAGE, value=11.5)

    assert result.signal.outcome == "below_threshold" and result.signal.alert_id is None
    assert count(Alert) == 0


def test_a_silence_over_the_threshold_opens_then_updates_and_escalates(world, gateway):
    key, _meter, _button = gateway
    first = send(key, "WM-0001", SignalKind.NO_USAGE, value=12)
    elder, spouse = world.h1.elders

    [alert] = open_alerts(elder, AlertKind.NO_ACTIVITY)
    assert len(open_alerts(spouse, AlertKind.NO_ACTIVITY)) == 1
    assert alert.level == AlertLevel.WARNING and alert.details["hours"] == 12
    assert first.signal.outcome == "opened" and first.signal.alert_id == alert.id

    later = send(key, "WM-0001", SignalKind.NO_USAGE, value=18)
    db.session.refresh(alert)
    assert later.signal.outcome == "raised" and alert.details["hours"] == 18
    assert alert.level == AlertLevel.WARNING

    twice = send(key, "WM-0001", SignalKind.NO_USAGE, value=24)
    db.session.refresh(alert)
    assert twice.signal.outcome == "raised"
    assert alert.level == AlertLevel.URGENT and alert.details["hours"] == 24
    assert [e.action for e in alert.events] == ["opened", "escalated"]
    assert count(Alert, Alert.kind == AlertKind.NO_ACTIVITY) == 2


def test_a_key_care_elder_s_silence_is_urgent_at_once(world, gateway):
    key, _meter, _button = gateway
    household = factories.household(world.grids[0], care_level=CareLevel.KEY)
    device(household, "DOOR-9", DeviceKind.DOOR_SENSOR)
    db.session.commit()

    send(key, "DOOR-9", SignalKind.DOOR_NOT_OPENED, value=13)

    [alert] = open_alerts(household.elders[0], AlertKind.NO_ACTIVITY)
    assert alert.level == AlertLevel.URGENT and alert.details["signal"] == "door_not_opened"


def test_thresholds_per_street_and_per_household(world, gateway):
    key, _meter, _button = gateway
    devices.set_street_threshold(world.admin, world.streets[0], 8)
    device(world.h3, "WM-0003")
    devices.set_household_threshold(world.coordinator, world.h3, 24)
    db.session.commit()

    street_rule = send(key, "WM-0001", SignalKind.NO_USAGE, value=9)  # h1: the street's 8 h
    own_rule = send(key, "WM-0003", SignalKind.NO_USAGE, value=20)  # h3: its own 24 h

    assert street_rule.signal.outcome == "opened"
    assert own_rule.signal.outcome == "below_threshold"
    assert send(key, "WM-0003", SignalKind.NO_USAGE, value=24).signal.outcome == "opened"
    assert signals.threshold(world.h1) == 8 and signals.threshold(world.h3) == 24


def test_a_paused_elder_s_silence_is_suppressed_and_counts_again_once_back(world, gateway,
                                                                            clock):
    key, _meter, _button = gateway
    for elder in world.h1.elders:  # both stay at the daughter's for a week
        schedule.pause(elder, reason="住女儿家", expected_end=local_today() + timedelta(days=7),
                       actor=world.worker, today=local_today())
    db.session.commit()

    away = send(key, "WM-0001", SignalKind.NO_USAGE, value=30)

    assert away.signal.outcome == "suppressed" and away.signal.alert_id is None
    assert count(Alert) == 0
    clock.advance(days=8)  # the pause has run out
    back = send(key, "WM-0001", SignalKind.NO_USAGE, value=13)
    assert back.signal.outcome == "opened"
    assert count(Alert, Alert.kind == AlertKind.NO_ACTIVITY) == 2


def test_only_the_elder_at_home_is_alerted_when_the_other_is_away(world, gateway):
    key, _meter, _button = gateway
    away, home = world.h1.elders
    schedule.pause(away, reason="住院", expected_end=local_today() + timedelta(days=3),
                   actor=world.worker, today=local_today())
    db.session.commit()

    result = send(key, "WM-0001", SignalKind.NO_USAGE, value=14)

    assert result.signal.outcome == "opened"
    assert open_alerts(away, AlertKind.NO_ACTIVITY) == []
    assert len(open_alerts(home, AlertKind.NO_ACTIVITY)) == 1


def test_usage_back_resolves_the_silence_it_follows_only(world, gateway):
    key, _meter, _button = gateway
    send(key, "WM-0001", SignalKind.NO_USAGE, value=14, hours_ago=1)
    stale = send(key, "WM-0001", SignalKind.USAGE_BACK, hours_ago=3)  # sent late, from before
    assert stale.signal.outcome == "recorded"
    assert len(open_alerts(world.h1.elders[0], AlertKind.NO_ACTIVITY)) == 1

    back = send(key, "WM-0001", SignalKind.USAGE_BACK)

    assert back.signal.outcome == "resolved"
    for elder in world.h1.elders:
        assert open_alerts(elder, AlertKind.NO_ACTIVITY) == []
    alert = db.session.get(Alert, back.signal.alert_id)
    assert alert.status == AlertStatus.RESOLVED and alert.resolution


def test_a_visit_that_meets_the_elder_resolves_the_silence(world, gateway, clock):
    key, _meter, _button = gateway
    send(key, "WM-0001", SignalKind.NO_USAGE, value=14)
    clock.advance(minutes=30)
    met, not_met = world.h1.elders

    checkin.record_visit(visitor=world.worker, household=world.h1, method=VisitMethod.SCANNED,
                         door_code=world.h1.code, idempotency_key="visit-after-silence-01",
                         records=[checkin.ElderRecordInput(met.id, Outcome.MET_WELL),
                                  checkin.ElderRecordInput(not_met.id, Outcome.NOT_AT_HOME)])
    db.session.commit()

    assert open_alerts(met, AlertKind.NO_ACTIVITY) == []
    assert len(open_alerts(not_met, AlertKind.NO_ACTIVITY)) == 1


def test_a_phone_call_that_reaches_the_elder_resolves_the_silence_not_the_call_for_help(
        world, gateway, clock):
    key, _meter, _button = gateway
    elder = world.h2.elders[0]
    device(world.h2, "WM-0002")
    db.session.commit()
    send(key, "WM-0002", SignalKind.NO_USAGE, value=15)
    send(key, "SOS-0002", SignalKind.SOS)
    clock.advance(minutes=10)

    phone_calls.record_phone_call(caller=world.other_worker, elder=elder, outcome=Outcome.MET_WELL,
                               notes="在家，水表坏了", idempotency_key="call-after-silence-01")
    db.session.commit()

    assert open_alerts(elder, AlertKind.NO_ACTIVITY) == []
    assert len(open_alerts(elder, AlertKind.EMERGENCY)) == 1  # someone must go and see


def test_the_silent_flat_climbs_the_same_ladder_as_the_unopened_door(world, gateway):
    key, _meter, _button = gateway
    send(key, "WM-0001", SignalKind.NO_USAGE, value=14)
    [alert] = open_alerts(world.h1.elders[0], AlertKind.NO_ACTIVITY)
    door = alerts.raise_alert(world.h2.elders[0], AlertKind.NO_ANSWER, AlertLevel.WARNING, {})

    for n in range(6):
        alerts.record_step(alert, world.worker, f"第{n + 1}步")
        alerts.record_step(door, world.worker, f"第{n + 1}步")
    db.session.commit()

    silent, unopened = alerts.ladder(AlertKind.NO_ACTIVITY), alerts.ladder(AlertKind.NO_ANSWER)
    assert alert.ladder_step == len(silent) and door.ladder_step == len(unopened)
    assert silent[-1] == unopened[-1] == alerts.WELFARE_CHECK
    assert str(silent[0]) == str(unopened[1])  # the silent flat starts with the phone
    assert alert.status == door.status == AlertStatus.ACKNOWLEDGED
    assert [e.action for e in alert.events].count("step") == len(silent)


def test_the_same_event_sent_twice_at_once_is_one_signal_and_one_alert(app, world, gateway):
    key_id = gateway[0].id
    barrier, results, errors = threading.Barrier(2), [], []

    def post():
        with app.app_context():
            try:
                key = db.session.get(ApiKey, key_id)
                barrier.wait(timeout=10)
                with write_transaction():  # as a request that writes
                    result = signals.receive(key, event_id="twice-at-once",
                                             device_code="SOS-0002", kind=SignalKind.SOS,
                                             occurred_at=utcnow(), value=None)
                    db.session.commit()
                results.append(result.created)
            except Exception as err:  # noqa: BLE001 - reported below
                errors.append(err)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert count(Signal) == 1
    assert db.session.scalar(select(func.count()).select_from(Alert)) == 1
    # Each request either kept the event or was told it had come already (or, on SQLite,
    # waited for the other's write lock and was refused as busy: the gateway sends again).
    assert results.count(True) == 1
    assert len(results) + len(errors) == 2


def test_the_board_and_the_alert_page_show_the_silent_flat_and_its_ladder(as_user, world,
                                                                         gateway):
    key, _meter, _button = gateway
    send(key, "WM-0001", SignalKind.NO_USAGE, value=14.5)
    send(key, "SOS-0002", SignalKind.SOS)
    client = as_user(world.coordinator)
    silent, pressed = world.h1.elders[0], world.h2.elders[0]

    board = client.get("/alerts/?kind=no_activity").get_data(as_text=True)
    assert silent.name in board and pressed.name not in board
    assert "14.5" in board
    [alert] = open_alerts(silent, AlertKind.NO_ACTIVITY)
    detail = client.get(f"/alerts/{alert.id}").get_data(as_text=True)
    assert 'class="signal-details"' in detail and "14.5" in detail
    assert detail.count("<li class=") >= len(alerts.ladder(AlertKind.NO_ACTIVITY))
    assert f'action="/alerts/{alert.id}/step"' in detail
    emergency = client.get("/alerts/?kind=emergency").get_data(as_text=True)
    assert pressed.name in emergency and silent.name not in emergency
