"""Reads within the key's area: elders, visits, alerts and requests, each a page at a time in
the order of their last change (updated_at, id), with an opaque cursor for the next page and
``updated_since`` for incremental pulls; and single records by id (404 outside the area)."""

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import joinedload, selectinload

from carevisits.api import schemas
from carevisits.api.blueprint import ApiProblem, operation
from carevisits.extensions import db
from carevisits.models import (
    Alert,
    ApiKey,
    ApiPermission,
    Community,
    Elder,
    Grid,
    Household,
    ServiceRequest,
    Visit,
)
from carevisits.services import apikeys
from carevisits.services.scope import scope_clause


@dataclass(frozen=True)
class Listing:
    """One kind of record the API lists: its model, how it is reached from a household, how
    it is loaded, and its answer."""

    model: type
    statement: Callable[[], Select]
    to_answer: Callable
    page: type

    def scoped(self, key: ApiKey) -> tuple[Select, dict]:
        """The records of the key's area, and the values the scope is read with."""
        kind, values = apikeys.key_scope(key)
        return self.statement().where(scope_clause(kind)), values

    def list(self, key: ApiKey, query: schemas.ListQuery):
        """A page of records, oldest change first, from the cursor on."""
        statement, values = self.scoped(key)
        model = self.model
        if query.updated_since is not None:
            statement = statement.where(model.updated_at >= query.updated_since)
        if query.cursor:
            at, last_id = query.cursor
            statement = statement.where(or_(model.updated_at > at,
                                            and_(model.updated_at == at, model.id > last_id)))
        rows = list(db.session.scalars(
            statement.order_by(model.updated_at, model.id).limit(query.limit + 1), values)
            .unique())
        more = len(rows) > query.limit
        rows = rows[:query.limit]
        return self.page(items=[self.to_answer(r) for r in rows],
                         next_cursor=schemas.encode_cursor(rows[-1].updated_at, rows[-1].id)
                         if more else None), 200

    def one(self, key: ApiKey, record_id: int):
        """One record of the key's area, else 404 (the same as a record that is not there)."""
        statement, values = self.scoped(key)
        record = db.session.scalars(statement.where(self.model.id == record_id),
                                    values).unique().one_or_none()
        if record is None:
            raise ApiProblem(404)
        return self.to_answer(record), 200


def elder_answer(elder: Elder) -> schemas.Elder:
    """An elder as an integration sees it (no phone, contacts, health notes or codes)."""
    household = elder.household
    community = household.grid.community
    return schemas.Elder(
        id=elder.id, household_id=household.id, household_number=household.number,
        address=household.address, building=household.building, unit=household.unit,
        room=household.room, grid=household.grid.name, community=community.name,
        street=community.street.name, name=elder.name, gender=elder.gender,
        birth_year=elder.birth_year, care_level=elder.care_level,
        living_situation=elder.living_situation, active=elder.active,
        closed_reason=elder.closed_reason, closed_on=elder.closed_on,
        paused_until=elder.paused_until, due_at=elder.due_at, overdue_at=elder.overdue_at,
        last_contact_at=elder.last_contact_at, updated_at=elder.updated_at)


def visit_answer(visit: Visit) -> schemas.Visit:
    """A visit and the outcome for each elder it found."""
    return schemas.Visit(
        id=visit.id, household_id=visit.household_id, household_number=visit.household.number,
        occurred_at=visit.occurred_at, method=visit.method, entered_late=visit.entered_late,
        voided=visit.voided_at is not None, updated_at=visit.updated_at,
        records=[schemas.VisitRecord(elder_id=r.elder_id, outcome=r.outcome)
                 for r in visit.records])


ELDERS = Listing(
    Elder, lambda: select(Elder).join(Household, Elder.household_id == Household.id).options(
        joinedload(Elder.household).joinedload(Household.grid).joinedload(Grid.community)
        .joinedload(Community.street)), elder_answer, schemas.ElderPage)
VISITS = Listing(
    Visit, lambda: select(Visit).join(Household, Visit.household_id == Household.id).options(
        joinedload(Visit.household), selectinload(Visit.records)),
    visit_answer, schemas.VisitPage)
ALERTS = Listing(
    Alert, lambda: select(Alert).join(Elder, Alert.elder_id == Elder.id)
    .join(Household, Elder.household_id == Household.id),
    schemas.Alert.model_validate, schemas.AlertPage)
REQUESTS = Listing(
    ServiceRequest, lambda: select(ServiceRequest).join(Elder, ServiceRequest.elder_id == Elder.id)
    .join(Household, Elder.household_id == Household.id),
    schemas.Request.model_validate, schemas.RequestPage)


@operation("/elders", summary="List elders", permission=ApiPermission.READ_REGISTER,
           query=schemas.ListQuery, answers={200: schemas.ElderPage})
def list_elders(key, query):
    """Elders on the register of the key's area (closed ones too, marked so), oldest change
    first."""
    return ELDERS.list(key, query)


@operation("/elders/<int:record_id>", summary="One elder",
           permission=ApiPermission.READ_REGISTER, answers={200: schemas.Elder}, not_found=True)
def get_elder(key, record_id):
    """One elder of the key's area."""
    return ELDERS.one(key, record_id)


@operation("/visits", summary="List visits", permission=ApiPermission.READ_VISITS,
           query=schemas.ListQuery, answers={200: schemas.VisitPage})
def list_visits(key, query):
    """Visits to households of the key's area (voided ones too, marked so), oldest change
    first."""
    return VISITS.list(key, query)


@operation("/visits/<int:record_id>", summary="One visit", permission=ApiPermission.READ_VISITS,
           answers={200: schemas.Visit}, not_found=True)
def get_visit(key, record_id):
    """One visit of the key's area."""
    return VISITS.one(key, record_id)


@operation("/alerts", summary="List alerts", permission=ApiPermission.READ_ALERTS,
           query=schemas.ListQuery, answers={200: schemas.AlertPage})
def list_alerts(key, query):
    """Alerts on elders of the key's area, oldest change first."""
    return ALERTS.list(key, query)


@operation("/alerts/<int:record_id>", summary="One alert", permission=ApiPermission.READ_ALERTS,
           answers={200: schemas.Alert}, not_found=True)
def get_alert(key, record_id):
    """One alert of the key's area."""
    return ALERTS.one(key, record_id)


@operation("/requests", summary="List requests", permission=ApiPermission.READ_REQUESTS,
           query=schemas.ListQuery, answers={200: schemas.RequestPage})
def list_requests(key, query):
    """Requests (诉求) on elders of the key's area, work orders with their external_ref,
    oldest change first."""
    return REQUESTS.list(key, query)


@operation("/requests/<int:record_id>", summary="One request",
           permission=ApiPermission.READ_REQUESTS, answers={200: schemas.Request},
           not_found=True)
def get_request(key, record_id):
    """One request of the key's area."""
    return REQUESTS.one(key, record_id)
