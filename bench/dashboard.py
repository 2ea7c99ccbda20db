"""Benchmark: the coordinator's dashboard and the monthly report at city scale (issue 15).

    .venv/bin/python bench/dashboard.py [--elders 100000] [--visits 10000000]
                                        [--db sqlite|postgres|both] [--runs 3] [--keep]

For each backend it builds a fresh database (a SQLite file in a temporary directory, or a new
PostgreSQL database on 127.0.0.1:5432 as user postgres) with the Alembic migrations and fills
it in bulk with SQL — INSERT … SELECT from a recursive CTE (SQLite) or generate_series
(PostgreSQL), never the ORM: one street of 20 communities and 200 grids with a worker each,
one household per elder, N elders (10% 重点, 25% 关注, the rest 一般; 1% closed, 2% paused),
a year of overdue alerts (every 20th elder, monthly), and M visits with one record each,
every elder visited about every 5 days (1 in 20 a phone call, 1 in 50 a no-answer); last
contacts and schedules are then set by UPDATEs. It then times, for the street's coordinator
signed in through the test client (median of --runs):

  (a) the scan's work, once: taking last month's figures and the trends' finished weeks
      (services/coverage_store.py) from nothing stored;
  (b) the dashboard page, this month and last month (every figure, panel and chart);
  (c) the monthly report of the last whole month: XLSX and PDF downloads;
  (d) a baseline in the same run: one COUNT of the month's visits (what reading a month of
      the visit history costs), to which the others are compared as a ratio.

Then it adds another M visits (the history doubles, all of it older than the figures read),
measures again and prints the after/before ratios. No thresholds: figures and ratios only.
The databases are removed unless --keep.
"""

import argparse
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import flask_migrate  # noqa: E402
import psycopg  # noqa: E402
from sqlalchemy import delete, func, select, text, update  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from carevisits import create_app  # noqa: E402
from carevisits.extensions import db  # noqa: E402
from carevisits.models import CoveragePeriod, ElderMonth, GridWeek, User, Visit  # noqa: E402
from carevisits.services import coverage_store  # noqa: E402
from carevisits.services.exports import Month  # noqa: E402

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
COMMUNITIES, GRIDS = 20, 200
VISIT_EVERY_DAYS = 5  # an elder's visits are this far apart on average
ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=ZONE)
PASSWORD = "bench-password-1"


def _series(dialect: str, n: int, offset: int = 0) -> str:
    """A FROM clause of rows ``i`` = offset+1 … offset+n."""
    if dialect == "postgresql":
        return f"generate_series({offset + 1}, {offset + n}) AS s(i)"
    return (f"(WITH RECURSIVE s(i) AS (SELECT {offset + 1} UNION ALL SELECT i + 1 FROM s "
            f"WHERE i < {offset + n}) SELECT i FROM s) AS s")


def _ts(dialect: str, epoch_sql: str) -> str:
    """SQL of a UTC timestamp as the app stores it, from seconds since 1970."""
    if dialect == "postgresql":
        return f"to_timestamp({epoch_sql})"
    return f"strftime('%Y-%m-%d %H:%M:%S', {epoch_sql}, 'unixepoch') || '.000000'"


def _plus_days(dialect: str, column: str, days_sql: str) -> str:
    if dialect == "postgresql":
        return f"{column} + ({days_sql}) * interval '1 day'"
    return (f"strftime('%Y-%m-%d %H:%M:%S', {column}, '+' || ({days_sql}) || ' days') "
            "|| '.000000'")


def _plus_hours(dialect: str, column: str, hours_sql: str) -> str:
    if dialect == "postgresql":
        return f"{column} + ({hours_sql}) * interval '1 hour'"
    return (f"strftime('%Y-%m-%d %H:%M:%S', {column}, '+' || ({hours_sql}) || ' hours') "
            "|| '.000000'")


def _date(dialect: str, iso: str) -> str:
    return f"DATE '{iso}'" if dialect == "postgresql" else f"'{iso}'"


LEVEL = "CASE WHEN i % 10 = 0 THEN 'key' WHEN i % 4 = 1 THEN 'focus' ELSE 'general' END"


