"""Limits that hold: guessing is slowed without locking the owner out (throttle.py),
invite codes are throttled, and every gunicorn worker counts the same attempts (Redis).

The first part runs in-process (memory storage, one process); the second starts two real
gunicorn workers on Redis and sends every counted request to each worker in turn."""

import http.client
import os
import re
import sqlite3
import subprocess
import sys
import time
import uuid
from contextlib import closing
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

import flask_migrate
import pytest
import redis

from carevisits import create_app
from carevisits.extensions import db
from carevisits.models import AuditEvent, FamilyInvite, Role
from carevisits.services import family
from tests import factories
from tests.conftest import count, make_app
from tests.test_make_run import free_port

REPO = Path(__file__).resolve().parent.parent
VENV = Path(sys.prefix) if (Path(sys.prefix) / "bin" / "gunicorn").exists() else REPO / ".venv"
REDIS_URL = os.environ.get("CAREVISITS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REFUSED = "登录失败次数过多"  # the sign-in page's refusal, in Chinese
WRONG = "用户名或密码错误"


def attempt(client, username: str, password: str, address: str = "127.0.0.1"):
    """One sign-in through the form, from ``address``."""
    return client.post("/login", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def _fail(client, username: str, times: int, address: str = "127.0.0.1") -> None:
    for _ in range(times):
        response = attempt(client, username, "wrong-password-x", address)
        assert response.status_code == 200 and WRONG in response.get_data(as_text=True)


def _signed_in_before(app, user):
    """A browser that has signed in to ``user`` before (and signed out again)."""
    browser = app.test_client()
    assert attempt(browser, user.username, factories.PASSWORD).status_code == 302
    assert browser.get_cookie("device") is not None
    assert browser.post("/logout").status_code == 302
    return browser


# --- sign-in: slowed for strangers, open to the owner's own browsers -------------------------

def test_five_failures_refuse_new_browsers_but_the_owners_phone_still_signs_in(app, world):
    phone = _signed_in_before(app, world.worker)
    attacker = app.test_client()
    _fail(attacker, "worker", 5)
    refused = attempt(attacker, "worker", factories.PASSWORD)  # even the right password waits
    assert refused.status_code == 429
    page = refused.get_data(as_text=True)
    assert REFUSED in page and 'name="username"' in page  # the form, with the way in
    assert "/login" in attacker.get("/round/").location
    # The owner's phone has signed in before: it is not refused, and gets in.
    assert attempt(phone, "WORKER ", factories.PASSWORD).location.endswith("/round/")
    # Other accounts from the same address are not touched.
    assert attempt(app.test_client(), "worker2", factories.PASSWORD).status_code == 302


def test_a_trusted_browser_has_its_own_small_count(app, world):
    phone = _signed_in_before(app, world.worker)
    _fail(phone, "worker", 10)
    refused = attempt(phone, "worker", factories.PASSWORD)
    assert refused.status_code == 429
    assert "此浏览器登录失败次数过多" in refused.get_data(as_text=True)
    # A stranger's count is another one: the phone's failures did not lock strangers out.
    assert attempt(app.test_client(), "worker", factories.PASSWORD).status_code == 302


def test_a_forged_device_cookie_is_not_trusted(app, world):
    attacker = app.test_client()
    attacker.set_cookie("device", "eyJ3b3JrZXIiOiJ4In0.forged.signature")
    _fail(attacker, "worker", 5)
    assert attempt(attacker, "worker", factories.PASSWORD).status_code == 429


def test_guessing_spread_over_addresses_is_counted_per_account(app, world):
    phone = _signed_in_before(app, world.worker)
    attacker = app.test_client()
    for n in range(5):  # 4 failures from each of 5 addresses: none over its own 5
        _fail(attacker, "worker", 4, address=f"10.0.0.{n + 1}")
    assert attempt(app.test_client(), "worker", factories.PASSWORD,
                   address="10.9.9.9").status_code == 429
    assert attempt(phone, "worker", factories.PASSWORD, address="10.9.9.9").status_code == 302


def _colleagues(n: int) -> list[str]:
    names = [factories.user(Role.GRID_WORKER, username=f"colleague{i}").username
             for i in range(n)]
    db.session.commit()
    return names


def test_an_office_behind_one_address_is_not_locked_out_by_its_typos(app, world):
    office = app.test_client()
    # 60 colleagues behind the office NAT each mistype once (the old limit was 30) …
    for name in _colleagues(60):
        assert attempt(office, name, "typo-typo-typo", "10.1.1.1").status_code == 200
        # … and then sign in.
        assert attempt(office, name, factories.PASSWORD, "10.1.1.1").status_code == 302
        office.post("/logout")
    assert attempt(office, "worker", factories.PASSWORD, "10.1.1.1").status_code == 302


def test_a_flood_from_one_address_stops_strangers_there_but_not_known_browsers(app, world):
    names = _colleagues(20)
    phone = _signed_in_before(app, world.worker)
    flood = app.test_client()
    for name in names:  # 5 wrong passwords for each of 20 accounts
        _fail(flood, name, 5, "10.2.2.2")
    assert attempt(flood, "worker2", factories.PASSWORD, "10.2.2.2").status_code == 429
    assert attempt(phone, "worker", factories.PASSWORD, "10.2.2.2").status_code == 302


def test_an_admin_unlock_lets_new_browsers_in_again(app, world, as_user):
    attacker = app.test_client()
    _fail(attacker, "worker", 5)
    assert attempt(attacker, "worker", factories.PASSWORD).status_code == 429
    admin = as_user(world.admin)
    page = admin.get(f"/admin/users/{world.worker.id}").get_data(as_text=True)
    assert "解锁登录" in page
    response = admin.post(f"/admin/users/{world.worker.id}/unlock", follow_redirects=True)
    assert "已清除 worker 的登录失败记录" in response.get_data(as_text=True)
    assert count(AuditEvent, AuditEvent.action == "user.unlock") == 1
    assert attempt(attacker, "worker", factories.PASSWORD).status_code == 302


def test_successful_sign_ins_count_nothing(client, world):
    for _ in range(12):
        assert attempt(client, "worker", factories.PASSWORD).status_code == 302
        client.post("/logout")


# --- invite codes ---------------------------------------------------------------------------

def _invite(world):
    invite = family.create_invite(world.h1.elders[0], relation="女儿",
                                  may_see_observations=False, actor=world.coordinator)
    db.session.commit()
    return invite.code


def _enter_code(client, code: str, address: str = "127.0.0.1"):
    return client.post("/family/", data={"code": code}, environ_base={"REMOTE_ADDR": address})


def test_wrong_invite_codes_are_throttled_per_account(app, world, as_user):
    code = _invite(world)
    guesser = as_user(world.family)
    for n in range(10):
        assert _enter_code(guesser, f"WRONG{n:05d}").status_code == 422
    assert _enter_code(guesser, code).status_code == 429  # over the limit: not redeemed
    assert count(FamilyInvite, FamilyInvite.used_at.is_not(None)) == 0
    # Another family account elsewhere still redeems it.
    other = app.test_client()
    factories.user(Role.FAMILY, username="fam2")
    db.session.commit()
    assert attempt(other, "fam2", factories.PASSWORD, "10.3.3.3").status_code == 302
    assert _enter_code(other, code, "10.3.3.3").status_code == 302


def test_wrong_invite_codes_are_throttled_per_address(app, world):
    code = _invite(world)
    for n in range(3):  # three accounts, ten wrong codes each, one address
        factories.user(Role.FAMILY, username=f"guess{n}")
    db.session.commit()
    for n in range(3):
        browser = app.test_client()
        assert attempt(browser, f"guess{n}", factories.PASSWORD).status_code == 302
        for m in range(10):
            assert _enter_code(browser, f"WRONG{n}{m:04d}").status_code == 422
    browser = app.test_client()
    assert attempt(browser, "fam", factories.PASSWORD).status_code == 302
    assert _enter_code(browser, code).status_code == 429


# --- CSRF token rotation, HSTS and the language cookie ---------------------------------------

def _token(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def test_the_csrf_token_changes_at_sign_in(database_url, tmp_path, world):
    app = make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)
    browser = app.test_client()
    before = _token(browser.get("/login").get_data(as_text=True))
    assert browser.post("/login", data={"username": "worker", "password": factories.PASSWORD,
                                        "csrf_token": before}).status_code == 302
    # The token seen before sign-in no longer sends a form; the page's new one does.
    assert browser.post("/logout", data={"csrf_token": before}).status_code == 400
    after = _token(browser.get("/round/").get_data(as_text=True))
    assert after != before
    assert browser.post("/logout", data={"csrf_token": after}).status_code == 302
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def secure_app(database_url, tmp_path, world):
    app = make_app(database_url, tmp_path, SESSION_COOKIE_SECURE=True)
    yield app
    with app.app_context():
        db.engine.dispose()


def test_hsts_and_secure_cookies_when_cookies_are_secure(secure_app, client, world):
    browser = secure_app.test_client()
    assert browser.get("/login").headers["Strict-Transport-Security"] == "max-age=31536000"
    lang = browser.get("/lang/en?next=/login").headers["Set-Cookie"]
    assert lang.startswith("lang=en") and "Secure" in lang and "HttpOnly" in lang
    signed_in = attempt(browser, "worker", factories.PASSWORD)
    device = [c for c in signed_in.headers.getlist("Set-Cookie") if c.startswith("device=")]
    assert device and all(flag in device[0] for flag in ("Secure", "HttpOnly", "SameSite=Lax"))
    # Served over plain HTTP (the default, `make run`): no HSTS, cookies not Secure.
    assert "Strict-Transport-Security" not in client.get("/login").headers
    assert "Secure" not in client.get("/lang/en").headers["Set-Cookie"]


# --- two gunicorn workers on Redis ---------------------------------------------------------------

@dataclass
class Page:
    status: int
    location: str
    text: str


class Workers:
    """Connections to a 2-worker gunicorn that reach the workers in turn.

    A sync worker serves one connection at a time and the kernel hands connections out in
    the order they were made: while one connection is open and idle, its worker waits on it,
    so a second connection goes to the other worker; then the first is used."""

    def __init__(self, port: int):
        self.port = port
        self._pending: list[http.client.HTTPConnection] = []

    def _connect(self) -> http.client.HTTPConnection:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.connect()
        return conn

    def connection(self) -> http.client.HTTPConnection:
        if not self._pending:
            held = self._connect()
            self._pending = [self._connect(), held]
        return self._pending.pop(0)

    def close(self) -> None:
        for conn in self._pending:
            conn.close()
        self._pending = []


class Browser:
    """A cookie-keeping client whose every request goes to the next worker in turn."""

    def __init__(self, workers: Workers):
        self.workers = workers
        self.cookies: dict[str, str] = {}
        self.token = ""

    def request(self, method: str, path: str, form: dict | None = None) -> Page:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode({"csrf_token": self.token, **form})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = self.workers.connection()
        with closing(conn):
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            page = Page(response.status, response.getheader("Location", ""),
                        response.read().decode())
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    if morsel["max-age"] == "0":
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value
        if found := re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text):
            self.token = found.group(1)
        return page

    def open(self, path: str) -> Page:
        """GET a page (and keep the CSRF token of its form)."""
        page = self.request("GET", path)
        assert page.status == 200, page
        return page

    def sign_in(self, username: str, password: str) -> Page:
        return self.request("POST", "/login", {"username": username, "password": password})


def _seed(url: str) -> SimpleNamespace:
    """A migrated SQLite database with a street, an elder, accounts and an invite code."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "seed", "SCHEDULER": False})
    with app.app_context():
        flask_migrate.upgrade()
        street = factories.street("一街道")
        community = factories.community(street, "甲社区")
        grid = factories.grid(community, "一网格")
        household = factories.household(grid)
        admin = factories.user(Role.ADMIN, username="admin")
        worker = factories.user(Role.GRID_WORKER, username="worker", grid=grid)
        factories.user(Role.FAMILY, username="fam")
        coordinator = factories.user(Role.COORDINATOR, username="coord", street=street)
        invite = family.create_invite(household.elders[0], relation="女儿",
                                      may_see_observations=False, actor=coordinator)
        seeded = SimpleNamespace(worker_id=worker.id, admin_id=admin.id, code=invite.code,
                                 community_id=community.id)
        db.session.commit()
        db.engine.dispose()
    return seeded


def _gunicorn(tmp: Path, port: int, storage: str, log: Path, access: Path) -> subprocess.Popen:
    """`gunicorn -w 2 wsgi:app` from the repository root, as README's production section."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREVISITS_")}
    env.update(CAREVISITS_DATABASE_URL=f"sqlite:///{tmp / 'live.sqlite3'}",
               CAREVISITS_SECRET_KEY="live-secret", CAREVISITS_INSTANCE_PATH=str(tmp),
               CAREVISITS_SCHEDULER="0", PYTHONUNBUFFERED="1")
    if storage:
        env["CAREVISITS_RATELIMIT_STORAGE_URI"] = storage
        env["CAREVISITS_RATELIMIT_KEY_PREFIX"] = tmp.name
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(VENV / "bin" / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}",
             "--timeout", "120", "--access-logfile", str(access),
             "--access-logformat", "%(p)s %(m)s %(U)s %(s)s", "wsgi:app"],
            cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)


