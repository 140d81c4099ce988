"""One workspace, one planner: the CLI and the dashboard plan alike, and an unusable folder is
refused at once."""

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from robolearn.correction import CorrectionAPI
from robolearn.paths import WorkspaceLayout
from robolearn.skills.library import SkillLibrary
from robolearn.store import Store
from robolearn.tasks.sampler import rebuild_task
from robolearn.workspace import PlannerChoice, Workspace, WorkspaceError
from tests.conftest import robolearn

APP = Path(__file__).resolve().parents[1] / "app.py"


@pytest.fixture
def taught_copy(taught, push_only_model, tmp_path):
    """The taught workspace (round 1's expert and router in use), its base model as default."""
    workspace = tmp_path / "ws"
    shutil.copytree(taught[0], workspace)
    shutil.copytree(push_only_model, WorkspaceLayout(workspace).default_model)
    return workspace


FAMILY, SEED = "push_to_zone", 5
"""A scene the taught workspace plans with its model and adapter: no correction touches it."""


def run_page(workspace, monkeypatch, seed):
    """Run one episode with the lm planner on the dashboard's Run page; the stored row."""
    monkeypatch.setenv("ROBOLEARN_WORKSPACE", str(workspace))
    app = AppTest.from_file(str(APP), default_timeout=180).run()
    app.switch_page("robolearn/dashboard/run.py").run()
    app.selectbox(key="run_family").select(FAMILY)
    app.number_input(key="run_seed").set_value(seed)
    app.radio(key="run_planner").set_value("lm")
    app.button(key="run_go").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    with Store.open(workspace) as store:
        return store.episodes(newest_first=True, limit=1)[0]


def cli_run(workspace, seed):
    """``robolearn run`` of one episode with the lm planner; the stored row."""
    run = ("run", "--family", FAMILY, "--episodes", "1", "--seed", str(seed))
    robolearn(*run, workspace=workspace)
    with Store.open(workspace) as store:
        return store.episodes(newest_first=True, limit=1)[0]


def test_the_run_page_plans_a_scene_as_robolearn_run_does_memory_and_adapter_included(
    taught_copy, monkeypatch
):
    by_cli, on_page = cli_run(taught_copy, SEED), run_page(taught_copy, monkeypatch, SEED)
    assert on_page.plan == by_cli.plan
    assert on_page.explanation == by_cli.explanation
    assert "base model (router similarity" in by_cli.explanation  # round 1's router chose
    assert "no correction of this situation yet" in by_cli.explanation

    with Store.open(taught_copy) as store:  # a person fixes the CLI's episode
        api = CorrectionAPI(store, SkillLibrary.open(taught_copy))
        fixed = ["open_gripper()", *map(str, rebuild_task(by_cli).oracle)]
        correction = api.propose(by_cli.id, "\n".join(fixed), "ada", "open the gripper first")
        rerun = api.rerun(correction)
        assert rerun.success
        correction_id = api.save(correction, rerun)
        api.close()

    by_cli, on_page = cli_run(taught_copy, SEED), run_page(taught_copy, monkeypatch, SEED)
    assert by_cli.plan == on_page.plan == fixed
    assert by_cli.explanation == on_page.explanation
    assert by_cli.explanation.startswith(f"correction #{correction_id} by ada")


def test_a_planner_choice_names_a_known_planner():
    with pytest.raises(ValueError, match="unknown planner 'gpt'; known: lm, oracle"):
        PlannerChoice("gpt")


def one_line_refusal(result, *words):
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr


