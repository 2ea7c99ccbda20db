"""The dashboard's figures against naive counts: a hand-built street with known answers,
every figure recounted here in Python from the raw rows (not the app's SQL)."""

import io
import re
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, func, select

from carevisits import scheduler
from carevisits.extensions import db
from carevisits.models import (
    MET_OUTCOMES,
    Alert,
    AlertKind,
    AlertLevel,
    AlertStatus,
    CareLevel,
    CoveragePeriod,
    Elder,
    ElderMonth,
    ElderPause,
    GridAssignment,
    Household,
    PeriodKind,
    RequestClass,
    RequestSource,
    RequestStatus,
    Role,
    ServiceRequest,
    Visit,
    VisitMethod,
)
from carevisits.services import (
    areas,
    contacts,
    corrections,
    coverage,
    coverage_store,
    oversight,
    schedule,
)
from carevisits.services.exports import Month
from tests import factories
from tests.conftest import login
from tests.dashboard_world import NOW, SH, _elder, _visit, at
from tests.test_dashboard_pages import table_rows

# Interval days, grace hours and whether a call counts, as the street's defaults say.
POLICY = {"key": (1, 6, False), "focus": (3, 12, False), "general": (7, 24, True)}


# ---- the naive counts: Python over every row --------------------------------------------

def _rows():
    db.session.expire_all()
    elders = db.session.scalars(select(Elder)).all()
    visits = db.session.scalars(select(Visit)).all()
    pauses = db.session.scalars(select(ElderPause)).all()
    assignments = db.session.scalars(select(GridAssignment)).all()
    return elders, visits, pauses, assignments


def _is_contact(visit, record, elder):
    if visit.voided_at is not None or record.outcome not in MET_OUTCOMES:
        return False
    return visit.method != VisitMethod.PHONE or POLICY[elder.care_level.value][2]


def _contacts(visits, elders_by_id):
    return [(r.elder_id, v) for v in visits for r in v.records
            if _is_contact(v, r, elders_by_id[r.elder_id])]


def naive(scope_grids, month_start, month_end, now, worker=None):
    """Figures of the elders of ``scope_grids`` for the month, as a person would count them
    with the rows in front of them."""
    elders, visits, pauses, assignments = _rows()
    by_id = {x.id: x for x in elders}
    found = _contacts(visits, by_id)
    reckon = min(month_end, now)
    day = (reckon - timedelta(microseconds=1)).astimezone(SH).date()
    first_day = month_start.astimezone(SH).date()

    def closed_by(x, d):
        return x.closed_reason is not None and (x.closed_on is None or x.closed_on <= d)

    def paused(x):
        return any(p.elder_id == x.id and p.starts_on <= day <= p.expected_end
                   and (p.ended_at is None or p.ended_at > reckon) for p in pauses)

    def met(x):
        return any(elder_id == x.id and month_start <= v.occurred_at < month_end
                   for elder_id, v in found)

    def main_worker(grid_id):
        """The own worker who held the grid on the most days of the month (to the reckoning
        day); on a tie the one holding it that day, then the one who has held it longest."""
        days, holding, since = {}, set(), {}
        for a in assignments:
            first, last = max(a.starts_on, first_day), min(a.ends_on or day, day)
            if a.grid_id != grid_id or a.cover or a.starts_on > day or first > last:
                continue
            days[a.user_id] = days.get(a.user_id, 0) + (last - first).days + 1
            holding |= {a.user_id} if last == day else set()
            since[a.user_id] = min(since.get(a.user_id, (a.starts_on, a.id)),
                                   (a.starts_on, a.id))
        ranked = sorted(days, key=lambda u: (-days[u], u not in holding, since[u], u))
        return ranked[0] if ranked else None

    def late(x):
        interval, grace, _ = POLICY[x.care_level.value]
        last = max((v.occurred_at for eid, v in found if eid == x.id and v.occurred_at < reckon),
                   default=None)
        if last is None:
            return x.created_at + timedelta(hours=grace) <= reckon
        return last + timedelta(days=interval, hours=grace) <= reckon

    def never(x):
        return not any(eid == x.id and v.occurred_at < reckon for eid, v in found)

    grids = set(scope_grids)
    if worker is not None:  # each grid once, under its main worker (None: nobody's)
        grids = {g for g in grids if main_worker(g) == getattr(worker, "id", None)}
    mine = [x for x in elders if x.household.grid_id in grids and x.created_at < reckon]
    pop = [x for x in mine if not closed_by(x, day) and not paused(x)]
    return SimpleNamespace(
        elders=len(pop), met=sum(met(x) for x in pop),
        paused=sum(1 for x in mine if not closed_by(x, day) and paused(x)),
        closed=sum(1 for x in mine if x.closed_reason and x.closed_on
                   and first_day <= x.closed_on <= day),
        late=sum(late(x) for x in pop), never=sum(never(x) for x in pop),
        behind=sum(late(x) or never(x) for x in pop))


