"""Benchmark: the door under load, as a ratio to a bare Flask app served the same way (issue 16).

    .venv/bin/python bench/door_load.py [--db sqlite|postgres|both] [--seconds 5] [--rounds 4]

For each backend it makes a fresh database with the demo street, starts carevisits under
gunicorn (``--workers 2``, sync workers, Redis for the limits, the scan thread off) and,
beside it under the same gunicorn settings, a bare Flask app whose one view returns "ok". It
signs in as the demo grid worker and drives, with wrk (Debian's package) at 32 connections:

- the anonymous door GET ``/c/<token>`` (the neutral page),
- the signed-in door GET (the check-in form),
- the check-in POST (JSON, as the phone's queue sends it; a new idempotency key each time),
- the round page ``/round/``,

each round alternating which of the project and the bare app goes first. It prints, per
request, the median over the rounds of req/s, p50/p99 latency and CPU per request (the
gunicorn processes' user+system time over the requests served), each beside the bare app's
and as a ratio; then the form GET's p99 at 64 connections; the SQL statements each request
sends (counted in-process with the test client on the same database); and, at the end, that
the visits stored equal the POSTs acknowledged (201) — none lost, none doubled. The project
runs as in production (the JSON request log on, its lines kept in the run's temporary folder).
"""

import argparse
import http.client
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, event, text  # noqa: E402

from bench.import_register import database  # noqa: E402

BIN = Path(sys.executable).parent
REDIS_URL = os.environ.get("CAREVISITS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
WORKERS = 2
PASSWORD = "carevisits-demo"
BARE_APP = '''from flask import Flask

app = Flask(__name__)


@app.get("/")
def ok():
    return "ok"
'''
# wrk's Lua: every POST a fresh idempotency key (thread id and counter), the doors in turn;
# the 201s (acknowledged visits) counted per thread and printed at the end.
POST_SCRIPT = '''
local doors = {DOORS}
local threads = {}
local prefix = "{PREFIX}"
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  n = 0
  acked = 0
end
function request()
  n = n + 1
  local door = doors[(n % #doors) + 1]
  local key = string.format("%s-%d-%d", prefix, tid, n)
  local body = "idempotency_key=" .. key .. door.fields
  return wrk.format("POST", door.path, nil, body)
end
function response(status, headers, body)
  if status == 201 then acked = acked + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("acked") end
  io.write(string.format("ACKED %d\\n", total))
end
'''


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def need_wrk() -> str:
    """wrk's path; it comes from Debian's packages (scripts/system-deps.sh wrk installs it)."""
    path = subprocess.run(["sh", "-c", "command -v wrk"], capture_output=True, text=True)
    if path.returncode != 0:
        subprocess.run([str(ROOT / "scripts" / "system-deps.sh"), "wrk"], check=True)
        return need_wrk()
    return path.stdout.strip()


@dataclass
class Server:
    """A gunicorn master serving on a port, and its processes' CPU seconds."""

    process: subprocess.Popen
    port: int

    def pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [self.process.pid, *map(int, children.read_text().split())]

    def cpu_seconds(self) -> float:
        ticks = 0
        for pid in self.pids():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")


@contextmanager
def gunicorn(app: str, env: dict, cwd: Path, config: str) -> Server:
    """gunicorn with two sync workers, answering on a free port, stopped afterwards; what it
    prints goes to a file in ``env["BENCH_LOGS"]``."""
    port = free_port()
    command = [str(BIN / "gunicorn"), "--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}",
               "--log-level", "warning", "--config", config, app]
    with open(Path(env["BENCH_LOGS"]) / f"{app.split(':')[0]}-{port}.log", "w") as log:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with closing(socket.create_connection(("127.0.0.1", port), timeout=1)):
                        break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"gunicorn for {app} did not start: "
                                           + Path(log.name).read_text()[-2000:]) from None
                    time.sleep(0.2)
            server = Server(process, port)
            while len(server.pids()) < WORKERS + 1:
                time.sleep(0.1)
            yield server
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


