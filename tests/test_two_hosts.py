"""Two hosts, one PostgreSQL and one Redis (issue 16, item 7): two gunicorn servers on two
ports stand for two machines. Failed sign-ins sent to each in turn reach the limit at its
configured count, not twice it; and the overdue scans and notification deliveries that run on
both (every worker's scan thread, rounds every 3 s at the same instants everywhere, and
`flask alerts scan` run from both hosts at once) open one alert per overdue elder and send
each message once, to an SMTP server of the test's own.

The database is one of the test's own on the server of CAREVISITS_TEST_POSTGRES_URL, else on
127.0.0.1:5432 (user postgres); without a PostgreSQL server the test fails, it is not skipped.
Every process runs on one clock: a fixed instant plus the real time since the test began
(``served_app``), so the test passes on any day at any hour."""

import asyncio
import email
import email.policy
import http.client
import os
import re
import signal
import subprocess
import time
import uuid
from collections import Counter
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import flask_migrate
import pytest
import redis
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, func, make_url, select, text

from carevisits import create_app
from carevisits.extensions import db
from carevisits.models import (
    Alert,
    AlertKind,
    AlertLevel,
    ChannelKind,
    DeliveryStatus,
    Grid,
    Notification,
    NotificationChannel,
    Role,
)
from carevisits.models.base import utcnow
from carevisits.services import notify
from tests import factories
from tests.clock import DEFAULT_START
from tests.test_alerts import Inbox
from tests.test_limits import REDIS_URL, REFUSED, REPO, VENV, WRONG, Browser
from tests.test_make_run import free_port

pytestmark = pytest.mark.slow

SERVER_URL = os.environ.get("CAREVISITS_TEST_POSTGRES_URL",
                            "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SCAN_SECONDS = 3
WAIT_SECONDS = 40
HOLD_SECONDS = 8  # smtplib waits 10 s for an answer (notify.TIMEOUT_SECONDS)
MAILBOX = "jiashequ@example.org"


class SlowInbox(Inbox):
    """A mail server that takes ``delay`` seconds over each message; after ``hold()`` it
    keeps the next messages waiting (``holding``) until ``release()``, at most HOLD_SECONDS
    (under the sender's timeout): their sender stays busy mid-message."""

    def __init__(self, delay: float = 0.0):
        super().__init__()
        self.delay, self.held, self.holding = delay, False, False

    def hold(self) -> None:
        """Keep the messages that come from now on waiting."""
        self.held = True

    def release(self) -> None:
        """Accept the waiting messages."""
        self.held = False

    async def handle_DATA(self, server, session, envelope):
        """Wait as told, then keep the envelope."""
        await asyncio.sleep(self.delay)
        deadline = time.monotonic() + HOLD_SECONDS
        while self.held and time.monotonic() < deadline:
            self.holding = True
            await asyncio.sleep(0.05)
        self.holding = False
        return await super().handle_DATA(server, session, envelope)


def shared_clock(anchor: float):
    """Every host's clock: the fixed instant plus the real time since ``anchor``."""
    return lambda: DEFAULT_START + timedelta(seconds=time.time() - anchor)


def served_app():
    """The app as each host serves it, on the shared test clock (gunicorn and `flask --app`
    call this factory: ``tests.test_two_hosts:served_app()``)."""
    return create_app({"CLOCK": shared_clock(float(os.environ["TWO_HOSTS_CLOCK_ANCHOR"]))})


class TwoHosts:
    """Connections to the two servers in turn: every request goes to the other host."""

    def __init__(self, ports: list[int]):
        self.ports, self.turn = ports, 0

    def connection(self):
        """A new connection to the next host."""
        port = self.ports[self.turn % len(self.ports)]
        self.turn += 1
        return http.client.HTTPConnection("127.0.0.1", port, timeout=60)


@pytest.fixture(scope="module")
def postgres_url():
    """A new, migrated database on the PostgreSQL server, dropped at the end."""
    server = make_url(SERVER_URL).set(database="postgres")
    own = server.set(database=f"carevisits_two_hosts_{uuid.uuid4().hex[:10]}")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:  # no server: this fails, the test is not skipped
        conn.execute(text(f'CREATE DATABASE "{own.database}"'))
    url = own.render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{own.database}" WITH (FORCE)'))
        admin.dispose()


def seeding_app(url: str, at: datetime):
    """An app of the test process on the database, its clock stopped at ``at``."""
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "seed",
                       "SCHEDULER": False, "CLOCK": lambda: at})


