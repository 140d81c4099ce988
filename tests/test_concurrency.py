"""A user's story of two things at once on one workspace: two bootstraps, two imports of
different versions of one skill, a run that needs the model a bootstrap is building, and a
training round started in the dashboard while one runs from the command line.

Each time one wins and the other waits for it or says why in one line; nothing is half-written,
overwritten or lost. Every process is real (spawned, or ``python -m robolearn``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from benchmarks.bench_soak import at_once, kill_9, start_robolearn, wait_until
from robolearn.cli import main
from robolearn.locks import BusyError, exclusive, lock_beside
from robolearn.planner.bootstrap import (
    build_default_model,
    default_model_dir,
    ensure_default_model,
)
from robolearn.planner.model_check import check_model_folder
from robolearn.skills.bundle import export_bundle, import_bundle
from robolearn.skills.composite import skill_from_json
from robolearn.skills.library import SkillLibrary
from robolearn.store import Store
from tests.conftest import TINY, run_and_correct

APP = Path(__file__).resolve().parents[1] / "app.py"


# ----- two bootstraps ---------------------------------------------------------------------------
def bootstrap(workspace: str) -> str:
    """Build the default model of ``workspace`` (a seconds-long build) in this spawned process."""
    report = build_default_model(
        default_model_dir(Path(workspace)), TINY, progress=False, log=lambda _: None
    )
    return f"built, {report.heldout} held out"


def test_two_bootstraps_at_once_one_builds_the_other_says_why(tmp_path):
    workspace = tmp_path / "ws"
    outcomes = sorted(str(result) for result, _ in at_once([(bootstrap, (str(workspace),))] * 2))
    assert (
        outcomes[0] == "BusyError: another robolearn process is building the default model in "
        "this workspace; wait for it to finish, then try again"
    ), outcomes
    assert outcomes[1].startswith("built"), outcomes
    model = default_model_dir(workspace)
    check_model_folder(model)  # whole, and loadable
    assert sorted(p.name for p in model.parent.iterdir() if not p.name.startswith(".")) == [
        "default"
    ], "no half-written folder left beside it"
    assert not [p for p in model.parent.iterdir() if p.name.endswith(("partial", ".tmp"))]


def test_a_run_that_needs_the_model_waits_for_the_bootstrap_building_it(tiny_model, tmp_path):
    """The builder holds the lock; the run waits, then plans with what was built."""
    workspace = tmp_path / "ws"
    out = default_model_dir(workspace)
    found, messages = [], []
    with exclusive(lock_beside(out), "building the default model"):
        waiter = threading.Thread(
            target=lambda: found.append(ensure_default_model(workspace, log=messages.append))
        )
        waiter.start()
        time.sleep(2)
        assert waiter.is_alive() and not found, "it waits while the model is being built"
        shutil.copytree(tiny_model[0], out)  # what the bootstrap saves, whole, by rename
    waiter.join(timeout=60)
    assert found == [out] and messages == [], "it used the built model and built none itself"


def held_elsewhere(lock: Path) -> subprocess.Popen:
    """A process that holds ``lock`` (as a bootstrap building the model would) until killed."""
    code = (
        "import time\nfrom robolearn.locks import exclusive\n"
        f"with exclusive({str(lock)!r}, 'x'):\n    print('held', flush=True)\n    time.sleep(600)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert process.stdout.readline() == "held\n"
    return process


def test_a_bootstrap_while_another_builds_refuses_at_once(tmp_path, capsys):
    workspace = tmp_path / "ws"
    holder = held_elsewhere(lock_beside(default_model_dir(workspace)))
    try:
        began = time.monotonic()
        code = main(["bootstrap", "--workspace", str(workspace)])
    finally:
        kill_9(holder)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "another robolearn process is building" in err
    assert time.monotonic() - began < 60, "refused before any training"


def test_a_lock_times_out_with_a_line_and_is_freed_when_its_holder_dies(tmp_path):
    lock = tmp_path / ".x.lock"
    with exclusive(lock, "testing"):
        result = []

        def other() -> None:
            try:
                with exclusive(lock, "testing", timeout_s=0.3):
                    result.append("got it")
            except BusyError as error:
                result.append(str(error))

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert result == [
        "another robolearn process is testing in this workspace (waited 0.3 s); wait for it "
        "to finish, then try again"
    ]
    process = held_elsewhere(lock)
    with pytest.raises(BusyError), exclusive(lock, "x", wait=False):
        pass
    kill_9(process)
    with exclusive(lock, "x", wait=False):  # the kernel freed it with the dead holder
        pass


# ----- two imports ------------------------------------------------------------------------------
def import_into(workspace: str, bundle: str) -> str:
    report = import_bundle(SkillLibrary.open(Path(workspace)), Path(bundle))
    return "updated " + ",".join(report.updated)


def bundle_with(tmp_path: Path, description: str) -> Path:
    seed = SkillLibrary.seed()
    changed = {**seed.composites["stack_on"].to_json(), "description": description}
    library = SkillLibrary(
        [
            *(s for s in seed.composites.values() if s.name != "stack_on"),
            skill_from_json(changed, ""),
        ]
    )
    out = tmp_path / description.replace(" ", "-")
    export_bundle(library, out)
    return out


@pytest.mark.parametrize("trial", range(7))
def test_two_imports_of_other_versions_of_one_skill_at_once_both_land(tmp_path, trial):
    first = bundle_with(tmp_path, "stack one block on another, first way")
    second = bundle_with(tmp_path, "stack one block on another, second way")
    workspace = tmp_path / "ws"
    SkillLibrary.open(workspace)
    results = [
        r for r, _ in at_once([(import_into, (str(workspace), str(b))) for b in (first, second)])
    ]
    assert results == ["updated stack_on"] * 2, results
    versions = SkillLibrary.open(workspace).versions("stack_on")
    assert [v.version for v in versions] == [1, 2, 3]
    assert {v.description for v in versions[1:]} == {
        "stack one block on another, first way",
        "stack one block on another, second way",
    }
    assert not list((workspace / "skills" / "stack_on").glob(".*.tmp")), "no torn file behind"


# ----- a dashboard round beside a command-line round ---------------------------------------------
def test_the_dashboard_beside_a_command_line_round_shows_it_and_offers_no_second(
    taught, push_only_model, tmp_path, monkeypatch
):
    workspace = tmp_path / "ws"
    shutil.copytree(taught[0], workspace)
    shutil.copytree(push_only_model, default_model_dir(workspace))
    run_and_correct(workspace, default_model_dir(workspace), "stack", [5, 7])  # new lessons
    with Store.open(workspace) as store:
        rounds_before = len(store.rounds())
    cli = start_robolearn(
        tmp_path / "train.log",
        "train",
        "--epochs",
        "400",
        "--eval-scenes",
        "1",
        "--threads",
        "1",
        "--workspace",
        str(workspace),
    )
    try:

        def round_running() -> bool:
            with Store.open(workspace) as store:
                return any(r.status == "running" for r in store.rounds())

        wait_until(round_running, cli, "the command line's round to start", timeout=300)
        monkeypatch.setenv("ROBOLEARN_WORKSPACE", str(workspace))
        app = AppTest.from_file(str(APP), default_timeout=120).run()
        app.switch_page("robolearn/dashboard/learning.py").run()
        assert not app.exception
        # The page offers no second round: it shows the command line's, running elsewhere.
        assert "learning_train" not in [b.key for b in app.button]
        running = [p.text for p in app.progress]
        assert any("is running (started elsewhere)" in text for text in running), running
    finally:
        kill_9(cli)
    with Store.open(workspace) as store:
        rounds = store.rounds()
    assert len(rounds) == rounds_before + 1, "the dashboard started no second round"