class Browser:
    """A signed-in session on the project's server, kept as its cookie header."""

    def __init__(self, port: int):
        self.port, self.cookies = port, {}

    def request(self, method: str, path: str, body: str | None = None,
                headers: dict | None = None) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        all_headers = {"Cookie": self.cookie_header(), **(headers or {})}
        conn.request(method, path, body=body, headers=all_headers)
        response = conn.getresponse()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        data = response.read().decode()
        conn.close()
        return response.status, data

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def sign_in(self, username: str) -> str:
        """Sign in through the form; the CSRF token the phone's queue would send."""
        _, page = self.request("GET", "/login")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        status, _ = self.request(
            "POST", "/login", urlencode({"csrf_token": token, "username": username,
                                         "password": PASSWORD}),
            {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 302, f"sign-in as {username} answered {status}"
        status, body = self.request("GET", "/door/session.json")
        assert status == 200, status
        return json.loads(body)["csrf"]


def wrk(url: str, seconds: int, connections: int, headers: dict,
        script: str | None = None) -> dict:
    """One wrk run: req/s, p50 and p99 in ms, requests, non-2xx/3xx answers, and what the
    script printed."""
    command = [need_wrk(), "-t2", f"-c{connections}", f"-d{seconds}s", "--latency",
               "--timeout", "10s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        if script:
            lua.write(script)
            lua.flush()
            command += ["-s", lua.name]
        out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout

    def latency(pct: str) -> float:
        value, unit = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       out)
    acked = re.search(r"^ACKED (\d+)", out, re.M)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50": latency("50"), "p99": latency("99"),
            "requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "bad": int(bad.group(1)) if bad else 0,
            "socket_errors": sum(map(int, errors.groups())) if errors else 0,
            "acked": int(acked.group(1)) if acked else None}


def measured(server: Server, url: str, seconds: int, connections: int, headers: dict,
             script: str | None = None) -> dict:
    """A wrk run with the CPU the server's processes spent per request served."""
    before = server.cpu_seconds()
    result = wrk(url, seconds, connections, headers, script)
    result["cpu_ms"] = (server.cpu_seconds() - before) * 1000 / max(result["requests"], 1)
    return result


def prepare(url: str, env: dict) -> None:
    """The schema and the demo street in the fresh database."""
    for args in (["db", "upgrade"], ["demo"]):
        subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env,
                       check=True, capture_output=True)


