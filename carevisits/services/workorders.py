"""Work orders from the 12345 hotline platform: each becomes a request (诉求) with the
platform's reference and deadline, owned by the elder's grid worker; its status changes go
back to the platform (services/integration_events.work_order_changed)."""

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from carevisits.extensions import db
from carevisits.i18n import local_date
from carevisits.models import (
    ApiKey,
    Elder,
    Household,
    RequestClass,
    RequestEvent,
    RequestSource,
    RequestStatus,
    ServiceRequest,
)
from carevisits.models.base import utcnow
from carevisits.services import apikeys, audit, requests

REF_MAX = 100
DEFAULT_KIND = "其他"


class WorkOrderError(ValueError):
    """A work order refused; ``errors`` maps every wrong field to its message, ``field`` and
    ``message`` give the first."""

    def __init__(self, errors: dict):
        self.errors = errors
        self.field, self.message = next(iter(errors.items()))
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def request_class_for(raised_at: datetime, deadline: datetime) -> RequestClass:
    """The 7123 class a deadline stands for: within a day small, two days bigger, else hard."""
    left = deadline - raised_at
    if left <= timedelta(days=1):
        return RequestClass.SMALL
    if left <= timedelta(days=2):
        return RequestClass.BIGGER
    return RequestClass.HARD


def existing(key: ApiKey, external_ref: str) -> ServiceRequest | None:
    """The request a key's work order became, if it was received before."""
    return db.session.scalar(select(ServiceRequest).where(
        ServiceRequest.api_key_id == key.id, ServiceRequest.external_ref == external_ref))


def _elder(key: ApiKey, household_number: str | None, elder_id: int | None,
           errors: dict) -> Elder | None:
    """The active elder in the key's area that the order names (the same words for one that
    does not exist and one elsewhere); a household's first active elder by default."""
    if elder_id is not None:
        elder = db.session.get(Elder, elder_id)
        if elder is None or not elder.active or not apikeys.in_scope(key, elder.household) or (
                household_number and elder.household.number != household_number.strip()):
            errors["elder_id"] = _l("No elder with this id in your area.")
            return None
        return elder
    if not (household_number or "").strip():
        errors["household_number"] = _l("Give the household number or the elder's id.")
        return None
    household = db.session.scalar(select(Household).where(
        Household.number == household_number.strip()))
    elders = [e for e in household.elders if e.active] if household is not None else []
    if not elders or not apikeys.in_scope(key, household):
        errors["household_number"] = _l("No household with this number in your area.")
        return None
    return elders[0]


def receive(key: ApiKey, *, external_ref: str, household_number: str | None,
            elder_id: int | None, description: str, deadline: datetime,
            kind: str | None) -> tuple[ServiceRequest, bool]:
    """Turn a work order into a request once per (key, reference); the same reference again
    returns the request it became (False). Every wrong field is reported at once."""
    external_ref = (external_ref or "").strip()
    errors: dict = {}
    if not external_ref or len(external_ref) > REF_MAX:
        errors["external_ref"] = _l("Give the work order's reference (at most %(n)d "
                                    "characters).", n=REF_MAX)
    elif (found := existing(key, external_ref)) is not None:
        return found, False
    elder = _elder(key, household_number, elder_id, errors)
    description = (description or "").strip()
    if not description or len(description) > requests.DESCRIPTION_MAX:
        errors["description"] = _l("Describe the matter (at most %(n)d characters).",
                                   n=requests.DESCRIPTION_MAX)
    now = utcnow()
    if deadline is None or deadline.tzinfo is None or deadline <= now:
        errors["deadline"] = _l("Give a deadline in the future, with its time zone.")
    kind = (kind or "").strip() or DEFAULT_KIND
    if kind not in requests.KINDS:  # the platform's own kinds are many: keep its words
        description, kind = f"【{kind[:20]}】{description}", DEFAULT_KIND
    if errors:
        raise WorkOrderError(errors)
    request = ServiceRequest(
        elder=elder, kind=kind, description=description, source=RequestSource.HOTLINE,
        request_class=request_class_for(now, deadline), raised_at=now, deadline=deadline,
        owner=requests.default_owner(elder, local_date(now)), external_ref=external_ref,
        api_key_id=key.id)
    request.events.append(RequestEvent(actor=None, status=RequestStatus.OPEN, at=now))
    try:
        with db.session.begin_nested():  # the same order twice at once: one request
            db.session.add(request)
            db.session.flush()
    except IntegrityError:
        return existing(key, external_ref), False
    audit.record(None, "request.create", "request", request.id, api_key=key.name,
                 external_ref=external_ref)
    return request, True
