"""Benchmark: preview and apply a register import of 5,000 and 10,000 rows, on SQLite and
PostgreSQL: time, and peak memory to show that it does not grow with the file.

    .venv/bin/python bench/import_register.py [--rows 5000 10000] [--db sqlite|postgres|both]
                                              [--runs 3] [--quick]

For each backend, each size and each run it builds a fresh database (a SQLite file in a temporary
directory, or a new PostgreSQL database on 127.0.0.1:5432 as user postgres, dropped
afterwards) with the Alembic migrations and one street of 10 communities × 5 grids, writes an
XLSX of N rows (one or two elders per household, full-width digits, one-cell addresses),
then measures:

  baseline  reading every cell of the file with openpyxl in read-only mode (nothing else);
  preview   register_import.preview(): read, check, match against the street, plan;
  apply     register_import.apply() and the commit (households, door codes, elders,
            schedules, audit) in one transaction, after a preview in the same transaction;
  again     the preview of the same file once applied (every row unchanged).

Times come from untraced runs. Peak Python memory comes from separate runs under tracemalloc
(which slows code down): the preview's peak, then the apply's peak with the preview's plan
still held (the tracer's peak is reset between the two; the apply is rolled back so that the
timed apply still finds an empty street). Each figure is the median of the runs; "growth"
compares the peaks of the two sizes.
"""

import argparse
import io
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import flask_migrate  # noqa: E402
import openpyxl  # noqa: E402
import psycopg  # noqa: E402

