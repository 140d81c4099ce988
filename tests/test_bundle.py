"""A user's story: export the learned library as a bundle, carry it to another workspace, import.

The second half is the importer's guard: each kind of bad bundle is refused with a message that
names the problem, and the workspace it was meant for is left byte-for-byte as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import zipfile
from contextlib import nullcontext
from pathlib import Path

import pytest

from robolearn.skills import bundle_files as bundle_module
from robolearn.skills.bundle import BundleError, export_bundle, import_bundle
from robolearn.skills.composite import Provenance, skill_from_json
from robolearn.skills.library import SkillLibrary, read_flat_folder


def skill(
    name: str, params: dict[str, str], steps: list[str], effect: list[str], description: str = ""
) -> dict:
    return {
        "format": 1,
        "name": name,
        "description": description or name.replace("_", " "),
        "params": [{"name": k, "type": v} for k, v in params.items()],
        "steps": steps,
        "effect": effect,
    }


PUT_BOTH_IN = skill(
    "put_both_in",
    {"a": "block", "b": "block", "bowl": "container"},
    ["put_in(a, bowl)", "put_in(b, bowl)"],
    ["inside(a, bowl)", "inside(b, bowl)"],
)
FILL_BOWL = skill(
    "fill_bowl",  # sorts before the skill it calls: saving must follow the calls
    {"a": "block", "b": "block", "c": "block", "bowl": "container"},
    ["put_both_in(a, b, bowl)", "put_in(c, bowl)"],
    ["inside(c, bowl)"],
)


@pytest.fixture
def source(tmp_path: Path) -> SkillLibrary:
    """A workspace that has learned two skills on top of the seed library."""
    library = SkillLibrary.open(tmp_path / "src")
    library.save(skill_from_json(PUT_BOTH_IN, "test"), Provenance("planner", episode=7))
    library.save(skill_from_json(FILL_BOWL, "test"), Provenance("person", correction=3))
    return library


@pytest.fixture
def target(tmp_path: Path) -> SkillLibrary:
    """A fresh workspace on another machine: the seed library only."""
    return SkillLibrary.open(tmp_path / "ws")


@pytest.fixture
def exported(source: SkillLibrary, tmp_path: Path) -> Path:
    return export_bundle(source, tmp_path / "bundle")


def snapshot(library: SkillLibrary) -> list[tuple[str, str]]:
    """Every file of the workspace's skills folder with its sha256."""
    return sorted(
        (str(p.relative_to(library.root)), hashlib.sha256(p.read_bytes()).hexdigest())
        for p in library.root.rglob("*")
        if p.is_file()
    )


def restamp(folder: Path, **changes: object) -> None:
    """Rewrite the manifest so its checksums match the files as they are now (a forger's bundle)."""
    manifest = json.loads((folder / "manifest.json").read_text())
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "manifest.json")
    manifest["checksums"] = {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files
    }
    manifest["skill_count"] = len(files)
    manifest.update(changes)
    (folder / "manifest.json").write_text(json.dumps(manifest))


