"""Benchmark: the overdue-alert scan and the worker's round page at city scale.

    .venv/bin/python bench/alert_scan.py [--elders 100000] [--visits 10000000]
                                          [--db sqlite|postgres|both] [--keep]

For each backend it builds a fresh database (a SQLite file in a temporary directory, or a
new PostgreSQL database on 127.0.0.1:5432 as user postgres) with the Alembic migrations,
bulk-loads one street of 20 communities and 200 grids (~500 elders a grid), one household
per elder, N elders whose schedules (last_contact_at, due_at, overdue_at, paused_until) follow
the default policy of services/schedule.py, a grid worker per grid, resolved alerts of the
past, and M visits with one visit record each spread over two years of history. It then times
(median of --runs runs, each in a transaction that is rolled back):

  (a) alerts.scan_overdue(now) over all elders: "cold" (no overdue alert open yet, so one is
      opened for every overdue elder) and "steady" (the alerts of a scan 15 minutes earlier
      are committed; this scan opens only the ones that fell due since);
  (b) rounds.round_for(worker) for one grid worker (~500 elders) and GET /round/ through the
      Flask test client signed in as that worker;
  (c) a naive baseline: per elder, the latest met visit read from the visit history and
      compared in Python, on a sample of elders, extrapolated to all elders.

Then it adds another M visits (the history doubles), measures again and prints the ratios,
a table per backend and the targets with PASS/MISS. The databases are removed unless --keep.
"""

import argparse
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from bisect import bisect
from collections import Counter, defaultdict
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import flask_migrate  # noqa: E402
import psycopg  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import event, func, select  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from carevisits import create_app  # noqa: E402
from carevisits.database import write_transaction  # noqa: E402
from carevisits.extensions import db  # noqa: E402
from carevisits.models import (  # noqa: E402
    MET_OUTCOMES,
    CareLevel,
    Elder,
    User,
    Visit,
    VisitRecord,
)
from carevisits.services import alerts, notify, rounds  # noqa: E402
from carevisits.services.doorcodes import luhn_digit  # noqa: E402
from carevisits.services.schedule import DEFAULT_POLICY  # noqa: E402

# The app's default zone (BABEL_DEFAULT_TIMEZONE): pauses end on local dates, so the world's
# "today" is Shanghai's, not UTC's (with UTC dates the check failed from 16:00 to 24:00 UTC).
ZONE = ZoneInfo("Asia/Shanghai")


def local_date(moment: datetime) -> date:
    return moment.astimezone(ZONE).date()

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
COMMUNITIES, GRIDS = 20, 200
HISTORY_DAYS = 730
PASSWORD = "bench-password-1"
SQLITE_BATCH = 50_000
CHUNK = 200_000  # visits generated (and copied) at a time
# Targets.
SCAN_TARGET = 1.0  # s, full scan
ROUND_TARGET = 0.100  # s, round page
FLAT_TARGET = 1.3  # after/before when the history doubles
# Care levels: share of elders. Elder states: share of elders (the rest is on schedule).
LEVEL_SHARE = [(CareLevel.KEY, 0.10), (CareLevel.FOCUS, 0.25), (CareLevel.GENERAL, 0.65)]
STATE_SHARE = [("inactive", 0.01), ("paused", 0.02), ("overdue", 0.05), ("grace", 0.05)]
OUTCOMES = [("met_well", 0.88), ("met_concern", 0.05), ("not_at_home", 0.04),
            ("no_answer", 0.02), ("refused", 0.01)]
