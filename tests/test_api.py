"""The integration API as an integration uses it: keys and their areas, permissions,
revocation, the audit trail, pages and the API kept apart, problem details in both languages,
paging, rate limits, and the writes (signals and work orders: these need
services/signals.py and services/workorders.py)."""

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from carevisits.extensions import db
from carevisits.models import ApiKey, ApiPermission, AuditEvent, Elder, Household
from carevisits.models.base import utcnow
from carevisits.services import apikeys, signatures
from tests.api_world import bearer, build_api_world
from tests.conftest import count, login

LISTS = {"elders": ApiPermission.READ_REGISTER, "visits": ApiPermission.READ_VISITS,
         "alerts": ApiPermission.READ_ALERTS, "requests": ApiPermission.READ_REQUESTS}


@pytest.fixture
def w(world):
    return build_api_world(world)


def households_seen(client, raw, name) -> set[int]:
    """The households a key sees in one list (every page)."""
    answer = client.get(f"/api/v1/{name}?limit=500", headers=bearer(raw))
    assert answer.status_code == 200, answer.json
    seen = set()
    for item in answer.json["items"]:
        if "household_id" in item:
            seen.add(item["household_id"])
        else:
            seen.add(db.session.get(Elder, item["elder_id"]).household_id)
    return seen


@pytest.mark.parametrize("name", sorted(LISTS))
def test_a_key_sees_its_own_area_only(client, w, name):
    street_one = {w.h1.id, w.h2.id, w.h3.id}
    assert households_seen(client, w.keys["one"], name) == street_one
    assert households_seen(client, w.keys["two"], name) == {w.h4.id}
    assert households_seen(client, w.keys["community"], name) == {w.h1.id, w.h2.id}


def test_another_areas_record_is_not_found_like_a_missing_one(client, w):
    theirs = w.h4.elders[0].id
    assert client.get(f"/api/v1/elders/{theirs}", headers=bearer(w.keys["two"])).status_code == 200
    refused = client.get(f"/api/v1/elders/{theirs}", headers=bearer(w.keys["one"]))
    missing = client.get("/api/v1/elders/999999", headers=bearer(w.keys["one"]))
    assert refused.status_code == missing.status_code == 404
    assert refused.json == missing.json
    assert refused.content_type == "application/problem+json"
    for name in ("visits", "alerts", "requests"):
        record = client.get(f"/api/v1/{name}", headers=bearer(w.keys["two"])).json["items"][0]
        assert client.get(f"/api/v1/{name}/{record['id']}",
                          headers=bearer(w.keys["one"])).status_code == 404


def test_an_elder_answer_holds_no_phone_contacts_notes_or_codes(client, w):
    items = client.get("/api/v1/elders", headers=bearer(w.keys["one"])).json["items"]
    body = json.dumps(items, ensure_ascii=False)
    elder = w.h1.elders[0]
    assert elder.name in body and w.h1.number in body
    for secret in (elder.phone, "王强", elder.health_notes, w.h1.code.token):
        assert secret not in body


@pytest.mark.parametrize("name", sorted(LISTS))
def test_each_read_needs_its_permission(client, world, name):
    others = [p for p in ApiPermission if p != LISTS[name]]
    without = apikeys.create(world.admin, name="without", street=world.streets[0],
                             permissions=others).raw
    only = apikeys.create(world.admin, name="only", street=world.streets[0],
                          permissions=[LISTS[name]]).raw
    db.session.commit()
    refused = client.get(f"/api/v1/{name}", headers=bearer(without))
    assert refused.status_code == 403 and refused.content_type == "application/problem+json"
    assert client.get(f"/api/v1/{name}", headers=bearer(only)).status_code == 200


@pytest.mark.parametrize(("path", "permission"), [
    ("/api/v1/signals", ApiPermission.WRITE_SIGNALS),
    ("/api/v1/work-orders", ApiPermission.WRITE_WORK_ORDERS)])