def zip_of(
    folder: Path, out: Path, extra: dict[zipfile.ZipInfo | str, bytes] | None = None
) -> Path:
    """A zip of ``folder``'s content plus ``extra`` entries, written as an attacker would."""
    with zipfile.ZipFile(out, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return out


def assert_refused(library: SkillLibrary, bundle: Path, message: str) -> BundleError:
    """The import fails with ``message`` and leaves the workspace and the library untouched."""
    files, skills = snapshot(library), dict(library.composites)
    with pytest.raises(BundleError, match=message) as error:
        import_bundle(library, bundle)
    assert snapshot(library) == files
    assert dict(library.composites) == skills
    return error.value


# ----- the happy path ---------------------------------------------------------------------------
def test_an_export_imported_into_a_fresh_workspace_gives_the_same_skills(
    source, target, exported, tmp_path
):
    report = import_bundle(target, exported)

    assert report.added == ("fill_bowl", "put_both_in")
    assert report.updated == ()
    assert set(report.unchanged) == set(source.composites) - {"fill_bowl", "put_both_in"}
    reopened = SkillLibrary.open(tmp_path / "ws")
    assert {n: s.content_hash for n, s in reopened.composites.items()} == {
        n: s.content_hash for n, s in source.composites.items()
    }
    learned = reopened.composites["put_both_in"]
    assert learned.provenance == Provenance("import", note="from bundle bundle")
    assert learned.version == 1


def test_the_manifest_describes_the_bundle_and_checksums_every_skill_file(source, exported):
    manifest = json.loads((exported / "manifest.json").read_text())

    assert manifest["bundle_format"] == 1 and manifest["skill_format"] == 1
    assert manifest["robolearn_version"] and manifest["created"]
    assert manifest["embedder_id"] is None
    assert manifest["skill_count"] == len(source.composites)
    assert sorted(manifest["checksums"]) == sorted(f"skills/{n}.json" for n in source.composites)
    for path, digest in manifest["checksums"].items():
        assert hashlib.sha256((exported / path).read_bytes()).hexdigest() == digest


def test_an_exported_folder_seeds_a_library_like_the_shipped_skills_folder(source, exported):
    seeded = SkillLibrary(read_flat_folder(exported / "skills"))

    assert {n: s.content_hash for n, s in seeded.composites.items()} == {
        n: s.content_hash for n, s in source.composites.items()
    }


def test_a_zip_bundle_round_trips_and_carries_the_embedder_id(source, target, tmp_path):
    archive = export_bundle(source, tmp_path / "skills.zip", embedder_id="all-MiniLM-L6-v2")

    assert zipfile.is_zipfile(archive)
    report = import_bundle(target, archive)
    assert report.added == ("fill_bowl", "put_both_in")
    assert report.manifest.embedder_id == "all-MiniLM-L6-v2"
    assert target.composites["fill_bowl"].provenance.note == "from bundle skills.zip"


def test_importing_the_same_bundle_again_changes_nothing(target, exported):
    import_bundle(target, exported)
    files = snapshot(target)

    report = import_bundle(target, exported)

    assert report.added == report.updated == ()
    assert set(report.unchanged) == set(target.composites)
    assert snapshot(target) == files


def test_a_changed_skill_becomes_a_new_version_with_import_provenance(source, target, tmp_path):
    stack_on = source.composites["stack_on"]
    source.save(
        skill_from_json(
            {**stack_on.to_json(), "description": "stack one block on another, gently"}, "test"
        ),
        Provenance("person"),
    )
    report = import_bundle(target, export_bundle(source, tmp_path / "corrected"))

    assert report.updated == ("stack_on",)
    versions = SkillLibrary.open(tmp_path / "ws").versions("stack_on")
    assert [v.version for v in versions] == [1, 2]
    assert versions[0].provenance.source == "seed"
    assert versions[1].provenance == Provenance("import", note="from bundle corrected")
    assert versions[1].description.endswith("gently")


def test_export_refuses_to_overwrite_anything(source, exported, tmp_path):
    with pytest.raises(BundleError, match="already exists"):
        export_bundle(source, exported)
    (tmp_path / "old.zip").write_bytes(b"keep me")
    with pytest.raises(BundleError, match="already exists"):
        export_bundle(source, tmp_path / "old.zip")
    assert (tmp_path / "old.zip").read_bytes() == b"keep me"


# ----- refusals: each names the problem and leaves the workspace as it was ----------------------
def test_a_path_that_is_no_bundle_is_refused(target, tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    assert_refused(target, tmp_path / "notes.txt", "not a folder or a .zip")
    assert_refused(target, tmp_path / "nowhere", "not a folder or a .zip")


@pytest.mark.parametrize("damage", ["truncated", "flipped byte"])
def test_a_truncated_or_corrupt_zip_is_refused(source, target, tmp_path, damage):
    archive = export_bundle(source, tmp_path / "skills.zip")
    data = bytearray(archive.read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    else:
        data[60] ^= 0xFF  # inside manifest.json's compressed bytes
    archive.write_bytes(bytes(data))

    assert_refused(target, archive, "truncated or corrupt")


def test_a_bundle_without_a_manifest_is_refused(target, exported):
    (exported / "manifest.json").unlink()
    assert_refused(target, exported, "no manifest.json")


def test_a_zip_of_the_folder_instead_of_its_content_gets_a_hint(target, exported, tmp_path):
    archive = tmp_path / "nested.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in exported.rglob("*.json"):
            z.write(path, path.relative_to(tmp_path).as_posix())
    assert_refused(target, archive, "zip the folder's content")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must hold a JSON object"),
        ('{"bundle_format": 1, "skill_format": 1, "checksums": []}', "'checksums': expected dict"),
        ('{"bundle_format": "1"}', "'bundle_format': expected int"),
    ],
)
def test_a_malformed_manifest_is_refused(target, exported, text, message):
    (exported / "manifest.json").write_text(text)
    assert_refused(target, exported, message)


@pytest.mark.parametrize("key", ["bundle_format", "skill_format"])
def test_a_bundle_from_a_newer_robolearn_says_upgrade(target, exported, key):
    restamp(exported, **{key: 99})
    error = assert_refused(target, exported, "upgrade robolearn")
    assert key in str(error)


def test_a_skill_file_changed_after_export_fails_its_checksum(target, exported):
    path = exported / "skills" / "put_both_in.json"
    path.write_text(path.read_text().replace("put both in", "put both in, then wave"))
    assert_refused(target, exported, "checksum mismatch for skills/put_both_in.json")


def test_a_file_the_manifest_does_not_list_is_refused(target, exported):
    (exported / "skills" / "stowaway.json").write_text(json.dumps(PUT_BOTH_IN))
    assert_refused(target, exported, "not listed in the manifest.json: skills/stowaway.json")


def test_a_listed_file_that_is_missing_is_refused(target, exported):
    (exported / "skills" / "fill_bowl.json").unlink()
    assert_refused(target, exported, "missing: skills/fill_bowl.json")


@pytest.mark.parametrize("name", ["../evil.json", "skills/../../evil.json"])
def test_a_zip_entry_that_climbs_out_of_the_bundle_is_refused(target, exported, tmp_path, name):
    archive = zip_of(exported, tmp_path / "evil.zip", {name: b"{}"})
    assert_refused(target, archive, r"'\.\.', '\.' or empty part \(it could escape the bundle\)")
    assert not (tmp_path / "evil.json").exists()


def test_an_absolute_path_is_refused_in_a_zip_and_in_a_manifest(target, exported, tmp_path):
    archive = zip_of(exported, tmp_path / "evil.zip", {"/tmp/evil.json": b"{}"})
    assert_refused(target, archive, "absolute path")

    restamp(exported)
    manifest = json.loads((exported / "manifest.json").read_text())
    manifest["checksums"]["/etc/passwd"] = "0" * 64
    (exported / "manifest.json").write_text(json.dumps(manifest))
    assert_refused(target, exported, "absolute path")


def test_a_symlink_anywhere_in_a_folder_bundle_is_refused(target, exported, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.json").write_text(json.dumps(PUT_BOTH_IN))
    os.symlink(outside, exported / "skills" / "more")
    assert_refused(target, exported, "skills/more is a symbolic link")

    (exported / "skills" / "more").unlink()
    os.symlink(outside / "secret.json", exported / "skills" / "secret.json")
    restamp(exported)
    assert_refused(target, exported, "skills/secret.json is a symbolic link")


def test_a_symlink_entry_in_a_zip_is_refused(target, exported, tmp_path):
    link = zipfile.ZipInfo("skills/passwd.json")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = zip_of(exported, tmp_path / "evil.zip", {link: b"/etc/passwd"})
    assert_refused(target, archive, "is a symbolic link")


def test_a_huge_file_is_refused_before_it_is_parsed(target, exported, tmp_path):
    huge = exported / "skills" / "huge.json"
    huge.write_bytes(b" " * (bundle_module.MAX_FILE_BYTES + 1))
    restamp(exported)
    assert_refused(target, exported, "skills/huge.json is over the size limit")
    archive = zip_of(exported, tmp_path / "huge.zip")  # compresses to a few KB
    assert_refused(target, archive, "skills/huge.json is over the size limit")


def test_a_bundle_with_too_many_entries_is_refused(target, exported, monkeypatch):
    monkeypatch.setattr(bundle_module, "MAX_ENTRIES", 4)
    assert_refused(target, exported, "more than 4 entries")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"steps": []}, "put_both_in.json: field 'steps': a composite needs at least one step"),
        ({"params": [{"name": "a", "type": "colour"}]}, "unknown type 'colour'"),
        ({"name": "put_all_in"}, "must match the file name 'put_both_in'"),
    ],
)
def test_a_malformed_skill_file_is_refused(target, exported, change, message):
    path = exported / "skills" / "put_both_in.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **change}))
    restamp(exported)
    assert_refused(target, exported, message)