@pytest.mark.parametrize(
    "verb",
    [
        ("bootstrap",),
        ("run", "--planner", "oracle", "--episodes", "1"),
        ("skills", "list"),
        ("adapters", "list"),
        ("plan", "stack the red block on the blue one"),
    ],
)
def test_a_workspace_that_is_a_file_is_refused_at_once(verb, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not a workspace")
    start = time.perf_counter()
    one_line_refusal(robolearn(*verb, workspace=path, check=False), "is a file, not a folder")
    assert time.perf_counter() - start < 60  # no training, no model loaded
    assert path.read_text() == "not a workspace"


@pytest.mark.parametrize("verb", [("run", "--planner", "oracle"), ("skills", "list")])
def test_a_folder_where_the_database_goes_is_refused_and_left_alone(verb, tmp_path):
    (tmp_path / "robolearn.db").mkdir()
    result = robolearn(*verb, workspace=tmp_path, check=False)
    one_line_refusal(result, "robolearn.db is a folder where the workspace's database goes")
    assert (tmp_path / "robolearn.db").is_dir() and not list(tmp_path.glob("skills"))


def test_a_workspace_opens_read_only_only_for_reading(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(WorkspaceError, match="is a file"):
        Workspace.open(tmp_path / "file", writing=False)
    assert not Workspace.open(tmp_path / "new").read_only


# ----- a read-only workspace ------------------------------------------------------------------
def read_only_robolearn(workspace, *args):
    """``robolearn ARGS`` with ``workspace`` read-only to it; the CompletedProcess.

    Root writes through file modes, so as root the folder is bound read-only in a private
    mount namespace (``unshare``); other users simply lose write permission.
    """
    command = [sys.executable, "-m", "robolearn.cli", *args, "--workspace", str(workspace)]
    if os.geteuid() != 0:
        for path in [workspace, *workspace.rglob("*")]:
            path.chmod(path.stat().st_mode & ~0o222)
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=300)
        finally:
            for path in [workspace, *workspace.rglob("*")]:
                path.chmod(path.stat().st_mode | 0o200)
    if shutil.which("unshare") is None:
        pytest.skip("no unshare to make a read-only folder for root")
    folder = shlex.quote(str(workspace))
    script = (
        f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder} && "
        f"exec {shlex.join(command)}"
    )
    result = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=300
    )
    if "mount" in result.stderr and result.returncode != 0 and "robolearn" not in result.stderr:
        pytest.skip(f"cannot mount read-only here: {result.stderr.strip()}")
    return result


@pytest.fixture
def read_only_workspace(taught, push_only_model, tmp_path):
    """A taught workspace with its default model, every file of it as it was."""
    workspace = tmp_path / "ws"
    shutil.copytree(taught[0], workspace)
    shutil.copytree(push_only_model, WorkspaceLayout(workspace).default_model)
    return workspace


def snapshot(folder):
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_reading_verbs_work_on_a_read_only_workspace_and_writing_verbs_are_refused(
    read_only_workspace,
):
    before = snapshot(read_only_workspace)
    listed = read_only_robolearn(read_only_workspace, "skills", "list")
    assert listed.returncode == 0, listed.stderr
    assert "build_tower" in listed.stdout
    rounds = read_only_robolearn(read_only_workspace, "adapters", "list")
    assert rounds.returncode == 0 and "1 rounds" in rounds.stdout, rounds.stderr
    plan = read_only_robolearn(
        read_only_workspace, "plan", "stack the red block on the blue one", "--family", "stack"
    )
    assert plan.returncode == 0 and "1. " in plan.stdout, plan.stderr

    start = time.perf_counter()
    for verb in (("run", "--planner", "oracle", "--episodes", "1"), ("bootstrap",)):
        refused = read_only_robolearn(read_only_workspace, *verb)
        one_line_refusal(refused, "cannot be written", "make it writable")
    assert time.perf_counter() - start < 120  # refused before any work
    assert snapshot(read_only_workspace) == before


def test_a_read_only_workspace_without_a_model_says_why_it_cannot_plan(tmp_path):
    robolearn("skills", "list", workspace=tmp_path)  # the library and nothing else
    Store.open(tmp_path).close()
    result = read_only_robolearn(tmp_path, "plan", "stack the red block on the blue one")
    one_line_refusal(result, "read-only and has no planner model yet")