def _wait_until_serving(proc: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"gunicorn exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with closing(http.client.HTTPConnection("127.0.0.1", port, timeout=5)) as conn:
                conn.request("GET", "/login")
                if conn.getresponse().status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"gunicorn did not serve within 60 s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """Two gunicorn workers on Redis (keys under a prefix of this run only) and SQLite."""
    store = redis.Redis.from_url(REDIS_URL)
    store.ping()  # Redis must run: these tests fail rather than skip without it
    tmp = tmp_path_factory.mktemp(f"limits-{uuid.uuid4().hex[:12]}")
    seeded = _seed(f"sqlite:///{tmp / 'live.sqlite3'}")
    port = free_port()
    log, access = tmp / "gunicorn.log", tmp / "access.log"
    proc = _gunicorn(tmp, port, REDIS_URL, log, access)
    try:
        _wait_until_serving(proc, port, log)
        yield SimpleNamespace(port=port, access=access, database=tmp / "live.sqlite3", **vars(
            seeded))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        for key in store.scan_iter(match=f"{tmp.name}:*"):
            store.delete(key)
        store.close()


@pytest.fixture
def workers(live):
    w = Workers(live.port)
    yield w
    w.close()


def _pids(live, method: str, path: str) -> set[str]:
    lines = live.access.read_text().splitlines()
    return {line.split()[0] for line in lines if line.split()[1:3] == [method, path]}


def _query(live, sql: str, *args):
    with closing(sqlite3.connect(f"file:{live.database}?mode=ro", uri=True)) as conn:
        return conn.execute(sql, args).fetchall()



@pytest.mark.slow
def test_two_workers_refuse_the_sixth_attempt_and_the_owner_still_gets_in(live, workers):
    phone = Browser(workers)
    phone.open("/login")
    assert phone.sign_in("worker", factories.PASSWORD).status == 302  # the owner's phone
    phone.cookies.pop("session")  # later: signed out, the device cookie kept
    attacker = Browser(workers)
    attacker.open("/login")
    for _ in range(5):
        page = attacker.sign_in("worker", "wrong-password-x")
        assert page.status == 200 and WRONG in page.text
    for password in ("wrong-password-x", factories.PASSWORD):
        page = attacker.sign_in("worker", password)
        assert page.status == 429 and REFUSED in page.text
    assert len(_pids(live, "POST", "/login")) == 2  # both workers counted the attempts
    # The documented path: the owner signs in on a phone used before …
    phone.open("/login")
    page = phone.sign_in("worker", factories.PASSWORD)
    assert page.status == 302 and page.location.endswith("/round/")
    # … or an admin unlocks the account and any browser signs in again.
    admin = Browser(workers)
    admin.open("/login")
    assert admin.sign_in("admin", factories.PASSWORD).status == 302
    admin.open(f"/admin/users/{live.worker_id}")
    assert admin.request("POST", f"/admin/users/{live.worker_id}/unlock", {}).status == 302
    assert attacker.sign_in("worker", factories.PASSWORD).status == 302


@pytest.mark.slow
def test_two_workers_hold_sign_ups_at_ten_an_hour(live, workers):
    browsers = [Browser(workers) for _ in range(11)]
    for browser in browsers:  # every form first, so that the sign-ups alternate workers
        browser.open("/volunteer/signup")
    statuses = [browser.request("POST", "/volunteer/signup", {
        "username": f"helper{n}", "display_name": f"志愿者{n}", "phone": "13800000000",
        "password": "a-long-password", "confirm": "a-long-password",
        "community": str(live.community_id), "availability": "周六上午"}).status
        for n, browser in enumerate(browsers)]
    assert statuses == [302] * 10 + [429]
    assert len(_query(live, "SELECT id FROM user WHERE username LIKE 'helper%'")) == 10
    assert len(_pids(live, "POST", "/volunteer/signup")) == 2


@pytest.mark.slow
def test_two_workers_throttle_wrong_invite_codes(live, workers):
    browser = Browser(workers)
    browser.open("/login")
    assert browser.sign_in("fam", factories.PASSWORD).status == 302
    browser.open("/family/")
    for n in range(10):
        assert browser.request("POST", "/family/", {"code": f"WRONG{n:05d}"}).status == 422
    assert browser.request("POST", "/family/", {"code": live.code}).status == 429
    assert _query(live, "SELECT used_at FROM family_invite") == [(None,)]
    assert len(_pids(live, "POST", "/family/")) == 2


@pytest.mark.slow
def test_two_workers_on_memory_storage_refuse_to_start(tmp_path):
    _seed(f"sqlite:///{tmp_path / 'live.sqlite3'}")
    log = tmp_path / "gunicorn.log"
    proc = _gunicorn(tmp_path, free_port(), "", log, tmp_path / "access.log")
    try:
        returncode = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = log.read_text()
    assert returncode != 0, output
    assert "REFUSING TO START 2 workers with rate limits kept in memory://" in output
    assert "CAREVISITS_RATELIMIT_STORAGE_URI=redis://" in output


# --- behind a reverse proxy -----------------------------------------------------------------

def _through_proxy(client, password: str, forwarded_for: str):
    return client.post("/login", data={"username": "worker", "password": password},
                       headers={"X-Forwarded-For": forwarded_for},
                       environ_base={"REMOTE_ADDR": "10.0.0.254"})  # the proxy


def test_behind_a_proxy_each_users_address_is_counted_not_the_proxys(app, world):
    app.config["PROXY_HOPS"] = 0  # as configured by default: the header is not believed …
    stranger = app.test_client()
    for n in range(5):  # … so a forged X-Forwarded-For does not escape the count
        assert _through_proxy(stranger, "wrong-password-x", f"203.0.113.{n}").status_code == 200
    assert _through_proxy(stranger, factories.PASSWORD, "203.0.113.9").status_code == 429

    proxied = make_app(app.config["SQLALCHEMY_DATABASE_URI"], Path(app.instance_path),
                       PROXY_HOPS=1)
    try:
        guesser, owner = proxied.test_client(), proxied.test_client()
        for _ in range(5):  # one user behind the proxy mistypes five times …
            assert _through_proxy(guesser, "wrong-password-x", "198.51.100.7").status_code == 200
        assert _through_proxy(guesser, factories.PASSWORD, "198.51.100.7").status_code == 429
        # … and someone else behind the same proxy is counted at their own address.
        assert _through_proxy(owner, factories.PASSWORD, "198.51.100.8").status_code == 302
    finally:
        with proxied.app_context():
            db.engine.dispose()
