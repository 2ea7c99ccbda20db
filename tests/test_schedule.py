"""One schedule rule (paused / ok / due / late) for every page, list, badge and scan, in local
dates; pauses to their last day; the demo's visits in the daytime; and the scans that run by
themselves in the web processes, never two at once."""

import threading
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from carevisits import scheduler
from carevisits.extensions import db
from carevisits.models import (
    Alert,
    AlertKind,
    CareLevel,
    Elder,
    GridAssignment,
    RequestClass,
    RequestSource,
    Role,
    Visit,
)
from carevisits.models.base import utcnow
from carevisits.services import printjobs, requests, schedule
from carevisits.services.schedule import State
from tests import factories
from tests.clock import EVERY_WEEKDAY
from tests.conftest import make_app
from tests.test_alerts import alerts_of, client_as, fresh, page, scan, scene, visit, wait_for

SHANGHAI = ZoneInfo("Asia/Shanghai")
PAUSED_ZH = "暂停中"


def local(moment: datetime) -> datetime:
    return moment.astimezone(SHANGHAI)


def paused_until(elder, day) -> None:
    """Pause the elder's visits to ``day`` (their last paused day) and commit."""
    elder = fresh(elder)
    elder.paused_until = day
    db.session.commit()


# --- the one rule: pauses to their last local day, overdue from the stored instant ---------

def test_an_overdue_alert_on_the_last_day_of_a_pause(app, clock):
    """Paused to the 20th: no alert on the 20th, however late; the 21st (Shanghai) opens one,
    also before 08:00 when the UTC date is still the 20th."""
    w = scene(CareLevel.KEY)
    clock.set(datetime(2026, 11, 16, 10, 0, tzinfo=SHANGHAI))
    visit(w.household, w.worker)  # overdue from the 17th, 16:00 on
    last_day = datetime(2026, 11, 20).date()
    paused_until(w.elder, last_day)
    for moment in (datetime(2026, 11, 20, 0, 5), datetime(2026, 11, 20, 12, 0),
                   datetime(2026, 11, 20, 23, 59)):
        assert scan(moment.replace(tzinfo=SHANGHAI)) == [], moment
        assert schedule.state(fresh(w.elder), moment.replace(tzinfo=SHANGHAI)) == State.PAUSED
    next_morning = datetime(2026, 11, 21, 0, 1, tzinfo=SHANGHAI)  # UTC: the 20th, 16:01
    assert schedule.state(fresh(w.elder), next_morning) == State.LATE
    assert len(scan(next_morning)) == 1
    assert the_overdue(w.elder).opened_at == next_morning


def the_overdue(elder):
    (alert,) = alerts_of(elder, AlertKind.OVERDUE)
    return alert


@pytest.mark.parametrize("hour", [0, 3, 7], ids=lambda h: f"{h:02d}h")
def test_a_pause_that_ended_yesterday_is_over_on_every_page_before_8am(app, clock, hour):
    """Between 00:00 and 08:00 in Shanghai the UTC date is still yesterday: the round, the
    elder's page, the register's filters and the scan must all read the local date."""
    w = scene(CareLevel.KEY)
    clock.set(datetime(2026, 11, 16, 10, 0, tzinfo=SHANGHAI))
    visit(w.household, w.worker)
    paused_until(w.elder, datetime(2026, 11, 19).date())
    clock.set(datetime(2026, 11, 20, hour, 10, tzinfo=SHANGHAI))
    assert len(scan(utcnow())) == 1  # the board has an overdue alert for her …
    worker, coordinator = client_as(app, w.worker), client_as(app, w.coordinator)
    assert w.elder.name in page(coordinator, "/alerts/")
    round_page = page(worker, "/round/")  # … and every page says so too
    assert w.elder.name in round_page and PAUSED_ZH not in round_page
    assert "badge late" in round_page
    profile = page(worker, f"/elders/{w.elder.id}")
    assert PAUSED_ZH not in profile and "暂停至" not in profile and "badge late" in profile
    assert w.elder.name not in page(coordinator, "/elders/?status=paused")
    assert w.elder.name in page(coordinator, "/elders/?status=overdue")