NOBODY = SimpleNamespace(id=None)  # naive(worker=NOBODY): the grids no own worker held


KEYS = ("elders", "met", "paused", "closed", "late", "never", "behind")


def figures(row):
    return {k: getattr(row, k) for k in KEYS}


def expected(n):
    return {k: getattr(n, k) for k in KEYS}


MONTHS = {"this month": Month(2026, 11), "last month": Month(2026, 10)}


@pytest.mark.parametrize("which", MONTHS)
def test_every_level_matches_a_naive_count(street, which):
    month = MONTHS[which]
    r = coverage.Reckoning.of(month, NOW, SH)
    start, end = month.bounds(SH)
    g1, g2, g3 = street.grids
    all_grids = [g.id for g in street.grids]
    found = coverage.figures(street.coordinator, r)
    total = found.total
    assert figures(total) == expected(naive(all_grids, start, end, NOW))
    communities = {row.name: row for row in found.community}
    assert set(communities) == {"甲社区", "乙社区"}  # the other street is out of scope
    assert figures(communities["甲社区"]) == expected(naive([g1.id, g2.id], start, end, NOW))
    assert figures(communities["乙社区"]) == expected(naive([g3.id], start, end, NOW))
    grids = {row.key: row for row in found.grid}
    for g in street.grids:
        assert figures(grids[g.id]) == expected(naive([g.id], start, end, NOW)), g.name
    assert [(s.name, figures(s)) for s in found.street] == [("测试街道", figures(total))]
    workers = {row.key: row for row in found.workers}
    for w in street.workers:
        assert figures(workers[w.id]) == expected(naive(all_grids, start, end, NOW, worker=w)), \
            w.username
    assert coverage.NOBODY not in workers  # every grid had a worker of its own
    for key in KEYS:  # each grid counted once: the worker rows add up to the whole
        assert sum(getattr(row, key) for row in found.workers) == getattr(total, key), key


def test_the_known_answers(street):
    """The hand-built street's answers, written out: what the naive count must also say."""
    r = coverage.Reckoning.of(Month(2026, 11), NOW, SH)
    found = coverage.figures(street.coordinator, r)
    total = found.total
    # On the list and not paused: 10 of 11 (one paused, one closed on 11-05; the other
    # street's elder is not in scope). Met in November: the 00:10 visit of 11-01, the cover's
    # visit, the general elder's call, today's visit — not 10-31 23:30, not the no-answer,
    # not the focus elder's call (calls do not count for 关注), not the voided visit.
    assert (total.elders, total.met, total.paused, total.closed) == (9, 4, 1, 1)
    october = coverage.figures(street.coordinator,
                               coverage.Reckoning.of(Month(2026, 10), NOW, SH)).total
    # In October the closed and the paused elder were on the list; the new one was not.
    assert (october.elders, october.paused, october.closed) == (10, 0, 0)
    workers = {row.key: row for row in found.workers}
    w1, w2, _w3 = street.workers
    # w1 holds 一网格 (3 elders on the list, 2 met: one by w2 covering). w2 holds 二网格 (3
    # elders, 1 met: the general elder's call) and covered 一网格 from 11-10 to 11-14: shown
    # as a cover, its elders and visits counted in w1's row, not in w2's (before issue 25 w2
    # had 6 elders, 3 met: the cover credited with w1's grid).
    assert (workers[w1.id].elders, workers[w1.id].met) == (3, 2)
    assert (workers[w2.id].elders, workers[w2.id].met) == (3, 1)
    assert [(h.grid, h.cover, h.counted, h.first.day, h.last.day, h.main)
            for h in workers[w2.id].held] == [
        ("甲社区 · 二网格", False, True, 1, 18, w2.display_name),
        ("甲社区 · 一网格", True, False, 10, 14, w1.display_name)]
    assert sum(w.elders for w in found.workers) == total.elders == 9


