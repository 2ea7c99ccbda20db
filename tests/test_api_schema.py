"""The API against its own OpenAPI document: the document lists exactly the routes served, and
schemathesis sends generated requests (valid and invalid) to every operation with a key of
every permission, over a world where the happy paths are reachable: no server error, and no
answer that breaks the document. On every backend (the ``database_url`` fixture)."""

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from carevisits.api.openapi import document
from tests.api_world import bearer, build_api_world

PREFIX = "/api/v1"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def test_the_document_lists_exactly_the_routes_served(app):
    served = {(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method.lower())
              for rule in app.url_map.iter_rules() if rule.rule.startswith(PREFIX)
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    described = {(path, method) for path, operations in document(PREFIX)["paths"].items()
                 for method in operations}
    assert served == described
    assert len(served) == 11


def test_the_document_is_served_as_openapi_3_1(client):
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200 and answer.json["openapi"] == "3.1.0"
    assert answer.json == document(PREFIX)


@pytest.fixture
def api_client(app, world, monkeypatch):
    """A WSGI entry to the app (each request in its own app context, as in production) and a
    key of every permission for street one, over the world's records and devices."""
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "100000 per minute")
    api = build_api_world(world)

    def isolated(environ, start_response):
        with app.app_context():
            return list(app(environ, start_response))

    reachable = {"device_id": api.meters["h1"], "household_number": api.h1.number,
                 "elder_id": api.h1.elders[0].id}
    return isolated, bearer(api.keys["one"]), reachable


def aim(case, reachable: dict) -> None:
    """Point half the generated bodies at a registered device or household of the key's area,
    so that the writes' happy paths (201, then 200 for a repeat) are reached too."""
    body = case.body
    if isinstance(body, dict) and len(str(body.get("event_id", body.get("external_ref")))) % 2:
        for name, value in reachable.items():
            if name in body and isinstance(body[name], type(value)):
                body[name] = value


# Loaded from the document as the code writes it; the test below also checks that the app
# serves this same document.
schema = schemathesis.openapi.from_dict(document(PREFIX))


@schema.parametrize()
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_every_operation_keeps_to_the_document(case, api_client):
    wsgi, headers, reachable = api_client
    aim(case, reachable)
    case.call_and_validate(app=wsgi, headers=headers, checks=CHECKS)