def test_each_write_needs_its_permission(client, world, path, permission):
    readonly = apikeys.create(world.admin, name="reader", street=world.streets[0],
                              permissions=[p for p in ApiPermission if p != permission]).raw
    db.session.commit()
    assert client.post(path, json={}, headers=bearer(readonly)).status_code == 403


def test_no_key_an_unknown_key_or_another_scheme_is_401(client, w):
    for headers in ({}, bearer("cvk_" + "x" * 43), bearer(""),
                    {"Authorization": f"Basic {w.keys['one']}"}):
        answer = client.get("/api/v1/elders", headers=headers)
        assert answer.status_code == 401 and answer.content_type == "application/problem+json"
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_revocation_holds_from_the_next_request(client, w):
    raw = w.keys["one"]
    assert client.get("/api/v1/elders", headers=bearer(raw)).status_code == 200
    apikeys.revoke(w.admin, apikeys.by_name("street one"))
    db.session.commit()
    assert client.get("/api/v1/elders", headers=bearer(raw)).status_code == 401
    assert client.get("/api/v1/elders", headers=bearer(w.keys["two"])).status_code == 200


def test_a_key_is_kept_hashed_and_nowhere_in_plain(client, w):
    raw = w.keys["one"]
    client.get("/api/v1/elders", headers=bearer(raw))
    key = apikeys.by_name("street one")
    assert key.secret_hash == apikeys.hash_key(raw) and key.prefix == raw[:12]
    db.session.rollback()
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)):
            assert raw not in repr(tuple(row)), table.name
            assert raw[12:] not in repr(tuple(row)), table.name


def test_every_request_of_a_key_is_audited_with_its_operation_and_status(client, w, clock):
    key = apikeys.by_name("street one")
    before = count(AuditEvent, AuditEvent.action == "api.request")
    client.get("/api/v1/elders", headers=bearer(w.keys["one"]))
    client.get("/api/v1/elders/999999", headers=bearer(w.keys["one"]))
    client.get("/api/v1/elders?limit=0", headers=bearer(w.keys["one"]))
    db.session.rollback()  # read what the requests committed
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "api.request")
                                .order_by(AuditEvent.id)).all()[before:]
    assert [(e.subject_id, e.details["operation"], e.details["status"]) for e in events] == [
        (key.id, "list_elders", 200), (key.id, "get_elder", 404), (key.id, "list_elders", 422)]
    assert db.session.get(ApiKey, key.id).last_used_at >= clock() - timedelta(minutes=1)


def test_creating_and_revoking_a_key_is_audited(w):
    key = apikeys.by_name("street one")
    apikeys.revoke(w.admin, key)
    db.session.commit()
    actions = db.session.execute(select(AuditEvent.action, AuditEvent.actor_id).where(
        AuditEvent.subject_type == "api_key", AuditEvent.subject_id == key.id,
        AuditEvent.action != "api.request")).all()
    assert sorted(actions) == [("apikey.create", w.admin.id), ("apikey.revoke", w.admin.id)]


def test_a_key_opens_no_page(client, w):
    for page in ("/elders/", "/admin/api-keys", "/round/", f"/elders/{w.h1.elders[0].id}"):
        answer = client.get(page, headers=bearer(w.keys["one"]))
        assert answer.status_code == 302 and "/login" in answer.location, page


def test_a_signed_in_browser_cannot_call_the_api_and_gets_no_cookie(client, w):
    assert login(client, w.admin).status_code == 302
    assert client.get("/admin/api-keys").status_code == 200  # the session is live for pages
    for path in ("/api/v1/elders", "/api/v1/openapi.json", "/api/v1/nothing"):
        answer = client.get(path)
        assert "Set-Cookie" not in answer.headers and "Cookie" not in answer.headers.get(
            "Vary", ""), path
    refused = client.get("/api/v1/elders")
    assert refused.status_code == 401 and refused.content_type == "application/problem+json"
    assert client.post("/api/v1/signals", json={}).status_code == 401