ROADS = ["芙蓉街", "曲水亭街", "王府池子街", "大明湖路", "泉城路", "县西巷", "后宰门街", "鞭指巷"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "秀英桂兰玉兰凤英淑珍建国德明志强秀兰桂英玉珍"


class IsolatedClient(FlaskClient):
    """Each request in its own app context (and database session), as in production."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


# --------------------------------------------------------------------------- data

class World:
    """The generated population: what the loaders write and what the checks expect."""

    def __init__(self, n_elders: int, seed: int, now: datetime):
        self.rng = random.Random(seed)
        self.now = now
        self.n = n_elders
        self.hist_start = (now - timedelta(days=HISTORY_DAYS)).timestamp()
        self.created = now - timedelta(days=HISTORY_DAYS + 30)
        rng = self.rng
        levels = [lvl for lvl, _ in LEVEL_SHARE]
        level_cum = list(accumulate(s for _, s in LEVEL_SHARE))
        state_cum = list(accumulate(s for _, s in STATE_SHARE))
        today = local_date(now)
        self.level, self.last, self.paused, self.active = [], [], [], []
        self.due, self.overdue = [], []
        for _ in range(n_elders):
            level = levels[min(bisect(level_cum, rng.random()), 2)]
            interval, grace = DEFAULT_POLICY[level]
            iv, gr = interval * 86400, grace * 3600
            r = rng.random()
            k = bisect(state_cum, r)
            state = STATE_SHARE[k][0] if k < len(STATE_SHARE) else "ok"
            paused = None
            if state == "overdue":
                ago = iv + gr + rng.uniform(60, 3 * 86400)
            elif state == "grace":
                ago = iv + rng.uniform(60, gr - 60)
            elif state == "paused":
                ago = iv + gr + rng.uniform(86400, 20 * 86400)
                paused = today + timedelta(days=rng.randint(0, 30))
            else:
                ago = rng.uniform(60, iv - 60)
            last = now.timestamp() - ago
            self.level.append(level)
            self.last.append(last)
            self.paused.append(paused)
            self.active.append(state != "inactive")
            self.due.append(last + iv)
            self.overdue.append(last + iv + gr)
        # Visits per elder in proportion to how often the elder is due.
        self.visit_cum = list(accumulate(1 / DEFAULT_POLICY[lvl][0] for lvl in self.level))
        self.grid_of = [i * GRIDS // n_elders + 1 for i in range(n_elders)]  # household i+1
        self.expected_overdue = {
            i + 1 for i in range(n_elders)
            if self.active[i] and self.overdue[i] < now.timestamp()
            and (self.paused[i] is None or self.paused[i] < today)}
        self.worker_grid = 1
        self.worker_elders = sum(1 for i in range(n_elders)
                                 if self.grid_of[i] == 1 and self.active[i])

    @staticmethod
    def ts(seconds: float) -> datetime:
        return datetime.fromtimestamp(int(seconds), UTC)

    def areas(self):
        street = [(1, "芙蓉街道")]
        communities = [(c, 1, f"第{c}社区", f"0531-860{c:05d}") for c in range(1, COMMUNITIES + 1)]
        grids = [(g, (g - 1) * COMMUNITIES // GRIDS + 1, f"{(g - 1) % (GRIDS // COMMUNITIES) + 1}"
                  f"号网格") for g in range(1, GRIDS + 1)]
        return street, communities, grids

    def channels(self):
        # A webhook per community, as configured in production; the address is local and
        # closed, and delivery is switched off in this process (see main) anyway.
        return [(c, c, "webhook", f"http://127.0.0.1:9/robot/send?key=bench{c}", True)
                for c in range(1, COMMUNITIES + 1)]

    def users(self, password_hash: str):
        return [(g, f"w{g}", f"网格员{g}", f"1390000{g:04d}", password_hash, "grid_worker",
                 None, None, g, True, 1, self.created) for g in range(1, GRIDS + 1)]

    def households(self):
        per_grid = defaultdict(int)
        for i in range(self.n):
            h = i + 1
            g = self.grid_of[i]
            k = per_grid[g]
            per_grid[g] += 1
            body = f"{1000000 + h:07d}"
            yield (h, g, body + luhn_digit(body), f"{ROADS[g % len(ROADS)]}{g}号院",
                   str(k // 60 + 1), str(k % 60 // 20 + 1), f"{k % 20 // 4 + 1}0{k % 4 + 1}",
                   self.created)

    def elders(self):
        for i in range(self.n):
            e = i + 1
            name = (SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)]
                    + GIVEN[(i * 13 + 1) % len(GIVEN)])
            yield (e, e, name, "女" if i % 3 else "男", 1925 + i % 30, f"138{i:08d}",
                   "子女", f"139{i:08d}", "alone" if i % 4 else "with_spouse",
                   self.level[i].value, "", self.active[i], self.ts(self.last[i]), None,
                   self.ts(self.due[i]), self.ts(self.overdue[i]), self.paused[i],
                   self.created)

    def pauses(self):
        rows, pid = [], 0
        for i in range(self.n):
            if self.paused[i] is not None:
                pid += 1
                rows.append((pid, i + 1, "住院", local_date(self.now) - timedelta(days=3),
                             self.paused[i], None, i * GRIDS // self.n + 1, self.now))
        return rows

    def past_alerts(self, json_value):
        """Two resolved alerts per elder spread over the history (what earlier scans left)."""
        rng = self.rng
        aid = 0
        for i in range(self.n):
            for _ in range(2):
                aid += 1
                opened = rng.uniform(self.hist_start, self.last[i] - 86400)
                kind = "overdue" if rng.random() < 0.8 else rng.choice(["no_answer", "abnormal"])
                yield (aid, i + 1, kind, "warning", "resolved", 0, json_value,
                       self.ts(opened), None, None, self.ts(opened + 7200), None, None,
                       "已上门")

    def visits(self, first_id: int, count: int, with_last: bool):
        """Chunks of (visit rows, record rows). With ``with_last`` the first N visits are
        each elder's last contact (met_well at last_contact_at); every other visit falls
        before the elder's last contact, so the latest met visit is always last_contact_at."""
        rng = self.rng
        out_names = [o for o, _ in OUTCOMES]
        out_cum = list(accumulate(s for _, s in OUTCOMES))
        moods = ["good", "good", "fair", "low"]
        n = self.n
        done = 0
        while done < count:
            size = min(CHUNK, count - done)
            visits, records = [], []
            picks = rng.choices(range(n), cum_weights=self.visit_cum, k=size)
            for j in range(size):
                idx = done + j
                vid = first_id + idx
                if with_last and idx < n:
                    e, at, outcome = idx, self.last[idx], "met_well"
                else:
                    e = picks[j]
                    at = rng.uniform(self.hist_start, self.last[e] - 3600)
                    outcome = out_names[min(bisect(out_cum, rng.random()), 4)]
                when = self.ts(at)
                visits.append((vid, e + 1, self.grid_of[e], None, "scanned", "", when, None,
                               when, f"b{vid}"))
                met = outcome in ("met_well", "met_concern")
                if met and rng.random() < 0.3:
                    vitals = (rng.randint(105, 165), rng.randint(65, 98), rng.randint(58, 96))
                else:
                    vitals = (None, None, None)
                records.append((vid, vid, e + 1, outcome, *vitals,
                                moods[vid % 4] if met else None, ""))
            done += size
            yield visits, records


COLUMNS = {
    "street": ["id", "name"],
    "community": ["id", "street_id", "name", "hotline"],
    "grid": ["id", "community_id", "name"],
    "notification_channel": ["id", "community_id", "kind", "target", "active"],
    "user": ["id", "username", "display_name", "phone", "password_hash", "role", "street_id",
             "community_id", "grid_id", "active", "session_version", "created_at"],
    "household": ["id", "grid_id", "number", "address", "building", "unit", "room",
                  "created_at"],
    "elder": ["id", "household_id", "name", "gender", "birth_year", "phone",
              "emergency_contact", "emergency_phone", "living_situation", "care_level",
              "health_notes", "active", "last_contact_at", "visit_interval_days", "due_at",
              "overdue_at", "paused_until", "created_at"],
    "elder_pause": ["id", "elder_id", "reason", "starts_on", "expected_end", "ended_at",
                    "created_by_id", "created_at"],
    "alert": ["id", "elder_id", "kind", "level", "status", "ladder_step", "details",
              "opened_at", "acknowledged_at", "acknowledged_by_id", "resolved_at",
              "resolved_by_id", "resolved_by_visit_id", "resolution"],
    "visit": ["id", "household_id", "visitor_id", "door_code_id", "method", "manual_reason",
              "server_time", "client_time", "occurred_at", "idempotency_key"],
    "visit_record": ["id", "visit_id", "elder_id", "outcome", "systolic", "diastolic", "pulse",
                     "mood", "notes"],
}


# --------------------------------------------------------------------------- loaders

class Loader:
    """Bulk writes into one open transaction: Core executemany (SQLite) or COPY (PG)."""

    def __init__(self, backend: str, conn):
        self.backend, self.conn = backend, conn
        self.rows = Counter()

    def write(self, table: str, rows) -> None:
        cols = COLUMNS[table]
        if self.backend == "sqlite":
            insert = db.metadata.tables[table].insert()
            batch = []
            for row in rows:
                batch.append(dict(zip(cols, row, strict=True)))
                if len(batch) >= SQLITE_BATCH:
                    self.conn.execute(insert, batch)
                    self.rows[table] += len(batch)
                    batch = []
            if batch:
                self.conn.execute(insert, batch)
                self.rows[table] += len(batch)
        else:
            raw = self.conn.connection.driver_connection
            names = ", ".join(f'"{c}"' for c in cols)
            n = 0
            with raw.cursor() as cur, cur.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
                    n += 1
            self.rows[table] += n


@contextmanager
def load_transaction(backend: str):
    """One transaction for a whole load phase, with the fast settings of each backend."""
    with write_transaction(), db.engine.connect() as conn:
        if backend == "sqlite":  # outside any transaction, on this pooled connection
            raw = conn.connection.driver_connection
            raw.execute("PRAGMA synchronous = OFF")
            raw.execute("PRAGMA cache_size = -2000000")  # 2 GB for the index pages
        with conn.begin():
            if backend == "postgresql":
                conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            yield Loader(backend, conn)
    db.engine.dispose()  # measurement connections get the app's own settings again


def after_load(backend: str) -> None:
    """PostgreSQL: move the id sequences past the loaded ids and ANALYZE (as autovacuum
    would); SQLite: checkpoint the WAL into the file (no ANALYZE: the app never runs it)."""
    with db.engine.connect() as conn:
        if backend == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT")
            for table in ("street", "community", "grid", "notification_channel", "user",
                          "household", "elder", "elder_pause", "alert", "visit",
                          "visit_record"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM \"{table}\"))")
            conn.exec_driver_sql("VACUUM ANALYZE")
        else:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.engine.dispose()


def load_all(backend: str, world: World, visits: int) -> dict:
    times = {}
    json_value = {} if backend == "sqlite" else "{}"
    t0 = time.perf_counter()
    with load_transaction(backend) as ld:
        street, communities, grids = world.areas()
        ld.write("street", street)
        ld.write("community", communities)
        ld.write("grid", grids)
        ld.write("notification_channel", world.channels())
        ld.write("user", world.users(generate_password_hash(PASSWORD)))
        ld.write("household", world.households())
        ld.write("elder", world.elders())
        ld.write("elder_pause", world.pauses())
        ld.write("alert", world.past_alerts(json_value))
    times["areas, households, elders, past alerts"] = time.perf_counter() - t0
    print(f"  loaded {dict(ld.rows)} in {times['areas, households, elders, past alerts']:.1f} s",
          flush=True)
    times["visits"] = load_visits(backend, world, 1, visits, with_last=True)
    t0 = time.perf_counter()
    after_load(backend)
    times["after load (setval, VACUUM ANALYZE / checkpoint)"] = time.perf_counter() - t0
    return times


def load_visits(backend: str, world: World, first_id: int, count: int, with_last: bool) -> float:
    t0 = time.perf_counter()
    with load_transaction(backend) as ld:
        for visits, records in world.visits(first_id, count, with_last):
            ld.write("visit", visits)
            ld.write("visit_record", records)
            done = ld.rows["visit"]
            if done % 1_000_000 < CHUNK:
                rate = done / (time.perf_counter() - t0)
                print(f"    {done:,} visits + records, {rate:,.0f} visits/s", flush=True)
    seconds = time.perf_counter() - t0
    print(f"  loaded {count:,} visits + {count:,} visit records in {seconds:.1f} s "
          f"({count / seconds:,.0f} visits/s)", flush=True)
    return seconds


# --------------------------------------------------------------------------- timing

class StatementLog:
    """SQL statements run while active: count and seconds by kind, and the last of each."""

    def __init__(self, engine):
        self.active = False
        self.count, self.seconds, self.sql = Counter(), Counter(), {}

        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn, cursor, statement, parameters, context, executemany):
            conn.info["bench_t0"] = time.perf_counter()

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn, cursor, statement, parameters, context, executemany):
            if not self.active:
                return
            kind = self.kind(statement)
            self.count[kind] += 1
            self.seconds[kind] += time.perf_counter() - conn.info["bench_t0"]
            self.sql[kind] = (statement, parameters)

    @staticmethod
    def kind(statement: str) -> str:
        s = " ".join(statement.split())
        if s.startswith("INSERT INTO alert ("):
            return "INSERT…SELECT alert" if "SELECT" in s else "INSERT alert"
        if s.startswith("INSERT INTO alert_event"):
            return "INSERT alert_event"
        if s.startswith("INSERT INTO notification"):
            return "INSERT notification"
        if s.startswith("SELECT"):
            table = s.split(" FROM ", 1)[1].split()[0].strip('"') if " FROM " in s else "?"
            return f"SELECT … FROM {table}"
        return s.split()[0]

    @contextmanager
    def capture(self):
        self.count.clear()
        self.seconds.clear()
        self.active = True
        try:
            yield self
        finally:
            self.active = False