def add_overdue(url: str, grid_id: int, n: int, at: datetime) -> list[int]:
    """``n`` households of one elder each, put on the list at ``at`` and never visited: long
    overdue by the hosts' clock. Returns the elders' ids."""
    app = seeding_app(url, at)
    with app.app_context():
        grid = db.session.get(Grid, grid_id)
        ids = [e.id for _ in range(n) for e in factories.household(grid).elders]
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return ids


def seed(url: str, at: datetime) -> SimpleNamespace:
    """The schema, a street with a grid worker, and a community whose alerts are emailed."""
    app = seeding_app(url, at)
    with app.app_context():
        flask_migrate.upgrade()
        community = factories.community(factories.street("一街道"), "甲社区")
        grid = factories.grid(community, "一网格")
        factories.user(Role.GRID_WORKER, username="worker", grid=grid)
        db.session.add(NotificationChannel(community_id=community.id, kind=ChannelKind.EMAIL,
                                           target=MAILBOX))
        seeded = SimpleNamespace(grid_id=grid.id)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return seeded


def host_env(url: str, folder: Path, prefix: str, smtp_port: int, anchor: float) -> dict:
    """One host's environment: the shared database, Redis, secret key, mail server and clock;
    its own instance folder; scan rounds every few seconds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREVISITS_")}
    env.update(CAREVISITS_DATABASE_URL=url, CAREVISITS_SECRET_KEY="two-hosts-secret",
               CAREVISITS_INSTANCE_PATH=str(folder), CAREVISITS_RATELIMIT_STORAGE_URI=REDIS_URL,
               CAREVISITS_RATELIMIT_KEY_PREFIX=prefix, CAREVISITS_SCHEDULER="1",
               CAREVISITS_SCAN_MINUTES=str(SCAN_SECONDS / 60), CAREVISITS_SMTP_HOST="127.0.0.1",
               CAREVISITS_SMTP_PORT=str(smtp_port), TWO_HOSTS_CLOCK_ANCHOR=repr(anchor),
               PYTHONUNBUFFERED="1")
    return env


def start_host(env: dict, folder: Path, port: int) -> subprocess.Popen:
    """`gunicorn -w 2` of the served app on ``port``, logging who answered what."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "gunicorn.log").open("wb") as out:
        return subprocess.Popen(
            [str(VENV / "bin" / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}",
             "--timeout", "60", "--access-logfile", str(folder / "access.log"),
             "--access-logformat", "%(m)s %(U)s %(s)s", "tests.test_two_hosts:served_app()"],
            cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)


