"""Benchmark: the door without signal (issue 14 §6) — the round pack of a 500-household grid,
fetching it on a slow 3G line, and sending 20 visits kept on the phone.

    .venv/bin/python bench/round_pack.py [--households 500] [--visits 20] [--runs 3]
                                         [--db sqlite|postgres] [--send local|slow3g|both]

It builds, in a fresh database (a SQLite file in a temporary directory, or a new PostgreSQL
database on 127.0.0.1:5432 as user postgres), one grid of N households with the tests'
factories (1 or 2 elders each, alternately; some with tags; a last contact within the last
week; 2 or 3 services each from the seeded catalogue, none that takes a reading) and its grid
worker, and a second grid of N/10 households with its own worker. Then:

1. Size: GET /round/pack.json through the Flask test client as each worker: bytes raw and
   gzip'd (levels 1 and 6), the SQL statements sent to build it (if the count differs between
   the two grids, it grows with households) and the server's time (median); the round page
   /round/ of the same worker as the baseline.
2. Slow 3G: the app served over HTTP (tests/live_server.serve, werkzeug threads), Debian's
   chromium driven by Playwright with the tests' phone context, service workers blocked (so
   every request is the page's own and throttled), the HTTP cache off, and DevTools' "Slow 3G"
   profile set by CDP Network.emulateNetworkConditions: 2 000 ms latency, 50 000 B/s
   (400 kbit/s) down and up — DevTools' 400 ms RTT × 5 and 500 kbit/s × 0.8. Times fetch()
   of the pack (as static/queue.js does) and, as the baseline, of the round page's HTML; then
   opening the round page until its load event and until the pack is kept in IndexedDB.
   Each as the app serves it (no compression) and gzip'd at level 6 by a WSGI middleware
   (what a reverse proxy with gzip on for text/html and application/json sends).
3. Send: a phone context with its service worker, signed in as the worker; the round opened
   (pack and door form kept); offline (context.set_offline); M door URLs of the pack opened
   and each form saved (kept in IndexedDB by static/checkin.js); online again: the time until
   the page shows no visit waiting (static/queue.js's .queue-count is gone) and the database
   holds the M visits (--runs times, fresh doors each time). Baseline: M other doors opened
   and saved online one after another in the same browser (tap to confirmation page; and the
   whole open-fill-save), in a context without service worker (DevTools' throttling does not
   reach a worker's own fetches). With --send slow3g or both, the same again on "Slow 3G":
   set on the page as the network returns, and for the whole baseline.
"""

import argparse
import gzip
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from itertools import islice
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import flask_migrate  # noqa: E402
from playwright import sync_api  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench.alert_scan import IsolatedClient  # noqa: E402
from bench.import_register import database  # noqa: E402
from carevisits import create_app  # noqa: E402
from carevisits.extensions import db  # noqa: E402
from carevisits.models import Frequency, Role, ServiceItem, Visit  # noqa: E402
from carevisits.models.base import local_today, utcnow  # noqa: E402
from carevisits.services import menus, schedule  # noqa: E402
from tests import factories  # noqa: E402
from tests.browser import CHROMIUM, CHROMIUM_ARGS, PHONE, sign_in  # noqa: E402
from tests.live_server import serve  # noqa: E402
from tests.test_scan import statements_sent  # noqa: E402

# DevTools' "Slow 3G" (SDK.NetworkManager.Slow3GConditions): 400 ms × 5, 500 kbit/s × 0.8.
SLOW_3G = {"offline": False, "latency": 400 * 5, "downloadThroughput": 500 * 1000 / 8 * 0.8,
           "uploadThroughput": 500 * 1000 / 8 * 0.8}
NO_THROTTLE = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
SERVICES = ["助餐", "助洁", "代买药", "读书读报", "谈心疏导", "洗衣"]  # none takes a reading
FREQUENCIES = [Frequency.EVERY_VISIT, Frequency.WEEKLY, Frequency.MONTHLY, Frequency.ON_REQUEST]
TAGS = [[], [], ["行动不便"], ["听力差"], ["行动不便", "独居"]]
TIMEOUT_MS = 180_000

