"""Eight OS processes check in at once on one SQLite file (DESIGN: "Choices and known traps").

Every transaction that writes takes ``BEGIN IMMEDIATE`` before its first write (after reading
as a reader) and waits on the busy timeout, so concurrent check-ins queue up instead of
failing with "database is locked". This test starts
eight spawned processes, each with its own app and connection to the same migrated SQLite
file, releases them together, and checks that every check-in is answered with a redirect to
its visit, that no visit is lost or doubled, and that keys sent by several processes at once
(a phone resending a form) still make exactly one visit.
"""

import multiprocessing
import os
import queue
import re
import time
import traceback

import flask_migrate
import pytest
from sqlalchemy import func, select

from carevisits import create_app
from carevisits.extensions import db
from carevisits.models import AuditEvent, Elder, Household, Role, Visit, VisitRecord
from tests import factories
from tests.conftest import make_app

pytestmark = pytest.mark.slow

PROCESSES = 8
HOUSEHOLDS = 8
UNIQUE_PER_PROCESS = 25
# Keys every process sends, at the same positions in its sequence, so that the processes
# race on them: each must become exactly one visit.
SHARED_KEYS = 4
SHARED_POSITIONS = (0, 7, 14, 21)
WORKER_USERNAME = "race-worker"
START_TIMEOUT = 120  # seconds for every process to start, build its app and sign in
RUN_TIMEOUT = 300  # seconds for the whole run
VISIT_LOCATION = re.compile(r"^(?:https?://[^/]+)?/visits/(\d+)$")


def _app_config(url: str) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "concurrency-secret",
        "WTF_CSRF_ENABLED": False,
        "BASE_URL": "https://cv.example.org",
    }


def _check_in_worker(index, url, instance_path, plan, barrier, results):
    """Run in a spawned process: sign in, wait for the others, send the planned check-ins.

    ``plan`` is a list of ``(idempotency_key, token, elder_ids)``. Puts one dict on
    ``results``: the index, one ``(key, status, location, error)`` per request, the time of
    the first and last request, and a traceback if the process itself failed.
    """
    report = {"index": index, "responses": [], "fatal": None, "started": None, "ended": None}
    engine = None
    try:
        os.environ["CAREVISITS_INSTANCE_PATH"] = instance_path
        app = create_app(_app_config(url))
        with app.app_context():
            engine = db.engine
        client = app.test_client()
        response = client.post("/login", data={"username": WORKER_USERNAME,
                                               "password": factories.PASSWORD})
        if response.status_code != 302:
            raise RuntimeError(f"sign-in failed: {response.status_code} "
                               f"{response.get_data(as_text=True)[:500]}")
        barrier.wait(timeout=START_TIMEOUT)
        report["started"] = time.time()
        for key, token, elder_ids in plan:
            data = {"idempotency_key": key}
            data.update({f"e{elder_id}-outcome": "met_well" for elder_id in elder_ids})
            try:
                response = client.post(f"/c/{token}", data=data)
            except Exception:  # TESTING propagates a view's exception to the client
                report["responses"].append((key, None, None, traceback.format_exc()))
                continue
            location = response.headers.get("Location")
            error = None
            if response.status_code != 302:
                error = response.get_data(as_text=True)[:2000]
            report["responses"].append((key, response.status_code, location, error))
        report["ended"] = time.time()
    except Exception:
        report["fatal"] = traceback.format_exc()
        barrier.abort()  # free the others rather than leave them waiting
    finally:
        if engine is not None:
            engine.dispose()
        results.put(report)


@pytest.fixture
def race_db(tmp_path):
    """A fresh SQLite file upgraded by the migrations, with one grid of households and a worker.

    Returns the URL, the instance path and, per household, its door token and elder ids.
    """
    url = f"sqlite:///{tmp_path / 'race.sqlite3'}"
    app = make_app(url, tmp_path)
    with app.app_context():
        flask_migrate.upgrade()
        street = factories.street("竞争街道")
        community = factories.community(street, "竞争社区")
        grid = factories.grid(community, "竞争网格")
        households = [factories.household(grid, elders=1 + i % 2, room=f"{201 + i}")
                      for i in range(HOUSEHOLDS)]
        factories.user(Role.GRID_WORKER, username=WORKER_USERNAME, grid=grid)
        db.session.commit()
        plan_households = [(h.id, h.code.token, tuple(e.id for e in h.elders))
                           for h in households]
        db.session.remove()
        db.engine.dispose()
    instance = tmp_path / "instance"
    instance.mkdir(exist_ok=True)
    return url, str(instance), plan_households


