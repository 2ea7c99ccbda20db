"""Engine settings: SQLite in WAL mode with a busy timeout, and its one write lock taken
around the writes of a transaction, not from its first read.

Under concurrent check-ins a plain SQLite ``BEGIN`` fails with "database is locked" when
two read-then-write transactions try to upgrade their locks: a reader's snapshot cannot
become a writer once another writer has committed since. Holding ``BEGIN IMMEDIATE`` from
a request's first query avoids that, but then two workers serve no more than one (the lock
is held while the page is checked and rendered). So a transaction starts as a reader
(``BEGIN``), and just before its first write (INSERT, UPDATE, DELETE, SAVEPOINT, or a
SELECT … FOR UPDATE) it ends its read snapshot and starts again with ``BEGIN IMMEDIATE``,
waiting for the lock within the busy timeout. What it read before is not locked: rules
that read then write must hold against a concurrent writer as they do on PostgreSQL (a
unique index, a conditional UPDATE, a re-read after the first write). Code that must
serialise from its first read (CLI commands, the scan's thread) runs inside
:func:`write_transaction`, which begins with ``BEGIN IMMEDIATE`` at once.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from carevisits.config import MIGRATIONS_DIR
from carevisits.extensions import db, migrate

_write_intent: ContextVar[bool] = ContextVar("write_intent", default=False)
# What a SQLite transaction holds (connection info): a reader's snapshot, or the write lock.
LOCK_KEY, READING, WRITING = "sqlite_lock", "reading", "writing"
READ_KEYWORDS = ("SELECT", "WITH", "PRAGMA", "EXPLAIN")


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


def _writes(statement: str, context) -> bool:
    """Whether a statement needs the write lock: anything but a plain read."""
    if context is not None and (context.isinsert or context.isupdate or context.isdelete):
        return True
    compiled = getattr(context, "compiled", None)
    if getattr(getattr(compiled, "statement", None), "_for_update_arg", None) is not None:
        return True  # SQLite drops FOR UPDATE from the SQL: the lock is what it asks for
    return not statement.lstrip()[:7].upper().startswith(READ_KEYWORDS)


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
        conn.info[LOCK_KEY] = None
        writing = _write_intent.get()
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")
        conn.info[LOCK_KEY] = WRITING if writing else READING

    @event.listens_for(engine, "before_cursor_execute")
    def _lock_before_first_write(conn, cursor, statement, parameters, context, executemany):
        if conn.info.get(LOCK_KEY) != READING or not _writes(statement, context):
            return
        # Only reads so far: nothing to keep but the snapshot, which could not become a
        # writer's if someone committed since. Start again as the writer.
        cursor.execute("COMMIT")
        cursor.execute("BEGIN IMMEDIATE")
        conn.info[LOCK_KEY] = WRITING


def register_database(app: Flask) -> None:
    """Bind SQLAlchemy and Alembic to the app and tune SQLite engines."""
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