def _elders_in_every_state(now):
    """Elders of one grid whose columns put them on and around every boundary of the rule."""
    w = scene(CareLevel.FOCUS, households=9)
    today = local(now).date()
    columns = [  # (due_at, overdue_at, paused_until)
        (now + timedelta(days=1), now + timedelta(days=2), None),  # ok
        (now, now + timedelta(hours=12), None),  # due, at the instant
        (now - timedelta(hours=1), now, None),  # late, at the instant
        (now - timedelta(days=3), now - timedelta(days=2), None),  # late
        (None, None, None),  # no schedule at all: late
        (now - timedelta(days=3), now - timedelta(days=2), today),  # paused, last day
        (now - timedelta(days=3), now - timedelta(days=2), today - timedelta(days=1)),  # late
        (now + timedelta(seconds=1), now + timedelta(hours=1), None),  # ok, a second to go
        (now - timedelta(seconds=1), now + timedelta(seconds=1), None),  # due
    ]
    elders = [h.elders[0] for h in w.households]
    for elder, (due, overdue, until) in zip(elders, columns, strict=True):
        elder.due_at, elder.overdue_at, elder.paused_until = due, overdue, until
    db.session.commit()
    return elders


@pytest.mark.parametrize("now", EVERY_WEEKDAY, ids=lambda t: t.strftime("%a%H"))
def test_the_sql_twin_selects_exactly_the_elders_the_rule_names(app, now):
    elders = _elders_in_every_state(now)
    expected = {s: {e.id for e in elders if schedule.state(e, now) == s} for s in State}
    assert all(expected.values()), expected  # every state is on the board
    ids = [e.id for e in elders]
    for wanted in State:
        found = set(db.session.scalars(select(Elder.id).where(
            Elder.id.in_(ids), schedule.state_clause(wanted, now))))
        assert found == expected[wanted], wanted
    # The scan opens an alert for the late elders and for nobody else.
    assert _scanned(now) == expected[State.LATE]


def _scanned(now):
    scan(now)
    db.session.rollback()
    return set(db.session.scalars(select(Alert.elder_id).where(Alert.kind == AlertKind.OVERDUE)))


def test_resuming_takes_the_grace_period_from_the_streets_policy(app):
    w = scene(CareLevel.KEY)
    schedule.set_policy(w.street.id, CareLevel.KEY, 1, 2)  # 2 hours' grace, not 6
    elder = w.elder
    elder.due_at = elder.overdue_at = None  # e.g. a record that never had a schedule
    elder.paused_until = local(utcnow()).date() + timedelta(days=3)
    now = utcnow()
    schedule.end_pause(elder, now)
    db.session.commit()
    elder = fresh(elder)
    assert elder.paused_until is None
    assert (elder.due_at, elder.overdue_at) == (now, now + timedelta(hours=2))


# --- 下次探访: how near the next visit is, not when the elder was last seen ------------------

def test_the_next_visit_shows_how_far_off_it_is(app, clock):
    w = scene(CareLevel.FOCUS)
    visit(w.household, w.worker, at=utcnow() - timedelta(minutes=30))  # due in 3 days
    profile = page(client_as(app, w.worker), f"/elders/{w.elder.id}")
    due_row = profile.split("下次探访", 1)[1].split("</dd>", 1)[0]
    assert "今天已见" not in due_row
    assert "3天后到期" in due_row
    assert "今天已见" in profile.split("最近见面", 1)[1].split("</dd>", 1)[0]


# --- the demo's visits happen in the daytime --------------------------------------------------

@pytest.mark.parametrize("start", EVERY_WEEKDAY, ids=lambda t: t.strftime("%a%H"))
def test_demo_visits_are_in_the_daytime_and_in_the_past(app, runner, clock, start):
    clock.set(start)
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    db.session.rollback()
    times = list(db.session.scalars(select(Visit.occurred_at)))
    assert len(times) > 100
    for at in times:
        shown = local(at).time()
        assert shown.hour * 60 + shown.minute >= 8 * 60 + 30, local(at)
        assert shown.hour * 60 + shown.minute <= 17 * 60 + 30, local(at)
        assert at < start


# --- scans that run by themselves -----------------------------------------------------------

@pytest.fixture
def second_app(database_url, tmp_path):
    """Another "worker process" on the same database."""
    other = make_app(database_url, tmp_path)
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def test_an_overdue_elder_gets_an_alert_without_any_page_being_opened(app, database_url,
                                                                       tmp_path):
    w = scene(CareLevel.KEY)
    visit(w.household, w.worker, at=utcnow() - timedelta(hours=40))  # overdue 10 h ago
    served = make_app(database_url, tmp_path, SCHEDULER=True, SCAN_MINUTES=0.01,
                      CLOCK=app.config["CLOCK"])
    try:
        wait_for(lambda: alerts_of(w.elder, AlertKind.OVERDUE), "the scheduled scan")
    finally:
        served.extensions["scheduler"].stop()
        with served.app_context():
            db.engine.dispose()
    assert the_overdue(w.elder).level.value == "urgent"