def test_a_community_coordinator_sees_only_their_community(street):
    r = coverage.Reckoning.of(Month(2026, 11), NOW, SH)
    start, end = Month(2026, 11).bounds(SH)
    g1, g2, _g3 = street.grids
    found = coverage.figures(street.community_coordinator, r)
    assert figures(found.total) == expected(naive([g1.id, g2.id], start, end, NOW))
    assert [c.name for c in found.community] == ["甲社区"]


def test_care_levels_add_up_to_the_total(street):
    r = coverage.Reckoning.of(Month(2026, 11), NOW, SH)
    total = coverage.figures(street.coordinator, r).total
    start, end = Month(2026, 11).bounds(SH)
    all_levels = naive([g.id for g in street.grids], start, end, NOW)
    assert sum(row.elders for row in total.by_level.values()) == all_levels.elders
    assert sum(row.met for row in total.by_level.values()) == all_levels.met
    assert total.by_level[CareLevel.FOCUS].met == 0  # 关注: only a call, which does not count


def test_weekly_trends_match_a_naive_count(street):
    r = coverage.Reckoning.of(Month(2026, 11), NOW, SH)
    series = oversight.trends(r, coverage.figures(street.coordinator, r))
    assert set(series) == {"甲社区", "乙社区"}
    g1, g2, _g3 = street.grids
    weeks = series["甲社区"]
    assert len(weeks) == coverage_store.WEEKS
    assert weeks[-1].start == datetime(2026, 11, 16, tzinfo=SH)  # this week's Monday
    for week in weeks[-4:]:
        end = min(week.start + timedelta(weeks=1), NOW)
        want = naive([g1.id, g2.id], week.start, end, NOW)
        assert (week.elders, week.met, week.on_schedule) == (
            want.elders, want.met, want.elders - want.behind), week.start


def test_alert_and_request_panels(street):
    e = street.e
    w1 = street.workers[0]
    db.session.add_all([
        Alert(elder=e.no_answer, kind=AlertKind.NO_ANSWER, level=AlertLevel.URGENT,
              opened_at=at(11, 16), ladder_step=4),
        Alert(elder=e.voided, kind=AlertKind.OVERDUE, level=AlertLevel.WARNING,
              opened_at=at(11, 10), acknowledged_at=at(11, 10, 12),
              status=AlertStatus.ACKNOWLEDGED),
        Alert(elder=e.edge_out, kind=AlertKind.OVERDUE, level=AlertLevel.WARNING,
              opened_at=at(11, 2), acknowledged_at=at(11, 2, 14), resolved_at=at(11, 3),
              status=AlertStatus.RESOLVED),
        Alert(elder=e.outside, kind=AlertKind.OVERDUE, level=AlertLevel.WARNING,
              opened_at=at(11, 1)),
    ])
    for raised, deadline_days, finished, cls in [
            (at(11, 2), 1, at(11, 2, 20), RequestClass.SMALL),  # on time
            (at(11, 3), 1, at(11, 5), RequestClass.SMALL),  # late
            (at(11, 4), 3, at(11, 6), RequestClass.HARD),  # on time
            (at(11, 15), 2, None, RequestClass.BIGGER),  # open, overdue
            (at(11, 18, 8), 1, None, RequestClass.SMALL)]:  # open
        db.session.add(ServiceRequest(
            elder=e.today, kind="助餐", description="送饭", request_class=cls,
            source=RequestSource.VISIT, raised_at=raised,
            deadline=raised + timedelta(days=deadline_days), owner=w1, finished_at=finished,
            status=RequestStatus.RESOLVED if finished else RequestStatus.OPEN))
    db.session.commit()
    r = coverage.Reckoning.of(Month(2026, 11), NOW, SH)
    alerts = oversight.alert_panel(street.coordinator, r)
    assert alerts.open_by == {("no_answer", "urgent"): 1, ("overdue", "warning"): 1}
    assert alerts.oldest.elder_id == e.voided.id  # the other street's older alert is not seen
    assert alerts.median_ack_hours == 3.0  # 2 h and 4 h
    assert alerts.median_resolve_hours == 24.0
    assert alerts.welfare_checks == 1
    requests = oversight.request_panel(street.coordinator, r)
    assert (requests.open, requests.overdue) == (2, 1)
    assert requests.finished == {RequestClass.SMALL: (2, 1), RequestClass.HARD: (1, 1)}
    assert requests.on_time_share(RequestClass.SMALL) == 0.5