from carevisits import create_app  # noqa: E402
from carevisits.database import write_transaction  # noqa: E402
from carevisits.extensions import db  # noqa: E402
from carevisits.models import Community, Grid, Street  # noqa: E402
from carevisits.models.base import local_today  # noqa: E402
from carevisits.services import register_import  # noqa: E402

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
TARGET = 10.0  # s, preview + apply of 10,000 rows
ROADS = ["芙蓉街", "曲水亭街", "王府池子街", "大明湖路", "泉城路", "县西巷", "后宰门街", "鞭指巷"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "秀英桂兰玉兰凤英淑珍建国德明志强秀兰桂英玉珍"
HEADER = ["老人姓名", "性别", "出生日期", "手机号", "家庭住址", "社区", "网格", "居住情况", "等级",
          "上门须知", "紧急联系人", "关系", "紧急联系电话"]


def make_file(rows: int, seed: int = 7) -> bytes:
    """An XLSX register of ``rows`` elders in one- and two-elder households."""
    rng = random.Random(seed)
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("台账")
    sheet.append(["泉城路街道独居老人台账"])
    sheet.append(HEADER)
    n = household = 0
    while n < rows:
        household += 1
        c, g = household % 10, household % 5
        address = (f"{ROADS[household % len(ROADS)]}{household // 400 + 1}号院"
                   f"{household % 20 + 1}号楼{household % 4 + 1}单元{household % 400 + 101}室")
        for k in range(1 if rng.random() < 0.6 else 2):
            if n == rows:
                break
            n += 1
            name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN) + str(k)
            phone = "".join(chr(ord(d) + 0xFEE0) for d in f"138{n:08d}")  # full width
            sheet.append([name, rng.choice("男女"), str(1930 + n % 40), phone, address,
                          f"社区{c}", f"网格{g}", rng.choice(["独居", "空巢", "与配偶同住"]),
                          rng.choice(["重点", "关注", "一般"]), "行动不便、听力差", "王强", "儿子",
                          f"139{n:08d}"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def baseline(data: bytes) -> None:
    """Only read every cell."""
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    for _ in book.worksheets[0].iter_rows(values_only=True):
        pass
    book.close()


def measure(step, memory: bool):
    """(seconds, result) — or (peak MiB, result) with ``memory``."""
    if memory:
        tracemalloc.start()
    started = time.perf_counter()
    result = step()
    elapsed = time.perf_counter() - started
    if memory:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return peak / 2**20, result
    return elapsed, result


def build(url: str):
    """The app on a fresh database with one street of 10 communities × 5 grids."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        flask_migrate.upgrade()
        street = Street(name="泉城路街道")
        db.session.add(street)
        for c in range(10):
            community = Community(street=street, name=f"社区{c}")
            db.session.add_all([Grid(community=community, name=f"网格{g}") for g in range(5)])
        db.session.commit()
    return app


def run_backend(url: str, data: bytes, rows: int) -> dict:
    """{step: [seconds, peak MiB]} for one backend and one file."""
    app = build(url)
    figures = {}
    with app.app_context():
        area = register_import.Area(db.session.query(Street).one())

        def plan():
            return register_import.preview(data, "bench.xlsx", "0" * 64, area, local_today())

        def preview():
            with write_transaction():
                result = plan()
                db.session.rollback()
            return result

        figures["baseline"] = [measure(lambda: baseline(data), m)[0] for m in (False, True)]
        secs, planned = measure(preview, False)
        assert planned.ok and planned.counts["elders_create"] == rows, planned.errors[:3]
        figures["preview"] = [secs, measure(preview, True)[0]]
        apply_peak = traced_apply(plan)
        with write_transaction():
            started = time.perf_counter()
            planned = plan()
            applied = time.perf_counter()
            register_import.apply(planned, None, local_today())
            db.session.commit()
            done = time.perf_counter()
        figures["apply"] = [done - applied, apply_peak]
        figures["preview+apply"] = [done - started, None]
        secs, again = measure(preview, False)
        assert again.counts["elders_unchanged"] == rows
        figures["again"] = [secs, measure(preview, True)[0]]
        db.session.remove()
        db.engine.dispose()
    return figures


def traced_apply(plan) -> float:
    """Peak MiB of an apply, the preview's plan held (rolled back: nothing is kept)."""
    with write_transaction():
        tracemalloc.start()
        planned = plan()
        tracemalloc.reset_peak()
        register_import.apply(planned, None, local_today())
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        db.session.rollback()
    return peak / 2**20


def median_of(results: list[dict]) -> dict:
    """Each figure's median over the runs."""
    return {step: [None if figures[0] is None else statistics.median(figures)
                   for figures in zip(*(r[step] for r in results), strict=True)]
            for step in results[0]}


def report(label: str, figures: dict, rows: int) -> None:
    """One table: seconds, × the baseline's seconds, peak MiB per step."""
    base = figures["baseline"][0]
    print(f"\n{label}: {rows} rows (median of the runs)")
    print(f"  {'step':<16}{'seconds':>10}{'× baseline':>12}{'peak MiB':>10}")
    for step, (secs, peak) in figures.items():
        mem = f"{peak:10.1f}" if peak is not None else f"{'—':>10}"
        print(f"  {step:<16}{secs:10.2f}{secs / base:12.1f}{mem}")
    total = figures["preview+apply"][0]
    print(f"  target: preview + apply < {TARGET:.0f} s → {total:.2f} s "
          f"{'PASS' if total < TARGET else 'MISS'}")


def report_growth(label: str, runs: dict[int, dict]) -> None:
    """How the peaks grow from the smallest file to the largest."""
    (small, first), (large, last) = min(runs.items()), max(runs.items())
    if small == large:
        return
    print(f"\n{label}: peak memory, {small} → {large} rows")
    for step in ("baseline", "preview", "apply", "again"):
        a, b = first[step][1], last[step][1]
        per_row = (b - a) * 2**20 / (large - small)
        print(f"  {step:<16}{a:8.1f} → {b:6.1f} MiB  ({per_row:+.0f} bytes per extra row)")


@contextmanager
def database(backend: str) -> Iterator[str]:
    """A fresh, empty database of the backend, removed afterwards: its URL."""
    if backend == "sqlite":
        folder = tempfile.mkdtemp(prefix="bench-import-")
        try:
            yield f"sqlite:///{folder}/b.sqlite3"
        finally:
            shutil.rmtree(folder)
        return
    name = f"bench_import_{os.getpid()}_{time.time_ns()}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL.format(name=name)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[5_000, 10_000])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--runs", type=int, default=3, help="fresh databases per size")
    parser.add_argument("--quick", action="store_true",
                        help="200 and 400 rows, SQLite, one run: the test suite's check that "
                             "the benchmark still runs")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.db, args.runs = [200, 400], "sqlite", 1
    files = {rows: make_file(rows) for rows in args.rows}
    for rows, data in files.items():
        print(f"file of {rows} rows: {len(data) // 1024} KB XLSX")
    backends = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
    for backend, label in backends.items():
        if args.db not in (backend, "both"):
            continue
        runs = {}
        for rows, data in files.items():
            results = []
            for _ in range(args.runs):
                with database(backend) as url:
                    results.append(run_backend(url, data, rows))
            runs[rows] = median_of(results)
            report(label, runs[rows], rows)
        report_growth(label, runs)


if __name__ == "__main__":
    main()
