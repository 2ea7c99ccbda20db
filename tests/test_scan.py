"""The door: what a scan shows to whom, check-ins recorded once, bad input refused."""

from contextlib import contextmanager
from datetime import time, timedelta

import pytest
from sqlalchemy import event

from carevisits.extensions import db
from carevisits.models import (
    AuditEvent,
    Elder,
    MemberStatus,
    Roster,
    RosterMember,
    Visit,
    VisitMethod,
    VisitRecord,
    VolunteerProfile,
    VolunteerStatus,
)
from carevisits.models.base import utcnow
from carevisits.services.doorcodes import issue_code
from tests.conftest import count, latest, login
from tests.factories import old_card

MADE_UP = "Zq0cB3cI2m9mZq0cB3cI2m9mZq0cB3cI2m9mZq0cB3c"  # the old cards' format
MADE_UP_BASE32 = "QK7ZN2MBV3XWT4LDR6HFYJ5PGS2ACE7U"  # the compact cards' format (issue 18)


def outcomes(household, outcome="met_well"):
    return {f"e{e.id}-outcome": outcome for e in household.elders}


def check_in(client, household, key="key-0000000000000001", path=None, **fields):
    data = {"idempotency_key": key, **outcomes(household), **fields}
    return client.post(path or f"/c/{household.code.token}", data=data)


def revoked_token(household) -> str:
    db.session.rollback()  # a fresh transaction: the requests before it have written
    old = household.code.token
    household.code = issue_code(household)
    db.session.commit()
    return old


def every_form_of(household) -> list[str]:
    """Door paths of every kind for the household: its live card as the compact code has it,
    lower-cased and in between; its replaced cards (one of the old format, one new); made-up
    tokens of both formats and in both cases; a token longer than any."""
    db.session.rollback()
    old = old_card(household)  # a card printed before issue 18, since replaced twice
    db.session.commit()
    revoked_token(household)
    revoked = revoked_token(household)
    live = household.code.token
    return [f"/C/{live}", f"/c/{live}", f"/c/{live.lower()}", f"/C/{live.lower()}",
            f"/c/{revoked}", f"/C/{revoked.lower()}", f"/c/{old}", f"/C/{old}",
            f"/c/{MADE_UP}", f"/C/{MADE_UP_BASE32}", f"/c/{MADE_UP_BASE32.lower()}",
            "/c/" + "x" * 65]


# --- what a scan reveals ---------------------------------------------------------------

def test_anonymous_scans_are_byte_identical_and_reveal_nothing(client, world):
    paths = every_form_of(world.h2) + [f"/c/{world.h1.code.token}"]
    pages = [client.get(path) for path in paths]
    assert {p.status_code for p in pages} == {200}
    assert all(p.data == pages[0].data for p in pages), "a form of a token answers differently"
    assert {p.headers["Content-Length"] for p in pages} == {str(len(pages[0].data))}
    body = pages[0].get_data(as_text=True)
    assert "社区服务码" in body
    for h in (world.h1, world.h2):
        for elder in h.elders:
            assert elder.name not in body and elder.phone not in body
        assert h.address not in body and h.number not in body
    assert "独居" not in body and "老人" not in body


def test_out_of_scope_staff_get_identical_pages(client, world):
    login(client, world.other_worker)  # grid 二: h1 is not theirs
    pages = [client.get(path) for path in every_form_of(world.h1)]
    assert all(p.data == pages[0].data for p in pages)
    assert world.h1.elders[0].name not in pages[0].get_data(as_text=True)


# Each role and a household whose card it may not use.
OUT_OF_SCOPE = {"anonymous": "h1", "coordinator": "h4", "community_coordinator": "h3",
                "worker": "h2", "other_worker": "h1", "volunteer": "h4", "family": "h1"}


@contextmanager
def statements_sent():
    """The SQL statements sent to the database meanwhile, as written (values bound apart)."""
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


