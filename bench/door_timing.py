"""Benchmark: can a signed-in user out of scope tell a real door card from a made-up one by
the response time? (issue 12, item 5)

    .venv/bin/python bench/door_timing.py [--requests 400] [--db sqlite|postgres]

It builds the demo street in a fresh database (a SQLite file in a temporary directory, or a
new PostgreSQL database on 127.0.0.1:5432 as user postgres), signs in through the Flask test
client as grid worker ``worker2`` (县西巷社区 第一网格) and as the street's ``family`` account,
and sends N GET /c/<token> for a real card of 芙蓉街社区 第一网格 (out of their scope)
interleaved with N for made-up tokens of the same length (for the worker also as the compact
card has it, /C/<TOKEN>, and lower-cased). It prints the median and mean of
each and their difference; for the worker also at the service level, for the lookup as it
is and the one it replaced (the baseline: the token's row first, then its household and a
scope query only when the token was real, which is where the difference lived).
"""

import argparse
import statistics
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import flask_migrate  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bench.alert_scan import IsolatedClient  # noqa: E402
from bench.import_register import database  # noqa: E402
from carevisits import create_app  # noqa: E402
from carevisits.extensions import db  # noqa: E402
from carevisits.models import Community, DoorCode, Grid, Household, User  # noqa: E402
from carevisits.services import demo, doorcodes  # noqa: E402
from carevisits.services.scope import can_see_household  # noqa: E402


def old_lookup(user: User, token: str) -> DoorCode | None:
    """The door's lookup before issue 12: the token's row, then (only for a real token) its
    household and a scope query."""
    code = db.session.scalar(select(DoorCode).where(DoorCode.token == token))
    if code is None or not can_see_household(user, code.household):
        return None
    return code


def interleaved(call, real: str, made_up: list[str]) -> tuple[list[float], list[float]]:
    """The timings (ms) of ``call`` with the real token and with each made-up one,
    alternating which of the two goes first."""
    times: tuple[list[float], list[float]] = ([], [])
    for i, fake in enumerate(made_up):
        pair = [(0, real), (1, fake)]
        for which, token in pair if i % 2 == 0 else reversed(pair):
            t0 = time.perf_counter()
            call(token)
            times[which].append((time.perf_counter() - t0) * 1000)
    return times


def report(label: str, real: list[float], fake: list[float]) -> None:
    med_r, med_f = statistics.median(real), statistics.median(fake)
    mean_r, mean_f = statistics.fmean(real), statistics.fmean(fake)
    print(f"  {label:<34} real {med_r:7.3f} ms (mean {mean_r:7.3f})   made-up {med_f:7.3f} ms "
          f"(mean {mean_f:7.3f})   median difference {med_r - med_f:+.3f} ms "
          f"({(med_r / med_f - 1) * 100:+.1f}%)")


def run(url: str, n: int) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    app.test_client_class = IsolatedClient
    with app.app_context():
        flask_migrate.upgrade()
        demo.load_demo()
        db.session.commit()
        token = db.session.scalar(
            select(DoorCode.token).join(Household).join(Grid).join(Community)
            .where(Community.name == "芙蓉街社区", Grid.name == "第一网格",
                   DoorCode.revoked_at.is_(None)).limit(1))
    made_up = [doorcodes.new_token() for _ in range(n)]
    for username in ("worker2", "family"):
        client = app.test_client()
        client.post("/login", data={"username": username, "password": demo.DEMO_PASSWORD})
        for _ in range(20):  # warm up
            client.get(f"/c/{token}")
            client.get(f"/c/{made_up[0]}")
        real, fake = interleaved(lambda t, c=client: c.get(f"/c/{t}"), token, made_up)
        report(f"GET /c/<token> as {username}", real, fake)
        if username == "family":  # not a visitor: the door looks nothing up for them
            continue
        # The compact card's address and its lower-cased form (issue 18): the same work.
        real, fake = interleaved(lambda t, c=client: c.get(f"/C/{t}"), token, made_up)
        report("  GET /C/<TOKEN>", real, fake)
        real, fake = interleaved(lambda t, c=client: c.get(f"/c/{t.lower()}"), token, made_up)
        report("  GET /c/<token>, lower-cased", real, fake)
        with app.app_context():
            user = db.session.scalar(select(User).where(User.username == username))
            for label, lookup in (("baseline: the old lookup", old_lookup),
                                  ("now: doorcodes.find_code_for", doorcodes.find_code_for)):
                real, fake = interleaved(partial(lookup, user), token, made_up)
                report(f"  {label}", real, fake)
                db.session.rollback()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    print(f"door timing, {args.requests} requests of each kind, {args.db}")
    with database(args.db) as url:
        run(url, args.requests)


if __name__ == "__main__":
    main()