def median_of(fn, runs: int, warmup: int = 1) -> tuple[float, list[float], object]:
    """Median seconds of ``runs`` calls after ``warmup`` untimed ones; all times; last result."""
    result = None
    for _ in range(warmup):
        result = fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, result


def scan_once(now: datetime, log: StatementLog, breakdown: dict) -> int:
    """scan_overdue over every elder in a transaction that is rolled back."""
    db.session.remove()
    try:
        with write_transaction(), log.capture():
            t0 = time.perf_counter()
            ids = alerts.scan_overdue(now)
            db.session.flush()
            total = time.perf_counter() - t0
        breakdown.update(total=total, statements=sum(log.count.values()),
                         by_kind={k: (log.count[k], log.seconds[k]) for k in log.count})
        breakdown.setdefault("statement_runs", []).append(log.seconds["INSERT…SELECT alert"])
        return len(ids)
    finally:
        db.session.rollback()
        db.session.remove()


def round_once(worker_id: int) -> int:
    db.session.remove()
    try:
        worker = db.session.get(User, worker_id)
        t0 = time.perf_counter()
        buildings = rounds.round_for(worker)
        elapsed = time.perf_counter() - t0
        round_once.elapsed = elapsed
        return sum(len(b.elders) for b in buildings)
    finally:
        db.session.rollback()
        db.session.remove()


