"""`flask backup` while check-ins are being written, `flask restore` into a fresh database:
every visit acknowledged before the backup began is there, and the schema is at head. A
restore into a database that holds tables is refused."""

import os
import threading
import time

import pytest
from sqlalchemy import create_engine, make_url, select, text

from carevisits.extensions import db
from carevisits.models import Visit
from carevisits.observability import database_revisions, migration_heads
from tests.conftest import count, login, make_app

THREADS = 3
SENDS_AFTER_BACKUP = 5  # check-ins each thread still gets acknowledged once the backup is taken
RUN_SECONDS = 60  # at most


class CheckIns:
    """Threads posting check-ins at one door, each with a client signed in as the worker; the
    keys the server acknowledged (a redirect to the visit), in order."""

    def __init__(self, app, worker, household):
        # Plain values: the threads have no app context to load model attributes in.
        self.app, self.username, self.token = app, worker.username, household.code.token
        self.outcomes = {f"e{e.id}-outcome": "met_well" for e in household.elders}
        self.acknowledged: list[str] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.backup_taken = threading.Event()
        self.threads = [threading.Thread(target=self.send, args=(n,)) for n in range(THREADS)]

    def send(self, n: int) -> None:
        """Post until a few check-ins are acknowledged after the backup (or time runs out)."""
        try:
            self._send(n)
        except Exception as err:  # seen by the test, not lost with the thread
            with self.lock:
                self.errors.append(repr(err))

    def _send(self, n: int) -> None:
        client = self.app.test_client()
        login(client, self.username)
        after, deadline = 0, time.monotonic() + RUN_SECONDS
        for i in range(10_000):
            if after >= SENDS_AFTER_BACKUP or time.monotonic() > deadline:
                return
            key = f"backup-load-{n}-{i:05d}-{os.getpid()}"
            taken = self.backup_taken.is_set()
            response = client.post(f"/c/{self.token}",
                                   data={"idempotency_key": key, **self.outcomes})
            with self.lock:
                if response.status_code == 302 and "/visits/" in response.location:
                    self.acknowledged.append(key)
                    after += taken
                else:
                    self.errors.append(f"{key}: {response.status_code}")

    def acknowledged_now(self) -> set[str]:
        """The keys acknowledged so far."""
        with self.lock:
            return set(self.acknowledged)


def fresh_database(database_url: str, tmp_path) -> str:
    """An empty database of the same kind: a new SQLite file, or a new PostgreSQL database."""
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    url = make_url(database_url)
    fresh = url.set(database=f"{url.database}_restore_{os.getpid()}")
    with _server(url) as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{fresh.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{fresh.database}"'))
    return fresh.render_as_string(hide_password=False)


class _server:
    """An AUTOCOMMIT connection to the server's ``postgres`` database."""

    def __init__(self, url):
        self.engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")

    def __enter__(self):
        self.conn = self.engine.connect()
        return self.conn

    def __exit__(self, *exc):
        self.conn.close()
        self.engine.dispose()


@pytest.fixture
def restored_url(database_url, tmp_path):
    """The URL of an empty database to restore into (dropped afterwards on PostgreSQL)."""
    url = fresh_database(database_url, tmp_path)
    yield url
    if url.startswith("postgresql"):
        with _server(make_url(url)) as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" '
                              "WITH (FORCE)"))


def test_a_backup_taken_under_load_restores_every_acknowledged_visit(
        app, world, runner, tmp_path, restored_url):
    load = CheckIns(app, world.worker, world.h1)
    for thread in load.threads:
        thread.start()
    deadline = time.monotonic() + RUN_SECONDS
    while len(load.acknowledged_now()) < 2 * THREADS and time.monotonic() < deadline:
        time.sleep(0.05)
    before = load.acknowledged_now()  # acknowledged before the backup started
    result = runner.invoke(args=["backup", "-o", str(tmp_path / "carevisits.backup")])
    load.backup_taken.set()
    for thread in load.threads:
        thread.join(RUN_SECONDS + 30)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "carevisits.backup").stat().st_mode & 0o077 == 0  # the owner's only
    assert load.errors == []
    sent = load.acknowledged_now()
    assert len(sent) - len(before) >= THREADS * SENDS_AFTER_BACKUP  # writes went on throughout
    assert count(Visit) == len(sent)

    restored = make_app(restored_url, tmp_path)
    with restored.app_context():  # the command's app: the fixture's context is current too
        result = restored.test_cli_runner().invoke(args=["restore",
                                                         str(tmp_path / "carevisits.backup")])
        assert result.exit_code == 0, result.output
        keys = set(db.session.scalars(select(Visit.idempotency_key)))
        assert database_revisions() == migration_heads()
        assert restored.test_client().get("/healthz").status_code == 200
        db.session.remove()
        db.engine.dispose()
    assert before <= keys <= sent


def test_a_restore_into_a_database_that_holds_tables_is_refused(app, world, runner, tmp_path):
    backup = tmp_path / "carevisits.backup"
    assert runner.invoke(args=["backup", "-o", str(backup)]).exit_code == 0
    refused = runner.invoke(args=["restore", str(backup)])
    assert refused.exit_code == 1
    assert "already holds" in refused.output and "empty database" in refused.output
    assert count(Visit) == 0 and len(world.h1.elders) == 2  # nothing touched


def test_a_file_that_is_not_a_backup_is_refused(runner, tmp_path, restored_url):
    restored = make_app(restored_url, tmp_path)
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not a database")
    result = restored.test_cli_runner().invoke(args=["restore", str(bogus)])
    assert result.exit_code == 1 and "not a backup" in result.output
    with restored.app_context():
        db.engine.dispose()
