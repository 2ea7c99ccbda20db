"""The dashboard's other panels — alerts, requests (7123), volunteers — and the weekly
trends per community, each a few set-based statements in the user's scope, taken at the
reckoning moment of services/coverage.py (now, or a past month's end)."""

import statistics
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, case, func, or_, select

from carevisits.extensions import db
from carevisits.models import (
    Alert,
    AlertKind,
    AlertStatus,
    CoveragePeriod,
    Elder,
    GridWeek,
    Household,
    PeriodKind,
    RequestClass,
    RequestStatus,
    ServiceRequest,
    User,
)
from carevisits.services import alerts as alert_rules
from carevisits.services.coverage import Figures, Reckoning
from carevisits.services.coverage_rules import (
    count_of,
    elder_household,
    elders_in_grids,
    week_figures,
)
from carevisits.services.coverage_store import week_spans
from carevisits.services.scope import household_scope
from carevisits.services.volunteer_hours import monthly_hours

FINISHED = (RequestStatus.RESOLVED, RequestStatus.CLOSED)


def _scoped_by_elder(query, elder_column, user: User):
    return (query.join(Elder, elder_column == Elder.id).join(Household, elder_household())
            .where(household_scope(user)))


@dataclass
class AlertPanel:
    """Alerts open at the reckoning moment by kind and level, the oldest of them, the month's
    median hours to acknowledge and to resolve, no-answers that reached a welfare check."""

    open_by: dict[tuple[str, str], int]
    oldest: Alert | None
    median_ack_hours: float | None
    median_resolve_hours: float | None
    welfare_checks: int

    @property
    def open_total(self) -> int:
        return sum(self.open_by.values())


def _open_at(r: Reckoning):
    """SQL on Alert: open at the reckoning moment (now: by its status, read by index)."""
    unresolved = Alert.status.in_((AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED))
    if r.current:
        return unresolved
    # Not yet resolved, or resolved since: both read by index, not the history of alerts.
    return and_(Alert.opened_at < r.at, or_(unresolved, Alert.resolved_at >= r.at))


def _median_hours(pairs) -> float | None:
    hours = [(done - opened).total_seconds() / 3600 for opened, done in pairs]
    return round(statistics.median(hours), 1) if hours else None


def alert_panel(user: User, r: Reckoning) -> AlertPanel:
    """The alerts panel (five statements; the medians read the month's acknowledged and
    resolved alerts, not elders or visits)."""
    def scoped(query):
        return _scoped_by_elder(query, Alert.elder_id, user)

    open_by = {(kind, level): n for kind, level, n in db.session.execute(scoped(
        select(Alert.kind, Alert.level, func.count()).select_from(Alert))
        .where(_open_at(r)).group_by(Alert.kind, Alert.level))}
    oldest = db.session.scalar(scoped(select(Alert)).where(_open_at(r))
                               .order_by(Alert.opened_at).limit(1))
    acknowledged = db.session.execute(scoped(
        select(Alert.opened_at, Alert.acknowledged_at).select_from(Alert))
        .where(Alert.acknowledged_at >= r.start, Alert.acknowledged_at < r.at)).all()
    resolved = db.session.execute(scoped(
        select(Alert.opened_at, Alert.resolved_at).select_from(Alert))
        .where(Alert.resolved_at >= r.start, Alert.resolved_at < r.at)).all()
    welfare = db.session.scalar(scoped(select(func.count()).select_from(Alert)).where(
        Alert.kind == AlertKind.NO_ANSWER, Alert.opened_at >= r.start, Alert.opened_at < r.at,
        Alert.ladder_step >= len(alert_rules.ladder(AlertKind.NO_ANSWER))))
    return AlertPanel({(AlertKind(k).value, str(lv)): n for (k, lv), n in open_by.items()},
                      oldest, _median_hours(acknowledged), _median_hours(resolved), welfare)


@dataclass
class RequestPanel:
    """Requests open and overdue at the reckoning moment; of those finished in the month,
    how many on time, per 7123 class."""

    open: int
    overdue: int
    finished: dict[RequestClass, tuple[int, int]]  # class → (finished, on time)

    def on_time_share(self, request_class: RequestClass) -> float | None:
        done, on_time = self.finished.get(request_class, (0, 0))
        return on_time / done if done else None


