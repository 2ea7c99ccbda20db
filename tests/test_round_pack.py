"""The round pack (issue 14 §2, §4): what a phone keeps for the door form without signal,
and nothing more."""

import hashlib
from datetime import time

from sqlalchemy import select

from carevisits.extensions import db
from carevisits.models import (
    Frequency,
    MemberStatus,
    Roster,
    RosterMember,
    ServiceItem,
    VolunteerProfile,
    VolunteerStatus,
)
from carevisits.models.base import local_today, utcnow
from carevisits.services import menus
from carevisits.services.round_pack import token_key
from tests import factories
from tests.conftest import login
from tests.test_scan import statements_sent


def _on_menus(elders, names, actor):
    """Put the seeded catalogue's services of these names on every elder's menu."""
    items = db.session.scalars(select(ServiceItem).where(ServiceItem.name.in_(names))).all()
    for elder in elders:
        for item in items:
            menus.add_to_menu(elder, item=item, frequency=Frequency.WEEKLY, notes="",
                              starts_on=local_today(), ends_on=None, actor=actor)
    db.session.commit()


def _pack_statements(client) -> tuple[int, dict]:
    with statements_sent() as sent:
        response = client.get("/round/pack.json")
    return len(sent), response.json


def test_the_pack_holds_only_what_the_door_form_needs(client, world):
    elder = world.h1.elders[0]
    elder.tags, elder.health_notes, elder.phone = ["行动不便"], "高血压", "13800000000"
    db.session.commit()
    login(client, world.worker)
    response = client.get("/round/pack.json")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    pack = response.json
    assert pack["user"] == world.worker.id
    [household] = pack["households"]  # grid 一 holds h1 only
    assert set(household) == {"key", "number", "address", "grid", "readings", "roster",
                              "elders"}
    # The card's address is not in the pack: only its hash, which the phone compares with
    # the hash of the address it opened.
    assert household["key"] == hashlib.sha256(world.h1.code.token.encode()).hexdigest()
    assert household["readings"] and household["roster"] is None
    first = household["elders"][0]
    assert set(first) == {"id", "name", "gender", "birth_year", "care_level", "tags",
                          "last_visit", "services", "followups"}  # the open ones (issue 26)
    assert first["tags"] == ["行动不便"] and first["last_visit"] is None
    body = response.get_data(as_text=True)
    assert "13800000000" not in body and "高血压" not in body
    assert world.h1.code.token not in body


def test_closed_households_and_replaced_cards_are_left_out(client, world):
    world.h1.closed_at = utcnow()
    db.session.commit()
    login(client, world.coordinator)
    keys = {h["key"] for h in client.get("/round/pack.json").json["households"]}
    assert keys == {token_key(world.h2.code.token), token_key(world.h3.code.token)}


def test_the_round_and_the_volunteer_page_keep_the_pack_and_others_do_not(client, world):
    db.session.add(VolunteerProfile(user=world.volunteer, community=world.h1.grid.community,
                                    status=VolunteerStatus.APPROVED))
    db.session.commit()
    login(client, world.worker)
    assert 'data-pack="/round/pack.json"' in client.get("/round/").get_data(as_text=True)
    assert "data-pack" not in client.get("/elders/").get_data(as_text=True)
    client.post("/logout")
    login(client, world.volunteer)
    assert 'data-pack="/round/pack.json"' in client.get("/volunteer/").get_data(as_text=True)


def test_a_bigger_grid_costs_no_more_statements(client, world):
    """The pack of a bigger grid is built with as many statements as that of one household."""
    menus.seed_catalogue()
    _on_menus(world.h1.elders, ["助餐", "量血压"], world.admin)
    login(client, world.worker)
    client.get("/round/pack.json")  # whatever a first request after signing in does once
    small, pack = _pack_statements(client)
    assert len(pack["households"]) == 1
    db.session.rollback()  # this session's reads began before the sign-in wrote
    more = [factories.household(world.h1.grid, elders=2) for _ in range(12)]
    _on_menus([e for h in more for e in h.elders], ["助餐", "助洁", "量血压"], world.admin)
    big, pack = _pack_statements(client)
    assert len(pack["households"]) == 13 and big == small
    services = {s["name"] for h in pack["households"] for e in h["elders"] for s in e["services"]}
    assert services == {"助餐", "助洁", "量血压"}


def test_a_volunteer_without_readings_gets_no_reading_services(client, world):
    """The offline form offers what the online one does: no 量血压 on a roster without
    readings, and the rest of the menu as it is."""
    menus.seed_catalogue()
    _on_menus(world.h1.elders, ["助餐", "量血压"], world.admin)
    db.session.add_all([
        VolunteerProfile(user=world.volunteer, community=world.h1.grid.community,
                         status=VolunteerStatus.APPROVED),
        Roster(name="周六探访队", community=world.h1.grid.community, weekday=5,
               start_time=time(9, 30), households=[world.h1], allow_observations=False,
               members=[RosterMember(user=world.volunteer, status=MemberStatus.APPROVED)])])
    db.session.commit()
    login(client, world.volunteer)
    [household] = client.get("/round/pack.json").json["households"]
    assert household["key"] == token_key(world.h1.code.token)
    assert not household["readings"] and household["roster"] == {"name": "周六探访队",
                                                                  "minutes": 30}
    assert {s["name"] for e in household["elders"] for s in e["services"]} == {"助餐"}