# ---- stored figures of finished periods --------------------------------------------------

def _everything(user, r):
    """Every figure a month's dashboard and report show, as plain values."""
    found = coverage.figures(user, r)
    rows = [found.total, *found.street, *found.community, *found.grid, *found.workers]
    return ([(row.key, row.name, row.held, figures(row)) for row in rows],
            {level: figures(row) for level, row in found.total.by_level.items()},
            [tuple(row) for row in db.session.execute(coverage.late_elders(user, r))])


def _weeks(user, r):
    return {name: [(w.start, w.elders, w.met, w.on_schedule) for w in weeks]
            for name, weeks in oversight.trends(r, coverage.figures(user, r)).items()}


def _void_the_last_october_visit(street):
    visit = db.session.scalar(select(Visit).where(Visit.occurred_at == at(10, 31, 23, 30)))
    corrections.void_visit(visit, street.workers[0], "点错了")
    db.session.commit()


def test_the_scan_stores_finished_periods_that_read_as_the_live_figures(street):
    october = coverage.Reckoning.of(Month(2026, 10), NOW, SH)
    november = coverage.Reckoning.of(Month(2026, 11), NOW, SH)
    live = {who.username: (_everything(who, october), _weeks(who, november), _weeks(who, october))
            for who in (street.coordinator, street.community_coordinator)}
    scheduler.run_scans(NOW.astimezone(UTC))
    periods = db.session.scalars(select(CoveragePeriod)).all()
    months = [p for p in periods if p.kind == PeriodKind.MONTH]
    assert [(p.starts_at, p.ends_at) for p in months] == [Month(2026, 10).bounds(SH)]
    weeks = {(p.starts_at, p.ends_at) for p in periods if p.kind == PeriodKind.WEEK}
    finished = {(s, e) for r in (october, november) for s, e in coverage_store.week_spans(r)
                if e < NOW}
    assert weeks == finished and len(weeks) == 15  # this week is under way: not stored
    assert db.session.scalar(select(func.count()).select_from(ElderMonth)) == 11
    stored = {who.username: (_everything(who, october), _weeks(who, november),
                             _weeks(who, october))
              for who in (street.coordinator, street.community_coordinator)}
    assert stored == live
    assert coverage_store.take_finished(NOW, SH) == 0  # all final: nothing taken again


def test_a_final_month_stays_as_reported(street):
    october = coverage.Reckoning.of(Month(2026, 10), NOW, SH)
    coverage_store.take_finished(NOW, SH)
    db.session.commit()
    before = _everything(street.coordinator, october)
    _void_the_last_october_visit(street)
    assert _everything(street.coordinator, october) == before
    db.session.execute(delete(CoveragePeriod))  # were it not stored: one fewer met
    assert _everything(street.coordinator, october)[0][0][3]["met"] == before[0][0][3]["met"] - 1


def test_figures_taken_in_the_late_visit_window_are_taken_again(street, clock):
    october = Month(2026, 10)
    two_days_on = datetime(2026, 11, 2, 10, tzinfo=SH)
    coverage_store.take_finished(two_days_on, SH)
    db.session.commit()
    stored = coverage_store.period(PeriodKind.MONTH, *october.bounds(SH))
    assert not coverage_store.is_final(stored)
    r = coverage.Reckoning.of(october, two_days_on, SH)
    met = coverage.figures(street.coordinator, r).total.met
    _void_the_last_october_visit(street)
    assert coverage_store.take_finished(two_days_on + timedelta(minutes=30), SH) == 0
    assert coverage.figures(street.coordinator, r).total.met == met
    assert coverage_store.take_finished(two_days_on + timedelta(hours=1), SH) >= 1
    assert coverage.figures(street.coordinator, r).total.met == met - 1
    four_days_on = two_days_on + timedelta(days=2)
    coverage_store.take_finished(four_days_on, SH)
    assert coverage_store.is_final(coverage_store.period(PeriodKind.MONTH, *october.bounds(SH)))