def naive_once(world: World, sample: list[int], now: datetime) -> tuple[float, float, set]:
    """The baseline: load the elder list, then per elder its latest met visit from history.

    Returns (seconds for the elder list of all N, seconds per sampled elder, overdue ids)."""
    db.session.remove()
    try:
        t0 = time.perf_counter()
        elders = {row.id: row for row in db.session.execute(
            select(Elder.id, Elder.care_level, Elder.active, Elder.paused_until,
                   Elder.visit_interval_days))}
        list_seconds = time.perf_counter() - t0
        overdue = set()
        today = local_date(now)
        t0 = time.perf_counter()
        for elder_id in sample:
            e = elders[elder_id]
            last = db.session.scalar(
                select(func.max(Visit.occurred_at)).select_from(VisitRecord)
                .join(Visit, VisitRecord.visit_id == Visit.id)
                .where(VisitRecord.elder_id == elder_id,
                       VisitRecord.outcome.in_(sorted(MET_OUTCOMES))))
            if not e.active or (e.paused_until is not None and e.paused_until >= today):
                continue
            interval, grace = DEFAULT_POLICY[e.care_level]
            interval = e.visit_interval_days or interval
            if last is None or last + timedelta(days=interval, hours=grace) < now:
                overdue.add(elder_id)
        per_elder = (time.perf_counter() - t0) / len(sample)
        return list_seconds, per_elder, overdue
    finally:
        db.session.rollback()
        db.session.remove()


