"""Skill bundles: the learned library exported as a portable folder or zip, and imported back.

A bundle is the seed library's flat format plus a manifest, so an export can also seed another
workspace (``read_flat_folder(bundle / "skills")``)::

    my-skills/                  or my-skills.zip holding the same entries at its top level
        manifest.json           formats, robolearn version, embedder id, checksums
        skills/stack_on.json    one composite skill a file, its latest version
        skills/build_tower.json

Everything is JSON; nothing is pickled. An import trusts nothing in the bundle: it reads every
entry into memory under size and count limits, refuses links and paths that leave the bundle,
checks the manifest's formats and checksums, parses every skill and checks the library the
import would make, and only then saves anything.

Version history of ``bundle_format``:
    1: ``manifest.json`` and ``skills/<name>.json``.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import secrets
import shutil
import stat
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import robolearn
from robolearn.durable import disk_errors, publish_folder, write_atomic
from robolearn.skills.bundle_files import (
    MAX_FILE_BYTES,
    BundleError,
    path_problem,
    read_bundle_files,
)
from robolearn.skills.composite import (
    FORMAT_VERSION,
    CompositeSkill,
    Provenance,
    SkillFileError,
    skill_from_json,
)
from robolearn.skills.library import SkillDefinitionError, SkillLibrary, dependency_order
from robolearn.untrusted import UntrustedTextError, load_json

__all__ = ["BundleError", "BundleManifest", "ImportReport", "export_bundle", "import_bundle"]

BUNDLE_FORMAT = 1
"""Version of the bundle layout and manifest; newer bundles are refused with a clear error."""
MANIFEST = "manifest.json"
_SKILL_PATH = re.compile(r"skills/([^/]+)\.json")
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class BundleManifest:
    """What ``manifest.json`` says about a bundle."""

    skill_count: int
    checksums: Mapping[str, str]
    """Relative path (``skills/<name>.json``) → sha256 of the file's bytes."""
    embedder_id: str | None = None
    """The embedder the exporting workspace used, so an importer knows what to re-embed."""
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    robolearn_version: str = robolearn.__version__
    bundle_format: int = BUNDLE_FORMAT
    skill_format: int = FORMAT_VERSION

    def to_json(self) -> dict[str, Any]:
        """The file's content."""
        return {
            "bundle_format": self.bundle_format,
            "robolearn_version": self.robolearn_version,
            "skill_format": self.skill_format,
            "embedder_id": self.embedder_id,
            "skill_count": self.skill_count,
            "created": self.created,
            "checksums": dict(sorted(self.checksums.items())),
        }

    @classmethod
    def from_json(cls, data: Any, where: str) -> BundleManifest:
        """Parse a manifest; formats come first, so a newer bundle says "upgrade robolearn"."""
        if not isinstance(data, dict):
            raise BundleError(
                f"{where}: {MANIFEST} must hold a JSON object; export the bundle again"
            )
        for key, readable in (("bundle_format", BUNDLE_FORMAT), ("skill_format", FORMAT_VERSION)):
            value = _manifest_field(data, key, int, where)
            if value < 1:
                raise BundleError(
                    f"{where}: {MANIFEST} field {key!r}: {value} is no format "
                    f"(formats count from 1); export the bundle again"
                )
            if value > readable:
                raise BundleError(
                    f"{where}: {key} {value} is newer than this robolearn "
                    f"({robolearn.__version__}) reads ({readable}); upgrade "
                    f"robolearn to import it"
                )
        checksums = _manifest_field(data, "checksums", dict, where)
        for path, digest in checksums.items():
            if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
                raise BundleError(
                    f"{where}: {MANIFEST} field 'checksums': {path!r} needs a "
                    f"sha256 as 64 lowercase hex digits"
                )
            if problem := path_problem(path):
                raise BundleError(f"{where}: {MANIFEST} lists {path!r}, which {problem}")
        embedder_id = data.get("embedder_id")
        if embedder_id is not None and not isinstance(embedder_id, str):
            raise BundleError(f"{where}: {MANIFEST} field 'embedder_id': expected a string or null")
        return cls(
            skill_count=_manifest_field(data, "skill_count", int, where),
            checksums=checksums,
            embedder_id=embedder_id,
            created=_manifest_field(data, "created", str, where),
            robolearn_version=_manifest_field(data, "robolearn_version", str, where),
            bundle_format=data["bundle_format"],
            skill_format=data["skill_format"],
        )


