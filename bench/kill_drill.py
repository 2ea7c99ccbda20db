"""Drill: check-ins survive gunicorn workers killed with SIGKILL (issue 16, item 3).

    .venv/bin/python bench/kill_drill.py [--seconds 60] [--threads 6] [--db sqlite|postgres]
                                         [--workers 2] [--calm 10] [--every 2]

It builds the demo street in a fresh database (a SQLite file in a temporary directory, or a
new PostgreSQL database on 127.0.0.1:5432 as user postgres) with `flask db upgrade` and
`flask demo`, and serves it as production does: `gunicorn -w N wsgi:app` from the repository
root (gunicorn.conf.py), rate limits on the Redis at 127.0.0.1:6379 under a prefix of this
run, the scan thread as it runs by default. Each thread signs in as one of the demo grid
workers and posts check-ins (JSON, as the door page's script does) to the doors of its own
grid, every one with a new idempotency key. A request whose answer was lost — connection
refused or reset, a 5xx, a timeout — is sent again with the SAME key until it is answered.

First a calm phase (--calm seconds, nothing killed: the baseline), then --seconds while a
background thread kills one worker (a child of the gunicorn master) with SIGKILL every
--every seconds. Afterwards every acknowledged key is looked up in the database: lost (an
acknowledged visit missing, or stored under another id than the answer gave), doubled (more
visits than keys), and refused (an answer that was neither a visit nor a lost answer). Prints
the figures, acks per second as a ratio to the calm phase, and exits non-zero on any lost,
doubled, refused or never-acknowledged check-in.
"""

import argparse
import http.client
import json
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import closing
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402

from bench.import_register import database  # noqa: E402
from carevisits import create_app  # noqa: E402
from carevisits.extensions import db  # noqa: E402
from carevisits.models import DoorCode, Household, Role, User  # noqa: E402
from carevisits.services.demo import DEMO_PASSWORD  # noqa: E402
from carevisits.services.scope import household_scope  # noqa: E402

BIN = Path(sys.prefix) / "bin" if (Path(sys.prefix) / "bin" / "gunicorn").exists() \
    else ROOT / ".venv" / "bin"
REDIS_URL = os.environ.get("CAREVISITS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TIMEOUT = 20  # seconds a client waits for an answer before it counts it as lost
GRACE = 120  # seconds after the end for the last keys to be acknowledged


def serve_env(url: str, folder: str, prefix: str) -> dict[str, str]:
    """The environment of the server and its `flask` commands: this run's database and
    Redis prefix, nothing else of the caller's CAREVISITS_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREVISITS_")}
    env.update(CAREVISITS_DATABASE_URL=url, CAREVISITS_SECRET_KEY="kill-drill",
               CAREVISITS_INSTANCE_PATH=folder, CAREVISITS_RATELIMIT_STORAGE_URI=REDIS_URL,
               CAREVISITS_RATELIMIT_KEY_PREFIX=prefix, PYTHONUNBUFFERED="1")
    return env


def doors_of_workers(url: str) -> dict[str, list[tuple[str, list[int]]]]:
    """Each demo grid worker's doors: (live token, ids of the active elders) per household
    in the worker's scope, as the door's own scope rule sees it."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "drill", "SCHEDULER": False})
    doors = {}
    with app.app_context():
        for user in db.session.scalars(select(User).where(User.role == Role.GRID_WORKER)):
            rows = db.session.execute(
                select(DoorCode.token, Household).join(Household)
                .where(household_scope(user), DoorCode.revoked_at.is_(None),
                       Household.closed_at.is_(None))).all()
            doors[user.username] = [(token, [e.id for e in h.elders if e.active])
                                    for token, h in rows if any(e.active for e in h.elders)]
        db.engine.dispose()
    return {name: d for name, d in doors.items() if d}


class Server:
    """`gunicorn -w N wsgi:app` on a free port; ``workers()`` lists the master's children."""

    def __init__(self, env: dict, workers: int, log: Path):
        self.port = free_port()
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{self.port}",
                 "--timeout", "30", "wsgi:app"], cwd=ROOT, env=env, stdout=out,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self.log, self.wanted = log, workers
        deadline = time.monotonic() + 90
        while len(self.workers()) < workers or not self._answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"gunicorn did not start:\n{log.read_text()}")
            time.sleep(0.3)

    def _answers(self) -> bool:
        """Whether the sign-in page is served."""
        try:
            with closing(http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)) as c:
                c.request("GET", "/login")
                return c.getresponse().status == 200
        except OSError:
            return False

    def workers(self) -> list[int]:
        """The pids whose parent is the master (read from /proc)."""
        children = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                    children.append(int(entry))
        return children

    def stop(self) -> None:
        """Stop the master (and so its workers) and wait for it."""
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lost(Exception):
    """The answer did not arrive (reset, refused, timeout) or was a 5xx."""