@pytest.mark.parametrize("role", sorted(OUT_OF_SCOPE))
def test_a_card_out_of_scope_costs_the_same_work_as_a_made_up_one(client, world, role):
    """Response time cannot tell whether a card exists: someone else's card (live or
    replaced) and a made-up token send the same statements and get the same bytes."""
    if role == "volunteer":  # on a roster of h1 only
        db.session.add_all([
            VolunteerProfile(user=world.volunteer, community=world.h1.grid.community,
                             status=VolunteerStatus.APPROVED),
            Roster(name="周六探访队", community=world.h1.grid.community, weekday=5,
                   start_time=time(9, 30), households=[world.h1],
                   members=[RosterMember(user=world.volunteer,
                                         status=MemberStatus.APPROVED)])])
        db.session.commit()
    household = getattr(world, OUT_OF_SCOPE[role])
    paths = every_form_of(household)
    if role != "anonymous":
        login(client, getattr(world, role))
    client.get(f"/c/{MADE_UP}")  # whatever a first request after signing in does once
    seen = []
    for path in paths:
        with statements_sent() as sent:
            response = client.get(path)
        seen.append((response.status_code, response.data, sent))
    assert all(s == seen[0] for s in seen), "a card out of scope answers differently"
    status, body, sent = seen[0]
    assert status == 200 and household.elders[0].name.encode() not in body
    if role != "anonymous" and role != "family":  # they may visit: the door looked it up
        assert any("door_code" in statement for statement in sent)


@pytest.mark.parametrize("who", ["anonymous", "worker"])
def test_a_scan_records_nothing(client, world, who):
    if who == "worker":
        login(client, world.worker)
    before = count(AuditEvent)
    client.get(f"/c/{world.h1.code.token}")
    assert count(Visit) == 0 and count(AuditEvent) == before


def test_worker_in_scope_sees_the_form_with_every_elder(client, world):
    login(client, world.worker)
    body = client.get(f"/c/{world.h1.code.token}").get_data(as_text=True)
    for elder in world.h1.elders:
        assert elder.name in body
    assert 'name="idempotency_key"' in body


def test_replaced_card_tells_the_worker_and_records_nothing(client, world):
    login(client, world.worker)
    old = revoked_token(world.h1)
    page = client.get(f"/c/{old}").get_data(as_text=True)
    assert "已更换" in page or "replaced" in page
    check_in(client, world.h1, path=f"/c/{old}")
    assert count(Visit) == 0


# --- recording a visit ----------------------------------------------------------------

def test_check_in_records_one_visit_with_a_record_per_elder(client, world):
    login(client, world.worker)
    response = check_in(client, world.h1, **{f"e{world.h1.elders[0].id}-systolic": "135",
                                             f"e{world.h1.elders[0].id}-diastolic": "85"})
    assert response.status_code == 302 and "/visits/" in response.location
    assert count(Visit) == 1 and count(VisitRecord) == 2
    visit = latest(Visit)
    assert visit.method == VisitMethod.SCANNED and visit.door_code_id == world.h1.code.id
    assert visit.visitor_id == world.worker.id
    page = client.get(response.location).get_data(as_text=True)
    assert "135/85" in page and "/round/" in page
    history = client.get(f"/elders/{world.h1.elders[0].id}").get_data(as_text=True)
    assert "135/85" in history


def test_same_idempotency_key_twice_records_one_visit(client, world):
    login(client, world.worker)
    first = check_in(client, world.h1, key="same-key-123456789")
    second = check_in(client, world.h1, key="same-key-123456789")
    assert first.location == second.location
    assert count(Visit) == 1


def test_a_met_outcome_moves_last_contact_and_no_answer_does_not(client, world):
    login(client, world.worker)
    data = {"idempotency_key": "k-mixed-0000000001",
            f"e{world.h1.elders[0].id}-outcome": "met_well",
            f"e{world.h1.elders[1].id}-outcome": "no_answer"}
    assert client.post(f"/c/{world.h1.code.token}", data=data).status_code == 302
    db.session.rollback()
    met, missed = (db.session.get(Elder, e.id) for e in world.h1.elders)
    assert met.last_contact_at is not None and missed.last_contact_at is None


