"""Opening the workspace's SQLite file: checked, in WAL mode, migrated; or read-only.

A file that is not robolearn's database, is damaged or is newer than this code is refused
(StoreFileError) and left exactly as it was: the checks only read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from robolearn.store.errors import NewerSchemaError, StoreFileError, write_error
from robolearn.store.integrity import check_schema
from robolearn.store.schema import (
    MIGRATION_NAMES,
    MIGRATION_SET,
    MIGRATIONS,
    SCHEMA_VERSION,
    applied_migrations,
)

BUSY_TIMEOUT_S = 10.0
"""How long a connection waits for another's write lock before it fails."""

WHAT_TO_DO = (
    "It was left as it is: move it aside (or restore a backup) and robolearn will "
    "start a new database there."
)


def open_database(path: Path, *, read_only: bool = False) -> Database:
    """The database in ``path``, checked; created and migrated unless ``read_only``."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    conn = _read_only_connection(path) if read_only else _connection(path)
    try:
        conn.execute("PRAGMA foreign_keys=ON")
        db = Database(conn, execute_plugins=False)
        _check_usable(db, path)
        if read_only:
            _check_current(db, path)
        else:
            db.enable_wal()
            _migrate(db)
        check_schema(db, path)
    except BaseException as error:
        conn.close()
        # Only the plain DatabaseError is the file's state ("file is not a database",
        # "malformed"); its subclasses (locked, read-only, ...) are raised as they are.
        if type(error) is sqlite3.DatabaseError:
            raise StoreFileError(
                f"{path} is not a readable robolearn database ({error}). {WHAT_TO_DO}"
            ) from None
        if isinstance(error, sqlite3.OperationalError) and (problem := write_error(path, error)):
            raise problem from None  # a full or read-only disk, a lock held too long
        raise
    return db


def _check_usable(db: Database, path: Path) -> None:
    """Raise StoreFileError unless ``db`` is empty or robolearn's, at a version this code knows.

    It only reads, so a file it refuses is left exactly as it was.
    """
    tables = set(db.table_names())
    if not tables:
        return
    applied = applied_migrations(db)
    if not applied:
        raise StoreFileError(
            f"{path} is a SQLite database, but not robolearn's (it has no "
            f"{MIGRATION_SET!r} migrations). {WHAT_TO_DO}"
        )
    unknown = [name for name in applied if name not in MIGRATION_NAMES]
    if unknown:
        raise NewerSchemaError(
            f"{path} was written by a newer robolearn (schema migrations {', '.join(unknown)}; "
            f"this one knows {SCHEMA_VERSION}). Upgrade robolearn to use it, or point "
            "--workspace at another folder; the file was left as it is."
        )


def _connection(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)


def _read_only_connection(path: Path) -> sqlite3.Connection:
    """A connection that writes nothing.

    Read-only if SQLite can open it so; else (no folder to put the write-ahead log's index
    in) immutable, which reads the file as it is on disk.
    """
    if not path.is_file():
        raise StoreFileError(f"{path} does not exist, and a read-only workspace cannot create it")
    uri = path.resolve().as_uri()
    try:
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        conn.close()
    return sqlite3.connect(f"{uri}?immutable=1", uri=True)


def _check_current(db: Database, path: Path) -> None:
    """Raise StoreFileError if a read-only ``db`` needs migrations this code would apply."""
    if MIGRATIONS.pending(db):
        raise StoreFileError(
            f"{path} was written by an older robolearn and needs an upgrade of its schema "
            f"(to version {SCHEMA_VERSION}), which a read-only workspace cannot take; run "
            "any robolearn command on it once with write access"
        )


def _migrate(db: Database) -> None:
    """Apply pending migrations, one process at a time (the others wait, then find none)."""
    if MIGRATIONS.pending(db):
        with immediate(db):
            MIGRATIONS.apply(db)


@contextmanager
def immediate(db: Database) -> Iterator[None]:
    """One write transaction that holds the write lock from its start (``BEGIN IMMEDIATE``)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        db.rollback()
        raise
