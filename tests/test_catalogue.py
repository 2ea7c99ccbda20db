"""The service catalogue per street (issue 12, item 5): shared services kept by admins, each
street's own kept by its street coordinators, and no elder offered another street's."""

import pytest
from sqlalchemy import select

from carevisits.extensions import db
from carevisits.models import (
    AuditEvent,
    Delivery,
    Frequency,
    MenuEntry,
    Role,
    ServiceItem,
    ServicePlace,
    Visit,
)
from carevisits.services import menus
from tests import factories
from tests.conftest import count, latest, login
from tests.test_services import check_in, latest_visit_stub, local_today

NOT_FOUND_ZH = "没有这项服务。"


@pytest.fixture
def streets(world):
    """The shared catalogue, a coordinator of street two, and one service of each street's
    own, on the menu of an elder of that street (h1: street one, h4: street two, who also
    has the shared 助餐)."""
    menus.seed_catalogue()
    own = {}
    for street, household in ((world.streets[0], world.h1), (world.streets[1], world.h4)):
        own[street.id] = ServiceItem(street=street, name=f"{street.name}送餐", category="生活照料",
                                     unit="份", place=ServicePlace.DOOR)
        db.session.add(own[street.id])
        db.session.flush()
        menus.add_to_menu(household.elders[0], item=own[street.id],
                          frequency=Frequency.EVERY_VISIT, notes="", starts_on=local_today(),
                          ends_on=None, actor=world.admin)
    shared = db.session.scalar(select(ServiceItem).where(ServiceItem.name == "助餐"))
    menus.add_to_menu(world.h4.elders[0], item=shared, frequency=Frequency.WEEKLY, notes="",
                      starts_on=local_today(), ends_on=None, actor=world.admin)
    world.coordinator2 = factories.user(Role.COORDINATOR, username="coord2",
                                        street=world.streets[1])
    db.session.commit()
    world.own = {sid: item.id for sid, item in own.items()}
    world.shared = shared.id
    return world


def new_service(client, name, **fields):
    return client.post("/coordinator/services", data={
        "name": name, "category": "精神慰藉", "unit": "次", "place": "door", **fields})


def item(item_id: int) -> ServiceItem | None:
    db.session.rollback()  # a fresh transaction: the requests have written
    return db.session.get(ServiceItem, item_id)


def named(name: str) -> ServiceItem | None:
    db.session.rollback()
    return db.session.scalar(select(ServiceItem).where(ServiceItem.name == name))


# --- who changes what --------------------------------------------------------------------

def test_a_coordinator_cannot_retire_another_streets_service_from_its_menus(client, streets):
    """The probe's finding: a coordinator of one street retired a service on another
    street's menus. Now another street's service is not even found."""
    w = streets
    theirs = w.own[w.streets[1].id]
    login(client, w.coordinator)
    page = client.get("/coordinator/services").get_data(as_text=True)
    assert "二街道送餐" not in page and "一街道送餐" in page and "助餐" in page
    assert client.post(f"/coordinator/services/{theirs}/retire").status_code == 404
    assert not item(theirs).retired
    assert "二街道送餐" in [e.item.name for e in menus.current_menu(w.h4.elders[0],
                                                                 local_today())]
    # Their own street's service is theirs to retire (it is on a menu: retired, kept).
    mine = w.own[w.streets[0].id]
    assert client.post(f"/coordinator/services/{mine}/retire").status_code == 302
    assert item(mine).retired
    assert menus.current_menu(w.h1.elders[0], local_today()) == []


def test_shared_services_are_changed_by_admins_only(client, streets):
    w = streets
    for coordinator in (w.coordinator, w.community_coordinator):
        login(client, coordinator)
        page = client.get("/coordinator/services").get_data(as_text=True)
        assert "助餐" in page and "所有街道共用" in page
        assert f"/coordinator/services/{w.shared}/retire" not in page
        assert client.post(f"/coordinator/services/{w.shared}/retire").status_code == 403
        assert not item(w.shared).retired
    login(client, w.admin)
    page = client.get("/coordinator/services").get_data(as_text=True)
    assert "一街道送餐" in page and "二街道送餐" in page  # admins see every street's
    assert client.post(f"/coordinator/services/{w.shared}/retire").status_code == 302
    assert item(w.shared).retired
    assert new_service(client, "手工课").status_code == 302
    added = named("手工课")
    assert added.street_id is None  # an admin's new service is shared