def test_a_skill_calling_a_skill_nobody_has_is_refused(target, exported):
    juggle = skill("juggle_three", {"a": "block"}, ["juggle(a)"], [])
    (exported / "skills" / "juggle_three.json").write_text(json.dumps(juggle))
    restamp(exported)
    assert_refused(target, exported, "unknown skill 'juggle'")


def test_skills_that_call_each_other_in_a_cycle_are_refused(target, exported):
    for name, other in (("ping", "pong"), ("pong", "ping")):
        cyclic = skill(name, {"a": "block"}, ["pick(a)", f"{other}(a)"], [])
        (exported / "skills" / f"{name}.json").write_text(json.dumps(cyclic))
    restamp(exported)
    assert_refused(target, exported, "cycle")


def test_a_skill_that_would_break_one_already_in_the_library_is_refused(source, target, exported):
    stack_on = source.composites["stack_on"].to_json()
    stack_on["params"].append({"name": "side", "type": "side"})
    (exported / "skills" / "stack_on.json").write_text(json.dumps(stack_on))
    restamp(exported)
    assert_refused(
        target,
        exported,
        r"build_tower.*stack_on\(top: block, base: block, side: "
        r"side\) takes 3 arguments",
    )


# ----- the rest of the fuzzed cases (tests/test_reliability_input.py has the other inputs) ------
def mark_encrypted(archive: Path) -> Path:
    """Set the "encrypted" flag of every entry (zipfile cannot write encrypted entries)."""
    data = bytearray(archive.read_bytes())
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # local, central
        start = data.find(signature)
        while start != -1:
            data[start + flag_at] |= 0x1
            start = data.find(signature, start + 4)
    archive.write_bytes(bytes(data))
    return archive


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("C:/evil.json", "absolute path"),
        ("\\evil.json", "absolute path"),
        ("skills\\..\\..\\evil.json", "backslash"),
        ("skills/evil\x01.json", "control character"),
        ("./manifest.json", r"'\.\.', '\.' or empty part"),
        ("skills//evil.json", r"'\.\.', '\.' or empty part"),
        ("skills/put_both_in.json", "appears twice"),
    ],
)
def test_a_zip_entry_that_could_escape_or_hide_is_refused(
    target, exported, tmp_path, entry, message
):
    with pytest.warns(UserWarning) if entry == "skills/put_both_in.json" else nullcontext():
        archive = zip_of(exported, tmp_path / "evil.zip", {entry: b"{}"})
    assert_refused(target, archive, message)
    assert not (tmp_path / "evil.json").exists()


