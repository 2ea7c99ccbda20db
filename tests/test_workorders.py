"""12345 work orders (issue 17, item 4): a work order becomes a request with the platform's
reference and deadline, once, owned by the elder's grid worker; every wrong field is told at
once; a household outside the key's area is not found."""

from datetime import timedelta

import pytest

from carevisits.extensions import db
from carevisits.models import (
    AuditEvent,
    RequestClass,
    RequestSource,
    RequestStatus,
    ServiceRequest,
)
from carevisits.models.base import utcnow
from carevisits.services import requests, workorders
from tests.conftest import count
from tests.integration_world import api_key


@pytest.fixture
def hotline(world):
    key = api_key("12345热线", street=world.streets[0])
    db.session.commit()
    return key


def order(key, **fields):
    values = {"external_ref": "GD-2026-0001", "household_number": None, "elder_id": None,
              "description": "老人反映楼道灯坏了", "deadline": utcnow() + timedelta(hours=20),
              "kind": "房屋维修"}
    values.update(fields)
    return workorders.receive(key, **values)


def test_a_work_order_becomes_a_request_with_its_reference_and_deadline(world, hotline):
    deadline = (utcnow() + timedelta(hours=40)).replace(microsecond=0)
    request, created = order(hotline, household_number=world.h1.number, deadline=deadline)
    db.session.commit()

    assert created
    db.session.expire_all()
    stored = db.session.get(ServiceRequest, request.id)
    assert stored.deadline == deadline  # the platform's deadline, not the 7123 one
    assert stored.external_ref == "GD-2026-0001" and stored.api_key_id == hotline.id
    assert stored.source == RequestSource.HOTLINE and stored.kind == "房屋维修"
    assert stored.request_class == RequestClass.BIGGER  # due within two days
    assert stored.elder_id == world.h1.elders[0].id  # the household's first elder
    assert stored.owner_id == world.worker.id  # who works the grid today
    assert stored.status == RequestStatus.OPEN
    assert count(AuditEvent, AuditEvent.action == "request.create") == 1


def test_the_same_reference_twice_is_one_request(world, hotline):
    first, created = order(hotline, household_number=world.h1.number)
    db.session.commit()
    again, created_again = order(hotline, household_number=world.h1.number,
                                 description="重复推送")

    assert created and not created_again and again.id == first.id
    assert count(ServiceRequest) == 1


@pytest.mark.parametrize(("hours", "size"), [(6, RequestClass.SMALL), (24, RequestClass.SMALL),
                                             (47, RequestClass.BIGGER),
                                             (100, RequestClass.HARD)])
def test_the_7123_class_follows_the_deadline(world, hotline, hours, size):
    request, _ = order(hotline, elder_id=world.h2.elders[0].id,
                       deadline=utcnow() + timedelta(hours=hours))
    assert request.request_class == size


def test_an_unknown_kind_is_other_with_the_platform_s_words_kept(world, hotline):
    request, _ = order(hotline, elder_id=world.h2.elders[0].id, kind="市容环境")
    assert request.kind == "其他" and request.description.startswith("【市容环境】")
    assert "其他" in requests.KINDS


def test_every_wrong_field_is_told_at_once(world, hotline):
    with pytest.raises(workorders.WorkOrderError) as refused:
        order(hotline, external_ref=" ", description="", deadline=utcnow() - timedelta(hours=1))
    assert set(refused.value.errors) == {"external_ref", "household_number", "description",
                                         "deadline"}
    assert count(ServiceRequest) == 0


def test_a_household_or_elder_outside_the_key_s_area_is_not_found(world, hotline):
    outside = world.h4  # street two
    for fields, field in (({"household_number": outside.number}, "household_number"),
                          ({"household_number": "00000000"}, "household_number"),
                          ({"elder_id": outside.elders[0].id}, "elder_id"),
                          ({"elder_id": 999999}, "elder_id")):
        with pytest.raises(workorders.WorkOrderError) as refused:
            order(hotline, **fields)
        assert set(refused.value.errors) == {field}
    assert count(ServiceRequest) == 0


def test_a_work_order_moves_on_like_any_request(world, hotline):
    request, _ = order(hotline, household_number=world.h1.number)
    db.session.commit()
    requests.change_status(request, RequestStatus.RESOLVED, actor=world.worker, note="灯已修好")
    db.session.commit()
    assert request.status == RequestStatus.RESOLVED and request.resolution == "灯已修好"
