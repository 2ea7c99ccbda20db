"""The elder's own daily check-in (平安打卡, issue 17 item 3): the missed check-in scan (one
low-level alert the same day, in local time), what answers it (a late check-in, a call that
reaches the elder, a visit that meets them), and a check-in never moving the visit schedule."""

import secrets
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from carevisits.database import write_transaction
from carevisits.extensions import db
from carevisits.models import (
    Alert,
    AlertKind,
    AlertLevel,
    AlertStatus,
    AuditEvent,
    ClosedReason,
    Elder,
    Outcome,
    SelfCheckin,
    VisitMethod,
)
from carevisits.services import alerts, phone_calls, schedule, selfcheck
from carevisits.services.checkin import ElderRecordInput, record_visit
from tests.clock import SHANGHAI
from tests.conftest import count, make_app

DAY = date(2026, 11, 18)  # a Wednesday


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    """An instant of the local (Shanghai) day."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def enrolled(world, clock, hour=9, when=None, household=None) -> Elder:
    """h1's first elder (or the household's) takes part by ``hour``, enrolled at ``when``."""
    clock.set(when or at(7))
    elder = db.session.get(Elder, (household or world.h1).elders[0].id)
    selfcheck.enrol(elder, hour, actor=world.worker, now=clock())
    db.session.commit()
    return elder


def scan(clock, when: datetime, grace: timedelta = timedelta(0)) -> list[int]:
    """One missed check-in scan as the scheduler runs it, at ``when``."""
    clock.set(when)
    with write_transaction():
        new = selfcheck.scan_missed(clock(), grace)
        db.session.commit()
    return new


def missed_alerts(elder) -> list[Alert]:
    db.session.rollback()
    return list(db.session.scalars(select(Alert).where(
        Alert.elder_id == elder.id, Alert.kind == AlertKind.MISSED_CHECKIN).order_by(Alert.id)))


def near(moment: datetime, expected: datetime) -> bool:
    """The clock runs on from where a test set it: the same instant give or take a second."""
    return abs(moment - expected) < timedelta(seconds=1)


def press(clock, elder, when: datetime) -> None:
    clock.set(when)
    assert selfcheck.check_in(elder.checkin_token, clock()) is not None
    db.session.commit()


def meet(world, clock, elder, when: datetime) -> None:
    """The grid worker meets the household's elders at the door at ``when``."""
    clock.set(when)
    household = fresh(elder).household
    record_visit(visitor=world.worker, household=household, method=VisitMethod.SCANNED,
                 door_code=world.h1.code, idempotency_key=secrets.token_urlsafe(18),
                 records=[ElderRecordInput(e.id, Outcome.MET_WELL) for e in household.elders])
    db.session.commit()


def fresh(elder) -> Elder:
    db.session.rollback()
    return db.session.get(Elder, elder.id)


# --- the scan ----------------------------------------------------------------------------

def test_a_missed_check_in_raises_one_low_level_alert_across_rounds(app, world, clock):
    elder = enrolled(world, clock, hour=9)
    assert scan(clock, at(8, 59)) == []
    first = scan(clock, at(9, 0))
    assert len(first) == 1
    for later in (at(9, 5), at(12), at(23, 59)):
        assert scan(clock, later) == []
    (alert,) = missed_alerts(elder)
    assert alert.id == first[0] and alert.level == AlertLevel.WARNING
    assert alert.status == AlertStatus.OPEN and near(alert.opened_at, at(9, 0))


def test_a_check_in_before_the_hour_raises_nothing(app, world, clock):
    elder = enrolled(world, clock, hour=9)
    press(clock, elder, at(8, 12))
    assert scan(clock, at(9)) == [] and scan(clock, at(20)) == []


def test_a_check_in_after_the_hour_resolves_the_alert(app, world, clock):
    elder = enrolled(world, clock, hour=9)
    scan(clock, at(9, 30))
    press(clock, elder, at(10, 15))
    (alert,) = missed_alerts(elder)
    assert alert.status == AlertStatus.RESOLVED and near(alert.resolved_at, at(10, 15))
    assert alert.resolved_by_id is None and alert.resolution  # no person: the elder did
    assert scan(clock, at(11)) == []