def wait_for(predicate, what: str, hosts=()) -> None:
    """Poll until ``predicate()`` holds; fail (with the hosts' logs) after WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not predicate():
        for proc, folder in hosts:
            if proc.poll() is not None:
                pytest.fail(f"a host stopped:\n{(folder / 'gunicorn.log').read_text()}")
        if time.monotonic() > deadline:
            logs = "\n".join((f / "gunicorn.log").read_text() for _, f in hosts)
            pytest.fail(f"timed out waiting for {what}\n{logs}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def hosts(postgres_url, tmp_path_factory):
    """Two hosts serving one database, with one Redis and one mail server."""
    store = redis.Redis.from_url(REDIS_URL)
    store.ping()  # Redis must run: the test fails rather than skips without it
    tmp = tmp_path_factory.mktemp("two-hosts")
    prefix = f"two-hosts-{uuid.uuid4().hex[:12]}"
    seeded = seed(postgres_url, DEFAULT_START - timedelta(days=30))
    inbox, smtp_port = SlowInbox(), free_port()
    mail = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    mail.start()
    anchor = time.time()
    ports = [free_port(), free_port()]
    folders = [tmp / "host-a", tmp / "host-b"]
    envs = [host_env(postgres_url, f, prefix, smtp_port, anchor) for f in folders]
    procs = [start_host(env, f, port) for env, f, port in zip(envs, folders, ports, strict=True)]
    running = list(zip(procs, folders, strict=True))
    try:
        for port in ports:
            wait_for(lambda p=port: _serves(p), f"the host on port {port}", running)
        yield SimpleNamespace(url=postgres_url, ports=ports, folders=folders, envs=envs,
                              inbox=inbox, running=running, smtp_port=smtp_port,
                              anchor=anchor, **vars(seeded))
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)  # quick shutdown: nothing is left to finish
        for proc in procs:
            proc.wait(timeout=60)
        mail.stop()
        for key in store.scan_iter(match=f"{prefix}:*"):
            store.delete(key)
        store.close()


def _serves(port: int) -> bool:
    """Whether the host on ``port`` serves the sign-in page."""
    try:
        with closing(http.client.HTTPConnection("127.0.0.1", port, timeout=5)) as conn:
            conn.request("GET", "/login")
            return conn.getresponse().status == 200
    except OSError:
        return False


def _answered(folder: Path, method: str, path: str) -> int:
    """How many ``method path`` requests the host of ``folder`` answered (its access log)."""
    lines = (folder / "access.log").read_text().splitlines()
    return sum(1 for line in lines if line.split()[:2] == [method, path])


def test_failed_sign_ins_on_two_hosts_count_once(hosts):
    attacker = Browser(TwoHosts(hosts.ports))
    attacker.open("/login")
    for _ in range(5):  # the configured 5 per account and address, each host in turn
        page = attacker.sign_in("worker", "wrong-password-x")
        assert page.status == 200 and WRONG in page.text
    for password in ("wrong-password-x", factories.PASSWORD):  # the sixth: on either host
        page = attacker.sign_in("worker", password)
        assert page.status == 429 and REFUSED in page.text
    assert all(_answered(folder, "POST", "/login") >= 3 for folder in hosts.folders)


def _overdue_alerts() -> Counter:
    """Overdue alerts per elder id, as the database has them now."""
    db.session.rollback()
    return Counter(db.session.scalars(select(Alert.elder_id).where(
        Alert.kind == AlertKind.OVERDUE)))


def _sent() -> int:
    """Messages marked sent, as the database has them now."""
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.status == DeliveryStatus.SENT))


def _mailed_alert_ids(inbox) -> Counter:
    """How many mails the inbox holds per alert (by the alert's link in the text)."""
    texts = [email.message_from_bytes(e.original_content, policy=email.policy.default)
             .get_content() for e in inbox.envelopes]
    return Counter(int(m.group(1)) for t in texts for m in [re.search(r"/alerts/(\d+)", t)])


def _cron_on_both_hosts(hosts) -> None:
    """`flask alerts scan` and `flask alerts deliver` started on both hosts at once (as cron
    would), beside the servers' own rounds; all must finish without error."""
    procs = [cron(env, command) for env in hosts.envs for command in ("scan", "deliver")]
    for proc in procs:
        out, _ = proc.communicate(timeout=WAIT_SECONDS)
        assert proc.returncode == 0, out.decode()


def cron(env: dict, command: str) -> subprocess.Popen:
    """`flask alerts <command>` of the served app, as a host's cron job starts it."""
    return subprocess.Popen(
        [str(VENV / "bin" / "flask"), "--app", "tests.test_two_hosts:served_app()", "alerts",
         command], cwd=REPO, env={**env, "CAREVISITS_SCHEDULER": "0"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_scans_and_deliveries_on_two_hosts_alert_and_send_once(hosts):
    # The test process is a third sender, on the hosts' clock and mail server.
    app = create_app({"SQLALCHEMY_DATABASE_URI": hosts.url, "SECRET_KEY": "third",
                      "SCHEDULER": False, "CLOCK": shared_clock(hosts.anchor),
                      "SMTP_HOST": "127.0.0.1", "SMTP_PORT": hosts.smtp_port})
    elders: list[int] = []
    with app.app_context():
        try:
            # Three batches of overdue elders, each found by whichever process scans first:
            # the hosts' rounds (every worker of both hosts wakes at the same instant) and,
            # for the last one, the mail server keeps the first message waiting: while its
            # sender is mid-message, this process and the cron commands on both hosts look
            # for messages to send, and must find none.
            for batch in range(3):
                if batch == 2:
                    hosts.inbox.hold()
                elders += add_overdue(hosts.url, hosts.grid_id, 8, DEFAULT_START
                                      - timedelta(days=30))
                if batch == 2:
                    wait_for(lambda: hosts.inbox.holding, "a sender mid-message", hosts.running)
                    assert notify.deliver_due(utcnow()) == (0, 0)
                    _cron_on_both_hosts(hosts)
                    hosts.inbox.release()
                wait_for(lambda e=tuple(elders): set(_overdue_alerts()) == set(e)
                         and _sent() == len(e) == len(hosts.inbox.envelopes),
                         f"alerts and mail for batch {batch + 1}", hosts.running)
            time.sleep(2 * SCAN_SECONDS)  # two more rounds on every worker: nothing new
            alerts = _overdue_alerts()
            assert sorted(alerts) == sorted(elders) and set(alerts.values()) == {1}
            db.session.rollback()
            notes = db.session.execute(select(Notification.alert_id, Notification.status,
                                              Notification.attempts)).all()
            alert_ids = set(db.session.scalars(select(Alert.id)))
            assert sorted(n.alert_id for n in notes) == sorted(alert_ids)  # one per alert
            assert {(n.status, n.attempts) for n in notes} == {(DeliveryStatus.SENT, 1)}
            mailed = _mailed_alert_ids(hosts.inbox)
            assert sorted(mailed) == sorted(alert_ids) and set(mailed.values()) == {1}
            assert {tuple(e.rcpt_tos) for e in hosts.inbox.envelopes} == {(MAILBOX,)}
        finally:
            db.session.remove()
            db.engine.dispose()
    for folder in hosts.folders:  # no round failed on either host
        assert "Traceback" not in (folder / "gunicorn.log").read_text()


# --- one sender per message, whoever sends ---------------------------------------------------

def test_the_cron_scan_sends_what_it_opened_before_it_exits(tmp_path):
    """The round sent its messages from a background thread that the exiting `flask alerts
    scan` killed mid-way: "0 notifications sent", one mail out but not marked sent (so sent
    again after its lease), the rest late. Now the round sends them itself."""
    url = f"sqlite:///{tmp_path / 'cron.sqlite3'}"
    at = DEFAULT_START - timedelta(days=30)
    elders = add_overdue(url, seed(url, at).grid_id, 12, at)
    inbox, port = SlowInbox(delay=0.05), free_port()
    mail = Controller(inbox, hostname="127.0.0.1", port=port)
    mail.start()
    try:
        env = host_env(url, tmp_path, f"cron-{uuid.uuid4().hex[:12]}", port, time.time())
        out, _ = cron(env, "scan").communicate(timeout=WAIT_SECONDS)
        assert "12 new overdue alerts" in out.decode(), out.decode()
        assert "12 notifications sent, 0 failed" in out.decode(), out.decode()
        app = seeding_app(url, DEFAULT_START)
        with app.app_context():
            assert sorted(_overdue_alerts()) == sorted(elders)
            assert _sent() == 12
            assert set(_mailed_alert_ids(inbox).values()) == {1}
            assert len(inbox.envelopes) == 12
            db.session.remove()
            db.engine.dispose()
    finally:
        mail.stop()


def test_a_scan_as_of_a_later_day_leaves_a_message_another_sender_holds(
        app, runner, clock, monkeypatch):
    """A message another sender has just claimed (its lease runs 2 minutes of real time) is
    not taken by `flask alerts scan --at` a later day: it is sent once, by its sender."""
    community = factories.community(factories.street())
    elder = factories.household(factories.grid(community)).elders[0]
    channel = NotificationChannel(community_id=community.id, kind=ChannelKind.EMAIL,
                                  target=MAILBOX)
    alert = Alert(elder=elder, kind=AlertKind.OVERDUE, level=AlertLevel.WARNING)
    db.session.add_all([channel, alert])
    db.session.flush()
    held = Notification(alert_id=alert.id, channel_id=channel.id, text="held",
                        next_attempt_at=utcnow() + notify.LEASE)
    db.session.add(held)
    db.session.commit()
    mailed = []
    monkeypatch.setattr(notify, "send_email", lambda address, text: mailed.append(text))
    later = (utcnow() + timedelta(days=3)).isoformat()
    result = runner.invoke(args=["alerts", "scan", "--at", later])
    assert result.exit_code == 0, result.output
    assert "0 notifications sent" in result.output and mailed == []
    clock.advance(minutes=3)  # the sender died with its lease: the message is sent, once
    assert notify.deliver_due(utcnow()) == (1, 0) and mailed == ["held"]
