"""The elder list as a working register: filters by area, care level and status, the grid and
its worker of today, pages that keep the filter, and nothing outside the user's scope."""

import re
from datetime import date, timedelta

import pytest

from carevisits.extensions import db
from carevisits.models import CareLevel, ClosedReason, Elder
from carevisits.models.base import local_today, utcnow
from carevisits.services import schedule
from tests import factories
from tests.conftest import login

ROW = re.compile(r'<a href="/elders/(\d+)">')


def listed(client, query="") -> set[int]:
    response = client.get(f"/elders/{query}")
    assert response.status_code == 200
    return {int(i) for i in ROW.findall(response.get_data(as_text=True))}


@pytest.fixture
def register(world):
    """Street one's elders in every state: seen yesterday, never seen, overdue, paused, closed."""
    seen, never, late, paused, closed = (factories.household(world.grids[0]).elders[0]
                                         for _ in range(5))
    for elder, days in ((seen, 1), (late, 20), (paused, 1), (closed, 1)):
        elder.last_contact_at = utcnow() - timedelta(days=days)
    paused.paused_until = local_today() + timedelta(days=5)
    closed.closed_reason, closed.closed_on = ClosedReason.DECEASED, date(2026, 11, 2)
    key = factories.household(world.grids[2], care_level=CareLevel.KEY).elders[0]
    schedule.refresh([seen, never, late, paused, closed, key])
    db.session.commit()
    return dict(seen=seen, never=never, late=late, paused=paused, closed=closed, key=key)


def test_status_filters(client, world, register):
    login(client, world.coordinator)
    r = {k: v.id for k, v in register.items()}
    active = listed(client)
    assert {r["seen"], r["never"], r["late"], r["paused"], r["key"]} <= active
    assert r["closed"] not in active
    assert listed(client, "?status=closed") == {r["closed"]}
    assert listed(client, "?status=paused") == {r["paused"]}
    overdue = listed(client, "?status=overdue")
    assert r["late"] in overdue
    assert not overdue & {r["seen"], r["paused"], r["closed"]}
    never = listed(client, "?status=never")
    assert r["never"] in never and r["late"] not in never and r["closed"] not in never
    every = listed(client, "?status=all")
    assert set(r.values()) <= every
    closed_page = client.get("/elders/?status=closed").get_data(as_text=True)
    assert "去世" in closed_page and "2026-11-02" in closed_page


def test_area_and_care_level_filters_and_columns(client, world, register):
    login(client, world.coordinator)
    grid_three = listed(client, f"?area=g:{world.grids[2].id}")
    assert register["key"].id in grid_three and register["seen"].id not in grid_three
    community = listed(client, f"?area=c:{world.communities[0].id}")
    assert register["seen"].id in community and register["key"].id not in community
    assert listed(client, "?care_level=key") & {register["key"].id}
    assert register["seen"].id not in listed(client, "?care_level=key")
    body = client.get(f"/elders/?area=g:{world.grids[0].id}").get_data(as_text=True)
    assert world.grids[0].label in body and world.worker.display_name in body
    # Values outside the lists are ignored: another street's area shows the whole scope.
    assert listed(client, f"?area=g:{world.grids[3].id}&status=nonsense&care_level=x") == \
        listed(client)


def test_a_worker_sees_only_their_grid_whatever_the_filter(client, world, register):
    login(client, world.worker)
    mine = listed(client, "?status=all")
    assert register["closed"].id in mine and register["key"].id not in mine
    assert listed(client, f"?area=g:{world.grids[2].id}&status=all") == mine


def test_pages_keep_the_filter(client, world, app):
    app.config["PAGE_SIZE"] = 3
    for _ in range(5):
        factories.household(world.grids[0], care_level=CareLevel.KEY)
    db.session.commit()
    login(client, world.coordinator)
    first = client.get("/elders/?care_level=key").get_data(as_text=True)
    assert "care_level=key" in first and "page=2" in first
    second = listed(client, "?care_level=key&page=2")
    assert second and all(db.session.get(Elder, i).care_level == CareLevel.KEY
                          for i in second)


def test_overdue_elders_come_longest_overdue_first(client, world):
    later, earlier = (factories.household(world.grids[1], room=room).elders[0]
                      for room in ("101", "999"))
    earlier.last_contact_at = utcnow() - timedelta(days=30)  # its address sorts last
    later.last_contact_at = utcnow() - timedelta(days=10)
    schedule.refresh([later, earlier])
    db.session.commit()
    login(client, world.coordinator)
    body = client.get("/elders/?status=overdue").get_data(as_text=True)
    assert body.index(f"/elders/{earlier.id}\"") < body.index(f"/elders/{later.id}\"")


def test_the_list_downloads_as_it_is_filtered(client, world, register):
    login(client, world.coordinator)
    response = client.get("/register/export.csv?status=closed")
    assert response.status_code == 200
    assert "filename*=UTF-8''%E5%8F%B0%E8%B4%A6.csv" in response.headers["Content-Disposition"]
    lines = response.get_data().decode("utf-8-sig").splitlines()
    assert len(lines) == 2 and register["closed"].name in lines[1] and "去世" in lines[1]
    level = client.get(f"/register/export.csv?care_level=key&area=g:{world.grids[2].id}")
    assert [register["key"].name in line for line in
            level.get_data().decode("utf-8-sig").splitlines()[1:]] == [True]
    assert client.get(f"/register/export.csv?area=g:{world.grids[3].id}").status_code == 404