def load_areas(conn, d: str, n_elders: int) -> None:
    now = int(NOW.timestamp())
    created = _ts(d, str(now - 5 * 365 * 86400))
    conn.execute(text("INSERT INTO street (id, name) VALUES (1, '基准街道')"))
    conn.execute(text(f"INSERT INTO community (id, street_id, name, hotline) SELECT i, 1, "
                      f"'社区' || i, '' FROM {_series(d, COMMUNITIES)}"))
    conn.execute(text(f"INSERT INTO grid (id, community_id, name) SELECT i, "
                      f"(i - 1) % {COMMUNITIES} + 1, '网格' || i FROM {_series(d, GRIDS)}"))
    conn.execute(text(
        f"INSERT INTO \"user\" (id, username, display_name, phone, password_hash, role, active, "
        f"session_version, created_at) SELECT i, 'w' || i, '网格员' || i, '', 'x', "
        f"'grid_worker', true, 1, {created} FROM {_series(d, GRIDS)}"))
    conn.execute(text(
        f"INSERT INTO \"user\" (id, username, display_name, phone, password_hash, role, active, "
        f"session_version, created_at, street_id) VALUES ({GRIDS + 1}, 'coord', '协调员', '', "
        f"'x', 'coordinator', true, 1, {created}, 1)"))
    conn.execute(text(
        f"INSERT INTO grid_assignment (grid_id, user_id, starts_on, cover, created_at) "
        f"SELECT i, i, {_date(d, '2020-01-01')}, false, {created} FROM {_series(d, GRIDS)}"))
    conn.execute(text(
        f"INSERT INTO household (id, grid_id, number, address, building, unit, room, "
        f"created_at) SELECT i, (i - 1) % {GRIDS} + 1, CAST(10000000 + i AS TEXT), '基准路', "
        f"CAST(i / 100 AS TEXT), '', CAST(i % 100 AS TEXT), {created} "
        f"FROM {_series(d, n_elders)}"))
    conn.execute(text(
        f"INSERT INTO elder (id, household_id, name, gender, birth_year, phone, "
        f"emergency_contacts, living_situation, care_level, health_notes, tags, closed_reason, "
        f"closed_on, created_at, paused_until) SELECT i, i, '老人' || i, '女', 1940, '', '[]', "
        f"'alone', {LEVEL}, '', '[]', CASE WHEN i % 100 = 7 THEN 'deceased' END, "
        f"CASE WHEN i % 100 = 7 THEN {_date(d, '2026-10-02')} END, {created}, "
        f"CASE WHEN i % 50 = 3 THEN {_date(d, '2026-11-30')} END FROM {_series(d, n_elders)}"))
    conn.execute(text(
        f"INSERT INTO elder_pause (elder_id, reason, starts_on, expected_end, created_at) "
        f"SELECT id, '住院', {_date(d, '2026-11-01')}, {_date(d, '2026-11-30')}, {created} "
        f"FROM elder "
        f"WHERE paused_until IS NOT NULL"))


def load_alerts(conn, d: str, n_elders: int) -> None:
    """Every 20th elder has had an overdue alert in each of the last 12 months; those of the
    last 10 days are open (about 1 in 60 elders), the others acknowledged after 3 hours and
    resolved after a day."""
    now = int(NOW.timestamp())
    opened = f"{now} - ((i / 12) % 30 + (i % 12) * 30) * 86400 - 3600"
    recent = "((i / 12) % 30 < 10 AND i % 12 = 0)"
    conn.execute(text(
        f"INSERT INTO alert (elder_id, kind, level, status, ladder_step, details, opened_at, "
        f"acknowledged_at, resolved_at, resolution) SELECT (i / 12) * 20 % {n_elders} + 1, "
        f"'overdue', 'warning', CASE WHEN {recent} THEN 'open' ELSE 'resolved' END, 0, '{{}}', "
        f"{_ts(d, opened)}, CASE WHEN {recent} THEN NULL ELSE {_ts(d, opened + ' + 10800')} "
        f"END, CASE WHEN {recent} THEN NULL ELSE {_ts(d, opened + ' + 86400')} END, '' "
        f"FROM {_series(d, n_elders // 20 * 12)}"))


def history_days(n_elders: int, n_visits: int) -> int:
    """How far back M visits reach when each elder is visited every VISIT_EVERY_DAYS days."""
    return max(1, round(n_visits / n_elders * VISIT_EVERY_DAYS))


def load_visits(conn, d: str, n_elders: int, n_visits: int, offset: int, newest: int) -> None:
    """Visits offset+1 … offset+n spread evenly back from ``newest`` (epoch seconds) over
    the history; visit i is at elder (i mod N) + 1's door by that grid's worker."""
    step = history_days(n_elders, n_visits) * 86400 / n_visits
    at = _ts(d, f"{newest} - CAST((i - {offset}) * {step} AS INTEGER)")
    conn.execute(text(
        f"INSERT INTO visit (id, household_id, visitor_id, method, manual_reason, server_time, "
        f"occurred_at, idempotency_key, entered_late, void_reason) "
        f"SELECT i, i % {n_elders} + 1, (i % {n_elders}) % {GRIDS} + 1, "
        f"CASE WHEN i % 20 = 1 THEN 'phone' ELSE 'scanned' END, '', {at}, {at}, 'k' || i, "
        f"false, '' FROM {_series(d, n_visits, offset)}"))
    conn.execute(text(
        f"INSERT INTO visit_record (visit_id, elder_id, outcome, notes) "
        f"SELECT i, i % {n_elders} + 1, CASE WHEN i % 50 = 0 THEN 'no_answer' "
        f"ELSE 'met_well' END, '' FROM {_series(d, n_visits, offset)}"))


