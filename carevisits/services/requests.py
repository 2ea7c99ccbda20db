"""Requests (诉求): raised at a visit, on the elder page or by family; closed by the 7123
rule — small matters within 1 day, bigger ones within 2, hard ones within 3."""

from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import literal, select

from carevisits.extensions import db
from carevisits.i18n import local_date
from carevisits.labels import REQUEST_CLASSES
from carevisits.models import (
    OPEN_REQUEST_STATUSES,
    AlertKind,
    AlertLevel,
    Elder,
    Household,
    RequestClass,
    RequestEvent,
    RequestSource,
    RequestStatus,
    ServiceRequest,
    User,
)
from carevisits.models.base import utcnow
from carevisits.services import alerts, areas, audit, integration_events
from carevisits.services.scope import household_scope

KINDS = ["生活照料", "医疗健康", "房屋维修", "政策咨询", "邻里纠纷", "其他"]
# A family member's message to the worker: a small request, so that it has an owner, a
# one-day deadline and a written answer the family reads back.
MESSAGE_KIND = "家属留言"
DESCRIPTION_MAX = 2000
# Which status may follow which.
NEXT = {
    RequestStatus.OPEN: {RequestStatus.IN_PROGRESS, RequestStatus.RESOLVED,
                         RequestStatus.CANCELLED},
    RequestStatus.IN_PROGRESS: {RequestStatus.RESOLVED, RequestStatus.CANCELLED},
    RequestStatus.RESOLVED: {RequestStatus.CLOSED, RequestStatus.IN_PROGRESS},
    RequestStatus.CLOSED: set(),
    RequestStatus.CANCELLED: set(),
}


class RequestError(ValueError):
    """A request that breaks a rule; the message is for the person at the form."""


def deadline_for(raised_at: datetime, request_class: RequestClass) -> datetime:
    """The 7123 deadline: 1, 2 or 3 days from the moment the request was raised."""
    return raised_at + timedelta(days=request_class.days)


def default_owner(elder: Elder, day: date) -> User | None:
    """Who works the elder's grid on that local day (a cover first): the request's owner."""
    return areas.grid_worker(elder.household.grid_id, day)


def raise_request(elder: Elder, *, kind: str, description: str, request_class: RequestClass,
                  source: RequestSource, actor: User | None, visit_id: int | None = None,
                  at: datetime | None = None) -> ServiceRequest:
    """Record a need with its deadline and owner."""
    description = (description or "").strip()
    if not description:
        raise RequestError(_l("Describe what is needed."))
    if len(description) > DESCRIPTION_MAX:
        raise RequestError(_l("The description is limited to %(n)d characters.",
                              n=DESCRIPTION_MAX))
    if kind not in KINDS and not (kind == MESSAGE_KIND and source == RequestSource.FAMILY):
        raise RequestError(_l("Choose a kind of request."))
    at = at or utcnow()
    request = ServiceRequest(elder=elder, kind=kind, description=description,
                             request_class=request_class, source=source, raised_at=at,
                             deadline=deadline_for(at, request_class), raised_by=actor,
                             owner=default_owner(elder, local_date(at)) or actor, visit_id=visit_id)
    request.events.append(RequestEvent(actor=actor, status=RequestStatus.OPEN, at=at))
    db.session.add(request)
    return request


def file_request(actor: User, elder: Elder, *, kind: str, description: str,
                 request_class: RequestClass, source: RequestSource) -> ServiceRequest:
    """A request raised by a person at a form (staff on the elder page, family asking for
    help or leaving a message): recorded with its audit event, ``request.create``. (A request
    raised at a visit is part of the visit's own audit event.)"""
    new = raise_request(elder, kind=kind, description=description,
                        request_class=request_class, source=source, actor=actor)
    db.session.flush()
    audit.record(actor, "request.create", "request", new.id)
    return new


def change_status(request: ServiceRequest, status: RequestStatus, *, actor: User,
                  note: str = "") -> None:
    """Move a request on; resolving needs a note, cancelling a reason. Audited as
    ``request.status``."""
    if status not in NEXT[request.status]:
        raise RequestError(_l("This request cannot go from that state to this one."))
    note = (note or "").strip()
    if status in (RequestStatus.RESOLVED, RequestStatus.CANCELLED) and not note:
        raise RequestError(_l("Say what was done, or why it is cancelled."))
    request.status = status
    if status in (RequestStatus.RESOLVED, RequestStatus.CANCELLED):
        request.resolution, request.finished_at = note, utcnow()
    elif status in OPEN_REQUEST_STATUSES:  # reopened: the earlier outcome stays in the events
        request.resolution, request.finished_at = "", None
    request.events.append(RequestEvent(actor=actor, status=status, note=note))
    db.session.flush()
    audit.record(actor, "request.status", "request", request.id, status=status.value)
    integration_events.work_order_changed(request, note)
    if status not in OPEN_REQUEST_STATUSES:
        integration_events.publish("request.closed", request.elder, {
            "request_id": request.id, "elder_id": request.elder_id, "status": status.value,
            "kind": request.kind, "resolution": note})
        _resolve_alert_if_clear(request.elder, actor)


def reclass(request: ServiceRequest, request_class: RequestClass, *, actor: User) -> None:
    """The office classes an open request by the 7123 rule; its deadline counts again from
    when it was raised."""
    if request.status not in OPEN_REQUEST_STATUSES:
        raise RequestError(_l("Only an open request can be classed again."))
    if request_class == request.request_class:
        return
    before = request.request_class
    request.request_class = request_class
    request.deadline = deadline_for(request.raised_at, request_class)
    note = str(_l("Classed as: %(size)s", size=REQUEST_CLASSES[request_class]))
    request.events.append(RequestEvent(actor=actor, status=request.status, note=note))
    db.session.flush()
    audit.record(actor, "request.class", "request", request.id, before=before.value,
                 after=request_class.value)
    _resolve_alert_if_clear(request.elder, actor)


def _resolve_alert_if_clear(elder: Elder, actor: User) -> None:
    """Close the elder's request-overdue alert once no overdue request is left."""
    now = utcnow()
    still_overdue = db.session.scalar(select(ServiceRequest.id).where(
        ServiceRequest.elder_id == elder.id, ServiceRequest.status.in_(OPEN_REQUEST_STATUSES),
        ServiceRequest.deadline < now).limit(1))
    alert = alerts.unresolved(elder.id, AlertKind.REQUEST_OVERDUE)
    if alert is not None and still_overdue is None:
        alerts.resolve(alert, actor=actor, note=str(_l("The overdue request was closed.")))


def scan_overdue_requests(now: datetime, user: User | None = None) -> list[int]:
    """Open a request-overdue alert for each elder with a request past its deadline."""
    overdue = (select(ServiceRequest.elder_id, literal(AlertLevel.WARNING.value))
               .join(Elder, ServiceRequest.elder_id == Elder.id)
               .join(Household, Elder.household_id == Household.id)
               .where(ServiceRequest.status.in_(OPEN_REQUEST_STATUSES),
                      ServiceRequest.deadline < now, Elder.active))
    if user is not None:
        overdue = overdue.where(household_scope(user))
    return alerts.open_alerts(AlertKind.REQUEST_OVERDUE, overdue, now)


def visible_requests(user: User):
    """SELECT of requests about elders in the user's scope."""
    return (select(ServiceRequest).join(Elder, ServiceRequest.elder_id == Elder.id)
            .join(Household, Elder.household_id == Household.id)
            .where(household_scope(user)))