def test_opening_the_board_only_reads(app):
    """The board and its badge show what the scans wrote; a GET opens nothing."""
    w = scene(CareLevel.KEY)
    visit(w.household, w.worker, at=utcnow() - timedelta(hours=40))
    board = page(client_as(app, w.coordinator), "/alerts/")
    assert w.elder.name not in board and alerts_of(w.elder) == []
    scan(utcnow())
    assert w.elder.name in page(client_as(app, w.coordinator), "/alerts/")


def test_a_process_that_does_not_get_the_lock_skips_the_round(app, second_app):
    w = scene(CareLevel.KEY)
    visit(w.household, w.worker, at=utcnow() - timedelta(hours=40))
    mine = scheduler.Scheduler(app, minutes=5)  # never started: rounds run by hand
    theirs = scheduler.Scheduler(second_app, minutes=5)
    with second_app.app_context(), scheduler.scan_lock(second_app) as held:
        assert held
        assert mine.tick() is False  # the other worker is scanning: skip
        assert alerts_of(w.elder) == []
        with app.app_context(), scheduler.scan_lock(app) as also:
            assert not also
    assert mine.tick() is True  # released: the next round scans
    assert len(alerts_of(w.elder, AlertKind.OVERDUE)) == 1
    assert theirs.tick() is True  # and nothing is opened twice
    assert len(alerts_of(w.elder, AlertKind.OVERDUE)) == 1


def test_two_workers_scheduling_at_once_never_scan_at_the_same_moment(
        app, second_app, monkeypatch):
    scene(CareLevel.KEY)
    spans, lock = [], threading.Lock()
    real = scheduler.run_scans

    def timed(now):
        started = time.monotonic()
        time.sleep(0.05)  # a scan that takes a while: the other worker's tick comes meanwhile
        result = real(now)
        with lock:
            spans.append((started, time.monotonic()))
        return result

    monkeypatch.setattr(scheduler, "run_scans", timed)
    workers = [scheduler.Scheduler(a, minutes=0.005).start() for a in (app, second_app)]
    try:
        wait_for(lambda: len(spans) >= 6, "six scheduled rounds")
    finally:
        for worker in workers:
            worker.stop()
    spans.sort()
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert start >= end, spans  # one after the other, never overlapping


# --- rules take the instant from the edge ----------------------------------------------------

def test_a_request_raised_as_of_an_earlier_day_goes_to_who_worked_the_grid_that_day(app):
    w = scene(CareLevel.GENERAL)
    colleague = factories.user(Role.GRID_WORKER, grid=factories.grid(w.community))
    today = local(utcnow()).date()
    db.session.add(GridAssignment(grid=w.grid, user=colleague, cover=True,
                                  starts_on=today - timedelta(days=6),
                                  ends_on=today - timedelta(days=3)))
    db.session.commit()
    kinds = {"kind": "其他", "description": "灯坏了", "request_class": RequestClass.SMALL,
             "source": RequestSource.VISIT, "actor": None}
    then = requests.raise_request(w.elder, at=utcnow() - timedelta(days=4), **kinds)
    now = requests.raise_request(w.elder, at=utcnow(), **kinds)
    assert (then.owner, now.owner) == (colleague, w.worker)


def test_a_print_job_is_stalled_by_the_instant_it_is_asked_about(app, world):
    job = printjobs.create_job(actor=None, households=[world.h1], layout="a6-card",
                               rotate=False, scope_label="test")
    db.session.flush()
    assert not printjobs.is_stalled(job, job.updated_at + printjobs.STALLED_AFTER)
    assert printjobs.is_stalled(job, job.updated_at + printjobs.STALLED_AFTER
                                + timedelta(seconds=1))


def test_seen_today_means_the_local_calendar_day(app, world, clock):
    """Met at 23:00 and looked at 01:00 the next night: seen yesterday, not today; met at
    00:30 and looked at 23:30 the same day: seen today (24-hour spans get both wrong)."""
    shanghai = ZoneInfo("Asia/Shanghai")
    elder = world.h2.elders[0]
    elder.last_contact_at = datetime(2026, 11, 17, 23, 0, tzinfo=shanghai)
    assert elder.days_unseen(datetime(2026, 11, 18, 1, 0, tzinfo=shanghai)) == 1
    elder.last_contact_at = datetime(2026, 11, 18, 0, 30, tzinfo=shanghai)
    assert elder.days_unseen(datetime(2026, 11, 18, 23, 30, tzinfo=shanghai)) == 0
