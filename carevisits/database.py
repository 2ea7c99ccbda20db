"""Engine settings: SQLite in WAL mode with a busy timeout and early write locks.

Under concurrent check-ins a plain SQLite ``BEGIN`` fails with "database is locked"
when two read-then-write transactions try to upgrade their locks. Every transaction
that will write therefore starts with ``BEGIN IMMEDIATE``: requests with an unsafe
method, and code run inside :func:`write_transaction`.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask, current_app, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from carevisits.config import MIGRATIONS_DIR
from carevisits.extensions import db, migrate

_write_intent: ContextVar[bool] = ContextVar("write_intent", default=False)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@contextmanager
def write_transaction() -> Iterator[None]:
    """Mark the transactions begun inside as writers (for CLI commands and threads).

    A read transaction still open from before would be reused and could not take the
    lock: it is ended first (it must hold no unsaved changes).
    """
    session = db.session()  # the scoped session's current Session
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("write_transaction() entered with unsaved changes")
        session.commit()
    token = _write_intent.set(True)
    try:
        yield
    finally:
        _write_intent.reset(token)


def takes_write_lock(view):
    """Mark a GET view that writes (an audited read) so its transaction locks early."""
    view.takes_write_lock = True
    return view


def _wants_write_lock() -> bool:
    if _write_intent.get():
        return True
    if not has_request_context():
        return False
    if request.method not in SAFE_METHODS:
        return True
    view = current_app.view_functions.get(request.endpoint)
    return getattr(view, "takes_write_lock", False)


def configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """Give a SQLite engine WAL, a busy timeout, foreign keys and explicit BEGINs."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _wants_write_lock() else "BEGIN")


def register_database(app: Flask) -> None:
    """Bind SQLAlchemy and Alembic to the app and tune SQLite engines."""
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