def explain(backend: str, statement: str, parameters) -> str:
    """The plan of a captured statement (PostgreSQL: EXPLAIN ANALYZE, rolled back)."""
    with write_transaction(), db.engine.connect() as conn, conn.begin() as tx:
        prefix = ("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " if backend == "postgresql"
                  else "EXPLAIN QUERY PLAN ")
        rows = conn.exec_driver_sql(prefix + statement, parameters).fetchall()
        tx.rollback()
    if backend == "postgresql":
        return "\n".join(r[0] for r in rows)
    return "\n".join(f"{'  ' * 0}{r[-1]}  (id={r[0]} parent={r[1]})" for r in rows)


def measure(backend: str, app, world: World, args, log: StatementLog, label: str) -> dict:
    """One round of measurements: cold scan, steady scan, round page, naive baseline."""
    now = world.now
    res: dict = {"label": label}
    expected = len(world.expected_overdue)
    with app.app_context():
        # (a) cold: no overdue alert open.
        breakdown: dict = {}
        med, times, opened = median_of(lambda: scan_once(now, log, breakdown), args.runs,
                                        warmup=args.scan_warmup)
        assert opened == expected, (opened, expected)
        res["scan_cold"], res["scan_cold_runs"], res["scan_cold_opened"] = med, times, opened
        res["scan_cold_breakdown"] = dict(breakdown)
        res["scan_statement"] = statistics.median(breakdown["statement_runs"])
        print(f"  [{label}] (a) cold scan: median {med * 1000:.0f} ms {fmt_runs(times)}, "
              f"opened {opened:,} alerts (expected {expected:,}); "
              f"{breakdown['statements']:,} SQL statements", flush=True)
        for kind, (count, secs) in sorted(breakdown["by_kind"].items(),
                                           key=lambda kv: -kv[1][1]):
            print(f"        {kind:<34} {count:>7,} statements {secs * 1000:>9.1f} ms",
                  flush=True)
        if label == "before" and "INSERT…SELECT alert" in log.sql:
            res["plan_scan"] = explain(backend, *log.sql["INSERT…SELECT alert"])
        # (a) steady: the alerts of a scan 15 minutes ago are committed.
        earlier = now - timedelta(minutes=15)
        db.session.remove()
        with write_transaction():
            committed = alerts.scan_overdue(earlier)
            db.session.commit()
        db.session.remove()
        breakdown = {}
        med, times, opened = median_of(lambda: scan_once(now, log, breakdown), args.runs,
                                        warmup=args.scan_warmup)
        res["scan_steady"], res["scan_steady_runs"] = med, times
        res["scan_steady_opened"], res["scan_steady_committed"] = opened, len(committed)
        res["scan_steady_breakdown"] = dict(breakdown)
        print(f"  [{label}] (a) steady scan ({len(committed):,} alerts already open): median "
              f"{med * 1000:.1f} ms {fmt_runs(times)}, opened {opened:,}; "
              f"{breakdown['statements']:,} SQL statements", flush=True)
        remove_alerts(committed)
        # (b) the worker's round.
        worker_id = world.worker_grid  # user id = grid id
        inner = []

        def one_round():
            n = round_once(worker_id)
            inner.append(round_once.elapsed)
            return n
        log.count.clear()
        with log.capture():
            round_once(worker_id)
            res["round_statements"] = sum(log.count.values())
            round_sql = next((log.sql[k] for k in log.sql if k == "SELECT … FROM elder"), None)
        inner.clear()
        med, times, n = median_of(one_round, args.round_runs)
        assert n == world.worker_elders, (n, world.worker_elders)
        res["round_for"] = statistics.median(inner[1:])
        res["round_for_runs"] = inner[1:]
        res["round_elders"] = n
        print(f"  [{label}] (b) round_for(worker): median {res['round_for'] * 1000:.1f} ms "
              f"{fmt_runs(inner[1:])}, {n} elders, {res['round_statements']} SQL statements",
              flush=True)
        if label == "before" and round_sql:
            res["plan_round"] = explain(backend, *round_sql)
    # (b) GET /round/ through the test client, signed in as the worker.
    client = app.test_client()
    r = client.post("/login", data={"username": f"w{world.worker_grid}", "password": PASSWORD})
    assert r.status_code == 302, r.status_code

    def get_round():
        response = client.get("/round/")
        assert response.status_code == 200, response.status_code
        return response.data.count(b'href="/elders/')
    med, times, links = median_of(get_round, args.round_runs)
    res["http_round"], res["http_round_runs"], res["http_links"] = med, times, links
    print(f"  [{label}] (b) GET /round/: median {med * 1000:.1f} ms {fmt_runs(times)}, "
          f"{links} elder links", flush=True)
    # (c) naive baseline on a sample.
    with app.app_context():
        rng = random.Random(f"{args.seed}-{label}")
        per, lists, agree = [], [], True
        for _run in range(args.runs):
            sample = rng.sample(range(1, world.n + 1), min(args.sample, world.n))
            list_s, per_elder, overdue = naive_once(world, sample, now)
            per.append(per_elder)
            lists.append(list_s)
            agree &= overdue == world.expected_overdue.intersection(sample)
        res["naive_per_elder"] = statistics.median(per)
        res["naive_list"] = statistics.median(lists)
        res["naive_total"] = res["naive_list"] + res["naive_per_elder"] * world.n
        res["naive_per_elder_runs"] = per
        res["naive_agrees"] = agree
        with log.capture():
            naive_once(world, [1], now)
            naive_sql = next((log.sql[k] for k in log.sql if "visit_record" in k), None)
        if label == "before" and naive_sql:
            res["plan_naive"] = explain(backend, *naive_sql)
        print(f"  [{label}] (c) naive: {res['naive_per_elder'] * 1000:.3f} ms/elder "
              f"{fmt_runs(per, 1000, 3)} + elder list {res['naive_list'] * 1000:.0f} ms → "
              f"{res['naive_total']:.1f} s for {world.n:,} elders; same overdue set as the "
              f"schedule columns: {agree}", flush=True)
    return res


