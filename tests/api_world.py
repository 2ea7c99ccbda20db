"""A world for the integration API's tests: the conftest world, a visit, an alert and a request
on every household, a water meter on h1 (street one) and one on h4 (street two), and API
keys with every permission for each street."""

from types import SimpleNamespace

from carevisits.extensions import db
from carevisits.models import (
    AlertKind,
    AlertLevel,
    ApiPermission,
    Device,
    DeviceKind,
    Outcome,
    RequestClass,
    RequestSource,
    VisitMethod,
)
from carevisits.services import alerts, apikeys, requests
from carevisits.services.checkin import ElderRecordInput, record_visit

ALL = list(ApiPermission)


def build_api_world(world) -> SimpleNamespace:
    """The records and keys, committed; ``keys`` maps a name to the raw key."""
    for h in (world.h1, world.h2, world.h3, world.h4):
        record_visit(visitor=world.admin, household=h, method=VisitMethod.SCANNED,
                     door_code=h.code, idempotency_key=f"api-visit-{h.id:08d}",
                     records=[ElderRecordInput(e.id, Outcome.MET_WELL) for e in h.elders])
        alerts.raise_alert(h.elders[0], AlertKind.ABNORMAL, AlertLevel.WARNING, {})
        requests.raise_request(h.elders[0], kind="其他", description=f"{h.elders[0].name}的诉求",
                               request_class=RequestClass.SMALL, source=RequestSource.PHONE,
                               actor=world.admin)
    meters = {"h1": Device(code="meter-h1", household=world.h1, kind=DeviceKind.WATER_METER),
              "h4": Device(code="meter-h4", household=world.h4, kind=DeviceKind.WATER_METER)}
    db.session.add_all(meters.values())
    one, two = world.streets
    keys = {"one": apikeys.create(world.admin, name="street one", street=one,
                                  permissions=ALL).raw,
            "two": apikeys.create(world.admin, name="street two", street=two,
                                  permissions=ALL).raw,
            "community": apikeys.create(world.admin, name="community 甲",
                                        community=world.communities[0],
                                        permissions=ALL).raw}
    db.session.commit()
    return SimpleNamespace(**vars(world), keys=keys, meters={k: v.code for k, v in meters.items()})


def bearer(raw: str, **headers) -> dict:
    """Request headers with the key."""
    return {"Authorization": f"Bearer {raw}", **headers}