FETCH = """async ([url, accept]) => {
  performance.clearResourceTimings();
  const t0 = performance.now();
  const r = await fetch(url, {credentials: "same-origin", headers: {Accept: accept}});
  const body = await r.arrayBuffer();
  const ms = performance.now() - t0;
  const e = performance.getEntriesByType("resource").filter(x => x.name.endsWith(url)).pop();
  return {ms, status: r.status, bytes: body.byteLength, transfer: e ? e.transferSize : -1};
}"""
KEPT_AT = """() => new Promise(resolve => {
  const req = indexedDB.open("carevisits", 1);
  req.onsuccess = () => {
    const get = req.result.transaction("pack").objectStore("pack").get("round");
    get.onsuccess = () => resolve(get.result ? get.result.saved - performance.timeOrigin : null);
    get.onerror = () => resolve(null);
  };
  req.onerror = () => resolve(null);
})"""
# The door form kept and the service worker active: it answers door URLs (navigations in its
# scope) whether or not it controls the round page itself yet.
READY = """async () => {
  const form = await caches.match("/door/offline");
  const reg = await navigator.serviceWorker.getRegistration("/");
  return !!form && !!(reg && reg.active);
}"""
READY_PARTS = """async () => ({form: !!(await caches.match("/door/offline")),
  controller: !!navigator.serviceWorker.controller,
  registration: !!(await navigator.serviceWorker.getRegistration("/"))})"""


