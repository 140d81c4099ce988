"""`robolearn skills` as a user runs it, in a subprocess, on a fresh workspace."""

import json

from tests.conftest import robolearn

CAREFUL_STACK = {
    "format": 1,
    "name": "careful_stack",
    "description": "lift a block high first, then stack it on another",
    "params": [{"name": "a", "type": "block"}, {"name": "b", "type": "block"}],
    "steps": ["pick(a)", "move_to(0.5, 0.0, 0.3)", "place(a, b)"],
    "effect": ["on(a, b)"],
}


def test_list_and_show_describe_the_seed_library(tmp_path):
    listing = robolearn("skills", "list", workspace=tmp_path).stdout
    assert "pick(obj: block)" in listing and "build_tower" in listing and "seed" in listing
    shown = robolearn("skills", "show", "build_tower", workspace=tmp_path).stdout
    assert "1. stack_on(middle, bottom)" in shown
    assert "v1  seed" in shown


def test_adding_a_skill_proves_it_first(tmp_path):
    good = tmp_path / "careful_stack.json"
    good.write_text(json.dumps(CAREFUL_STACK))
    result = robolearn(
        "skills",
        "add",
        str(good),
        "--family",
        "stack",
        "--args",
        "top,base",
        workspace=tmp_path / "ws",
    )
    assert "passed" in result.stdout and "saved as careful_stack v1" in result.stdout
    assert "careful_stack" in robolearn("skills", "list", workspace=tmp_path / "ws").stdout

    wrong = tmp_path / "wrong.json"
    wrong.write_text(
        json.dumps(
            {**CAREFUL_STACK, "name": "wrong", "steps": ["pick(a)", "place_beside(a, b, back)"]}
        )
    )
    refused = robolearn(
        "skills",
        "add",
        str(wrong),
        "--family",
        "stack",
        "--args",
        "top,base",
        workspace=tmp_path / "ws",
        check=False,
    )
    assert refused.returncode == 1
    assert "refused (predicate_false)" in refused.stdout
    assert "wrong" not in robolearn("skills", "list", workspace=tmp_path / "ws").stdout


def test_bad_skill_commands_get_one_clear_line(tmp_path):
    unknown = robolearn("skills", "show", "juggle", workspace=tmp_path, check=False)
    assert unknown.returncode == 2 and "unknown skill 'juggle'; known:" in unknown.stderr
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": 1, "name": "x"')
    bad_file = robolearn(
        "skills", "add", str(broken), "--family", "stack", workspace=tmp_path, check=False
    )
    assert bad_file.returncode == 2 and "cannot read" in bad_file.stderr
    assert "Traceback" not in unknown.stderr + bad_file.stderr


def test_a_library_exported_from_one_workspace_imports_into_another(tmp_path):
    skill_file = tmp_path / "careful_stack.json"
    skill_file.write_text(json.dumps(CAREFUL_STACK))
    robolearn(
        "skills",
        "add",
        str(skill_file),
        "--family",
        "stack",
        "--args",
        "top,base",
        workspace=tmp_path / "lab",
    )
    bundle = tmp_path / "skills.zip"
    exported = robolearn("skills", "export", str(bundle), workspace=tmp_path / "lab")
    assert "exported 6 composite skills" in exported.stdout
    imported = robolearn("skills", "import", str(bundle), workspace=tmp_path / "home").stdout
    assert "added      careful_stack" in imported
    shown = robolearn("skills", "show", "careful_stack", workspace=tmp_path / "home").stdout
    assert "v1  import" in shown

    (tmp_path / "broken.zip").write_bytes(bundle.read_bytes()[:100])
    refused = robolearn(
        "skills", "import", str(tmp_path / "broken.zip"), workspace=tmp_path / "home", check=False
    )
    assert refused.returncode == 2 and "truncated or corrupt" in refused.stderr


def test_search_shows_the_decision_and_the_closest_skills(tmp_path):
    out = robolearn(
        "skills", "search", "put the red cube into the bowl", "-k", "3", workspace=tmp_path
    ).stdout
    lines = out.strip().splitlines()
    assert lines[0].startswith("decision: ") and "reuse >=" in lines[0]
    assert "put_in(obj: block, container: container)" in lines[1]
    assert len(lines) == 4
    empty = robolearn("skills", "search", "  ", workspace=tmp_path, check=False)
    assert empty.returncode == 2 and "the query is empty" in empty.stderr
