"""Data out: ``robolearn export dataset OUT`` writes a Hugging Face dataset that ``datasets``
loads (offline), and refuses a place it cannot write in one line, writing nothing."""

import os
import shlex
import shutil
import subprocess
import sys

import pytest

from robolearn.correction import CorrectionAPI
from robolearn.learn.corrector import SimulatedCorrector
from robolearn.skills.library import SkillLibrary
from robolearn.store import Store
from tests.conftest import SwappedPlanner, robolearn
from tests.test_provenance import run_and_store


@pytest.fixture(scope="module")
def corrected(tmp_path_factory):
    """A workspace with a failed episode (frames) corrected once, and a scripted success."""
    from robolearn.planner.oracle import OraclePlanner

    workspace = tmp_path_factory.mktemp("corrected")
    failed = run_and_store(workspace, SwappedPlanner())
    run_and_store(workspace, OraclePlanner(), seed=2)
    with Store.open(workspace) as store:
        api = CorrectionAPI(store, SkillLibrary.open(workspace))
        SimulatedCorrector(api).correct(failed.id)
        api.close()
    return workspace


def load(path, **options):
    from datasets import load_dataset

    return load_dataset(path, **options)["train"]


def test_the_exported_dataset_loads_with_datasets(corrected, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # a local dataset needs no network
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "dataset"
    result = robolearn("export", "dataset", str(out), workspace=corrected)
    assert "wrote 2 episodes, 4 steps, 1 corrections and 6 frames" in result.stdout

    episodes = load("parquet", data_files=str(out / "data" / "episodes.parquet"))
    assert episodes.num_rows == 2
    failed, success = episodes[0], episodes[1]
    assert (failed["family"], failed["seed"], failed["success"]) == ("stack", 1, False)
    assert failed["plan_source"] == "scripted" and failed["unmet_goals"]
    assert failed["failed_step"] is None  # every step ran; the stack is the wrong way up
    assert success["success"] and success["failed_step"] is None
    for frame in [failed["start_frame"], *failed["frames"]]:
        assert (out / frame).read_bytes()[:4] == b"\x89PNG"
    [correction] = load("parquet", data_files=str(out / "data" / "corrections.parquet"))
    assert correction["who"] == "simulated" and correction["rerun_success"]
    assert correction["episode_id"] == failed["episode_id"] and correction["corrected"]
    steps = load(str(out), name="steps")  # the card's configs
    assert steps.num_rows == 4 and set(steps["episode_id"]) == {1, 2}
    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and "config_name: corrections" in card
    assert "2 episodes" in card


def test_the_export_button_gives_the_same_dataset_zipped(corrected, tmp_path):
    import zipfile

    from robolearn.dashboard.export import dataset_zip

    (tmp_path / "dataset.zip").write_bytes(dataset_zip(corrected))
    with zipfile.ZipFile(tmp_path / "dataset.zip") as archive:
        names = set(archive.namelist())
    assert {"README.md", "data/episodes.parquet", "data/corrections.parquet"} <= names
    assert sum(name.endswith(".png") for name in names) == 6


def one_line(result, *words):
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr


def test_a_folder_that_is_not_empty_is_refused_and_left_alone(corrected, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = robolearn("export", "dataset", str(out), workspace=corrected, check=False)
    one_line(result, "exists and is not empty")
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no partial folder beside


def test_a_file_in_the_way_and_a_missing_parent_are_refused(corrected, tmp_path):
    (tmp_path / "file").write_text("x")
    one_line(
        robolearn("export", "dataset", str(tmp_path / "file"), workspace=corrected, check=False),
        "is a file",
    )
    missing = tmp_path / "no" / "out"
    one_line(
        robolearn("export", "dataset", str(missing), workspace=corrected, check=False),
        "does not exist",
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_an_unwritable_place_is_refused_and_nothing_is_written(corrected, tmp_path):
    parent = tmp_path / "locked"
    parent.mkdir()
    out = parent / "out"
    if os.geteuid() == 0:  # root writes through modes: mount the folder read-only instead
        if shutil.which("unshare") is None:
            pytest.skip("no unshare to make a read-only folder for root")
        command = [sys.executable, "-m", "robolearn.cli", "export", "dataset", str(out)]
        command += ["--workspace", str(corrected)]
        script = (
            f"mount --bind {parent} {parent} && mount -o remount,bind,ro {parent} && "
            f"exec {shlex.join(command)}"
        )
        result = subprocess.run(
            ["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=300
        )
        if result.returncode != 2 and "mount" in result.stderr:
            pytest.skip(f"cannot mount read-only here: {result.stderr.strip()}")
    else:
        parent.chmod(0o555)
        try:
            result = robolearn("export", "dataset", str(out), workspace=corrected, check=False)
        finally:
            parent.chmod(0o755)
    one_line(result, "cannot write the dataset", "choose a folder you may write")
    assert list(parent.iterdir()) == []


def test_a_workspace_without_a_database_has_nothing_to_export(tmp_path):
    result = robolearn(
        "export", "dataset", str(tmp_path / "out"), workspace=tmp_path / "empty", check=False
    )
    one_line(result, "holds no robolearn database yet")
    assert not (tmp_path / "out").exists()
