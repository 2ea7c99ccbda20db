"""The dashboard's figures against naive counts: a hand-built street with known answers,
every figure recounted here in Python from the raw rows (not the app's SQL)."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
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
    PeriodKind,
    RequestClass,
    RequestSource,
    RequestStatus,
    ServiceRequest,
    Visit,
    VisitMethod,
)
from carevisits.services import corrections, coverage, coverage_store, oversight
from carevisits.services.exports import Month
from tests.dashboard_world import NOW, SH, at

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
    first = month_start.astimezone(SH).date()

    def closed_by(x, d):
        return x.closed_reason is not None and (x.closed_on is None or x.closed_on <= d)

    def paused(x):
        return any(p.elder_id == x.id and p.starts_on <= day <= p.expected_end
                   and (p.ended_at is None or p.ended_at > reckon) for p in pauses)

    def met(x):
        return any(elder_id == x.id and month_start <= v.occurred_at < month_end
                   for elder_id, v in found)

    def responsible(grid_id, d):
        holding = [a for a in assignments if a.grid_id == grid_id and a.starts_on <= d
                   and (a.ends_on is None or a.ends_on >= d)]
        covers = [a for a in holding if a.cover]
        return (covers or holding)[0].user_id if holding else None

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
    if worker is not None:
        grids = {a.grid_id for a in assignments if a.user_id == worker.id
                 and a.starts_on <= day and (a.ends_on is None or a.ends_on >= first)}
    mine = [x for x in elders if x.household.grid_id in grids and x.created_at < reckon]
    pop = [x for x in mine if not closed_by(x, day) and not paused(x)]
    scheduled = pop
    if worker is not None:
        scheduled = [x for x in pop if responsible(x.household.grid_id, day) == worker.id]
    return SimpleNamespace(
        elders=len(pop), met=sum(met(x) for x in pop),
        paused=sum(1 for x in mine if not closed_by(x, day) and paused(x)),
        closed=sum(1 for x in mine if x.closed_reason and x.closed_on
                   and first <= x.closed_on <= day),
        late=sum(late(x) for x in scheduled), never=sum(never(x) for x in scheduled),
        scheduled=len(scheduled))


def figures(row):
    return {k: getattr(row, k) for k in ("elders", "met", "paused", "closed", "late", "never")}


def expected(n):
    return {k: getattr(n, k) for k in ("elders", "met", "paused", "closed", "late", "never")}


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
        want = naive(all_grids, start, end, NOW, worker=w)
        assert figures(workers[w.id]) == {**expected(want), "paused": 0, "closed": 0}, \
            w.username
        assert workers[w.id].scheduled_elders == want.scheduled


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
    # w1 holds 一网格 (3 elders on the list, 2 met: one by w2 covering); w2 holds 二网格 and
    # covered 一网格 this month (6 elders, 3 met), but works only 二网格 today (3 elders).
    assert (workers[w1.id].elders, workers[w1.id].met) == (3, 2)
    assert (workers[w2.id].elders, workers[w2.id].met, workers[w2.id].scheduled_elders) == (
        6, 3, 3)


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
            want.elders, want.met, want.elders - want.late), week.start


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
    return ([(row.key, row.name, row.scheduled_elders, figures(row)) for row in rows],
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
