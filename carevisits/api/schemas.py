"""What the integration API reads and answers, as pydantic models: the same classes check a
request, shape an answer and write the OpenAPI document (carevisits/api/openapi.py)."""

import base64
import binascii
import json
import re
from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from carevisits.models import (
    AlertKind,
    AlertLevel,
    AlertStatus,
    CareLevel,
    ClosedReason,
    LivingSituation,
    Outcome,
    RequestClass,
    RequestSource,
    RequestStatus,
    SignalKind,
    VisitMethod,
)
from carevisits.paging import ID_MAX

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
LINE_BREAKS = re.compile(r"[\t\n\r]")


def _single_line(text: str) -> str:
    if CONTROL.search(text) or LINE_BREAKS.search(text):
        raise PydanticCustomError("control_characters", "control characters")
    return text


def _free_text(text: str) -> str:
    if CONTROL.search(text):
        raise PydanticCustomError("control_characters", "control characters")
    return text


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise PydanticCustomError("out_of_range", "out of range") from None


def encode_cursor(at: datetime, record_id: int) -> str:
    """The cursor after a record changed at ``at``: opaque to the integration."""
    text = json.dumps([at.isoformat(), record_id])
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor) -> tuple[datetime, int]:
    """The (updated_at, id) a cursor was made from."""
    try:
        if not isinstance(cursor, str) or len(cursor) > 200:
            raise ValueError(cursor)
        at, last_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None or type(last_id) is not int or not 0 <= last_id < 2**31:
            raise ValueError(cursor)
        return moment.astimezone(UTC), last_id
    except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise PydanticCustomError("cursor", "not a cursor of this list") from None


Line = Annotated[str, AfterValidator(_single_line)]
Text = Annotated[str, AfterValidator(_free_text)]
Instant = Annotated[AwareDatetime, AfterValidator(_in_utc)]
RecordId = Annotated[int, Field(ge=1, le=ID_MAX)]
Cursor = Annotated[tuple[AwareDatetime, int], BeforeValidator(decode_cursor),
                   WithJsonSchema({"type": "string", "maxLength": 200})]


class Body(BaseModel):
    """A request body: unknown fields are ignored (an integration may send more)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class Answer(BaseModel):
    """An answer's body."""

    model_config = ConfigDict(from_attributes=True)


class ListQuery(BaseModel):
    """The query of every list: a page size, the cursor of the next page, and a time to pull
    only what changed since (ISO 8601 with its offset)."""

    model_config = ConfigDict(extra="ignore")

    limit: int = Field(100, ge=1, le=500, description="Records a page (1–500).")
    cursor: Cursor | None = Field(None, description="The next_cursor of the page before.")
    updated_since: Instant | None = Field(
        None, description="Only records changed at or after this time, e.g. "
                          "2026-05-01T08:00:00+08:00.")


class Elder(Answer):
    """An elder on the register, as an integration of the street sees it: no phone, no
    emergency contacts, no health notes, no door or check-in codes."""

    id: int
    household_id: int
    household_number: str
    address: str
    building: str
    unit: str
    room: str
    grid: str
    community: str
    street: str
    name: str
    gender: str
    birth_year: int
    care_level: CareLevel
    living_situation: LivingSituation
    active: bool
    closed_reason: ClosedReason | None
    closed_on: date | None
    paused_until: date | None
    due_at: datetime | None
    overdue_at: datetime | None
    last_contact_at: datetime | None
    updated_at: datetime


class VisitRecord(Answer):
    """What a visit found of one elder (the outcome; readings and notes stay inside)."""

    elder_id: int
    outcome: Outcome


class Visit(Answer):
    """A door event: when, how, and whom it found."""

    id: int
    household_id: int
    household_number: str
    occurred_at: datetime
    method: VisitMethod
    entered_late: bool
    voided: bool
    records: list[VisitRecord]
    updated_at: datetime


class Alert(Answer):
    """An alert on an elder and where it stands."""

    id: int
    elder_id: int
    kind: AlertKind
    level: AlertLevel
    status: AlertStatus
    ladder_step: int
    opened_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    updated_at: datetime


class Request(Answer):
    """A request (诉求) with its deadline; a 12345 work order carries its external_ref."""

    id: int
    elder_id: int
    kind: str
    description: str
    request_class: RequestClass
    source: RequestSource
    status: RequestStatus
    raised_at: datetime
    deadline: datetime
    finished_at: datetime | None
    resolution: str
    external_ref: str | None
    updated_at: datetime


class ElderPage(Answer):
    """A page of elders, oldest change first; next_cursor is null on the last page."""

    items: list[Elder]
    next_cursor: str | None


class VisitPage(Answer):
    """A page of visits, oldest change first; next_cursor is null on the last page."""

    items: list[Visit]
    next_cursor: str | None


class AlertPage(Answer):
    """A page of alerts, oldest change first; next_cursor is null on the last page."""

    items: list[Alert]
    next_cursor: str | None


class RequestPage(Answer):
    """A page of requests, oldest change first; next_cursor is null on the last page."""

    items: list[Request]
    next_cursor: str | None


class SignalIn(Body):
    """One event of a device: the same event_id from the same key is one event."""

    event_id: Line = Field(min_length=1, max_length=100)
    device_id: Line = Field(min_length=1, max_length=64)
    kind: SignalKind
    occurred_at: Instant
    value: float | None = Field(None, allow_inf_nan=False, ge=-1e9, le=1e9)


class Signal(Answer):
    """A received signal and what carevisits did with it."""

    id: int
    event_id: str
    device_id: str
    kind: SignalKind
    occurred_at: datetime
    value: float | None
    received_at: datetime
    outcome: str
    alert_id: int | None


class WorkOrderIn(Body):
    """A work order (e.g. from the 12345 hotline) for a household or an elder."""

    external_ref: Line = Field(min_length=1, max_length=100)
    household_number: Line | None = Field(None, min_length=1, max_length=12)
    elder_id: RecordId | None = None
    description: Text = Field(min_length=1, max_length=2000)
    deadline: Instant
    kind: Line | None = Field(None, min_length=1, max_length=20)


class WorkOrder(Answer):
    """The request a work order became."""

    id: int
    status: RequestStatus
    deadline: datetime
    external_ref: str


class Document(Answer):
    """An OpenAPI 3.1 document."""

    model_config = ConfigDict(extra="allow")

    openapi: str


class FieldError(BaseModel):
    """One field's problem."""

    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details (application/problem+json)."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None