def remove_alerts(ids: list[int]) -> None:
    """Delete the alerts a committed scan opened (with their events and messages)."""
    if not ids:
        return
    with write_transaction():
        db.session.remove()
        for start in range(0, len(ids), 5000):
            part = ids[start:start + 5000]
            for table, col in (("notification", "alert_id"), ("alert_event", "alert_id"),
                               ("alert", "id")):
                t = db.metadata.tables[table]
                db.session.execute(t.delete().where(t.c[col].in_(part)))
        db.session.commit()
    db.session.remove()


def fmt_runs(times, scale=1000, digits=1) -> str:
    return "[" + ", ".join(f"{t * scale:.{digits}f}" for t in times) + "]"


# --------------------------------------------------------------------------- backends

def create_database(backend: str, tmp: Path) -> tuple[str, str]:
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'bench.sqlite3'}", ""
    name = f"carevisits_bench_{os.getpid()}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_URL.format(name=name), name


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_backend(backend: str, args) -> dict:
    print(f"\n=== {backend}: {args.elders:,} elders, {args.visits:,} visits "
          f"(+{args.extra:,} when the history doubles) ===", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"carevisits-bench-{backend}-"))
    os.environ["CAREVISITS_INSTANCE_PATH"] = str(tmp / "instance")
    url, pg_name = create_database(backend, tmp)
    dialect = "postgresql" if backend == "postgres" else "sqlite"
    result: dict = {"backend": backend, "url": url}
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                          "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
        app.test_client_class = IsolatedClient
        with app.app_context():
            t0 = time.perf_counter()
            flask_migrate.upgrade()
            result["migrate"] = time.perf_counter() - t0
            db.engine.dispose()
            world = World(args.elders, args.seed, datetime.now(UTC).replace(microsecond=0))
            print(f"  world: {len(world.expected_overdue):,} elders overdue and not paused, "
                  f"{sum(p is not None for p in world.paused):,} paused, "
                  f"{world.n - sum(world.active):,} inactive, worker's grid: "
                  f"{world.worker_elders} active elders", flush=True)
            result["load"] = load_all(dialect, world, args.visits)
            log = StatementLog(db.engine)
            result["sizes"] = table_sizes(dialect)
        result["before"] = measure(dialect, app, world, args, log, "before")
        if args.extra:
            with app.app_context():
                print(f"  doubling the history: +{args.extra:,} visits", flush=True)
                result["load"]["more visits"] = load_visits(
                    dialect, world, args.visits + 1, args.extra, with_last=False)
                t0 = time.perf_counter()
                after_load(dialect)
                result["load"]["after second load"] = time.perf_counter() - t0
                result["sizes_after"] = table_sizes(dialect)
            result["after"] = measure(dialect, app, world, args, log, "after")
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        result["world"] = world
    finally:
        if args.keep:
            print(f"  kept: {url}", flush=True)
        else:
            if pg_name:
                drop_database(pg_name)
            shutil.rmtree(tmp, ignore_errors=True)
    return result