def test_the_check_in_is_a_sign_of_life_and_never_moves_the_visit_schedule(app, world, clock):
    elder = enrolled(world, clock, hour=9)
    before = fresh(elder)
    schedule_before = (before.last_contact_at, before.due_at, before.overdue_at)
    press(clock, elder, at(8))
    press(clock, elder, at(8, 0, DAY + timedelta(days=1)))
    after = fresh(elder)
    assert (after.last_contact_at, after.due_at, after.overdue_at) == schedule_before
    assert near(after.last_checkin_at, at(8, 0, DAY + timedelta(days=1)))
    assert count(SelfCheckin, SelfCheckin.elder_id == elder.id) == 2


def test_presses_within_a_minute_are_one_check_in_later_ones_another(app, world, clock):
    elder = enrolled(world, clock)
    for when in (at(8), at(8, 0) + timedelta(seconds=20), at(8, 0) + timedelta(seconds=59)):
        press(clock, elder, when)
    press(clock, elder, at(8, 5))
    assert count(SelfCheckin, SelfCheckin.elder_id == elder.id) == 2


def test_a_check_in_also_answers_a_no_activity_alert(app, world, clock):
    elder = enrolled(world, clock)
    clock.set(at(7, 30))
    alerts.raise_alert(fresh(elder), AlertKind.NO_ACTIVITY, AlertLevel.WARNING, {}, at=clock())
    db.session.commit()
    press(clock, elder, at(8))
    db.session.rollback()
    alert = db.session.scalar(select(Alert).where(Alert.kind == AlertKind.NO_ACTIVITY))
    assert alert.status == AlertStatus.RESOLVED


@pytest.mark.parametrize("outcome", [Outcome.MET_WELL, Outcome.MET_CONCERN])
def test_a_phone_call_that_reaches_the_elder_resolves_it(app, world, clock, outcome):
    elder = enrolled(world, clock, hour=9)
    scan(clock, at(9, 1))
    clock.set(at(9, 20))
    phone_calls.record_phone_call(caller=world.worker, elder=fresh(elder), outcome=outcome,
                               notes="", idempotency_key=secrets.token_urlsafe(18))
    db.session.commit()
    (alert,) = missed_alerts(elder)
    assert alert.status == AlertStatus.RESOLVED and alert.resolved_by_id == world.worker.id


def test_a_call_nobody_answers_leaves_it_open(app, world, clock):
    elder = enrolled(world, clock, hour=9)
    scan(clock, at(9, 1))
    clock.set(at(9, 20))
    phone_calls.record_phone_call(caller=world.worker, elder=fresh(elder),
                               outcome=Outcome.NO_ANSWER, notes="",
                               idempotency_key=secrets.token_urlsafe(18))
    db.session.commit()
    assert missed_alerts(elder)[0].status == AlertStatus.OPEN


def test_a_visit_that_meets_the_elder_resolves_it(app, world, clock):
    elder = enrolled(world, clock, hour=9)
    scan(clock, at(9, 1))
    meet(world, clock, elder, at(10))
    (alert,) = missed_alerts(elder)
    assert alert.status == AlertStatus.RESOLVED and alert.resolved_by_visit_id is not None


def test_no_second_alert_the_same_day_after_a_worker_resolved_it_a_new_one_the_next(
        app, world, clock):
    elder = enrolled(world, clock, hour=9)
    scan(clock, at(9, 1))
    clock.set(at(9, 40))
    alerts.resolve(missed_alerts(elder)[0], actor=world.worker, note="电话里说很好")
    db.session.commit()
    assert scan(clock, at(9, 45)) == [] and scan(clock, at(23, 55)) == []
    tomorrow = DAY + timedelta(days=1)
    assert scan(clock, at(8, 59, tomorrow)) == []
    assert len(scan(clock, at(9, 0, tomorrow))) == 1
    assert len(missed_alerts(elder)) == 2


