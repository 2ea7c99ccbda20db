"""Issue 12 §1: each bad input the probe found answers with a message in the user's language
(or a plain "not found") and stores nothing — never a server error."""

import io
import re

import pytest
from openpyxl import load_workbook

from carevisits.extensions import db
from carevisits.models import (
    AlertKind,
    AlertLevel,
    FamilyLink,
    RequestClass,
    RequestSource,
    ServiceRequest,
    Visit,
)
from carevisits.services import alerts, requests
from tests import factories
from tests.conftest import count, latest, login

BEYOND_BIGINT = str(2**63)  # SQLite's INTEGER and PostgreSQL's BIGINT end at 2**63 - 1
BEYOND_INTEGER = str(2**31)  # the ids are PostgreSQL INTEGER columns
ABSURD_PAGE = "99999999999999999999"


def check_in(client, household, **fields):
    """Send the door form for every elder of ``household`` (met, all well) plus ``fields``."""
    data = {"idempotency_key": "bad-input-key-0001",
            **{f"e{e.id}-outcome": "met_well" for e in household.elders}, **fields}
    return client.post(f"/c/{household.code.token}", data=data)


@pytest.mark.parametrize("lower", ["abc", "80.5", "8 0", "-", "9" * 400])
def test_a_diastolic_that_is_not_a_whole_number_is_refused_at_its_box(client, world, lower):
    login(client, world.worker)
    elder = world.h1.elders[0]
    response = check_in(client, world.h1, **{f"e{elder.id}-systolic": "130",
                                             f"e{elder.id}-diastolic": lower})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "请输入整数" in body or "数字太长" in body
    assert count(Visit) == 0


@pytest.mark.parametrize("field", ["systolic", "pulse"])
def test_a_reading_of_hundreds_of_digits_is_refused_before_any_arithmetic(client, world, field):
    login(client, world.worker)
    elder = world.h1.elders[0]
    response = check_in(client, world.h1, **{f"e{elder.id}-{field}": "9" * 4000})
    assert response.status_code == 422
    assert "数字太长" in response.get_data(as_text=True)
    assert count(Visit) == 0


@pytest.mark.parametrize("mood", ["   ", "\u3000", "ecstatic"])
def test_a_mood_that_is_not_one_of_the_buttons_is_refused(client, world, mood):
    login(client, world.worker)
    elder = world.h1.elders[0]
    response = check_in(client, world.h1, **{f"e{elder.id}-mood": mood})
    assert response.status_code == 422
    assert "请从列表中选择精神状态。" in response.get_data(as_text=True)
    assert count(Visit) == 0


@pytest.mark.parametrize("client_time", ["0001-01-01T00:00:00", "9999-12-31T23:59:59+14:00",
                                         "0001-01-01T00:00:00-12:00", "2026-02-30T10:00"])
def test_an_impossible_phone_clock_is_ignored_and_the_visit_counts_from_the_server(
        client, world, client_time):
    login(client, world.worker)
    response = check_in(client, world.h1, client_time=client_time)
    assert response.status_code == 302
    visit = latest(Visit)
    assert visit.client_time is None and visit.occurred_at == visit.server_time


@pytest.mark.parametrize("number", [BEYOND_INTEGER, BEYOND_BIGINT, "9" * 5000])
@pytest.mark.parametrize("path", ["/elders/{}", "/family/elders/{}", "/register/elders/{}/edit",
                                  "/alerts/{}", "/requests/{}", "/visits/{}",
                                  "/admin/users/{}", "/printing/grids/{}"])
def test_an_id_beyond_the_database_range_is_not_found(client, world, path, number):
    for user in (world.admin, world.family):
        login(client, user)
        response = client.get(path.format(number))
        assert response.status_code in (403, 404)
        if response.status_code == 404:
            assert "未找到，或不在您负责的区域内。" in response.get_data(as_text=True)


def _many_requests(world, n):
    for i in range(n):
        requests.raise_request(world.h1.elders[i % 2], kind="其他", description=f"诉求{i:02d}",
                               request_class=RequestClass.SMALL, source=RequestSource.PHONE,
                               actor=world.admin)
    db.session.commit()


