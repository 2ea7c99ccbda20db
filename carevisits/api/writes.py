"""Writes of integrations: device signals (services/signals.py) and work orders such as the
12345 hotline's (services/workorders.py). Both are idempotent: the same event id or external
reference from the same key answers 200 with what the first one made (201 the first time)."""

from carevisits.api import schemas
from carevisits.api.blueprint import ApiProblem, operation
from carevisits.models import ApiPermission, Signal
from carevisits.services import signals, workorders


def signal_answer(signal: Signal) -> schemas.Signal:
    """A stored signal as the gateway is told of it."""
    return schemas.Signal(
        id=signal.id, event_id=signal.event_id, device_id=signal.device.code, kind=signal.kind,
        occurred_at=signal.occurred_at, value=signal.value, received_at=signal.received_at,
        outcome=signal.outcome, alert_id=signal.alert_id)


@operation("/signals", method="POST", summary="Send a device signal",
           permission=ApiPermission.WRITE_SIGNALS, body=schemas.SignalIn, signed=True,
           answers={201: schemas.Signal, 200: schemas.Signal})
def post_signal(key, body):
    """One event of a device registered to a household of the key's area (no_usage with the
    hours without use, usage_back, sos, fall, door_not_opened with the hours the door stayed
    shut); an unknown device, or one outside the area, is refused at device_id. When the key
    must sign, the body carries a valid X-Carevisits-Signature."""
    try:
        result = signals.receive(key, event_id=body.event_id, device_code=body.device_id,
                                 kind=body.kind, occurred_at=body.occurred_at,
                                 value=body.value)
    except signals.SignalError as refused:
        raise ApiProblem(422, errors=[{"field": refused.field,
                                       "message": refused.message}]) from None
    return signal_answer(result.signal), 201 if result.created else 200


@operation("/work-orders", method="POST", summary="Send a work order",
           permission=ApiPermission.WRITE_WORK_ORDERS, body=schemas.WorkOrderIn, signed=True,
           answers={201: schemas.WorkOrder, 200: schemas.WorkOrder})
def post_work_order(key, body):
    """A work order for a household (household_number) or an elder (elder_id) of the key's
    area becomes a request with its deadline and external_ref; status changes go back to the
    key's webhook."""
    try:
        request, created = workorders.receive(
            key, external_ref=body.external_ref, household_number=body.household_number,
            elder_id=body.elder_id, description=body.description, deadline=body.deadline,
            kind=body.kind)
    except workorders.WorkOrderError as refused:  # every wrong field at once
        raise ApiProblem(422, errors=[{"field": field, "message": message}
                                      for field, message in refused.errors.items()]) from None
    return schemas.WorkOrder(id=request.id, status=request.status, deadline=request.deadline,
                             external_ref=request.external_ref), 201 if created else 200