def request_panel(user: User, r: Reckoning) -> RequestPanel:
    """The requests panel: two statements."""
    open_at = and_(ServiceRequest.raised_at < r.at, or_(ServiceRequest.finished_at.is_(None),
                                                        ServiceRequest.finished_at >= r.at))
    counts = _scoped_by_elder(select(
        func.count(), func.coalesce(func.sum(case((ServiceRequest.deadline < r.at, 1),
                                                  else_=0)), 0)).select_from(ServiceRequest),
        ServiceRequest.elder_id, user).where(open_at)
    n_open, n_overdue = db.session.execute(counts).one()
    finished = _scoped_by_elder(select(
        ServiceRequest.request_class, func.count(),
        func.coalesce(func.sum(case((ServiceRequest.finished_at <= ServiceRequest.deadline, 1),
                                    else_=0)), 0)).select_from(ServiceRequest),
        ServiceRequest.elder_id, user).where(
        ServiceRequest.status.in_(FINISHED), ServiceRequest.finished_at >= r.start,
        ServiceRequest.finished_at < r.at).group_by(ServiceRequest.request_class)
    return RequestPanel(int(n_open), int(n_overdue), {
        RequestClass(c): (int(n), int(ok)) for c, n, ok in db.session.execute(finished)})


@dataclass
class VolunteerPanel:
    """Volunteer visits and hours of the month."""

    volunteers: int
    visits: int
    minutes: int

    @property
    def hours(self) -> float:
        return round(self.minutes / 60, 1)


def volunteer_panel(user: User, r: Reckoning) -> VolunteerPanel:
    """The month's volunteer figures: the hours page's one statement, added up."""
    lines = monthly_hours(user, r.month, r.zone)
    return VolunteerPanel(len(lines), sum(li.visits for li in lines),
                          sum(li.minutes for li in lines))


@dataclass
class Week:
    """One week of a community's trend: elders, met in the week, on schedule at its end."""

    start: datetime
    elders: int = 0
    met: int = 0
    on_schedule: int = 0

    @property
    def rate(self) -> float | None:
        return self.met / self.elders if self.elders else None

    @property
    def on_schedule_share(self) -> float | None:
        return self.on_schedule / self.elders if self.elders else None


def _stored_weeks(spans: list[tuple[datetime, datetime]], grid_ids: list[int]) -> Select:
    """SELECT (start, grid id, elders, met, on schedule) of the spans' stored weeks."""
    return (select(CoveragePeriod.starts_at, GridWeek.grid_id,
                   GridWeek.elders, GridWeek.met, GridWeek.on_schedule)
            .join(GridWeek, GridWeek.period_id == CoveragePeriod.id)
            .where(CoveragePeriod.kind == PeriodKind.WEEK, GridWeek.grid_id.in_(grid_ids),
                   or_(*[and_(CoveragePeriod.starts_at == start, CoveragePeriod.ends_at == end)
                         for start, end in spans])))


def _live_week(start: datetime, end: datetime, r: Reckoning, grid_ids: list[int]) -> Select:
    """SELECT (grid id, elders, met, on schedule) of a week, from the rules."""
    figures = week_figures(start, end, r.now, r.zone)
    return (elders_in_grids().add_columns(
        Household.grid_id, *[count_of(figures[k]) for k in ("elders", "met", "on_schedule")])
            .where(Elder.created_at < end, Household.grid_id.in_(grid_ids))
            .group_by(Household.grid_id))


def trends(r: Reckoning, figures: Figures) -> dict[str, list[Week]]:
    """Community name → its weeks up to the reckoning moment, oldest first, over the grids of
    ``figures``: the weeks the scan stored in one statement, this week from ``figures``
    themselves, any other not yet taken from the rules."""
    community_of = {grid.key: grid.parent for grid in figures.grid}
    spans = week_spans(r)
    series = {name: [Week(start) for start, _end in spans]
              for name in sorted(set(community_of.values()))}
    index = {start: i for i, (start, _end) in enumerate(spans)}
    found = db.session.execute(_stored_weeks(spans, list(community_of))).all()
    if r.current:
        found += [(spans[-1][0], g.key, g.elders, g.met_week, g.on_schedule)
                  for g in figures.grid]
    taken = {start for start, *_rest in found}
    for start, end in spans:
        if start not in taken:
            found += [(start, *row) for row in
                      db.session.execute(_live_week(start, end, r, list(community_of)))]
    for start, grid_id, elders, met, on_schedule in found:
        week = series[community_of[grid_id]][index[start]]
        week.elders += elders
        week.met += met
        week.on_schedule += on_schedule
    return series