def _many_alerts(world, n):
    kinds = list(AlertKind)
    households = [factories.household(world.grids[0]) for _ in range(-(-n // len(kinds)))]
    raised = 0
    for h in households:
        for kind in kinds:
            if raised < n:
                alerts.raise_alert(h.elders[0], kind, AlertLevel.WARNING, {})
                raised += 1
    db.session.commit()


def _linked_family(world):
    db.session.add(FamilyLink(user=world.family, elder=world.h1.elders[0], relation="女儿"))
    db.session.commit()


@pytest.mark.parametrize("who, path", [
    ("admin", "/elders/"), ("admin", "/alerts/"), ("admin", "/requests/"),
    ("admin", "/admin/users"), ("admin", "/elders/{elder}"), ("family", "/family/elders/{elder}"),
    ("admin", "/printing/"), ("admin", "/requests/?all=1&mine=1")])
@pytest.mark.parametrize("page", [ABSURD_PAGE, "9" * 5000, "-3", "0", "abc", ""])
def test_an_absurd_page_number_shows_a_page_of_the_list(client, world, who, path, page):
    _linked_family(world)
    login(client, getattr(world, who))
    url = path.format(elder=world.h1.elders[0].id)
    response = client.get(url + ("&" if "?" in url else "?") + f"page={page}")
    assert response.status_code == 200


def test_requests_past_the_first_fifty_are_reached_by_the_pages_own_links(client, world):
    _many_requests(world, 52)
    login(client, world.admin)
    first = client.get("/requests/?all=1&page=1")
    assert first.status_code == 200
    body = first.get_data(as_text=True)
    assert "第1页，共2页" in body
    next_link = re.search(r'href="(/requests/\?[^"]*page=2[^"]*)"', body).group(1)
    second = client.get(next_link.replace("&amp;", "&"))
    assert second.status_code == 200
    listed = re.findall(r"诉求\d\d", second.get_data(as_text=True))
    assert len(listed) == 2
    # Past the last page: the last page again, not an empty list.
    assert re.findall(r"诉求\d\d", client.get("/requests/?all=1&page=7").get_data(
        as_text=True)) == listed


def test_alerts_past_the_first_fifty_are_reached_by_the_pages_own_links(client, world):
    _many_alerts(world, 92)
    login(client, world.admin)
    first = client.get("/alerts/")
    next_link = re.search(r'href="(/alerts/\?[^"]*page=2[^"]*)"', first.get_data(as_text=True))
    second = client.get(next_link.group(1).replace("&amp;", "&"))
    assert second.status_code == 200
    assert "第2页，共2页" in second.get_data(as_text=True)
    with_filter = client.get("/alerts/?status=open&page=2")
    assert with_filter.status_code == 200 and "第2页，共2页" in with_filter.get_data(as_text=True)


def test_a_control_character_in_a_family_message_is_not_stored_and_exports_still_open(
        client, world):
    _linked_family(world)
    login(client, world.family)
    elder = world.h1.elders[0]
    response = client.post(f"/family/elders/{elder.id}/messages",
                           data={"text": "please call\x01\x00 me\x1b"})
    assert response.status_code == 302
    assert latest(ServiceRequest).description == "please call me"
    login(client, world.coordinator)
    for fmt in ("xlsx", "csv"):
        export = client.get(f"/coordinator/exports/requests.{fmt}")
        assert export.status_code == 200


def test_a_control_character_already_stored_does_not_break_an_export(client, world):
    """Rows written before the cleaning (or by hand) still export: the cell is cleaned."""
    request = requests.raise_request(world.h1.elders[0], kind="其他", description="请来\x01一趟",
                                     request_class=RequestClass.SMALL,
                                     source=RequestSource.PHONE, actor=world.admin)
    request.resolution = "已办\x1f结"
    db.session.commit()
    login(client, world.coordinator)
    export = client.get("/coordinator/exports/requests.xlsx")
    assert export.status_code == 200
    cells = [c for row in load_workbook(io.BytesIO(export.data)).active.iter_rows(values_only=True)
             for c in row]
    assert "请来一趟" in cells and "已办结" in cells


@pytest.mark.parametrize("segment", ["%00", "a%01b", "%1b%5b31m"])
def test_a_path_segment_with_a_control_character_is_not_found(client, world, segment):
    """PostgreSQL refuses a NUL in any text compared: such a token never reaches a query."""
    login(client, world.worker)
    for path in (f"/c/{segment}", f"/visit/{segment}", f"/register/import/errors/{segment}"):
        assert client.get(path).status_code == 404


@pytest.mark.parametrize("typed", ["\x00", "王\x00芳", "\u200b", "\x07101"])
def test_a_search_with_control_characters_is_searched_without_them(client, world, typed):
    """A NUL in the elder list's search box reached PostgreSQL, which refuses it: a 500
    (found by test_generated_input). The search keeps text as a form does."""
    login(client, world.coordinator)
    page = client.get("/elders/", query_string={"q": typed})
    assert page.status_code == 200
    export = client.get("/register/export.xlsx", query_string={"q": typed})
    assert export.status_code == 200 and export.data[:2] == b"PK"