def set_schedules(conn, d: str) -> None:
    conn.execute(text(
        "UPDATE elder SET last_contact_at = (SELECT max(v.occurred_at) FROM visit_record r "
        "JOIN visit v ON v.id = r.visit_id WHERE r.elder_id = elder.id "
        "AND r.outcome = 'met_well' AND (v.method <> 'phone' OR elder.care_level = 'general'))"))
    days = "CASE care_level WHEN 'key' THEN 1 WHEN 'focus' THEN 3 ELSE 7 END"
    grace = "CASE care_level WHEN 'key' THEN 6 WHEN 'focus' THEN 12 ELSE 24 END"
    conn.execute(text(f"UPDATE elder SET due_at = {_plus_days(d, 'last_contact_at', days)}"))
    conn.execute(text(f"UPDATE elder SET overdue_at = {_plus_hours(d, 'due_at', grace)}"))


def timed(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
        db.session.rollback()
    return statistics.median(times)


def take_stored() -> float:
    """The scan's work, from nothing stored: last month's and the finished weeks' figures."""
    for table in (ElderMonth, GridWeek, CoveragePeriod):
        db.session.execute(delete(table))
    db.session.commit()
    started = time.perf_counter()
    taken = coverage_store.take_finished(NOW.astimezone(UTC), ZONE)
    db.session.commit()
    assert taken > 12, taken
    return time.perf_counter() - started


def signed_in(app):
    """The test client signed in as the street's coordinator (through /login)."""
    client = app.test_client()
    with client.get("/login") as page:
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                          page.get_data(as_text=True)).group(1)
    answer = client.post("/login", data={"username": "coord", "csrf_token": token,
                                         "password": PASSWORD})
    assert answer.status_code == 302, answer.status_code
    return client


def fetch(client, url: str):
    def get():
        with client.get(url) as answer:
            assert answer.status_code == 200, (url, answer.status_code)
    return get


def measure(client, runs: int) -> dict[str, float]:
    start, end = Month.of(NOW, ZONE).bounds(ZONE)
    last = Month.of(NOW, ZONE).previous()
    return {
        "baseline: count the month's visits": timed(lambda: db.session.scalar(
            select(func.count()).select_from(Visit).where(Visit.occurred_at >= start,
                                                          Visit.occurred_at < end)), runs),
        "scan: take the stored figures (once)": take_stored(),
        "dashboard page (this month)": timed(fetch(client, "/coordinator/"), runs),
        "dashboard page (last month)": timed(fetch(client, f"/coordinator/?month={last}"), runs),
        "report XLSX (last month)": timed(fetch(client, f"/coordinator/report.xlsx?month={last}"),
                                          runs),
        "report PDF (last month)": timed(fetch(client, f"/coordinator/report.pdf?month={last}"),
                                         runs),
    }


def _analyze() -> None:
    """Fresh planner statistics after a bulk load, as autovacuum would give them later."""
    with db.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()


def run(backend: str, n_elders: int, n_visits: int, runs: int, keep: bool) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="cv-dashboard-bench-"))
    name = f"cv_dashboard_bench_{os.getpid()}"
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    else:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        url = PG_URL.format(name=name)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                      "CLOCK": lambda: NOW.astimezone(UTC), "SCHEDULER": False})
    try:
        with app.app_context():
            flask_migrate.upgrade()
            d = db.engine.dialect.name
            newest = int((NOW - timedelta(hours=1)).timestamp())
            started = time.perf_counter()
            with db.engine.begin() as conn:
                load_areas(conn, d, n_elders)
                load_alerts(conn, d, n_elders)
                load_visits(conn, d, n_elders, n_visits, 0, newest)
                set_schedules(conn, d)
            _analyze()
            print(f"[{backend}] loaded {n_elders:,} elders and {n_visits:,} visits in "
                  f"{time.perf_counter() - started:.0f} s", flush=True)
            db.session.execute(update(User).where(User.username == "coord")
                               .values(password_hash=generate_password_hash(PASSWORD)))
            db.session.commit()
            client = signed_in(app)
            before = measure(client, runs)
            started = time.perf_counter()
            with db.engine.begin() as conn:  # the history doubles, all of it older
                load_visits(conn, d, n_elders, n_visits, n_visits,
                            newest - history_days(n_elders, n_visits) * 86400)
            _analyze()
            print(f"[{backend}] added {n_visits:,} older visits in "
                  f"{time.perf_counter() - started:.0f} s", flush=True)
            after = measure(client, runs)
            base = before["baseline: count the month's visits"]
            print(f"\n{backend}: {n_elders:,} elders, {n_visits:,} → {2 * n_visits:,} visits "
                  f"(median of {runs}; {platform.machine()}, {os.cpu_count()} cores)")
            print(f"{'':38} {'before':>9} {'doubled':>9} {'ratio':>6} {'× baseline':>10}")
            for key, value in before.items():
                print(f"{key:38} {value:8.3f}s {after[key]:8.3f}s {after[key] / value:6.2f} "
                      f"{value / base:10.1f}")
            db.session.remove()
            db.engine.dispose()
    finally:
        if backend == "postgres" and not keep:
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elders", type=int, default=100_000)
    parser.add_argument("--visits", type=int, default=10_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    for backend in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        run(backend, args.elders, args.visits, args.runs, args.keep)


if __name__ == "__main__":
    main()