def test_a_key_over_its_rate_limit_gets_a_429_problem(app, client, w, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "3 per minute")
    statuses = [client.get("/api/v1/alerts", headers=bearer(w.keys["one"])).status_code
                for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = client.get("/api/v1/alerts", headers=bearer(w.keys["one"], **{
        "Accept-Language": "en"}))
    assert refused.content_type == "application/problem+json"
    assert refused.json["status"] == 429 and refused.json["title"] == "Too many requests"
    # Another key counts on its own.
    assert client.get("/api/v1/alerts", headers=bearer(w.keys["two"])).status_code == 200


def test_problems_speak_chinese_by_default_and_english_when_asked(client, w):
    chinese = client.get("/api/v1/elders")
    english = client.get("/api/v1/elders", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert chinese.json["title"] == "未通过身份验证" and chinese.headers["Content-Language"] == (
        "zh-CN")
    assert english.json["title"] == "Not authenticated"
    assert english.headers["Content-Language"] == "en"
    for answer in (chinese, english):
        assert set(answer.json) == {"type", "title", "status", "detail"}
        assert answer.json["status"] == 401


def test_every_field_error_comes_at_once_in_the_asked_language(client, w):
    url = "/api/v1/elders?limit=0&cursor=nonsense&updated_since=yesterday"
    english = client.get(url, headers=bearer(w.keys["one"], **{"Accept-Language": "en"}))
    chinese = client.get(url, headers=bearer(w.keys["one"], **{"Accept-Language": "zh-CN"}))
    for answer in (english, chinese):
        assert answer.status_code == 422 and answer.content_type == "application/problem+json"
        assert [e["field"] for e in answer.json["errors"]] == ["limit", "cursor",
                                                               "updated_since"]
    assert english.json["errors"][1]["message"].startswith("Not a cursor of this list")
    assert chinese.json["errors"][1]["message"] != english.json["errors"][1]["message"]
    assert chinese.json["title"] == "请求无效"


def test_unknown_routes_and_wrong_methods_answer_problems(client, w):
    missing = client.get("/api/v1/nothing/here", headers=bearer(w.keys["one"]))
    assert missing.status_code == 404 and missing.content_type == "application/problem+json"
    wrong = client.delete("/api/v1/elders", headers=bearer(w.keys["one"]))
    assert wrong.status_code == 405 and wrong.content_type == "application/problem+json"
    assert "GET" in wrong.headers["Allow"]


def test_a_body_that_is_not_json_is_a_422_problem(client, w):
    answer = client.post("/api/v1/signals", data=b"\xff\x00not json",
                         headers=bearer(w.keys["one"], **{"Content-Type": "application/json"}))
    assert answer.status_code == 422 and answer.json["errors"][0]["field"] == "body"


def test_a_body_over_the_limit_is_refused_unread(client, w):
    answer = client.post("/api/v1/work-orders", data=b"{" + b" " * 70_000 + b"}",
                         headers=bearer(w.keys["one"], **{"Content-Type": "application/json",
                                                          "Accept-Language": "en"}))
    assert answer.status_code == 413 and answer.content_type == "application/problem+json"
    assert answer.json["title"] == "Request too large"


def test_the_cursor_walks_every_record_once(client, w):
    for n in range(7):  # more elders in street one, a page of 2 at a time
        db.session.add(Elder(household_id=w.h2.id, name=f"加{n}", birth_year=1945))
    db.session.commit()
    expected = set(db.session.scalars(select(Elder.id).join(Household).where(
        Household.id.in_([w.h1.id, w.h2.id, w.h3.id]))))
    seen, cursor, pages = [], None, 0
    while True:
        url = "/api/v1/elders?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=bearer(w.keys["one"])).json
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(expected) and len(seen) == len(set(seen))
    assert pages == (len(expected) + 1) // 2


def test_updated_since_returns_what_changed_at_or_after(client, w, clock):
    clock.advance(hours=3)
    since = clock()
    elder = db.session.get(Elder, w.h3.elders[0].id)
    elder.care_level = "key"
    db.session.commit()
    url = "/api/v1/elders?updated_since=" + since.isoformat().replace("+", "%2B")
    changed = client.get(url, headers=bearer(w.keys["one"])).json["items"]
    assert [item["id"] for item in changed] == [elder.id]
    assert changed[0]["care_level"] == "key"


# --- Writes: these need services/signals.py and services/workorders.py (signals branch). ---

def signal(w, **overrides) -> dict:
    return {"event_id": "evt-1", "device_id": w.meters["h1"], "kind": "sos",
            "occurred_at": utcnow().isoformat(), **overrides}


def test_a_signal_is_one_event_however_often_it_is_sent(client, w):
    first = client.post("/api/v1/signals", json=signal(w), headers=bearer(w.keys["one"]))
    again = client.post("/api/v1/signals", json=signal(w), headers=bearer(w.keys["one"]))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json == again.json and first.json["device_id"] == w.meters["h1"]


def test_a_key_cannot_signal_another_streets_device(client, w):
    theirs = client.post("/api/v1/signals", json=signal(w, device_id=w.meters["h4"]),
                         headers=bearer(w.keys["one"]))
    unknown = client.post("/api/v1/signals", json=signal(w, device_id="no-such-meter"),
                          headers=bearer(w.keys["one"]))
    assert theirs.status_code == unknown.status_code == 422
    assert theirs.json["errors"] == unknown.json["errors"]
    assert theirs.json["errors"][0]["field"] == "device_id"


def test_a_key_that_must_sign_is_refused_unsigned_bodies(client, world, w, clock):
    made = apikeys.create(world.admin, name="signed", street=world.streets[0],
                          permissions=[ApiPermission.WRITE_SIGNALS], signature_required=True)
    db.session.commit()
    body = json.dumps(signal(w, event_id="signed-1")).encode()
    headers = bearer(made.raw, **{"Content-Type": "application/json"})
    assert client.post("/api/v1/signals", data=body, headers=headers).status_code == 401
    stale = signatures.sign(made.key.signing_secret, body, clock() - timedelta(hours=1))
    assert client.post("/api/v1/signals", data=body, headers={
        **headers, signatures.HEADER: stale}).status_code == 401
    good = signatures.sign(made.key.signing_secret, body, clock())
    assert client.post("/api/v1/signals", data=body, headers={
        **headers, signatures.HEADER: good}).status_code == 201


def test_a_work_order_keeps_its_reference_and_deadline(client, w, clock):
    deadline = (clock() + timedelta(days=2)).replace(microsecond=0)
    order = {"external_ref": "12345-0001", "household_number": w.h1.number,
             "description": "水管漏水", "deadline": deadline.isoformat()}
    first = client.post("/api/v1/work-orders", json=order, headers=bearer(w.keys["one"]))
    again = client.post("/api/v1/work-orders", json=order, headers=bearer(w.keys["one"]))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json == again.json and first.json["external_ref"] == "12345-0001"
    listed = client.get("/api/v1/requests?limit=500", headers=bearer(w.keys["one"])).json
    mine = [r for r in listed["items"] if r["id"] == first.json["id"]]
    assert mine[0]["external_ref"] == "12345-0001"
    assert datetime.fromisoformat(mine[0]["deadline"]) == deadline
    assert datetime.fromisoformat(first.json["deadline"]) == deadline
    theirs = client.post("/api/v1/work-orders", json={**order, "external_ref": "12345-0002",
                                                      "household_number": w.h4.number},
                         headers=bearer(w.keys["one"]))
    assert theirs.status_code == 422
