"""Overdue scans on a timer, inside the web processes: nobody has to open a page and no cron
job is needed (though `flask alerts scan` from cron still works beside it). In production the
same rounds run in a service of their own, `flask scheduler run` (deploy/), and the web
processes are started with CAREVISITS_SCHEDULER=0.

Every process that serves the web (``flask run``, each gunicorn worker, on every host) runs
one daemon thread. Rounds start at the same wall-clock instants everywhere (multiples of
``SCAN_MINUTES``); at each, the thread tries to take one lock shared by every process that
uses the database — PostgreSQL's ``pg_try_advisory_lock`` (across hosts), or on SQLite (one
host) an ``flock`` on a file beside the database. The process that gets it scans and sends
the notifications that are due; the others skip that round. A process that dies releases
its lock with its connection or file, so the next round runs elsewhere.
"""

import fcntl
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy import text

from carevisits.database import write_transaction
from carevisits.extensions import db
from carevisits.i18n import local_zone
from carevisits.models.base import utcnow
from carevisits.services import alerts, coverage_store, notify, requests, selfcheck

# pg_try_advisory_lock's key for the scan: any constant no other code of this database uses.
ADVISORY_KEY = 0x63_76_73_63  # "cvsc"


def run_scans(now: datetime) -> tuple[list[int], list[int], int, int, list[int]]:
    """One round as of ``now``: open overdue, request-overdue and missed daily check-in
    alerts (the last after the configured grace; committed), then send the notifications
    that are due, then take the finished weeks' and months' figures the dashboard reads
    (each committed apart). Returns (overdue ids, request ids, sent, failed, missed
    check-in ids).

    The round sends its new messages itself, in this thread, not from the background sender
    a commit starts: a `flask alerts scan` process exits when the round ends and would kill
    that sender mid-message (a message sent but not marked so goes out again). Messages go
    out as of the real time, whatever instant the scan is run as of: a scan ``--at`` a later
    day must not take messages whose lease another sender holds."""
    with write_transaction():
        overdue = alerts.scan_overdue(now)
        late_requests = requests.scan_overdue_requests(now)
        missed_checkins = selfcheck.scan_missed(now, timedelta(
            minutes=current_app.config["SELF_CHECKIN_GRACE_MINUTES"]))
        db.session.info.pop(notify.PENDING_FLAG, None)
        db.session.commit()
    sent, failed = notify.deliver_due(utcnow())
    coverage_store.take_finished(now, local_zone())
    return overdue, late_requests, sent, failed, missed_checkins


def _lock_file(app: Flask) -> Path:
    """Beside the SQLite database (the lock guards that file), else in the instance folder."""
    database = db.engine.url.database
    if database and database != ":memory:":
        return Path(database).with_name(Path(database).name + ".scan-lock")
    return Path(app.instance_path) / "scan.lock"


@contextmanager
def scan_lock(app: Flask) -> Iterator[bool]:
    """Try to take the scan lock without waiting; yields whether this process holds it."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            held = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:key)"),
                                    {"key": ADVISORY_KEY}))
            conn.commit()
            try:
                yield held
            finally:
                if held:
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
                    conn.commit()
        return
    path = _lock_file(app)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:  # flock: per open file, so two apps of one process count
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            held = False
        else:
            held = True
        try:
            yield held
        finally:
            if held:
                fcntl.flock(handle, fcntl.LOCK_UN)


class Scheduler:
    """The scan thread of one app: ``start()``, ``stop()``, and ``tick()`` for one round."""

    def __init__(self, app: Flask, minutes: float):
        self.app, self.period = app, minutes * 60
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self.run, name="scan-scheduler", daemon=True)

    def start(self) -> "Scheduler":
        """Begin the rounds in a daemon thread."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 30) -> None:
        """End the rounds (a round under way finishes first); safe from a signal handler of
        the thread that calls ``run()``."""
        self._stopping.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def run(self) -> None:
        """The rounds, in the calling thread, until ``stop()``: the daemon thread's work, and
        `flask scheduler run`'s in a service of its own."""
        # Sleep on the real clock (the app's CLOCK may be set to another day) to the next
        # multiple of the period, so that every process on every host tries at once.
        while not self._stopping.wait(self.period - time.time() % self.period):
            self.tick()

    def tick(self) -> bool:
        """One round: scan and deliver if this process gets the lock. True if it did."""
        with self.app.app_context():
            try:
                with scan_lock(self.app) as held:
                    if held:
                        run_scans(utcnow())
                    return held
            except Exception:  # the next round tries again; the thread must not die
                self.app.logger.exception("scheduled alert scan failed")
                return False
            finally:
                db.session.remove()


def _serves_web() -> bool:
    """Whether this process is a web server: `flask run` or a gunicorn worker — not another
    `flask` command (db upgrade, demo, alerts scan), a test or a benchmark."""
    command = click.get_current_context(silent=True)
    if command is not None:
        return command.info_name == "run"
    return "gunicorn" in sys.modules


def register_scheduler(app: Flask) -> None:
    """Start the scan thread when ``SCHEDULER`` is on (None: only in web server processes);
    refuse a check-in grace the scan cannot keep, at start rather than at every round."""
    grace = timedelta(minutes=app.config["SELF_CHECKIN_GRACE_MINUTES"])
    if not timedelta(0) <= grace <= selfcheck.MAX_GRACE:
        raise ValueError("CAREVISITS_SELF_CHECKIN_GRACE_MINUTES must be 0 to 59")
    wanted = app.config["SCHEDULER"]
    if wanted if wanted is not None else _serves_web():
        app.extensions["scheduler"] = Scheduler(app, app.config["SCAN_MINUTES"]).start()