def test_an_alert_left_open_overnight_is_not_doubled_and_a_resolution_today_counts(
        app, world, clock):
    elder = enrolled(world, clock, hour=9)
    scan(clock, at(9, 1))
    tomorrow = DAY + timedelta(days=1)
    assert scan(clock, at(9, 1, tomorrow)) == []  # still open: the same alert
    clock.set(at(9, 30, tomorrow))
    alerts.resolve(missed_alerts(elder)[0], actor=world.worker, note="上门见到了")
    db.session.commit()
    assert scan(clock, at(10, 0, tomorrow)) == []  # answered today: not asked again today


def test_paused_elders_are_not_alerted(app, world, clock):
    elder = enrolled(world, clock, hour=9)
    schedule.pause(fresh(elder), reason="住院", expected_end=DAY, actor=world.worker, today=DAY)
    db.session.commit()
    assert scan(clock, at(9, 1)) == []
    assert len(scan(clock, at(9, 1, DAY + timedelta(days=1)))) == 1  # the pause covered DAY


def test_elders_who_do_not_take_part_or_stopped_or_are_closed_are_not_alerted(
        app, world, clock):
    stopped = enrolled(world, clock, hour=9)
    closed = enrolled(world, clock, hour=9, household=world.h2)
    selfcheck.stop(fresh(stopped), actor=world.worker)
    gone = db.session.get(Elder, closed.id)
    gone.closed_reason, gone.closed_on = ClosedReason.MOVED_AWAY, DAY
    db.session.commit()
    assert scan(clock, at(9, 1)) == [] and scan(clock, at(22)) == []
    assert missed_alerts(stopped) == [] and missed_alerts(closed) == []
    assert missed_alerts(world.h3.elders[0]) == []


def test_an_elder_enrolled_after_the_hour_passed_is_alerted_from_the_next_day(
        app, world, clock):
    elder = enrolled(world, clock, hour=9, when=at(9, 30))
    assert scan(clock, at(9, 31)) == [] and scan(clock, at(23)) == []
    assert len(scan(clock, at(9, 0, DAY + timedelta(days=1)))) == 1
    assert len(missed_alerts(elder)) == 1


def test_a_later_hour_chosen_today_counts_from_its_coming(app, world, clock):
    elder = enrolled(world, clock, hour=9)
    clock.set(at(8, 30))
    selfcheck.change_hour(fresh(elder), 11, actor=world.worker, now=clock())
    db.session.commit()
    assert scan(clock, at(10)) == []
    assert len(scan(clock, at(11))) == 1


def test_a_meeting_earlier_today_is_a_sign_of_life_too(app, world, clock):
    elder = enrolled(world, clock, hour=9)
    meet(world, clock, elder, at(8))
    assert scan(clock, at(9, 30)) == []


# --- local time, around UTC midnight ---------------------------------------------------------

def test_the_hour_is_the_local_hour_whatever_the_utc_date(app, world, clock):
    # By 08:00 in Shanghai is 00:00 UTC: the local day starts at 16:00 UTC the day before.
    elder = enrolled(world, clock, hour=8, when=at(6, 0, DAY - timedelta(days=1)))
    just_before = datetime(DAY.year, DAY.month, DAY.day - 1, 23, 59, tzinfo=UTC)
    assert just_before.astimezone(SHANGHAI) == at(7, 59)
    assert scan(clock, just_before) == []
    assert len(scan(clock, datetime(DAY.year, DAY.month, DAY.day, 0, 0, tzinfo=UTC))) == 1
    (alert,) = missed_alerts(elder)
    assert near(alert.opened_at, at(8))