class GzipWhenOn:
    """gzip (level 6) of HTML and JSON answers while ``on`` and the browser accepts it."""

    def __init__(self, app):
        self.app, self.on = app, False

    def __call__(self, environ, start_response):
        if not self.on or "gzip" not in environ.get("HTTP_ACCEPT_ENCODING", ""):
            return self.app(environ, start_response)
        got, chunks = {}, []

        def keep(status, headers, exc_info=None):
            got["status"], got["headers"] = status, headers
            return chunks.append

        result = self.app(environ, keep)
        try:
            chunks.extend(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        body, headers = b"".join(chunks), got["headers"]
        kind = next((v for k, v in headers if k.lower() == "content-type"), "")
        if kind.startswith(("text/html", "application/json")):
            body = gzip.compress(body, 6, mtime=0)
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers += [("Content-Encoding", "gzip"), ("Content-Length", str(len(body))),
                        ("Vary", "Accept-Encoding")]
        start_response(got["status"], headers)
        return [body]


# --------------------------------------------------------------------------- data

def build(households: int) -> dict:
    """The two grids, their workers and the menus; returns the workers' usernames and the
    door tokens of the big grid."""
    rng = random.Random(14)
    street = factories.street("芙蓉街道")
    community = factories.community(street, "芙蓉街社区")
    coordinator = factories.user(Role.COORDINATOR, username="coordinator", street=street)
    menus.seed_catalogue()
    db.session.flush()
    items = list(db.session.scalars(select(ServiceItem).where(ServiceItem.name.in_(SERVICES))))
    now, today = utcnow(), local_today()
    workers, tokens = {}, []
    for name, count in (("worker", households), ("worker_small", max(1, households // 10))):
        grid = factories.grid(community, f"{name}网格")
        workers[name] = factories.user(Role.GRID_WORKER, username=name, grid=grid).username
        for k in range(count):
            household = factories.household(
                grid, elders=1 + k % 2, address="芙蓉街37号院", building=str(k // 20 + 1),
                room=f"{k % 20 // 4 + 1}0{k % 4 + 1}")
            for elder in household.elders:
                elder.tags = rng.choice(TAGS)
                elder.last_contact_at = now - timedelta(hours=rng.uniform(1, 24 * 6))
                for item in rng.sample(items, rng.choice([2, 3])):
                    menus.add_to_menu(elder, item=item, frequency=rng.choice(FREQUENCIES),
                                      notes="", starts_on=today, ends_on=None,
                                      actor=coordinator)
            schedule.refresh(household.elders)
            if name == "worker":
                tokens.append(household.code.token)
        db.session.commit()
    return workers, tokens


# --------------------------------------------------------------------------- 1. size

def size_of(app, username: str, runs: int) -> dict:
    """The pack and the round page of one worker, through the test client."""
    client = app.test_client()
    with client.get("/login") as page:
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                          page.get_data(as_text=True)).group(1)
    signed_in = client.post("/login", data={"username": username, "csrf_token": token,
                                            "password": factories.PASSWORD})
    assert signed_in.status_code == 302, signed_in.status_code
    figures = {}
    for label, url in (("pack", "/round/pack.json"), ("round", "/round/")):
        times = []
        for _ in range(runs + 1):
            with app.app_context(), statements_sent() as sent:
                t0 = time.perf_counter()
                response = client.get(url)
                times.append(time.perf_counter() - t0)
            assert response.status_code == 200, (url, response.status_code)
        body = response.get_data()
        figures[label] = {"raw": len(body), "gzip1": len(gzip.compress(body, 1, mtime=0)),
                          "gzip6": len(gzip.compress(body, 6, mtime=0)),
                          "statements": len(sent), "ms": statistics.median(times[1:]) * 1000}
        if label == "pack":
            figures["households"] = len(response.json["households"])
            figures["elders"] = sum(len(h["elders"]) for h in response.json["households"])
            figures["version"] = response.json["version"]
    return figures


def report_size(big: dict, small: dict) -> None:
    print("\n1. The round pack's size (GET through the Flask test client)")
    for label, f in (("worker", big), ("worker_small", small)):
        print(f"  {label}: {f['households']} households, {f['elders']} elders "
              f"(pack version {f['version']})")
        for what in ("pack", "round"):
            x = f[what]
            print(f"    {what:<5} {x['raw']:>9,} B raw  {x['gzip1']:>8,} B gzip -1  "
                  f"{x['gzip6']:>8,} B gzip -6  {x['statements']:>5} SQL statements  "
                  f"{x['ms']:7.1f} ms (median)")
    per = big["pack"]["raw"] / big["households"]
    print(f"  pack: {per:,.0f} B raw per household; pack / round page: "
          f"{big['pack']['raw'] / big['round']['raw']:.2f}× raw, "
          f"{big['pack']['gzip6'] / big['round']['gzip6']:.2f}× gzip'd")
    a, b = big["pack"]["statements"], small["pack"]["statements"]
    if a != b:
        grow = (a - b) / (big["households"] - small["households"])
        print(f"  the pack's SQL statements GROW with households: {b} for {small['households']}"
              f", {a} for {big['households']} ({grow:.2f} more per household)")
    else:
        print(f"  the pack's SQL statements do not grow with households ({a} for both)")


# --------------------------------------------------------------------------- 2. slow 3G

def phone_signed_in(browser, base: str, username: str, **options):
    context = browser.new_context(**PHONE, **options)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    sign_in(page, base, SimpleNamespace(username=username))
    return context, page


def slow_fetches(browser, base: str, gzipper: GzipWhenOn, runs: int) -> dict:
    context, page = phone_signed_in(browser, base, "worker", service_workers="block")
    page.goto(base + "/round/")
    page.wait_for_load_state("networkidle")
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    figures = {}
    for compressed in (False, True):
        gzipper.on = compressed
        cdp.send("Network.emulateNetworkConditions", SLOW_3G)
        rows = {"pack": [], "round": [], "load": [], "kept": []}
        for url, accept in (("/round/pack.json", "application/json"), ("/round/", "text/html")):
            page.evaluate(FETCH, [url, accept])  # warm-up, not counted
        for _ in range(runs):
            for key, url, accept in (("pack", "/round/pack.json", "application/json"),
                                     ("round", "/round/", "text/html")):
                got = page.evaluate(FETCH, [url, accept])
                assert got["status"] == 200, got
                rows[key].append(got)
            page.goto(base + "/round/", wait_until="load")
            load = page.evaluate('performance.getEntriesByType("navigation")[0].loadEventEnd')
            kept = None
            while kept is None or kept < 0:
                page.wait_for_timeout(100)
                kept = page.evaluate(KEPT_AT)
            rows["load"].append(load)
            rows["kept"].append(kept)
        cdp.send("Network.emulateNetworkConditions", NO_THROTTLE)
        figures["gzip" if compressed else "raw"] = rows
    gzipper.on = False
    context.close()
    return figures


def seconds(milliseconds) -> str:
    """Single runs, in seconds: ``[7.41, 7.38, 7.40]``."""
    return "[" + ", ".join(f"{ms / 1000:.2f}" for ms in milliseconds) + "]"


def report_slow(figures: dict) -> None:
    print('\n2. Fetching on DevTools\' "Slow 3G" (2 000 ms latency, 400 kbit/s down and up), '
          "Chromium, median of the runs [single runs]")
    for served, rows in figures.items():
        label = "as the app serves it (no compression)" if served == "raw" else "gzip -6"
        pack = statistics.median(r["ms"] for r in rows["pack"])
        page = statistics.median(r["ms"] for r in rows["round"])
        print(f"  {label}:")
        for key, name in (("pack", "fetch /round/pack.json"),
                          ("round", "baseline: fetch /round/ (HTML)")):
            r = rows[key]
            print(f"    {name:<34} {statistics.median(x['ms'] for x in r) / 1000:6.2f} s "
                  f"{seconds(x['ms'] for x in r)}  "
                  f"{r[-1]['transfer']:>8,} B transferred, {r[-1]['bytes']:>8,} B body")
        print(f"    ratio pack / round page: {pack / page:.2f}")
        for key, name in (("load", "open /round/ until its load event"),
                          ("kept", "open /round/ until the pack is kept")):
            print(f"    {name:<34} {statistics.median(rows[key]) / 1000:6.2f} s "
                  f"{seconds(rows[key])}")


# --------------------------------------------------------------------------- 3. send

def visits_in_db(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Visit))


def fill(page) -> None:
    """Every elder met, all well (the services due stay ticked)."""
    page.locator(".door-address").filter(has_text="芙蓉街").wait_for()
    for label in page.locator("fieldset.elder label.choice-met_well").all():
        label.tap()


def send_queued(browser, app, base: str, tokens: list[str], throttle: dict | None) -> dict:
    context, page = phone_signed_in(browser, base, "worker")
    page.goto(base + "/round/")
    for _ in range(1200):
        if page.evaluate(READY) and page.evaluate(KEPT_AT) is not None:
            break
        page.wait_for_timeout(100)
    else:
        raise RuntimeError(f"the round pack and the door form were not kept: "
                           f"{page.evaluate(READY_PARTS)}, pack {page.evaluate(KEPT_AT)}")
    context.set_offline(True)  # the page and its service worker
    for token in tokens:
        page.goto(f"{base}/c/{token}")
        fill(page)
        page.locator("#checkin button[type=submit]").tap()
        page.locator(".saved-offline").wait_for()
    page.locator(".queue-count").filter(has_text=str(len(tokens))).wait_for()
    before = visits_in_db(app)
    failed = []
    page.on("requestfailed", lambda request: failed.append(request.url))  # then a retry
    cdp = context.new_cdp_session(page) if throttle else None
    if cdp:
        cdp.send("Network.enable")
    t0 = time.perf_counter()
    if cdp:
        # The page's own conditions decide its requests (and fire "online"): the network
        # comes back slow. Then the service worker's too (Playwright's offline flag).
        cdp.send("Network.emulateNetworkConditions", throttle)
    context.set_offline(False)
    page.locator(".queue-count").wait_for(state="detached", timeout=TIMEOUT_MS)
    while visits_in_db(app) < before + len(tokens):
        time.sleep(0.01)
    queued = time.perf_counter() - t0
    assert visits_in_db(app) == before + len(tokens)
    sent = page.locator(".queue-sent").count()
    context.close()
    return {"queued": queued, "sent_shown": sent, "failed": len(failed)}


def save_online(browser, app, base: str, tokens: list[str], throttle: dict | None) -> dict:
    # No service worker: DevTools' throttling does not reach a worker's own fetches, so the
    # door pages would load at full speed through it.
    context, page = phone_signed_in(browser, base, "worker", service_workers="block")
    if throttle:
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", throttle)
    before = visits_in_db(app)
    saves, t_all = [], time.perf_counter()
    for token in tokens:
        page.goto(f"{base}/c/{token}")
        fill(page)
        t0 = time.perf_counter()
        with page.expect_navigation(timeout=TIMEOUT_MS):
            page.locator("#checkin button[type=submit]").tap()
        saves.append(time.perf_counter() - t0)
    whole = time.perf_counter() - t_all
    assert visits_in_db(app) == before + len(tokens)
    context.close()
    return {"saves": sum(saves), "each": saves, "whole": whole}


def report_send(label: str, queued: list[dict], online: dict, n: int) -> None:
    median = statistics.median(q["queued"] for q in queued)
    print(f"  {label}:")
    print(f"    {n} queued visits sent when the network returns: {median:6.2f} s median "
          f"({median / n * 1000:.0f} ms a visit) "
          f"{seconds(q['queued'] * 1000 for q in queued)}; shown as sent: "
          f"{[q['sent_shown'] for q in queued]}; requests failed after the network returned "
          f"(the next try is the 30 s retry): {[q['failed'] for q in queued]}")
    print(f"    baseline: {n} saved online, tap to confirmation: {online['saves']:6.2f} s "
          f"({online['saves'] / n * 1000:.0f} ms a visit, median "
          f"{statistics.median(online['each']) * 1000:.0f} ms)")
    print(f"    baseline: {n} doors opened, filled and saved online: {online['whole']:6.2f} s")
    print(f"    ratio queued / saved online: {median / online['saves']:.2f} "
          f"(against the whole online round: {median / online['whole']:.2f})")


# --------------------------------------------------------------------------- main

def machine() -> str:
    version = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True,
                             check=False).stdout.strip()
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return (f"{platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, {version}, load average {load}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=500)
    parser.add_argument("--visits", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--send", choices=["local", "slow3g", "both"], default="both")
    args = parser.parse_args()
    print(f"round pack, {args.households} households, {args.visits} visits, {args.db}; "
          f"{machine()}")
    with database(args.db) as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                          "SCHEDULER": False})
        app.test_client_class = IsolatedClient
        with app.app_context():
            flask_migrate.upgrade()
            t0 = time.perf_counter()
            workers, doors = build(args.households)
            print(f"built in {time.perf_counter() - t0:.1f} s")
            db.session.remove()
        big = size_of(app, workers["worker"], args.runs)
        small = size_of(app, workers["worker_small"], args.runs)
        report_size(big, small)
        tokens = iter(doors)  # fresh doors for every run
        n = args.visits
        assert big["households"] >= 2 * (args.runs + 1) * n, "too few households to send"
        gzipper = GzipWhenOn(app.wsgi_app)
        app.wsgi_app = gzipper
        with serve(app) as base, sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                        headless=True)
            try:
                report_slow(slow_fetches(browser, base, gzipper, args.runs))
                print(f"\n3. Sending {args.visits} visits kept on the phone (Chromium)")
                profiles = {"local": [("no throttling", None)],
                            "slow3g": [('"Slow 3G"', SLOW_3G)]}
                chosen = (profiles["local"] + profiles["slow3g"] if args.send == "both"
                          else profiles[args.send])
                for label, throttle in chosen:
                    queued = [send_queued(browser, app, base, list(islice(tokens, n)), throttle)
                              for _ in range(args.runs)]
                    online = save_online(browser, app, base, list(islice(tokens, n)), throttle)
                    report_send(label, queued, online, n)
            finally:
                browser.close()


if __name__ == "__main__":
    main()