def test_queued_visit_counts_from_the_phone_time(client, world):
    login(client, world.worker)
    two_hours_ago = utcnow() - timedelta(hours=2)
    check_in(client, world.h1, client_time=two_hours_ago.isoformat())
    visit = latest(Visit)
    assert abs(visit.occurred_at - two_hours_ago) < timedelta(seconds=1)
    assert visit.server_time - visit.occurred_at > timedelta(hours=1)


def test_a_phone_clock_in_the_future_is_not_believed(client, world):
    login(client, world.worker)
    check_in(client, world.h1, client_time="2099-01-01T00:00:00+00:00")
    visit = latest(Visit)
    assert visit.occurred_at == visit.server_time


# --- bad input: a clear Chinese message, nothing stored --------------------------------

def _first(world, field):
    return f"e{world.h1.elders[0].id}-{field}"


BAD_INPUT = {
    "blood pressure 900": ({"systolic": "900", "diastolic": "80"}, "高压"),
    "blood pressure 0": ({"systolic": "0", "diastolic": "0"}, "之间"),
    "text in a number": ({"pulse": "abc"}, "整数"),
    "only one blood pressure number": ({"systolic": "130"}, "同时填写"),
    "upper below lower": ({"systolic": "80", "diastolic": "120"}, "高于"),
    "10,000-character note": ({"notes": "很" * 10_000}, "1000"),
    "unknown outcome": ({"outcome": "asleep"}, "有效"),
    "missing outcome": ({"outcome": ""}, "请选择"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_is_refused_in_chinese_and_stores_nothing(client, world, case):
    fields, expected = BAD_INPUT[case]
    login(client, world.worker)
    data = {"idempotency_key": "bad-input-00000001", **outcomes(world.h1)}
    data.update({_first(world, k): v for k, v in fields.items()})
    response = client.post(f"/c/{world.h1.code.token}", data=data)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "未保存" in body and expected in body
    assert count(Visit) == 0 and count(VisitRecord) == 0
    if case != "10,000-character note":  # what was typed is kept for correcting
        for k, v in fields.items():
            if k != "outcome" and v:
                assert v in body


def test_a_household_of_another_grid_cannot_be_checked_in(client, world):
    login(client, world.worker)
    scanned = check_in(client, world.h2)
    assert world.h2.elders[0].name not in scanned.get_data(as_text=True)
    typed = check_in(client, world.h2, path=f"/visit/{world.h2.number}", reason="卡丢了")
    assert typed.status_code == 404
    assert count(Visit) == 0


def test_a_key_reused_for_another_household_is_refused(client, world):
    login(client, world.coordinator)
    check_in(client, world.h1, key="reused-key-0000001")
    response = check_in(client, world.h2, key="reused-key-0000001")
    assert response.status_code == 422 and "刷新" in response.get_data(as_text=True)
    assert count(Visit) == 1


# --- without a scan ----------------------------------------------------------------------

def test_manual_visit_needs_a_reason_and_is_marked(client, world):
    login(client, world.worker)
    path = f"/visit/{world.h1.number}"
    assert world.h1.elders[0].name in client.get(path).get_data(as_text=True)
    missing = check_in(client, world.h1, path=path)
    assert missing.status_code == 422 and "原因" in missing.get_data(as_text=True)
    assert count(Visit) == 0
    assert check_in(client, world.h1, path=path, reason="门牌码被撕掉").status_code == 302
    visit = latest(Visit)
    assert visit.method == VisitMethod.MANUAL and visit.manual_reason == "门牌码被撕掉"
    assert visit.door_code_id is None


def test_typed_household_number_with_spaces_opens_the_form(client, world):
    login(client, world.worker)
    n = world.h1.number
    response = client.get(f"/visit?number={n[:4]}+{n[4:]}")
    assert response.status_code == 302 and response.location.endswith(f"/visit/{n}")


def test_elder_page_offers_a_visit_without_a_scan(client, world):
    login(client, world.worker)
    page = client.get(f"/elders/{world.h1.elders[0].id}").get_data(as_text=True)
    assert f"/visit/{world.h1.number}" in page
