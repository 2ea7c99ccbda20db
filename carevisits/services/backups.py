"""Backups of the whole database, taken while the app serves, and restores into an empty one.

SQLite: the sqlite3 module's online backup API copies every page in one step inside one read
transaction, so the file holds the database as it was when the step began, check-ins
committed after that included in the next backup (a file copy could catch a page half
written, or miss what still sits in the WAL). PostgreSQL: ``pg_dump --format=custom`` (one
snapshot) and ``pg_restore``, given the app's URL without its password (that goes in
PGPASSWORD, out of sight of ``ps``).
"""

import os
import sqlite3
import subprocess  # nosec B404: pg_dump and pg_restore, with argument lists
from contextlib import closing
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import URL, Engine

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why, for the operator."""


def backup(engine: Engine, output: Path) -> None:
    """Write a backup of the database ``engine`` uses to ``output`` (replaced only once the
    backup is complete)."""
    partial = output.with_name(output.name + ".partial")
    partial.unlink(missing_ok=True)
    partial.touch(mode=0o600)  # health data: for the owner's eyes only, from the first byte
    try:
        if engine.dialect.name == "sqlite":
            _sqlite_backup(_sqlite_path(engine.url), partial)
        elif engine.dialect.name == "postgresql":
            _run(["pg_dump", "--format=custom", "--no-password", "--file", str(partial),
                  "--dbname", _libpq_url(engine.url)], engine.url)
        else:
            raise BackupError(f"no backup for {engine.dialect.name} databases")
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)


def restore(engine: Engine, source: Path) -> None:
    """Load the backup ``source`` into the database ``engine`` uses, which must be empty."""
    kind = backup_kind(source)
    if kind != engine.dialect.name:
        raise BackupError(f"{source} is a {kind} backup; this database is "
                          f"{engine.dialect.name}")
    if held := tables(engine):
        raise BackupError(f"the database already holds {len(held)} tables "
                          f"({', '.join(sorted(held)[:3])}, …): restore only into an empty "
                          "database (a new file, or `createdb` on PostgreSQL)")
    engine.dispose()  # no pooled connection of ours keeps the target open
    if kind == "sqlite":
        _sqlite_restore(source, _sqlite_path(engine.url))
    else:
        # One transaction: a restore that fails half way leaves the database empty.
        _run(["pg_restore", "--no-password", "--exit-on-error", "--single-transaction",
              "--no-owner", "--no-acl", "--dbname", _libpq_url(engine.url), str(source)],
             engine.url)


def backup_kind(path: Path) -> str:
    """'sqlite' or 'postgresql', from the file's first bytes."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except OSError as err:
        raise BackupError(f"cannot read {path}: {err.strerror}") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_DUMP_MAGIC):
        return "postgresql"
    raise BackupError(f"{path} is not a backup (neither SQLite nor pg_dump's custom format)")


def tables(engine: Engine) -> list[str]:
    """The tables of the database's default schema (empty: a new database)."""
    with engine.connect() as conn:
        return inspect(conn).get_table_names()


def _sqlite_path(url: URL) -> str:
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise BackupError("only a SQLite database in a file can be backed up or restored")
    return url.database


def _sqlite_backup(database: str, output: Path) -> None:
    """One backup step of every page; the copy checked and made a single self-contained file
    (rollback journal, not WAL)."""
    if not Path(database).is_file():
        raise BackupError(f"no database at {database}")
    with closing(sqlite3.connect(database, timeout=30)) as source, \
            closing(sqlite3.connect(output)) as copy:
        source.backup(copy)
        _check(copy, output)
        copy.execute("PRAGMA journal_mode = DELETE")


def _sqlite_restore(source: Path, database: str) -> None:
    with closing(sqlite3.connect(source)) as backup_file, \
            closing(sqlite3.connect(database, timeout=30)) as target:
        _check(backup_file, source)
        backup_file.backup(target)


def _check(conn: sqlite3.Connection, path: Path) -> None:
    result = conn.execute("PRAGMA quick_check").fetchone()[0]
    if result != "ok":
        raise BackupError(f"{path} is damaged: {result}")


def _libpq_url(url: URL) -> str:
    """The SQLAlchemy URL as libpq reads it: no driver name, no password."""
    return url.set(drivername="postgresql", password=None).render_as_string(
        hide_password=False)


def _run(command: list[str], url: URL) -> None:
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True,  # nosec B603
                              check=False)
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed (Debian: postgresql-client)") from None
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()}")
