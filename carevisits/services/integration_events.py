"""Events for other systems: what happened to an elder (an alert opened, taken on or
resolved, a visit recorded, corrected or voided, a request closed), queued in the outbox in
the transaction of what it tells, then posted as signed JSON to each integration's webhook
by services/notify.py with its retries.

An event goes to every live key with a webhook whose area covers the elder and which may
read that kind of record; a work order's status changes go to the key that sent it.
"""

import json
import uuid
from datetime import datetime

from sqlalchemy import Text, and_, case, cast, insert, literal, or_, select

from carevisits.extensions import db
from carevisits.models import (
    ApiKey,
    ApiPermission,
    Community,
    Elder,
    Grid,
    Household,
    Notification,
    ServiceRequest,
)
from carevisits.models.base import utcnow
from carevisits.services import notify

# The permission a key needs to hear of an event, by the event's first word.
READ_FOR = {"alert": ApiPermission.READ_ALERTS, "visit": ApiPermission.READ_VISITS,
            "request": ApiPermission.READ_REQUESTS}


def body(event: str, payload: dict, at: datetime | None = None) -> str:
    """The JSON an integration receives: the event's id (the same on every retry: a
    receiver drops what it has seen), its name, when, and its data."""
    at = at or utcnow()
    return json.dumps({"id": uuid.uuid4().hex, "event": event, "at": at.isoformat(),
                       "data": payload},
                      ensure_ascii=False, sort_keys=True, default=str)


CHUNK = 500  # elders per statement


def _covers():
    """A key's area holds the elder's household (see services/apikeys.key_scope)."""
    return or_(ApiKey.community_id == Grid.community_id,
               and_(ApiKey.community_id.is_(None),
                    or_(ApiKey.street_id.is_(None), ApiKey.street_id == Community.street_id)))


def publish_many(event: str, payloads: dict[int, dict]) -> int:
    """Queue ``event`` for each elder id → payload to every live key with a webhook whose
    area covers the elder and which may read such records: one INSERT … SELECT per
    CHUNK elders, whether anyone listens or not (the door's statements stay the same).
    Returns the messages queued."""
    needed = READ_FOR[event.split(".")[0]].value
    at, queued, ids = utcnow(), 0, list(payloads)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        text = case({i: body(event, payloads[i], at) for i in chunk}, value=Elder.id)
        listeners = (
            select(ApiKey.id, literal(event), text)
            .select_from(Elder).join(Household, Elder.household_id == Household.id)
            .join(Grid, Household.grid_id == Grid.id)
            .join(Community, Grid.community_id == Community.id).join(ApiKey, _covers())
            .where(Elder.id.in_(chunk), ApiKey.revoked_at.is_(None), ApiKey.webhook_url != "",
                   # permissions is a JSON list of plain words: '["read_alerts", …]'
                   cast(ApiKey.permissions, Text).like(f'%"{needed}"%')))
        # Counted from RETURNING: psycopg gives no rowcount for INSERT … SELECT (-1),
        # and a wrong count would start a sender after every check-in.
        queued += len(db.session.scalars(
            insert(Notification).from_select(["api_key_id", "event", "text"], listeners)
            .returning(Notification.id)).all())
    if queued:
        db.session.info[notify.PENDING_FLAG] = True
    return queued


def publish(event: str, elder: Elder, payload: dict) -> int:
    """Queue one event about an elder (see :func:`publish_many`)."""
    return publish_many(event, {elder.id: payload})


def visit_event(event: str, visit) -> int:
    """Queue ``visit.recorded``, ``visit.corrected`` or ``visit.voided`` for each elder of a
    visit (at the door or on the phone), with the record as it stands."""
    return publish_many(event, {r.elder_id: {
        "visit_id": visit.id, "elder_id": r.elder_id, "outcome": str(r.outcome),
        "method": visit.method.value, "occurred_at": visit.occurred_at.isoformat()}
        for r in visit.records})


def work_order_changed(request: ServiceRequest, note: str = "") -> int:
    """Tell the integration that sent a work order of its new status."""
    if request.api_key_id is None:
        return 0
    key = db.session.get(ApiKey, request.api_key_id)
    if key is None or key.revoked_at is not None or not key.webhook_url:
        return 0
    at = utcnow()
    payload = {"external_ref": request.external_ref, "request_id": request.id,
               "status": request.status.value, "note": note, "at": at.isoformat()}
    return _queue([{"api_key_id": key.id, "event": "work_order.status",
                    "text": body("work_order.status", payload, at)}])


def _queue(rows: list[dict]) -> int:
    if rows:
        db.session.execute(insert(Notification), rows)
        db.session.info[notify.PENDING_FLAG] = True
    return len(rows)


def alert_payload(alert) -> dict:
    """What an integration hears of an alert."""
    return {"alert_id": alert.id, "elder_id": alert.elder_id, "kind": alert.kind.value,
            "level": alert.level.value, "status": alert.status.value,
            "opened_at": alert.opened_at.isoformat() if alert.opened_at else None}