@dataclass(frozen=True)
class ImportReport:
    """What an import did to the library, by skill name."""

    added: tuple[str, ...]
    updated: tuple[str, ...]
    """Skills that got a new version."""
    unchanged: tuple[str, ...]
    """Skills identical to the library's current version; nothing was stored."""
    manifest: BundleManifest


# ----- exporting --------------------------------------------------------------------------------
def export_bundle(library: SkillLibrary, out: Path, embedder_id: str | None = None) -> Path:
    """Write every composite skill's latest version and a manifest to ``out``; returns ``out``.

    ``out`` is a folder, or a zip archive of the folder's content if it ends with ``.zip``.
    It must not exist yet (an empty folder is fine); the bundle appears whole or not at all.

    Example::

        export_bundle(SkillLibrary.open(Path("robolearn-workspace")), Path("my-skills.zip"))
    """
    out = Path(out)
    if out.is_symlink() or out.is_file() or (out.is_dir() and any(out.iterdir())):
        raise BundleError(f"{out} already exists; choose a new path or remove it first")
    files = {
        f"skills/{name}.json": _json_bytes(skill.to_json())
        for name, skill in sorted(library.composites.items())
    }
    manifest = BundleManifest(
        skill_count=len(files),
        embedder_id=embedder_id,
        checksums={path: _sha256(data) for path, data in files.items()},
    )
    files = {MANIFEST: _json_bytes(manifest.to_json()), **files}
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".zip":
        _write_zip(out, files)
    else:
        _write_folder(out, files)
    return out


def _staging(out: Path) -> Path:
    """A fresh hidden sibling of ``out`` to write into, made with the user's usual permissions."""
    return out.with_name(f".{out.name}.{secrets.token_hex(4)}.tmp")


def _write_folder(out: Path, files: Mapping[str, bytes]) -> None:
    staging = _staging(out)
    try:
        with disk_errors(out):
            staging.mkdir()
            for path, data in files.items():
                (staging / path).parent.mkdir(parents=True, exist_ok=True)
                (staging / path).write_bytes(data)
            if out.is_dir():
                out.rmdir()  # empty, checked above; rmdir refuses if that changed since
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    publish_folder(staging, out)


def _write_zip(out: Path, files: Mapping[str, bytes]) -> None:
    buffer, now = io.BytesIO(), datetime.now().timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            member = zipfile.ZipInfo(path, now)
            member.external_attr = (stat.S_IFREG | 0o644) << 16
            archive.writestr(member, data, zipfile.ZIP_DEFLATED)
    write_atomic(out, buffer.getvalue(), exclusive=True)


# ----- importing --------------------------------------------------------------------------------
def import_bundle(library: SkillLibrary, bundle: Path) -> ImportReport:
    """Save a bundle's skills into ``library``, or refuse it with a BundleError and change nothing.

    ``bundle`` is a folder or a ``.zip`` that :func:`export_bundle` wrote. A skill identical to
    the library's current version is left alone; others become new versions with provenance
    ``import``, saved so that each comes after the skills it calls.

    Example::

        report = import_bundle(SkillLibrary.open(Path("other-workspace")), Path("my-skills.zip"))
    """
    bundle = Path(bundle)
    where = f"bundle {bundle}"
    manifest, skills = _validate(read_bundle_files(bundle, where), where)
    provenance = Provenance(source="import", note=f"from bundle {bundle.name}")
    added, updated, unchanged = [], [], []
    with library.writing():  # another import waits: each sees the other's versions
        try:  # the library the import would make: unknown callees, cycles, depth, size
            SkillLibrary({**library.composites, **skills}.values())
        except SkillDefinitionError as error:
            raise BundleError(
                f"{where}: {error}; the bundle's skills must fit this library: fix "
                f"them in the bundle, or import the skills they call first"
            ) from None
        for skill in dependency_order(list(skills.values())):
            current = library.composites.get(skill.name)
            if current is not None and current.content_hash == skill.content_hash:
                unchanged.append(skill.name)
                continue
            library.save(skill, provenance)
            (added if current is None else updated).append(skill.name)
    return ImportReport(
        tuple(sorted(added)), tuple(sorted(updated)), tuple(sorted(unchanged)), manifest
    )