def _plans(households):
    """Per process, the check-ins to send; and, per key, the household it is for."""
    key_household = {}
    shared = []
    for j in range(SHARED_KEYS):
        household = households[j % len(households)]
        key = f"shared-{j:02d}-race-key"
        key_household[key] = household[0]
        shared.append((key, household[1], household[2]))
    plans = []
    for p in range(PROCESSES):
        own = []
        for i in range(UNIQUE_PER_PROCESS):
            household = households[(p + i) % len(households)]
            key = f"p{p:02d}-visit-{i:03d}-race"
            key_household[key] = household[0]
            own.append((key, household[1], household[2]))
        for position, entry in zip(SHARED_POSITIONS, shared, strict=True):
            own.insert(position, entry)
        plans.append(own)
    return plans, key_household


def _run_processes(url, instance_path, plans):
    """Start one process per plan, released together by a barrier; return their reports."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(plans))
    results = ctx.Queue()
    processes = [
        ctx.Process(target=_check_in_worker, name=f"check-in-{i}",
                    args=(i, url, instance_path, plan, barrier, results), daemon=True)
        for i, plan in enumerate(plans)
    ]
    reports = {}
    try:
        for process in processes:
            process.start()
        deadline = time.monotonic() + START_TIMEOUT + RUN_TIMEOUT
        while len(reports) < len(processes):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                report = results.get(timeout=min(remaining, 5))
            except queue.Empty:
                if not any(p.is_alive() for p in processes):
                    break  # some died without reporting (killed, crashed interpreter)
                continue
            reports[report["index"]] = report
        for process in processes:
            process.join(timeout=10)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
                process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join(timeout=10)
        results.close()
        results.join_thread()
    missing = [p.name for i, p in enumerate(processes) if i not in reports]
    assert not missing, (
        f"no report from {missing} within {START_TIMEOUT + RUN_TIMEOUT}s; exit codes "
        f"{[p.exitcode for p in processes]}"
    )
    return [reports[i] for i in range(len(processes))]


def test_eight_processes_check_in_at_once_without_loss_or_doubles(race_db, tmp_path):
    url, instance_path, households = race_db
    plans, key_household = _plans(households)

    reports = _run_processes(url, instance_path, plans)

    fatal = [r["fatal"] for r in reports if r["fatal"]]
    assert not fatal, "a check-in process failed:\n" + "\n".join(fatal)
    # The processes really ran at the same time: each was still sending when the last began.
    assert max(r["started"] for r in reports) < min(r["ended"] for r in reports)

    failures = []
    visit_ids_by_key: dict[str, set[int]] = {}
    sent = 0
    for report in reports:
        for key, status, location, error in report["responses"]:
            sent += 1
            match = VISIT_LOCATION.match(location or "") if status == 302 else None
            if match is None:
                failures.append(f"process {report['index']} key {key}: status {status} "
                                f"location {location}\n{error}")
                continue
            visit_ids_by_key.setdefault(key, set()).add(int(match.group(1)))
    assert sent == sum(len(plan) for plan in plans)
    locked = [f for f in failures if "database is locked" in f]
    assert not failures, (
        f"{len(failures)} of {sent} check-ins failed ({len(locked)} with 'database is "
        f"locked'); the first:\n" + "\n\n".join(failures[:3])
    )
    # One visit per key, whichever process sent it and however often.
    doubled = {k: ids for k, ids in visit_ids_by_key.items() if len(ids) != 1}
    assert not doubled, f"keys answered with different visits: {doubled}"
    assert set(visit_ids_by_key) == set(key_household)

    app = make_app(url, tmp_path)
    with app.app_context():
        visits = db.session.scalars(select(Visit)).all()
        assert len(visits) == len(key_household), "visits lost or doubled"
        by_key = {v.idempotency_key: v for v in visits}
        assert set(by_key) == set(key_household)
        elder_ids = {h.id: {e.id for e in h.elders}
                     for h in db.session.scalars(select(Household)).all()}
        for key, visit in by_key.items():
            assert visit_ids_by_key[key] == {visit.id}
            assert visit.household_id == key_household[key]
            assert visit.visitor.username == WORKER_USERNAME
            assert [r.elder_id for r in visit.records] == sorted(elder_ids[visit.household_id])
        assert db.session.scalar(select(func.count(VisitRecord.id))) == sum(
            len(elder_ids[key_household[k]]) for k in key_household)
        assert db.session.scalar(select(func.count(AuditEvent.id))
                                 .where(AuditEvent.action == "visit.create")) == len(by_key)
        elders = db.session.scalars(select(Elder)).all()
        assert elders and all(e.last_contact_at is not None for e in elders)
        latest = max(v.occurred_at for v in visits)
        assert max(e.last_contact_at for e in elders) == latest
        db.session.remove()
        db.engine.dispose()
