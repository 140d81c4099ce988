"""Reading a bundle's files into memory, trusting nothing: limits, links, paths, zip members.

Every entry is counted and sized before it is read; links, special files and paths that
could leave the bundle are refused (BundleError) before anything is saved.
"""

from __future__ import annotations

import os
import re
import stat
import struct
import zipfile
import zlib
from pathlib import Path

from robolearn.errors import UserError

MAX_FILE_BYTES = 1_000_000
"""Largest file a bundle may hold (a skill file is a few hundred bytes)."""
MAX_BUNDLE_BYTES = 64_000_000
"""Largest total size of a bundle's files."""
MAX_ENTRIES = 10_000
"""Most files and folders a bundle may hold."""


class BundleError(UserError, ValueError):
    """A bundle that cannot be exported or imported; says what is wrong and what to do."""


def read_bundle_files(bundle: Path, where: str) -> dict[str, bytes]:
    """Every file of a bundle folder or ``.zip`` by its path inside the bundle."""
    if bundle.is_dir():
        return _read_folder(bundle, where)
    if bundle.suffix.lower() == ".zip" and bundle.is_file():
        return _read_zip(bundle, where)
    raise BundleError(f"{where}: not a folder or a .zip file; pass what `export_bundle` wrote")


class _Budget:
    """Counts a bundle's entries and bytes against the limits while it is read."""

    def __init__(self, where: str) -> None:
        self.where, self.entries, self.bytes = where, 0, 0

    def enter(self) -> None:
        self.entries += 1
        if self.entries > MAX_ENTRIES:
            raise BundleError(
                f"{self.where}: more than {MAX_ENTRIES} entries; this is not a "
                f"skill bundle, or split it"
            )

    def take(self, path: str, size: int) -> None:
        if size > MAX_FILE_BYTES:
            raise BundleError(
                f"{self.where}: {path} is over the size limit of "
                f"{MAX_FILE_BYTES} bytes per file; a skill file is a few hundred "
                f"bytes, so remove it"
            )
        self.bytes += size
        if self.bytes > MAX_BUNDLE_BYTES:
            raise BundleError(
                f"{self.where}: its files are over the size limit of "
                f"{MAX_BUNDLE_BYTES} bytes in all; split the bundle"
            )


def _read_folder(folder: Path, where: str) -> dict[str, bytes]:
    """Every file under ``folder`` by relative path; links and special files are refused."""
    budget, files = _Budget(where), {}
    pending = [(folder, "")]
    while pending:
        directory, prefix = pending.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                path = prefix + entry.name
                budget.enter()
                if entry.is_symlink():
                    raise BundleError(
                        f"{where}: {path} is a symbolic link; a bundle may not "
                        f"hold links (they can point outside it); copy the file "
                        f"in instead"
                    )
                if entry.is_dir(follow_symlinks=False):
                    pending.append((Path(entry.path), f"{path}/"))
                elif entry.is_file(follow_symlinks=False):
                    files[path] = _read_file(entry.path, path, where)
                    budget.take(path, len(files[path]))
                else:
                    raise BundleError(f"{where}: {path} is not a regular file or folder; remove it")
    return files


def _read_file(full_path: str, path: str, where: str) -> bytes:
    """At most one byte past the limit of a file, never through a link swapped in meanwhile."""
    try:
        fd = os.open(full_path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as handle:
            return handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise BundleError(
            f"{where}: cannot read {path} ({error.strerror}); check its permissions"
        ) from None


def _read_zip(archive_path: Path, where: str) -> dict[str, bytes]:
    """Every member of a zip by name, each name and size checked before it is read."""
    if archive_path.stat().st_size > MAX_BUNDLE_BYTES:
        raise BundleError(
            f"{where}: over the size limit of {MAX_BUNDLE_BYTES} bytes; split the bundle"
        )
    budget, files = _Budget(where), {}
    try:
        with zipfile.ZipFile(archive_path) as archive:
            members = []
            for info in archive.infolist():  # names, kinds and sizes first, reading after
                budget.enter()
                _check_member(info, where)
                if info.is_dir():
                    continue
                if info.filename in files:
                    raise BundleError(
                        f"{where}: {info.filename} appears twice; export the bundle again"
                    )
                budget.take(info.filename, info.file_size)
                files[info.filename] = b""
                members.append(info)
            for info in members:
                with archive.open(info) as member:
                    files[info.filename] = member.read(MAX_FILE_BYTES + 1)
                if len(files[info.filename]) != info.file_size:
                    raise zipfile.BadZipFile(f"{info.filename} is not the size its header says")
    except (
        zipfile.BadZipFile,
        zlib.error,
        struct.error,
        EOFError,
        OSError,
        UnicodeDecodeError,
        NotImplementedError,
    ) as error:
        raise BundleError(
            f"{where}: not a readable zip, truncated or corrupt ({error}); copy or export it again"
        ) from None
    return files


def _check_member(info: zipfile.ZipInfo, where: str) -> None:
    if problem := path_problem(info.filename.removesuffix("/") if info.is_dir() else info.filename):
        raise BundleError(f"{where}: entry {info.filename!r} {problem}; refusing the bundle")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise BundleError(
            f"{where}: entry {info.filename} is a symbolic link; a bundle may "
            f"not hold links (they can point outside it)"
        )
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):  # 0: no Unix type recorded
        raise BundleError(f"{where}: entry {info.filename} is not a regular file or folder")
    if info.flag_bits & 0x1:
        raise BundleError(
            f"{where}: entry {info.filename} is encrypted; export the bundle "
            f"again without a password"
        )


def path_problem(path: str) -> str | None:
    """Why ``path`` cannot name a file inside a bundle, or None if it can."""
    if path.startswith("/") or re.match(r"[A-Za-z]:", path) or path.startswith("\\"):
        return "is an absolute path (it would escape the bundle)"
    if "\\" in path or any(ord(c) < 32 for c in path):
        return "has a backslash or a control character in its name"
    if any(part in ("", ".", "..") for part in path.split("/")):
        return "has a '..', '.' or empty part (it could escape the bundle)"
    return None