def test_a_street_coordinator_adds_their_streets_own_service(client, streets):
    w = streets
    login(client, w.coordinator)
    assert "本街道新增服务" in client.get("/coordinator/services").get_data(as_text=True)
    assert new_service(client, "陪同散步").status_code == 302
    added = named("陪同散步")
    assert added.street_id == w.streets[0].id
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "service.create"))
    assert event.subject_id == added.id and event.actor_id == w.coordinator.id
    # Offered to street one's elders, not to street two's; street two's coordinator does
    # not see it.
    assert added in menus.offered_items(w.h3.elders[0])
    assert added not in menus.offered_items(w.h4.elders[0])
    login(client, w.coordinator2)
    assert "陪同散步" not in client.get("/coordinator/services").get_data(as_text=True)
    # Unused: retiring it deletes it, by its own street only.
    assert client.post(f"/coordinator/services/{added.id}/retire").status_code == 404
    login(client, w.coordinator)
    assert client.post(f"/coordinator/services/{added.id}/retire").status_code == 302
    assert count(ServiceItem, ServiceItem.name == "陪同散步") == 0


def test_a_community_coordinator_uses_the_catalogue_but_does_not_change_it(client, streets):
    w = streets
    login(client, w.community_coordinator)
    page = client.get("/coordinator/services").get_data(as_text=True)
    assert "一街道送餐" in page and "二街道送餐" not in page
    assert "由街道协调员添加" in page and 'name="name"' not in page
    items = count(ServiceItem)
    assert new_service(client, "陪同散步").status_code == 403
    mine = w.own[w.streets[0].id]
    assert client.post(f"/coordinator/services/{mine}/retire").status_code == 403
    assert count(ServiceItem) == items and not item(mine).retired


@pytest.mark.parametrize(("who", "name", "refused"), [
    ("coordinator", "助餐", True),  # a shared service's name
    ("coordinator", "一街道送餐", True),  # the street's own already
    ("coordinator", "二街道送餐", False),  # another street's: each street names its own
    ("admin", "二街道送餐", True),  # a shared one would be offered twice in street two
])
def test_a_name_is_offered_once_to_any_elder(client, streets, who, name, refused):
    login(client, getattr(streets, who))
    before = count(ServiceItem)
    response = new_service(client, name)
    if refused:
        assert response.status_code == 422
        assert "目录中已有此服务。" in response.get_data(as_text=True)
        assert count(ServiceItem) == before
    else:
        assert response.status_code == 302 and count(ServiceItem) == before + 1


# --- menus and the door: shared services and the elder's street's, never another's ----------

def test_an_elder_is_offered_shared_services_and_their_streets_own(client, streets):
    w = streets
    offered = {i.name for i in menus.offered_items(w.h1.elders[0])}
    assert "一街道送餐" in offered and "助餐" in offered and "二街道送餐" not in offered
    theirs = db.session.get(ServiceItem, w.own[w.streets[1].id])
    with pytest.raises(menus.MenuError) as refused:
        menus.add_to_menu(w.h1.elders[0], item=theirs, frequency=Frequency.WEEKLY, notes="",
                          starts_on=local_today(), ends_on=None, actor=w.admin)
    assert str(refused.value) == "此服务属于其他街道的服务目录。"
    db.session.rollback()
    # Through the elder's page too: refused at the field, nothing stored.
    login(client, w.coordinator)
    entries = count(MenuEntry)
    response = client.post(f"/elders/{w.h1.elders[0].id}/menu", data={
        "item": str(theirs.id), "frequency": "weekly", "starts_on": local_today().isoformat()})
    assert response.status_code == 422
    assert count(MenuEntry) == entries


def test_the_door_offers_and_records_no_service_of_another_street(client, streets):
    w = streets
    elder = w.h1.elders[0]
    mine, theirs = w.own[w.streets[0].id], w.own[w.streets[1].id]
    login(client, w.admin)
    form = client.get(f"/c/{w.h1.code.token}").get_data(as_text=True)
    assert f'name="e{elder.id}-svc" value="{mine}"' in form
    assert f'name="e{elder.id}-svc" value="{theirs}"' not in form
    response = check_in(client, w.h1, "svc-other-street-01",
                        **{f"e{elder.id}-svc": [str(theirs)]})
    assert response.status_code == 422 and NOT_FOUND_ZH in response.get_data(as_text=True)
    assert count(Visit) == 0 and count(Delivery) == 0
    with pytest.raises(menus.MenuError) as refused:
        menus.record_deliveries(latest_visit_stub(w.h1), elder, [menus.DeliveryInput(theirs)])
    assert str(refused.value) == NOT_FOUND_ZH
    db.session.rollback()
    assert check_in(client, w.h1, "svc-own-street-0001",
                    **{f"e{elder.id}-svc": [str(mine)]}).status_code == 302
    assert latest(Delivery).item_id == mine