def _validate(
    files: Mapping[str, bytes], where: str
) -> tuple[BundleManifest, dict[str, CompositeSkill]]:
    """The manifest and the skills of a bundle's files, every check passed."""
    manifest = _manifest(files, where)
    contents = {path: data for path, data in files.items() if path != MANIFEST}
    if unlisted := sorted(set(contents) - set(manifest.checksums)):
        raise BundleError(
            f"{where}: files not listed in the {MANIFEST}: {', '.join(unlisted)}; "
            f"remove them or export the bundle again"
        )
    if missing := sorted(set(manifest.checksums) - set(contents)):
        raise BundleError(
            f"{where}: files listed in the {MANIFEST} are missing: "
            f"{', '.join(missing)}; copy the whole bundle"
        )
    if bad := sorted(p for p, data in contents.items() if _sha256(data) != manifest.checksums[p]):
        raise BundleError(
            f"{where}: checksum mismatch for {', '.join(bad)}: the files changed "
            f"after export or were damaged; export the bundle again"
        )
    skills = dict(_skill(path, data, where) for path, data in sorted(contents.items()))
    if manifest.skill_count != len(skills):
        raise BundleError(
            f"{where}: the {MANIFEST} counts {manifest.skill_count} skills but "
            f"the bundle holds {len(skills)}; export the bundle again"
        )
    return manifest, skills


def _manifest(files: Mapping[str, bytes], where: str) -> BundleManifest:
    """The bundle's manifest, read from its top level."""
    if MANIFEST not in files:
        nested = sorted(p for p in files if p.endswith(f"/{MANIFEST}"))
        hint = (
            f" (found {nested[0]}: zip the folder's content, not the folder)"
            if nested
            else "; is this a robolearn skill bundle?"
        )
        raise BundleError(f"{where}: no {MANIFEST} at its top level{hint}")
    try:
        data = load_json(files[MANIFEST], max_bytes=MAX_FILE_BYTES)
    except UntrustedTextError as error:
        raise BundleError(
            f"{where}: {MANIFEST} cannot be read: {error}; export the bundle again"
        ) from None
    return BundleManifest.from_json(data, where)


def _skill(path: str, data: bytes, where: str) -> tuple[str, CompositeSkill]:
    """The skill in the bundle's file ``path``, named as the file is."""
    match = _SKILL_PATH.fullmatch(path)
    if match is None:
        raise BundleError(
            f"{where}: unexpected file {path}; a bundle of format "
            f"{BUNDLE_FORMAT} holds only {MANIFEST} and skills/<name>.json"
        )
    try:
        skill = skill_from_json(load_json(data, max_bytes=MAX_FILE_BYTES), f"{where}: {path}")
    except UntrustedTextError as error:
        raise BundleError(f"{where}: {path} cannot be read: {error}") from None
    except SkillFileError as error:
        raise BundleError(f"{error}; fix or remove the skill file") from None
    if skill.name != match.group(1):
        raise BundleError(
            f"{where}: {path}: field 'name': {skill.name!r} must match the "
            f"file name {match.group(1)!r}"
        )
    return skill.name, skill


def _manifest_field(data: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = data.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BundleError(
            f"{where}: {MANIFEST} field {key!r}: expected {kind.__name__}, got "
            f"{type(value).__name__ if key in data else 'nothing'}; export the "
            f"bundle again"
        )
    return value


def _json_bytes(data: dict[str, Any]) -> bytes:
    """A JSON file as the library writes it: two-space indent, one trailing newline."""
    return (json.dumps(data, indent=2) + "\n").encode("utf-8")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
