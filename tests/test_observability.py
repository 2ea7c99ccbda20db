"""`/healthz` for load balancers (up, database down, schema behind) and the request log: one
JSON line per request, nothing personal in it."""

import json
import logging

import flask_migrate
import pytest

from carevisits.extensions import db
from carevisits.observability import request_log
from tests.conftest import login, make_app

LOG_KEYS = {"time", "request_id", "method", "route", "endpoint", "status", "duration_ms",
            "user_id"}


def assert_no_session(response):
    """No cookie set and no ``Vary: Cookie``: the answer is the same for everyone."""
    assert "Set-Cookie" not in response.headers
    assert "cookie" not in response.headers.get("Vary", "").lower()


def test_healthz_is_up_for_anyone_without_a_session(client, world):
    anonymous = client.get("/healthz")
    assert anonymous.status_code == 200 and anonymous.get_json() == {"status": "ok"}
    assert_no_session(anonymous)
    login(client, world.worker)
    signed_in = client.get("/healthz")
    assert signed_in.status_code == 200 and signed_in.data == anonymous.data
    assert_no_session(signed_in)
    assert client.get("/round/").status_code == 200  # the session itself is untouched


@pytest.mark.parametrize("url", [
    "sqlite:////nonexistent-carevisits-dir/removed.sqlite3",
    "postgresql+psycopg://postgres@127.0.0.1:1/carevisits?connect_timeout=2",  # closed port
], ids=["sqlite-removed-file", "postgres-closed-port"])
def test_healthz_is_down_when_the_database_does_not_answer(tmp_path, url):
    app = make_app(url, tmp_path)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "reason": "database"}
    assert_no_session(response)


def test_healthz_is_down_while_the_schema_is_behind_head(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'behind.sqlite3'}", tmp_path)
    runner, client = app.test_cli_runner(), app.test_client()
    with app.app_context():
        flask_migrate.upgrade()
    assert client.get("/healthz").status_code == 200
    result = runner.invoke(args=["db", "downgrade", "--", "-1"])
    assert result.exit_code == 0, result.output
    behind = client.get("/healthz")
    assert behind.status_code == 503
    assert behind.get_json() == {"status": "unavailable", "reason": "schema not at head"}
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    assert client.get("/healthz").status_code == 200
    with app.app_context():
        db.engine.dispose()


class Lines(logging.Handler):
    """The request log's lines, as the stderr handler would print them."""

    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def logged(database_url, tmp_path, world):
    """A client of an app with the request log on (same database), and the lines it logs."""
    app = make_app(database_url, tmp_path, REQUEST_LOG=True)
    lines = Lines()
    request_log.addHandler(lines)
    yield app.test_client(), lines.lines
    request_log.removeHandler(lines)
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("door", ["c", "C"])  # C: the compact cards' address (issue 18)
def test_a_door_request_logs_one_line_without_personal_data(logged, world, door):
    client, lines = logged
    assert login(client, world.worker).status_code == 302
    lines.clear()
    token, elder = world.h1.code.token, world.h1.elders[0]
    response = client.get(f"/{door}/{token}?from=card", headers={"X-Request-ID": "lb-7f3a.9"})
    assert response.status_code == 200 and elder.name in response.get_data(as_text=True)
    assert len(lines) == 1 and "\n" not in lines[0]
    entry = json.loads(lines[0])
    assert set(entry) == LOG_KEYS
    assert entry["route"] == f"/{door}/<token>" and entry["endpoint"] == "scan.door"
    assert entry["method"] == "GET" and entry["status"] == 200
    assert entry["user_id"] == world.worker.id
    assert isinstance(entry["duration_ms"], float) and entry["duration_ms"] > 0
    assert entry["request_id"] == "lb-7f3a.9" == response.headers["X-Request-ID"]
    for private in (token, token.lower(), "from=card", elder.name, elder.phone, world.h1.number,
                    world.h1.full_address, world.worker.username, world.worker.display_name):
        assert private not in lines[0], private


@pytest.mark.parametrize("incoming", [None, "", "a b", "x" * 65, "\"quoted\"", "中文"])
def test_a_request_id_that_is_not_a_plain_token_is_replaced(logged, incoming):
    client, lines = logged
    headers = {} if incoming is None else {"X-Request-ID": incoming}
    response = client.get("/login", headers=headers)
    given = response.headers["X-Request-ID"]
    assert given != incoming and len(given) == 16
    assert json.loads(lines[-1])["request_id"] == given


def test_a_failing_request_is_logged_with_its_status(logged):
    client, lines = logged
    client.get("/no-such-page")
    entry = json.loads(lines[-1])
    assert entry["status"] == 404 and entry["route"] is None and entry["endpoint"] is None