def test_alerts_open_at_a_past_months_end(street):
    e = street.e
    db.session.add_all([
        Alert(elder=e.edge_in, kind=AlertKind.OVERDUE, level=AlertLevel.WARNING,  # open then
              opened_at=at(10, 20), acknowledged_at=at(10, 21), resolved_at=at(11, 2),
              status=AlertStatus.RESOLVED),
        Alert(elder=e.covered, kind=AlertKind.OVERDUE, level=AlertLevel.WARNING,  # still open
              opened_at=at(10, 25)),
        Alert(elder=e.today, kind=AlertKind.OVERDUE, level=AlertLevel.WARNING,  # closed in time
              opened_at=at(10, 3), resolved_at=at(10, 9), status=AlertStatus.RESOLVED),
        Alert(elder=e.phoned, kind=AlertKind.OVERDUE, level=AlertLevel.URGENT,  # not yet opened
              opened_at=at(11, 3)),
    ])
    db.session.commit()
    october = oversight.alert_panel(street.coordinator,
                                    coverage.Reckoning.of(Month(2026, 10), NOW, SH))
    assert october.open_by == {("overdue", "warning"): 2}
    assert october.oldest.elder_id == e.edge_in.id
    assert october.median_resolve_hours == 144.0  # 10-03 → 10-09; the other was resolved later
    now = oversight.alert_panel(street.coordinator, coverage.Reckoning.of(Month(2026, 11), NOW, SH))
    assert now.open_by == {("overdue", "warning"): 1, ("overdue", "urgent"): 1}


# ---- honest per-worker figures (issue 25) --------------------------------------------------

def test_worker_rows_add_up_with_a_handover_a_shared_grid_a_cover_and_a_grid_nobody_holds(
        street, client):
    """Before issue 25 a worker's row counted every grid they held at all in the month: with
    a handover or a cover the rows added up to twice the street's elders (116 for 58), and a
    colleague who only covered was credited with the regular worker's visits."""
    g1, g2, g3 = street.grids
    w1, w2, w3 = street.workers
    w4 = factories.user(Role.GRID_WORKER, username="w4")
    w5 = factories.user(Role.GRID_WORKER, username="w5")
    # w3 hands 三网格 over to w4 on 11-12; w5 works 二网格 beside w2 from 11-05; w2 covered
    # 一网格 from 11-10 to 11-14 (the street's own); 四网格 has no worker at all.
    areas.assign_worker(g3, w4, today=date(2026, 11, 12), actor=street.coordinator)
    areas.assign_worker(g2, w5, today=date(2026, 11, 5), actor=street.coordinator,
                        handover=False)
    g4 = factories.grid(street.communities[1], "四网格")
    home = Household(grid=g4, number="90000099", address="测试路", building="2", room="1",
                     created_at=at(9, 1))
    db.session.add(home)
    _elder(home, "无人管", CareLevel.GENERAL)
    db.session.flush()
    schedule.refresh(home.elders)
    db.session.commit()
    all_grids = [g.id for g in (g1, g2, g3, g4)]
    for which, month in MONTHS.items():
        r = coverage.Reckoning.of(month, NOW, SH)
        start, end = month.bounds(SH)
        found = coverage.figures(street.coordinator, r)
        for key in KEYS:
            assert sum(getattr(row, key) for row in found.workers) == getattr(found.total, key), \
                (which, key)
        rows = {row.key: row for row in found.workers}
        for w in (w1, w2, w3, w4, w5, NOBODY):
            want = expected(naive(all_grids, start, end, NOW, worker=w))
            row = rows.get(w.id or coverage.NOBODY)
            assert (figures(row) if row else dict.fromkeys(KEYS, 0)) == want, (which, w)
        assert rows[coverage.NOBODY].elders == 1  # 四网格's elder, in no worker's row
    # The month under way (rows of November): 三网格 counts under w3, who held it 11 days to
    # w4's 7; 二网格 under w2, who held it all month (w5 from the 5th); the cover is a cover.
    november = {row.key: row for row in coverage.figures(
        street.coordinator, coverage.Reckoning.of(Month(2026, 11), NOW, SH)).workers}
    held = {key: [(h.grid, h.cover, h.counted, h.first.day, h.last.day, h.main)
                  for h in row.held] for key, row in november.items()}
    assert held[w4.id] == [("乙社区 · 三网格", False, False, 12, 18, w3.display_name)]
    assert held[w3.id] == [("乙社区 · 三网格", False, True, 1, 11, w3.display_name)]
    assert held[w5.id] == [("甲社区 · 二网格", False, False, 5, 18, w2.display_name)]
    assert ("甲社区 · 一网格", True, False, 10, 14, w1.display_name) in held[w2.id]
    assert november[w4.id].elders == november[w5.id].elders == 0
    assert november[w3.id].elders == naive([g3.id], *Month(2026, 11).bounds(SH), NOW).elders

    # The page and the report show the same rows, adding up to the street's elders.
    login(client, street.coordinator)
    html = client.get("/coordinator/").get_data(as_text=True)
    table = table_rows(html, "worker")
    total = coverage.figures(street.coordinator,
                             coverage.Reckoning.of(Month(2026, 11), NOW, SH)).total
    assert sum(int(cells[1]) for cells in table.values()) == total.elders
    assert "代班 11-10—11-14" in table[w2.display_name][0]
    assert f"11-12—11-18，计入 {w3.display_name}" in table[w4.display_name][0]
    assert "无人负责的网格" in table and "四网格" not in table["无人负责的网格"][0]
    book = load_workbook(io.BytesIO(client.get("/coordinator/report.xlsx").data))
    sheet = list(book["各网格员"].iter_rows(min_row=2, values_only=True))
    summary = {row[0]: row[1] for row in book["汇总"].iter_rows(min_row=2, values_only=True)}
    assert sum(row[1] for row in sheet) == summary["应访老人"] == total.elders
    assert any("代班 11-10至11-14" in (row[7] or "") for row in sheet)