class Client:
    """One phone: its cookies and CSRF token, one connection per request (sync workers close
    every connection after answering)."""

    def __init__(self, port: int):
        self.port, self.cookies, self.csrf = port, {}, ""

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, bytes]:
        """Send one request; raise Lost when no answer came back or it was a 5xx."""
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
                   "Accept": "application/json", "X-CSRFToken": self.csrf}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            with closing(http.client.HTTPConnection("127.0.0.1", self.port,
                                                    timeout=TIMEOUT)) as conn:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                for header in response.headers.get_all("Set-Cookie") or []:
                    for name, morsel in SimpleCookie(header).items():
                        self.cookies[name] = morsel.value
        except (OSError, http.client.HTTPException) as err:
            raise Lost(type(err).__name__) from err
        if response.status >= 500:
            raise Lost(f"HTTP {response.status}")
        return response.status, data

    def sign_in(self, username: str) -> bool:
        """Sign in through the form, then take the door's CSRF token; retried while answers
        are lost. False when the server refuses."""
        while True:
            try:
                self.cookies.clear()
                self.csrf = ""
                status, page = self.request("GET", "/login")
                self.csrf = page.decode().split('name="csrf_token"', 1)[1] \
                    .split('value="', 1)[1].split('"', 1)[0]
                status, _ = self.request("POST", "/login", {
                    "username": username, "password": DEMO_PASSWORD, "csrf_token": self.csrf})
                if status != 302:
                    return False
                self.fresh_token()
                return True
            except Lost:
                time.sleep(0.2)

    def fresh_token(self) -> None:
        """The CSRF token the door page's script asks for before sending its queue."""
        status, data = self.request("GET", "/door/session.json")
        if status != 200:
            raise Lost(f"session.json answered {status}")
        self.csrf = json.loads(data)["csrf"]


@dataclass
class Tally:
    """What the threads saw, under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    posts: int = 0
    retries: int = 0
    kills: int = 0
    acked: dict = field(default_factory=dict)  # key -> visit id in the answer
    known: int = 0  # acknowledged by a resend: stored before, its first answer lost
    unacked: list = field(default_factory=list)
    refused: list = field(default_factory=list)
    why_lost: dict = field(default_factory=dict)
    waits: list = field(default_factory=list)  # seconds from first send to acknowledgement

    def add(self, **counts) -> None:
        """Add to counters, under the lock."""
        with self.lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)


def post_until_acked(client: Client, door: tuple[str, list[int]], tally: Tally,
                     give_up: float) -> None:
    """One check-in under a new key, sent again with that key until it is acknowledged."""
    token, elders = door
    key = secrets.token_urlsafe(18)
    form = {"idempotency_key": key, **{f"e{e}-outcome": "met_well" for e in elders}}
    started = time.monotonic()
    while time.monotonic() < give_up:
        tally.add(posts=1)
        try:
            status, data = client.request("POST", f"/c/{token}", form)
            answer = json.loads(data) if data.startswith(b"{") else {}
            if status == 400 and answer.get("retry"):
                client.fresh_token()
                raise Lost("stale CSRF token")
        except Lost as err:
            with tally.lock:
                tally.retries += 1
                tally.why_lost[str(err)] = tally.why_lost.get(str(err), 0) + 1
            time.sleep(0.1)
            continue
        with tally.lock:
            if status in (200, 201) and answer.get("ok"):
                tally.acked[key] = answer["visit"]
                tally.known += not answer["created"]
                tally.waits.append(time.monotonic() - started)
            else:
                tally.refused.append((key, status, data[:200]))
        return
    with tally.lock:
        tally.unacked.append(key)


def phase(port: int, doors: dict, threads: int, seconds: float, server: Server | None,
          every: float) -> tuple[Tally, float]:
    """Post from ``threads`` phones for ``seconds``, killing a worker of ``server`` every
    ``every`` seconds when it is given. Returns the tally and the wall time taken."""
    tally, stop, names = Tally(), threading.Event(), sorted(doors)
    started = time.monotonic()

    def phone(n: int) -> None:
        """A phone signed in as one demo worker, posting check-ins until told to stop."""
        name = names[n % len(names)]  # one demo worker per thread, in turn
        client = Client(port)
        if not client.sign_in(name):
            tally.refused.append((name, "sign-in", b""))
            return
        mine = doors[name]
        i = random.randrange(len(mine))
        while not stop.is_set():
            post_until_acked(client, mine[i % len(mine)], tally, time.monotonic() + GRACE)
            i += 1

    def killer() -> None:
        """SIGKILL one worker of the server every ``every`` seconds."""
        while not stop.wait(every):
            pids = server.workers()
            if pids:
                try:
                    os.kill(random.choice(pids), signal.SIGKILL)
                    tally.add(kills=1)
                except ProcessLookupError:
                    pass

    workers = [threading.Thread(target=phone, args=(n,)) for n in range(threads)]
    if server is not None:
        workers.append(threading.Thread(target=killer))
    for t in workers:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in workers:
        t.join()
    return tally, time.monotonic() - started


def check(url: str, before: int, tallies: list[Tally]) -> tuple[int, int, int]:
    """(lost, doubled, stored) against the database: every acknowledged key stored under the
    id its answer gave, one visit per key, as many new visits as acknowledged keys."""
    acked = {k: v for t in tallies for k, v in t.acked.items()}
    engine = create_engine(url)
    with engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT idempotency_key, id FROM visit")).all())
        rows = conn.scalar(text("SELECT count(*) FROM visit"))
        per_key = conn.execute(text("SELECT count(*) FROM visit GROUP BY idempotency_key "
                                    "HAVING count(*) > 1")).all()
    engine.dispose()
    lost = sum(1 for key, visit_id in acked.items() if stored.get(key) != visit_id)
    new = rows - before
    doubled = sum(n - 1 for (n,) in per_key) + max(0, new - len(acked))
    return lost, doubled, new


def report(label: str, tally: Tally, seconds: float) -> None:
    """One phase's figures."""
    waits = sorted(tally.waits) or [0.0]
    p99 = waits[min(len(waits) - 1, int(len(waits) * 0.99))]
    print(f"  {label:<6} posts {tally.posts:6d}  acks {len(tally.acked):6d}  retries "
          f"{tally.retries:5d} (acked as stored before: {tally.known})  kills {tally.kills:3d}"
          f"  duration {seconds:.1f} s")
    print(f"         acks/s {len(tally.acked) / seconds:6.1f}  from first send to ack: p50 "
          f"{statistics.median(waits) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
          f"max {waits[-1]:.1f} s")
    if tally.why_lost:
        print("         answers lost: " + ", ".join(
            f"{why} {n}" for why, n in sorted(tally.why_lost.items(), key=lambda x: -x[1])))


