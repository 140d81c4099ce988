"""A user's story of hostile data files: a skill file, a library version file, a bundle's manifest
or skill and a task file that nest a hundred thousand levels deep, hold a number of a million
digits, or are larger than any real one. Each is refused with one line that names the file,
before a parser recurses or converts anything, and nothing else changes.
"""

from __future__ import annotations

import json
import shutil

import pytest

from robolearn.cli import main
from robolearn.skills.bundle import BundleError, export_bundle, import_bundle
from robolearn.skills.composite import SkillFileError
from robolearn.skills.library import SkillLibrary, read_skill_file
from robolearn.tasks.spec import TaskFileError, load_family
from robolearn.untrusted import MAX_DEPTH, UntrustedTextError, load_json, load_toml
from tests.conftest import VALID_FAMILY
from tests.test_reliability_input import STACK, assert_clear, files_of

DEEP_JSON = "[" * 100_000 + "]" * 100_000
HOSTILE_JSON = {
    "nested 100,000 deep": (DEEP_JSON, "nests 100000 levels deep"),
    "objects nested past the limit": (
        '{"a": ' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1),
        f"nests {MAX_DEPTH + 1} levels deep; the limit is {MAX_DEPTH}",
    ),
    "a million-digit number": ('{"format": ' + "9" * 1_000_000 + "}", "the limit is"),
    "a 5,000-digit number": ('{"format": ' + "9" * 5_000 + "}", "too many digits"),
    "NaN": ('{"format": NaN}', "NaN is not a number JSON allows"),
    "not UTF-8": (b"\xff\xfe{}", "not UTF-8"),
}
"""JSON that would make Python's parser recurse, convert for seconds, or accept a non-number."""


@pytest.mark.parametrize(("text", "problem"), HOSTILE_JSON.values(), ids=HOSTILE_JSON.keys())
def test_a_skill_file_is_refused_before_it_is_parsed(tmp_path, text, problem):
    path = tmp_path / "demo_stack.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(SkillFileError) as error:
        read_skill_file(path)
    assert_clear(error.value, str(path), problem)


@pytest.mark.parametrize(("text", "problem"), HOSTILE_JSON.values(), ids=HOSTILE_JSON.keys())
def test_skills_add_refuses_a_hostile_skill_file_in_one_line(tmp_path, capsys, text, problem):
    path = tmp_path / "demo_stack.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    workspace = tmp_path / "ws"
    argv = ["skills", "add", str(path), "--family", "stack", "--args", "top,base"]
    code = main([*argv, "--workspace", str(workspace)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and problem in err, err


def test_brackets_inside_strings_do_not_count_as_nesting():
    text = json.dumps({**STACK, "description": "[[[[" * 100 + "{{" * 100})
    assert load_json(text)["description"].startswith("[[[[")
    toml = 'a = "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["\n# ' + "[" * 100 + "\nb = '''\n" + "{" * 99
    assert load_toml(toml + "'''\n")["b"] == "{" * 99
    with pytest.raises(UntrustedTextError, match="nests 100000"):
        load_toml("a = " + DEEP_JSON)


@pytest.fixture
def workspace(tmp_path):
    SkillLibrary.open(tmp_path / "ws")
    return tmp_path / "ws"


@pytest.mark.parametrize(("text", "problem"), HOSTILE_JSON.values(), ids=HOSTILE_JSON.keys())
def test_a_hostile_version_file_in_the_library_is_one_line_from_every_verb(
    workspace, capsys, text, problem
):
    planted = workspace / "skills" / "stack_on" / "v0002.json"
    planted.write_bytes(text if isinstance(text, bytes) else text.encode())
    before = files_of(workspace)
    for verb in (["skills", "list"], ["skills", "show", "stack_on"]):
        code = main([*verb, "--workspace", str(workspace)])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1, err
        assert str(planted) in err and problem in err
    assert files_of(workspace) == before


def test_a_version_file_that_names_another_skill_or_version_is_refused(workspace):
    folder = workspace / "skills" / "stack_on"
    for name, data in {
        "v0002.json": {**STACK, "name": "stack_on", "version": 7},
        "v0003.json": {**STACK, "name": "build_tower", "version": 3},
    }.items():
        (folder / name).write_text(json.dumps(data))
        with pytest.raises(SkillFileError) as error:
            SkillLibrary.open(workspace)
        assert_clear(error.value, name, "not what its path names")
        (folder / name).unlink()


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle") / "skills-bundle"
    export_bundle(SkillLibrary.seed(), out)
    return out


@pytest.mark.parametrize("target", ["manifest.json", "skills/stack_on.json"])
@pytest.mark.parametrize(("text", "problem"), HOSTILE_JSON.values(), ids=HOSTILE_JSON.keys())
def test_a_hostile_bundle_file_is_refused_and_nothing_is_imported(
    bundle, workspace, tmp_path, target, text, problem
):
    copy = tmp_path / "copy"
    shutil.copytree(bundle, copy)
    data = text if isinstance(text, bytes) else text.encode()
    (copy / target).write_bytes(data)
    if target != "manifest.json":  # a matching checksum, so the file itself is what is read
        import hashlib

        manifest = json.loads((copy / "manifest.json").read_text())
        manifest["checksums"][target] = hashlib.sha256(data).hexdigest()
        (copy / "manifest.json").write_text(json.dumps(manifest))
    before = files_of(workspace)
    with pytest.raises(BundleError) as error:
        import_bundle(SkillLibrary.open(workspace), copy)
    if len(data) > 1_000_000:
        problem = "over the size limit"
    assert_clear(error.value, problem)
    assert files_of(workspace) == before


HOSTILE_TOML = {
    "arrays nested 100,000 deep": ("x = " + DEEP_JSON, "nests 100000 levels deep"),
    "inline tables nested 100,000 deep": (
        "x = " + "{a = " * 100_000 + "1" + "}" * 100_000,
        "nests 100000 levels deep",
    ),
    "a 5,000-digit number": ("max_steps = " + "9" * 5_000, "too many digits"),
    "2 MB": ("# " + "x" * 2_000_000, "the limit is 1,000,000"),
}


@pytest.mark.parametrize(("text", "problem"), HOSTILE_TOML.values(), ids=HOSTILE_TOML.keys())
def test_a_hostile_task_file_is_refused_in_one_line(family_file, text, problem):
    path = family_file(VALID_FAMILY + "\n" + text + "\n")
    with pytest.raises(TaskFileError) as error:
        load_family(path)
    assert_clear(error.value, str(path), problem)