def test_a_check_in_counts_for_the_local_day_it_was_made_in(app, world, clock):
    elder = enrolled(world, clock, hour=8, when=at(6, 0, DAY - timedelta(days=2)))
    # 23:50 local the evening before (15:50 UTC) does not count for DAY …
    press(clock, elder, at(23, 50, DAY - timedelta(days=1)))
    assert len(scan(clock, at(8, 0))) == 1
    # … 00:10 local (16:10 UTC of the day before) does, for the next day.
    press(clock, elder, at(0, 10, DAY + timedelta(days=1)))
    assert datetime(DAY.year, DAY.month, DAY.day, 16, 10, tzinfo=UTC) == at(
        0, 10, DAY + timedelta(days=1))
    assert scan(clock, at(8, 0, DAY + timedelta(days=1))) == []


@pytest.mark.parametrize("hour", [1, 12, 23])
def test_first_deadline_is_today_or_tomorrow_in_local_time(app, hour):
    deadline = selfcheck.first_deadline(hour, at(12))
    expected = at(hour) if hour > 12 else at(hour, 0, DAY + timedelta(days=1))
    assert deadline == expected


# --- enrolment, the link, the audit ----------------------------------------------------------

def test_each_change_is_audited_and_renewing_or_stopping_ends_the_old_link(app, world, clock):
    elder = enrolled(world, clock, hour=9)
    first = elder.checkin_token
    assert len(first) >= 43 and selfcheck.find(first).id == elder.id
    selfcheck.change_hour(fresh(elder), 8, actor=world.worker, now=clock())
    db.session.commit()
    selfcheck.renew(fresh(elder), actor=world.worker)
    db.session.commit()
    second = fresh(elder).checkin_token
    assert second != first and selfcheck.find(first) is None
    assert selfcheck.check_in(first, clock()) is None
    selfcheck.stop(fresh(elder), actor=world.worker)
    db.session.commit()
    stopped = fresh(elder)
    assert (stopped.checkin_by_hour, stopped.checkin_token, stopped.checkin_starts_at) == (
        None, None, None)
    assert selfcheck.find(second) is None
    actions = list(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.subject_type == "elder", AuditEvent.subject_id == elder.id,
        AuditEvent.action.like("selfcheck.%")).order_by(AuditEvent.id)))
    assert actions == ["selfcheck.enrol", "selfcheck.hour", "selfcheck.renew", "selfcheck.stop"]


@pytest.mark.parametrize("hour", [0, 24, -1])
def test_an_hour_outside_the_day_is_refused(app, world, clock, hour):
    with pytest.raises(selfcheck.SelfCheckError):
        selfcheck.enrol(db.session.get(Elder, world.h1.elders[0].id), hour,
                        actor=world.worker, now=clock())


@pytest.mark.parametrize(("name", "given"), [
    ("王芳", "芳"), ("李秀英", "秀英"), ("欧阳明", "阳明"), ("司马相如", "司马相如"),
    ("张", "张"), (" 刘德华 ", "德华"), ("Anna Li", "Anna Li"), ("王A", "王A")])
def test_the_given_name_is_the_name_without_the_surname(name, given):
    assert selfcheck.given_name(name) == given


def test_the_scan_runs_every_round_and_the_cli_says_so(app, world, clock, runner):
    enrolled(world, clock, hour=9)
    result = runner.invoke(args=["alerts", "scan", "--at", at(9, 30).isoformat()])
    assert result.exit_code == 0, result.output
    assert "1 new missed check-in alerts" in result.output
    again = runner.invoke(args=["alerts", "scan", "--at", at(9, 35).isoformat()])
    assert "0 new missed check-in alerts" in again.output


# --- a press kept on the phone without signal (issue 26, item 7) ----------------------------

GRACE = timedelta(minutes=30)


def press_sent_late(clock, elder, pressed: datetime, arrives: datetime, key: str) -> None:
    """我很好 pressed at ``pressed`` without signal, sent by the page at ``arrives``."""
    clock.set(arrives)
    now = clock()
    waited = round((now - pressed).total_seconds())
    assert selfcheck.check_in(elder.checkin_token, now, key=key,
                              pressed_at=selfcheck.press_time(now, waited)) is not None
    db.session.commit()


def test_the_scan_waits_for_the_grace_after_the_hour(app, world, clock):
    elder = enrolled(world, clock, hour=9)
    assert scan(clock, at(9, 0), GRACE) == [] and scan(clock, at(9, 29), GRACE) == []
    assert len(scan(clock, at(9, 30), GRACE)) == 1
    assert len(missed_alerts(elder)) == 1