def run(url: str, args) -> bool:
    """Build, serve, drill and check one database; True when nothing was lost or doubled."""
    folder = tempfile.mkdtemp(prefix="kill-drill-")
    prefix = f"kill-drill-{os.getpid()}-{secrets.token_hex(4)}"
    env = serve_env(url, folder, prefix)
    for command in (["db", "upgrade"], ["demo"]):
        done = subprocess.run([str(BIN / "flask"), "--app", "wsgi", *command], cwd=ROOT,
                              env=env, capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"flask {' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    doors = doors_of_workers(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        before = conn.scalar(text("SELECT count(*) FROM visit"))
    engine.dispose()
    print(f"  {len(doors)} grid workers, {sum(map(len, doors.values()))} doors, "
          f"{before} visits of the demo history; {args.workers} workers, {args.threads} threads")
    server = Server(env, args.workers, Path(folder) / "gunicorn.log")
    try:
        calm = phase(server.port, doors, args.threads, args.calm, None, args.every)
        drill = phase(server.port, doors, args.threads, args.seconds, server, args.every)
    finally:
        server.stop()
        store = redis.Redis.from_url(REDIS_URL)
        for key in store.scan_iter(match=f"{prefix}:*"):
            store.delete(key)
        store.close()
    lost, doubled, new = check(url, before, [calm[0], drill[0]])
    report("calm", *calm)
    report("kills", *drill)
    ratio = (len(drill[0].acked) / drill[1]) / max(len(calm[0].acked) / calm[1], 1e-9)
    unacked = len(calm[0].unacked) + len(drill[0].unacked)
    refused = calm[0].refused + drill[0].refused
    print(f"  acks/s under kills / calm: {ratio:.2f}")
    print(f"  stored {new} new visits for {len(calm[0].acked) + len(drill[0].acked)} "
          f"acknowledged keys: lost {lost}, doubled {doubled}, never acknowledged {unacked}, "
          f"refused {len(refused)}")
    for key, status, body in refused[:5]:
        print(f"    refused {key}: HTTP {status} {body!r}")
    ok = not (lost or doubled or unacked or refused)
    if ok:
        shutil.rmtree(folder)
    else:
        print(f"  the server's log and instance folder: {folder}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="the drill with kills")
    parser.add_argument("--calm", type=float, default=10, help="the baseline, no kills")
    parser.add_argument("--threads", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--every", type=float, default=2, help="seconds between kills")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    print(f"kill drill on {args.db}: {args.calm:g} s calm, then {args.seconds:g} s with a "
          f"worker killed every {args.every:g} s")
    with database(args.db) as url:
        ok = run(url, args)
    print("  PASS" if ok else "  FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
