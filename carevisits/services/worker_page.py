"""A grid worker's month for coordinators: visits per day, the elders due and overdue in the
grids they work, their no-answer share, the requests they own — set-based, in scope."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, select
from sqlalchemy.orm import contains_eager

from carevisits.extensions import db
from carevisits.models import (
    OPEN_REQUEST_STATUSES,
    Community,
    Elder,
    Grid,
    GridAssignment,
    Household,
    Outcome,
    Role,
    ServiceRequest,
    User,
    Visit,
    VisitMethod,
    VisitRecord,
)
from carevisits.services import coverage, schedule
from carevisits.services.scope import community_scope, household_scope


def managed_worker(actor: User, user_id: int, r: coverage.Reckoning) -> User | None:
    """The grid worker if they held a grid of the actor's scope during the month, else None."""
    held = (select(GridAssignment.id).join(Grid, GridAssignment.grid_id == Grid.id)
            .join(Community, Grid.community_id == Community.id)
            .where(GridAssignment.user_id == user_id, community_scope(actor),
                   GridAssignment.starts_on <= r.day,
                   GridAssignment.ends_on.is_(None) | (GridAssignment.ends_on >= r.first_day)))
    return db.session.scalar(select(User).where(User.id == user_id, User.role == Role.GRID_WORKER,
                                                select(held.exists()).scalar_subquery()))


@dataclass
class WorkerMonth:
    """What the worker page shows."""

    per_day: dict[date, int]  # visits (door and phone, not voided) per local day
    door_records: int
    no_answers: int
    elders: list[tuple[Elder, schedule.State]]  # due or late now, the longest late first
    requests: list[ServiceRequest]

    @property
    def no_answer_share(self) -> float | None:
        return self.no_answers / self.door_records if self.door_records else None


def worker_month(actor: User, worker: User, r: coverage.Reckoning) -> WorkerMonth:
    """The worker's month in the actor's scope: four statements."""
    day = coverage.sql_day(Visit.occurred_at, r.zone)
    in_month = (Visit.visitor_id == worker.id, Visit.occurred_at >= r.start,
                Visit.occurred_at < r.end, Visit.voided_at.is_(None))
    visits = (select(day, func.count(func.distinct(Visit.id))).select_from(Visit)
              .join(Household, Visit.household_id == Household.id)
              .where(*in_month, household_scope(actor)).group_by(day))
    per_day = {d if isinstance(d, date) else date.fromisoformat(d): n
               for d, n in db.session.execute(visits)}
    records, no_answers = db.session.execute(
        select(func.count(), func.coalesce(func.sum(case(
            (VisitRecord.outcome == Outcome.NO_ANSWER, 1), else_=0)), 0))
        .select_from(VisitRecord).join(Visit, VisitRecord.visit_id == Visit.id)
        .join(Household, Visit.household_id == Household.id)
        .where(*in_month, Visit.method != VisitMethod.PHONE, household_scope(actor))).one()
    due = schedule.state_clause(schedule.State.DUE, r.now)
    late = schedule.state_clause(schedule.State.LATE, r.now)
    elders = db.session.execute(
        select(Elder, case((late, "late"), else_="due"))
        .join(Elder.household).join(Household.grid)
        .join(GridAssignment, GridAssignment.grid_id == Grid.id)
        .options(contains_eager(Elder.household).contains_eager(Household.grid))
        .where(GridAssignment.user_id == worker.id, coverage.holds_on(r.now_day),
               Elder.active, due | late, household_scope(actor))
        .order_by(Elder.due_at.asc().nulls_first(), Elder.id)).all()
    requests = db.session.scalars(
        select(ServiceRequest).join(Elder, ServiceRequest.elder_id == Elder.id)
        .join(Household, Elder.household_id == Household.id)
        .where(ServiceRequest.owner_id == worker.id,
               ServiceRequest.status.in_(OPEN_REQUEST_STATUSES), household_scope(actor))
        .order_by(ServiceRequest.deadline)).all()
    return WorkerMonth(per_day, int(records), int(no_answers),
                       [(e, schedule.State(s)) for e, s in elders], list(requests))
