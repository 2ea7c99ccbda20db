"""What operators see of a running app: ``GET /healthz`` for load balancers, and one JSON
line per request on the ``carevisits.requests`` logger (stderr) to find a slow or failing
request.

The log line holds the URL rule (``/c/<token>``, ``/C/<token>``), never the path (a door
token), the query string or the form, and the signed-in user's id, never a name: nothing personal.
"""

import json
import logging
import os
import re
import sys
import time
from datetime import UTC, datetime
from functools import cache

from alembic.script import ScriptDirectory
from flask import Flask, g, request
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from carevisits.config import MIGRATIONS_DIR
from carevisits.extensions import csrf, db, limiter
from carevisits.problems import API_PREFIX

HEALTH_PATH = "/healthz"
REQUEST_ID_HEADER = "X-Request-ID"
# An incoming request id is kept when it is a plain token (a load balancer's or a proxy's);
# anything else (long, spaces, quotes) is replaced, so the log stays one clean line.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}", re.ASCII)
request_log = logging.getLogger("carevisits.requests")
# One encoder for every line (json.dumps with options would build a new one per call).
_to_json = json.JSONEncoder(separators=(",", ":")).encode


@cache
def migration_heads() -> frozenset[str]:
    """The revisions the migration scripts end at: static, so read once per process."""
    return frozenset(ScriptDirectory(str(MIGRATIONS_DIR)).get_heads())


def database_revisions() -> frozenset[str]:
    """The revisions stamped in the database; raises SQLAlchemyError when it does not answer
    (or has no schema at all)."""
    with db.engine.connect() as conn:
        return frozenset(conn.scalars(text("SELECT version_num FROM alembic_version")))


@csrf.exempt
@limiter.exempt
def healthz():
    """For load balancers: 200 when the database answers with its schema at the migrations'
    head, 503 otherwise. No session, no audit, nothing personal in the body."""
    try:
        at = database_revisions()
    except SQLAlchemyError:
        return {"status": "unavailable", "reason": "database"}, 503
    if at != migration_heads():
        return {"status": "unavailable", "reason": "schema not at head"}, 503
    return {"status": "ok"}, 200


class NoSessionForHealth(SecureCookieSessionInterface):
    """Flask's cookie sessions, except on ``/healthz`` and the integration API (``/api/``):
    no cookie read or set there, and no ``Vary: Cookie`` (Flask-Login looks at the session
    after every request otherwise). A signed-in browser's cookie authorises no API call."""

    def open_session(self, app, request):
        """None on the health path and the API: Flask then uses a null session it never
        saves."""
        if request.path == HEALTH_PATH or request.path.startswith(API_PREFIX):
            return None
        return super().open_session(app, request)


def _start_request() -> None:
    """Note when the request began and which id it goes by."""
    g.request_started = time.perf_counter()
    incoming = request.headers.get(REQUEST_ID_HEADER)
    g.request_id = (incoming if incoming and SANE_REQUEST_ID.fullmatch(incoming)
                    else os.urandom(8).hex())


def _log_request(response):
    """One JSON line for the request (one encoding); the id goes back in the response."""
    started = g.get("request_started")
    request_id = g.get("request_id") or os.urandom(8).hex()
    rule = request.url_rule
    # The user only if the view loaded one: looking it up here would cost a query and touch
    # the session. Flask-Login keeps the loaded user in g._login_user.
    user = g.get("_login_user")
    response.headers[REQUEST_ID_HEADER] = request_id
    request_log.info(_to_json({
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "request_id": request_id,
        "method": request.method,
        "route": rule.rule if rule is not None else None,
        "endpoint": request.endpoint,
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
        "user_id": getattr(user, "id", None),
    }))
    return response


def _configure_request_log() -> None:
    """Plain lines on stderr, once per process, not passed on to the root logger (gunicorn's
    or Flask's handlers would print them a second time)."""
    if not request_log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        request_log.addHandler(handler)
    request_log.setLevel(logging.INFO)
    request_log.propagate = False


def register_observability(app: Flask) -> None:
    """Serve ``/healthz`` without a session; log each request when ``REQUEST_LOG`` is on
    (None: only under gunicorn). Registered first, so the timing wraps every other hook."""
    app.session_interface = NoSessionForHealth()
    app.add_url_rule(HEALTH_PATH, "healthz", healthz, methods=["GET"])
    wanted = app.config["REQUEST_LOG"]
    if wanted if wanted is not None else "gunicorn" in sys.modules:
        _configure_request_log()
        app.before_request(_start_request)
        app.after_request(_log_request)