def doors(url: str) -> tuple[str, list[tuple[str, str]]]:
    """A card of another grid (the anonymous GET) and the worker's own doors with the
    fields of a check-in at each (every elder met, all well)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        worker = conn.scalar(text("SELECT id FROM \"user\" WHERE username = 'worker'"))
        rows = conn.execute(text(
            "SELECT d.token, e.id FROM door_code d JOIN household h ON h.id = d.household_id "
            "JOIN elder e ON e.household_id = h.id JOIN grid_assignment a ON a.grid_id = h.grid_id "
            "WHERE a.user_id = :w AND d.revoked_at IS NULL AND h.closed_at IS NULL "
            "AND e.closed_reason IS NULL ORDER BY h.id, e.id"),
            {"w": worker}).all()
        other = conn.scalar(text(
            "SELECT d.token FROM door_code d JOIN household h ON h.id = d.household_id "
            "WHERE h.grid_id NOT IN (SELECT grid_id FROM grid_assignment WHERE user_id = :w) "
            "AND d.revoked_at IS NULL LIMIT 1"), {"w": worker})
    engine.dispose()
    fields: dict[str, str] = {}
    for token, elder in rows:
        fields[token] = fields.get(token, "") + f"&e{elder}-outcome=met_well"
    return other, [(f"/c/{token}", f) for token, f in list(fields.items())[:20]]


def statements_per_request(url: str, form_path: str, fields: str) -> dict[str, int]:
    """The SQL statements each request sends, in-process with the test client."""
    from carevisits import create_app
    from carevisits.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
                      "SCHEDULER": False})
    sent: list[str] = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute",
                     lambda *args: sent.append(args[2]))
    client = app.test_client()
    counts = {}
    anonymous = app.test_client()
    client.post("/login", data={"username": "worker", "password": PASSWORD})

    def count(label, call):
        call()  # whatever a first request does once
        sent.clear()
        call()
        counts[label] = len(sent)

    count("anonymous GET /c/<token>", lambda: anonymous.get(form_path))
    count("signed-in GET /c/<token>", lambda: client.get(form_path))
    count("POST /c/<token>", lambda: client.post(
        form_path, data=f"idempotency_key=stmt-{secrets.token_hex(8)}{fields}",
        content_type="application/x-www-form-urlencoded",
        headers={"Accept": "application/json"}))
    count("GET /round/", lambda: client.get("/round/"))
    with app.app_context():
        db.engine.dispose()
    return counts


def run(backend: str, seconds: int, rounds: int) -> None:
    with database(backend) as url, tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "CAREVISITS_DATABASE_URL": url, "CAREVISITS_SCHEDULER": "0",
               "CAREVISITS_SECRET_KEY": secrets.token_hex(16),
               "CAREVISITS_RATELIMIT_STORAGE_URI": REDIS_URL,
               "CAREVISITS_RATELIMIT_KEY_PREFIX": f"bench-door-{secrets.token_hex(4)}",
               # The servers' output (the request log, on as in production) goes here.
               "BENCH_LOGS": folder}
        prepare(url, env)
        other, own = doors(url)
        Path(folder, "bare.py").write_text(BARE_APP)
        Path(folder, "bare.conf.py").write_text("")  # gunicorn's defaults, as the project's
        prefix = f"load{secrets.token_hex(4)}"
        lua = POST_SCRIPT.replace("{PREFIX}", prefix).replace("{DOORS}", "{" + ", ".join(
            f'{{path = "{path}", fields = "{fields}"}}' for path, fields in own) + "}")
        with gunicorn("bare:app", env, Path(folder), "bare.conf.py") as bare, \
                gunicorn("wsgi:app", env, ROOT, str(ROOT / "gunicorn.conf.py")) as project:
            browser = Browser(project.port)
            csrf = browser.sign_in("worker")
            signed_in = {"Cookie": browser.cookie_header()}
            posting = {**signed_in, "X-CSRFToken": csrf, "Accept": "application/json",
                       "Content-Type": "application/x-www-form-urlencoded"}
            base = f"http://127.0.0.1:{project.port}"
            kinds = {
                "anonymous GET /c/<token>": (f"{base}/c/{other.removeprefix('/c/')}", {}, None),
                "signed-in GET /c/<token>": (base + own[0][0], signed_in, None),
                "POST /c/<token> (check-in)": (base + own[0][0], posting, lua),
                "GET /round/": (f"{base}/round/", signed_in, None),
            }
            results = {label: ([], []) for label in kinds}
            acked = 0
            for r in range(rounds):
                for label, (target, headers, script) in kinds.items():
                    pair = [(0, bare, f"http://127.0.0.1:{bare.port}/", {}, None),
                            (1, project, target, headers, script)]
                    for which, server, target_url, hdrs, lua_script in (
                            pair if r % 2 == 0 else pair[::-1]):
                        result = measured(server, target_url, seconds, 32, hdrs, lua_script)
                        if which == 1 and result["bad"] + result["socket_errors"]:
                            print(f"  ! {label}: {result['bad']} non-2xx/3xx answers, "
                                  f"{result['socket_errors']} socket errors")
                        if lua_script:
                            acked += result["acked"]
                        results[label][which].append(result)
            p99 = {name: measured(server, target, seconds, 64, hdrs)["p99"]
                   for name, server, target, hdrs in (
                       ("bare", bare, f"http://127.0.0.1:{bare.port}/", {}),
                       ("project", project, base + own[0][0], signed_in))}
        report(backend, results, p99)
        counts = statements_per_request(url, own[0][0], own[0][1])
        print("  SQL statements per request: " + ", ".join(
            f"{label} {n}" for label, n in counts.items()))
        engine = create_engine(url)
        with engine.connect() as conn:
            stored = conn.scalar(text("SELECT count(*) FROM visit WHERE idempotency_key LIKE :p"),
                                 {"p": f"{prefix}-%"})
            keys = conn.scalar(text("SELECT count(DISTINCT idempotency_key) FROM visit "
                                    "WHERE idempotency_key LIKE :p"), {"p": f"{prefix}-%"})
        engine.dispose()
        # A POST in flight when wrk stops at the end of a run may be stored without its answer
        # being read: not acknowledged, not lost (at most one per connection and run).
        in_flight = stored - acked
        fine = stored == keys and 0 <= in_flight <= 32 * rounds
        print(f"  check-ins acknowledged (201): {acked}; visits stored: {stored} under {keys} "
              f"keys ({in_flight} were in flight when a run stopped): "
              + ("none lost, none doubled" if fine else "LOST OR DOUBLED"))
        if not fine:
            sys.exit(1)


def report(backend: str, results: dict, p99: dict) -> None:
    print(f"\n{backend}: {WORKERS} sync gunicorn workers, wrk 32 connections, "
          f"medians of {len(next(iter(results.values()))[0])} rounds")
    print(f"  {'request':<28} {'req/s':>8} {'bare':>8} {'ratio':>6}   {'p50 ms':>7} {'p99 ms':>7}"
          f"   {'CPU ms/req':>10} {'bare':>6}")
    for label, (bare_runs, runs) in results.items():
        def median(key, series):
            return statistics.median(x[key] for x in series)
        rps, bare_rps = median("rps", runs), median("rps", bare_runs)
        print(f"  {label:<28} {rps:8.0f} {bare_rps:8.0f} {rps / bare_rps:6.3f}   "
              f"{median('p50', runs):7.1f} {median('p99', runs):7.1f}   "
              f"{median('cpu_ms', runs):10.2f} {median('cpu_ms', bare_runs):6.2f}")
    print(f"  signed-in GET /c/<token> at 64 connections: p99 {p99['project']:.0f} ms "
          f"(bare Flask {p99['bare']:.0f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seconds", type=int, default=5, help="per wrk run")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    need_wrk()
    for backend in ("sqlite", "postgres"):
        if args.db in (backend, "both"):
            run(backend, args.seconds, args.rounds)


if __name__ == "__main__":
    main()