def test_the_grace_covers_the_first_deadline_after_taking_part_too(app, world, clock):
    elder = enrolled(world, clock, hour=9, when=at(9, 10))  # the first deadline: tomorrow 9:00
    tomorrow = DAY + timedelta(days=1)
    assert scan(clock, at(9, 20, tomorrow), GRACE) == []
    assert len(scan(clock, at(9, 31, tomorrow), GRACE)) == 1
    assert len(missed_alerts(elder)) == 1


def test_a_grace_past_midnight_is_refused(app, world, clock, database_url, tmp_path):
    with pytest.raises(ValueError):
        selfcheck.scan_missed(clock(), timedelta(minutes=60))
    with pytest.raises(ValueError, match="GRACE"):  # at start, not at every round
        make_app(database_url, tmp_path, SELF_CHECKIN_GRACE_MINUTES=60)


def test_a_press_that_arrives_within_the_grace_raises_nothing(app, world, clock):
    elder = enrolled(world, clock, hour=9)
    press_sent_late(clock, elder, at(8, 55), at(9, 20), key="kept-offline-0001")
    assert scan(clock, at(9, 30), GRACE) == [] and scan(clock, at(20), GRACE) == []
    kept = db.session.scalar(select(SelfCheckin).where(SelfCheckin.elder_id == elder.id))
    assert near(kept.at, at(8, 55)) and near(kept.received_at, at(9, 20))
    assert near(fresh(elder).last_checkin_at, at(8, 55))


def test_a_press_later_than_the_grace_resolves_the_alert_it_missed(app, world, clock):
    elder = enrolled(world, clock, hour=9)
    assert len(scan(clock, at(9, 30), GRACE)) == 1  # the press still waits on the phone
    press_sent_late(clock, elder, at(8, 50), at(10, 20), key="kept-offline-0002")
    (alert,) = missed_alerts(elder)
    assert alert.status == AlertStatus.RESOLVED and near(alert.resolved_at, at(10, 20))
    assert near(fresh(elder).last_checkin_at, at(8, 50))
    assert scan(clock, at(11), GRACE) == []


def test_a_press_from_yesterday_does_not_answer_todays_alert(app, world, clock):
    elder = enrolled(world, clock, hour=9, when=at(7, 0, DAY - timedelta(days=1)))
    press(clock, elder, at(8, 0, DAY - timedelta(days=1)))
    assert len(scan(clock, at(9, 30), GRACE)) == 1
    press_sent_late(clock, elder, at(8, 30, DAY - timedelta(days=1)), at(10),
                    key="kept-offline-0003")
    (alert,) = missed_alerts(elder)
    assert alert.status == AlertStatus.OPEN
    assert near(fresh(elder).last_checkin_at, at(8, 30, DAY - timedelta(days=1)))
    assert count(SelfCheckin, SelfCheckin.elder_id == elder.id) == 2


def test_a_press_sent_twice_is_one_check_in(app, world, clock):
    elder = enrolled(world, clock, hour=9)
    press_sent_late(clock, elder, at(8, 0), at(8, 30), key="same-press-000001")
    press_sent_late(clock, elder, at(8, 0), at(8, 45), key="same-press-000001")
    press_sent_late(clock, elder, at(8, 10), at(8, 50), key="other-press-00001")
    assert count(SelfCheckin, SelfCheckin.elder_id == elder.id) == 2


def test_the_time_of_a_kept_press_is_taken_within_bounds(app):
    now = at(12)
    assert selfcheck.press_time(now, None) == now
    assert selfcheck.press_time(now, -300) == now  # a phone clock set back: not the future
    assert selfcheck.press_time(now, 3600) == at(11)
    assert selfcheck.press_time(now, 72 * 3600) == now - timedelta(hours=72)
    assert selfcheck.press_time(now, 72 * 3600 + 1) is None  # days old: dropped
