"""Benchmark: what the request log (carevisits/observability.py) adds to each request.

    .venv/bin/python bench/request_log.py [--requests 20000] [--rounds 5]

Two figures of CPU time (process time: what a busy machine's other work does not inflate
much), with the log's lines going to /dev/null through the same stderr handler:
- the two hooks alone (before: start time and request id; after: one json.dumps and one
  logger call), called in a request context of a door GET with a signed-in user loaded;
- whole requests of ``GET /healthz`` through the Flask test client on a SQLite file, an app
  with the log on against one with it off, in short alternating batches (medians): noisier,
  a check that nothing else (a session, a query) comes with the log.
"""

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import flask_migrate  # noqa: E402
from flask import Response, g  # noqa: E402

from carevisits import create_app  # noqa: E402
from carevisits.extensions import db  # noqa: E402
from carevisits.observability import _log_request, _start_request, request_log  # noqa: E402


def to_dev_null() -> None:
    """Point the request log's stderr handler at /dev/null: the writes stay, unseen."""
    request_log.handlers[0].setStream(open(os.devnull, "w"))  # noqa: SIM115


def hooks_us(app, n: int) -> float:
    """CPU microseconds per request spent in the two hooks."""
    response = Response("ok")
    with app.test_request_context("/c/" + "x" * 43, headers={"X-Request-ID": "lb-1"}):
        app.url_map.bind("localhost")
        g._login_user = SimpleNamespace(id=42)
        started = time.process_time()
        for _ in range(n):
            _start_request()
            _log_request(response)
        return (time.process_time() - started) / n * 1e6


def requests_us(app, n: int) -> float:
    """CPU microseconds per GET /healthz through the test client."""
    client = app.test_client()
    started = time.process_time()
    for _ in range(n):
        client.get("/healthz")
    return (time.process_time() - started) / n * 1e6


def main() -> None:
    """Build both apps on one migrated SQLite file and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="request-log-")
    os.environ["CAREVISITS_INSTANCE_PATH"] = folder
    config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.sqlite3",
              "SECRET_KEY": "bench", "SCHEDULER": False}
    logging.getLogger("alembic").setLevel(logging.WARNING)
    on, off = (create_app({**config, "REQUEST_LOG": flag}) for flag in (True, False))
    with on.app_context():
        flask_migrate.upgrade()
    to_dev_null()
    hooks = statistics.median(hooks_us(on, args.requests) for _ in range(args.rounds))
    print(f"request log hooks alone: {hooks:.1f} µs CPU per request "
          f"(median of {args.rounds} rounds of {args.requests})")
    timings = {"on": [], "off": []}
    for i in range(args.rounds * 20):  # short batches, alternating: on, off, off, on, …
        name, app = (("on", on), ("off", off))[(i + i // 2) % 2]
        timings[name].append(requests_us(app, max(args.requests // 100, 10)))
    with_log, without = (statistics.median(timings[k]) for k in ("on", "off"))
    print(f"GET /healthz: {with_log:.1f} µs CPU with the log, {without:.1f} µs without: "
          f"{with_log - without:+.1f} µs per request")
    for app in (on, off):
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
