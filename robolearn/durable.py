"""Writing the workspace's files so they appear whole or not at all, and say why when they cannot.

Every file robolearn keeps (a skill version, a frame, a bundle, a model or adapter folder) is
written under a temporary name beside its place, flushed to the disk (``fsync``), renamed into
place and its folder synced, so a crash or a full disk never leaves a torn or empty file where a
reader expects a whole one, and a file a command reported as saved survives a power cut. A
failure removes the temporary file or folder and becomes a :class:`DiskError`: one line that
names the file, the cause (``ENOSPC``, ``EROFS``...) and what to do, which the command line
prints before it exits with status 2.

    write_atomic(workspace / "frames" / "run1" / "stack-0-1.png", png_bytes)
    with staged_folder(workspace / "models" / "default") as staging:
        model.save_pretrained(staging)       # a library's own writes, published at the end
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from robolearn.errors import UserError

ADVICE = {
    errno.ENOSPC: "the disk is full: free some space, then run it again",
    errno.EDQUOT: "the disk quota is used up: free some space, then run it again",
    errno.EROFS: "the file system is read-only: choose a writable --workspace",
    errno.EACCES: "robolearn may not write there: check the permissions or choose another "
    "--workspace",
    errno.EPERM: "robolearn may not write there: check the permissions or choose another "
    "--workspace",
    errno.EIO: "the disk reported an input/output error: check it, then run it again",
}
"""What to do about each cause of a failed write."""


class DiskError(UserError):
    """A file that could not be written; nothing half-written was left in its place."""

    def __init__(self, message: str, errno_: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno_


def disk_error(error: OSError, path: Path | str) -> DiskError:
    """The one-line DiskError for an OSError met while writing ``path``."""
    code = error.errno
    name = errno.errorcode.get(code, "") if code is not None else ""
    cause = f"{error.strerror or error}" + (f" [{name}]" if name else "")
    advice = ADVICE.get(code, "then run it again") if code is not None else "then run it again"
    return DiskError(f"cannot write {path} ({cause}); {advice}", code)


@contextlib.contextmanager
def disk_errors(path: Path | str) -> Iterator[None]:
    """Raise an OSError from the block (writing ``path``) as a DiskError."""
    try:
        yield
    except OSError as error:
        raise disk_error(error, path) from None


def write_atomic(path: Path, data: bytes | str, *, exclusive: bool = False) -> None:
    """Write ``data`` to ``path`` whole or not at all, durably; its folder is created.

    ``exclusive``: ``path`` must not exist yet (FileExistsError if it does, also when another
    process took it meanwhile); otherwise it is replaced.
    """
    path = Path(path)
    with disk_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            with tmp.open("xb") as file:
                file.write(data.encode("utf-8") if isinstance(data, str) else data)
                file.flush()
                os.fsync(file.fileno())
            if exclusive:
                os.link(tmp, path)  # fails if another writer took the name first
            else:
                os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        sync_folder(path.parent)


def sync_folder(folder: Path) -> None:
    """Flush a folder's entries (new names, renames) to the disk."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_tree(folder: Path) -> None:
    """Flush every file under ``folder``, and the folders, to the disk (before publishing it)."""
    for root, _, files in os.walk(folder):
        for name in files:
            fd = os.open(Path(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        sync_folder(Path(root))


def publish_folder(staging: Path, out: Path) -> None:
    """Put the finished folder ``staging`` in the place of ``out`` (replacing any old one).

    Its files are synced first; the old folder is moved aside, the new one renamed in, and the
    old one deleted, so ``out`` is always the old folder or the new one, each whole. A failure
    (DiskError) before the new one is in place puts the old one back; either way ``staging``
    and the moved-aside old folder are gone.
    """
    old = out.with_name(f".{out.name}.old-{secrets.token_hex(4)}")
    try:
        with disk_errors(out):
            sync_tree(staging)
            if out.exists():
                os.rename(out, old)
            try:
                os.rename(staging, out)
            except OSError:
                if old.exists():
                    os.rename(old, out)
                raise
            sync_folder(out.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if out.exists():  # the old folder is no longer needed (else it is all there is)
            shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def staged_folder(out: Path) -> Iterator[Path]:
    """An empty folder beside ``out`` to write into, published in ``out``'s place at the end.

    A failure in the block (an OSError becomes a DiskError) removes the folder and leaves
    ``out`` as it was; one writer at a time (the staging name is fixed: callers hold a lock).
    """
    staging = out.with_name(out.name + ".partial")
    try:
        with disk_errors(staging):
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    publish_folder(staging, out)