def test_an_encrypted_zip_entry_is_refused(target, exported, tmp_path):
    archive = mark_encrypted(zip_of(exported, tmp_path / "locked.zip"))
    assert_refused(target, archive, "is encrypted; export the bundle again without a password")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "truncated or corrupt"),
        (os.urandom(4096), "truncated or corrupt"),
        (b"PK\x05\x06" + b"\0" * 18, "no manifest.json"),  # an empty archive
    ],
)
def test_a_zip_that_holds_nothing_usable_is_refused(target, tmp_path, data, message):
    (tmp_path / "skills.zip").write_bytes(data)
    assert_refused(target, tmp_path / "skills.zip", message)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bundle_format": 0}, "'bundle_format': 0 is no format"),
        ({"skill_format": -1}, "'skill_format': -1 is no format"),
        ({"skill_count": 99}, "counts 99 skills but the bundle holds"),
        ({"embedder_id": 7}, "'embedder_id': expected a string"),
        ({"created": None}, "'created': expected str"),
    ],
)
def test_a_manifest_with_a_wrong_version_or_count_is_refused(target, exported, change, message):
    restamp(exported, **change)
    assert_refused(target, exported, message)


def test_a_manifest_that_lists_a_path_out_of_the_bundle_is_refused(target, exported):
    restamp(exported)
    manifest = json.loads((exported / "manifest.json").read_text())
    manifest["checksums"]["skills/../../outside.json"] = "0" * 64
    (exported / "manifest.json").write_text(json.dumps(manifest))
    assert_refused(target, exported, r"lists 'skills/\.\./\.\./outside\.json'")


def test_a_bundle_over_the_total_size_limit_is_refused(target, exported, tmp_path, monkeypatch):
    archive = zip_of(exported, tmp_path / "skills.zip")
    monkeypatch.setattr(bundle_module, "MAX_BUNDLE_BYTES", 2_000)
    assert_refused(target, exported, "over the size limit of 2000 bytes in all")
    assert_refused(target, archive, "over the size limit of 2000 bytes")


def test_a_special_file_in_a_folder_bundle_is_refused(target, exported):
    os.mkfifo(exported / "skills" / "pipe.json")
    assert_refused(target, exported, "skills/pipe.json is not a regular file or folder")


def test_a_skill_name_the_call_language_cannot_write_is_refused(target, exported):
    unicode_name = {**PUT_BOTH_IN, "name": "pút_both_in"}
    (exported / "skills" / "pút_both_in.json").write_text(json.dumps(unicode_name))
    restamp(exported)
    assert_refused(target, exported, "ASCII")
