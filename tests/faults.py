"""Fault injection, SQLite's way: the n-th write, fsync, rename or database commit fails.

SQLite's own test suite runs every operation with a shim between it and the disk that makes
the n-th I/O fail, for every n, and checks the database afterwards. Here the shim is Python's:
while :func:`injected` is active, files opened for writing, ``os.write``, ``os.fsync``,
``os.rename``/``os.replace``/``os.link`` and the ``COMMIT`` of every SQLite connection pass
through one counter, and the operation that makes it reach ``fail_at`` fails as a full disk
(``ENOSPC``), a read-only file system (``EROFS``), an I/O error (``EIO``) or a permission
refusal (``EACCES``) would: an OSError with that errno, or the error SQLite raises for it.
Only operations on paths under ``roots`` (the workspace, an export's target) count, so the
test's own files and the libraries' caches are left alone.

    faults = Faults(roots=[workspace])
    with injected(faults):
        main(["skills", "import", "bundle.zip", "--workspace", str(workspace)])
    print(faults.count)                       # operations seen: the sweep's range of n
    with injected(Faults(roots=[workspace], fail_at=3, errno=errno.EIO)):
        ...                                   # the third one fails
"""

from __future__ import annotations

import builtins
import errno as errnos
import io
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ERRNOS = (errnos.ENOSPC, errnos.EROFS, errnos.EIO, errnos.EACCES)
"""The failures a disk gives: full, read-only, broken, forbidden."""
SQLITE_WORDS = {
    errnos.ENOSPC: "database or disk is full",
    errnos.EROFS: "attempt to write a readonly database",
    errnos.EIO: "disk I/O error",
    errnos.EACCES: "attempt to write a readonly database",
}
"""What SQLite says when a commit meets each failure (SQLITE_FULL, _READONLY, _IOERR)."""
_WRITE_MODES = frozenset("wax+")


@dataclass
class Tally:
    """Cases run and faults injected over a test session (printed at its end)."""

    cases: int = 0
    injected: int = 0


TALLY = Tally()


@dataclass
class Faults:
    """The counter: which operation fails (``fail_at``, 1-based; None: none) and how."""

    roots: list[Path]
    fail_at: int | None = None
    errno: int = errnos.ENOSPC
    count: int = 0
    injected: str | None = None
    """The operation that was made to fail, once it has been."""
    seen: list[str] = field(default_factory=list)

    def covers(self, path: object) -> bool:
        try:
            resolved = Path(os.fsdecode(path)).absolute()
        except (TypeError, ValueError):
            return False
        return any(resolved.is_relative_to(root) for root in self.roots)

    def tick(self, kind: str, path: object) -> None:
        """Count one operation; raise its failure if it is the ``fail_at``-th."""
        self.count += 1
        self.seen.append(f"{kind} {path}")
        if self.count != self.fail_at:
            return
        self.injected = f"{kind} {os.fsdecode(path) if path is not None else ''}"
        if kind == "commit":
            raise sqlite3.OperationalError(SQLITE_WORDS[self.errno])
        raise OSError(self.errno, os.strerror(self.errno), os.fsdecode(path))


class _FaultyFile:
    """A file opened for writing: its first write is one ``write`` operation."""

    def __init__(self, file: Any, faults: Faults, path: object) -> None:
        self._file, self._faults, self._path, self._counted = file, faults, path, False

    def _count(self) -> None:
        if not self._counted:
            self._counted = True
            self._faults.tick("write", self._path)

    def write(self, data: Any) -> int:
        self._count()
        return self._file.write(data)

    def writelines(self, lines: Any) -> None:
        self._count()
        self._file.writelines(lines)

    def __enter__(self) -> _FaultyFile:
        self._file.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.__exit__(*exc)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._file)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


def _faulty_connection(faults: Faults) -> type[sqlite3.Connection]:
    class FaultyConnection(sqlite3.Connection):
        """A connection whose ``COMMIT`` statements (and commit()) are counted."""

        database: str = ""

        def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
            if sql.strip().rstrip(";").upper() in ("COMMIT", "END", "COMMIT TRANSACTION"):
                self._count()
            return super().execute(sql, *args)

        def commit(self) -> None:
            if self.in_transaction:
                self._count()
            super().commit()

        def _count(self) -> None:
            if faults.covers(self.database):
                faults.tick("commit", self.database)

    return FaultyConnection


@contextmanager
def injected(faults: Faults) -> Iterator[Faults]:
    """Route writes, syncs, renames and commits through ``faults`` while the block runs."""
    real = {
        "open": builtins.open,
        "io_open": io.open,
        "write": os.write,
        "fsync": os.fsync,
        "fdatasync": os.fdatasync,
        "rename": os.rename,
        "replace": os.replace,
        "link": os.link,
        "connect": sqlite3.connect,
    }
    faulty_connection = _faulty_connection(faults)

    def open_(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real["io_open"](file, mode, *args, **kwargs)
        if _WRITE_MODES & set(mode) and not isinstance(file, int) and faults.covers(file):
            return _FaultyFile(handle, faults, file)
        return handle

    def fd_path(fd: int) -> str:
        try:
            return os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return ""

    def write(fd: int, data: Any) -> int:
        if faults.covers(fd_path(fd)):
            faults.tick("write", fd_path(fd))
        return real["write"](fd, data)

    def syncer(name: str):
        def sync(fd: Any) -> None:
            number = fd if isinstance(fd, int) else fd.fileno()
            if faults.covers(fd_path(number)):
                faults.tick("fsync", fd_path(number))
            real[name](fd)

        return sync

    def mover(name: str):
        def move(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
            if faults.covers(src) or faults.covers(dst):
                faults.tick("rename", dst)
            real[name](src, dst, *args, **kwargs)

        return move

    def connect(database: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        kwargs.setdefault("factory", faulty_connection)
        conn = real["connect"](database, *args, **kwargs)
        if isinstance(conn, faulty_connection):
            conn.database = os.fsdecode(database) if not isinstance(database, str) else database
        return conn

    patches = {
        (builtins, "open"): open_,
        (io, "open"): open_,
        (os, "write"): write,
        (os, "fsync"): syncer("fsync"),
        (os, "fdatasync"): syncer("fdatasync"),
        (os, "rename"): mover("rename"),
        (os, "replace"): mover("replace"),
        (os, "link"): mover("link"),
        (sqlite3, "connect"): connect,
    }
    originals = {key: getattr(*key) for key in patches}
    try:
        for (module, name), value in patches.items():
            setattr(module, name, value)
        yield faults
    finally:
        for (module, name), value in originals.items():
            setattr(module, name, value)