def table_sizes(backend: str) -> dict:
    sizes = {}
    with db.engine.connect() as conn:
        for table in ("elder", "visit", "visit_record", "alert"):
            sizes[table] = conn.exec_driver_sql(f'SELECT count(*) FROM "{table}"').scalar()
        if backend == "postgresql":
            sizes["bytes"] = conn.exec_driver_sql(
                "SELECT pg_database_size(current_database())").scalar()
        else:
            path = Path(db.engine.url.database)
            sizes["bytes"] = path.stat().st_size
    db.engine.dispose()
    return sizes


# --------------------------------------------------------------------------- report

def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def report(results: list[dict], args) -> bool:
    all_ok = True
    for r in results:
        b, a = r["before"], r.get("after")
        print(f"\n--- {r['backend']}: {args.elders:,} elders, {args.visits:,} visits"
              f"{f' → {args.visits + args.extra:,}' if a else ''} ---")
        print(f"load: migrate {r['migrate']:.1f} s; " + "; ".join(
            f"{k} {v:.1f} s" for k, v in r["load"].items()))
        print(f"database size: {r['sizes']['bytes'] / 2**30:.2f} GiB"
              + (f" → {r['sizes_after']['bytes'] / 2**30:.2f} GiB" if a else ""))
        rows = [
            ("(a) scan_overdue(now), cold (ms)", "scan_cold", 1000),
            ("(a) its INSERT…SELECT alone, cold (ms)", "scan_statement", 1000),
            ("(a) scan_overdue(now), steady (ms)", "scan_steady", 1000),
            ("(b) round_for(worker) (ms)", "round_for", 1000),
            ("(b) GET /round/ (ms)", "http_round", 1000),
            ("(c) naive: per elder (ms)", "naive_per_elder", 1000),
            ("(c) naive: all elders, extrapolated (s)", "naive_total", 1),
        ]
        print(f"{'':<42}{'before':>12}{'after':>12}{'after/before':>14}")
        for name, key, scale in rows:
            after = f"{a[key] * scale:>12.2f}{a[key] / b[key]:>14.2f}" if a else ""
            print(f"{name:<42}{b[key] * scale:>12.2f}{after}")
        for name, key in (("cold scan", "scan_cold"), ("its INSERT…SELECT", "scan_statement"),
                          ("steady scan", "scan_steady")):
            print(f"naive / ours ({name}): {b['naive_total'] / b[key]:,.0f}× before"
                  + (f", {a['naive_total'] / a[key]:,.0f}× after" if a else ""))
        targets = [
            ("full scan < 1 s (cold)", max(b["scan_cold"], (a or b)["scan_cold"]) < SCAN_TARGET,
             f"{b['scan_cold'] * 1000:.0f} / {(a or b)['scan_cold'] * 1000:.0f} ms"),
            ("full scan < 1 s (steady)",
             max(b["scan_steady"], (a or b)["scan_steady"]) < SCAN_TARGET,
             f"{b['scan_steady'] * 1000:.0f} / {(a or b)['scan_steady'] * 1000:.0f} ms"),
            ("round_for < 100 ms", max(b["round_for"], (a or b)["round_for"]) < ROUND_TARGET,
             f"{b['round_for'] * 1000:.1f} / {(a or b)['round_for'] * 1000:.1f} ms"),
            ("GET /round/ < 100 ms",
             max(b["http_round"], (a or b)["http_round"]) < ROUND_TARGET,
             f"{b['http_round'] * 1000:.1f} / {(a or b)['http_round'] * 1000:.1f} ms"),
        ]
        targets.insert(1, ("full scan's INSERT…SELECT < 1 s (cold)",
                           max(b["scan_statement"], (a or b)["scan_statement"]) < SCAN_TARGET,
                           f"{b['scan_statement'] * 1000:.0f} / "
                           f"{(a or b)['scan_statement'] * 1000:.0f} ms"))
        if a:
            for name, key in (("scan (cold)", "scan_cold"),
                              ("scan's INSERT…SELECT", "scan_statement"),
                              ("scan (steady)", "scan_steady"),
                              ("round_for", "round_for"), ("GET /round/", "http_round")):
                ratio = a[key] / b[key]
                targets.append((f"{name} flat when history doubles (≤ {FLAT_TARGET})",
                                ratio <= FLAT_TARGET, f"{ratio:.2f}"))
        print(f"{'target':<52}{'before / after':>22}  verdict")
        for name, ok, shown in targets:
            all_ok &= ok
            print(f"{name:<52}{shown:>22}  {verdict(ok)}")
        for key in ("plan_scan", "plan_round", "plan_naive"):
            if key in b:
                print(f"\n{key}:\n{b[key]}")
    return all_ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--elders", type=int, default=100_000)
    parser.add_argument("--visits", type=int, default=10_000_000)
    parser.add_argument("--extra", type=int, default=None,
                        help="visits added to double the history (default: --visits; 0: skip)")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of scans (median)")
    parser.add_argument("--scan-warmup", type=int, default=0,
                        help="untimed scans before the timed ones")
    parser.add_argument("--round-runs", type=int, default=7, help="timed runs of the round")
    parser.add_argument("--sample", type=int, default=1000, help="elders in the naive sample")
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    args = parser.parse_args()
    if args.extra is None:
        args.extra = args.visits
    if args.visits < args.elders:
        parser.error("--visits must be at least --elders (one last-contact visit each)")
    os.environ.setdefault("CAREVISITS_SECRET_KEY", "bench")
    # The committed scan of the steady case writes messages to the outbox; sending them
    # would start a background thread that writes to the database while we measure.
    notify.deliver_in_background = lambda app: None
    print(f"carevisits alert scan benchmark: {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
          flush=True)
    backends = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results = [run_backend(b, args) for b in backends]
    ok = report(results, args)
    print("\nall targets met" if ok else "\nsome targets missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