def test_on_schedule_is_never_full_while_first_visits_are_owed(app, client, clock):
    """Before issue 25 按时 was "not overdue": elders registered within the grace hours and
    never visited counted as on schedule, and 100% was shown while most were never seen."""
    now = datetime(2026, 12, 31, 21, 0, tzinfo=SH)
    clock.set(now)
    street_ = factories.street("新街道")
    grid = factories.grid(factories.community(street_, "新社区"), "新网格")
    worker = factories.user(Role.GRID_WORKER, username="nw", grid=grid)
    registered = datetime(2026, 12, 31, 18, 0, tzinfo=SH)
    home = Household(grid=grid, number="90000100", address="新路", building="1", room="1",
                     created_at=registered)
    db.session.add(home)
    seen = _elder(home, "见过", CareLevel.GENERAL, created=registered)
    for name in ("新一", "新二", "新三"):
        _elder(home, name, CareLevel.GENERAL, created=registered)
    db.session.flush()
    _visit(seen, worker, datetime(2026, 12, 31, 19, 0, tzinfo=SH))
    db.session.flush()
    contacts.recount([e.id for e in home.elders])
    schedule.refresh(home.elders)
    coordinator = factories.user(Role.COORDINATOR, username="nc", street=street_)
    db.session.commit()

    december = coverage.Reckoning.of(Month(2026, 12), now, SH)
    board = coverage.figures(coordinator, december)
    total = board.total
    # Nobody is overdue yet (a general elder's grace is 24 hours), but three were never seen.
    assert (total.elders, total.late, total.never, total.behind) == (4, 0, 3, 3)
    assert total.on_schedule_share == 0.25
    assert oversight.trends(december, board)["新社区"][-1].on_schedule_share == 0.25
    login(client, coordinator)
    html = client.get("/coordinator/").get_data(as_text=True)
    assert re.search(r'id="on-schedule".*?class="big">\s*25\.0%', html, re.S)
    # The same at a past month's end, rebuilt from the visits and from what the scan stores.
    clock.set(datetime(2027, 1, 5, 10, 0, tzinfo=SH))
    past = coverage.Reckoning.of(Month(2026, 12), datetime(2027, 1, 5, 10, 0, tzinfo=SH), SH)
    assert coverage.figures(coordinator, past).total.on_schedule_share == 0.25
    coverage_store.take_finished(past.now, SH)
    db.session.commit()
    assert coverage_store.period(PeriodKind.MONTH, past.start, past.end) is not None
    assert coverage.figures(coordinator, past).total.on_schedule_share == 0.25
