"""Parallel rollouts: worker processes (or Ray actors) run the episodes, this process stores
them, and nothing depends on how the episodes were spread or on a worker dying."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest

from robolearn.rollout import RunRecorder, WorkerSetupError, run_episodes
from robolearn.rollout.shipped import ShippedRollout
from robolearn.store import Store
from robolearn.workspace import PlannerChoice, WorkspaceRollout
from tests.conftest import robolearn

FAMILIES = ["stack", "push_to_zone"]


def stored_run(workspace: Path, setup, episodes: int = 3, **spread):
    """Run ``episodes`` of each family with ``setup``, storing them; (summary, stored rows)."""
    with Store.open(workspace) as store:
        recorder = RunRecorder(store, store.start_run(setup.name, 0), workspace)
        summary, _ = run_episodes(
            FAMILIES,
            episodes,
            0,
            setup,
            recorder=recorder,
            progress=False,
            log=lambda _: None,
            **spread,
        )
        rows = store.episodes(limit=None)
    return summary, [dict(vars(row), id=None, run_id=None, created=None) for row in rows]


def test_two_workers_store_the_same_episodes_in_the_same_order_as_one(tmp_path):
    alone = stored_run(
        tmp_path / "one", WorkspaceRollout(tmp_path / "one", PlannerChoice("oracle"))
    )
    spread = stored_run(
        tmp_path / "two", WorkspaceRollout(tmp_path / "two", PlannerChoice("oracle")), workers=2
    )
    assert spread[1] == alone[1]
    assert [(row["family"], row["seed"]) for row in spread[1]] == [
        (family, seed) for family in FAMILIES for seed in range(3)
    ]
    assert spread[0].successes == alone[0].successes == 6 and spread[0].crashes == 0


def test_language_model_workers_plan_exactly_as_the_driver_does(tmp_path, tiny_model):
    model = str(tiny_model[0])
    alone = stored_run(
        tmp_path / "one", WorkspaceRollout(tmp_path / "one", PlannerChoice("lm", model)), episodes=2
    )
    spread = stored_run(
        tmp_path / "two",
        WorkspaceRollout(tmp_path / "two", PlannerChoice("lm", model)),
        episodes=2,
        workers=2,
    )
    assert [row["plan"] for row in spread[1]] == [row["plan"] for row in alone[1]]
    assert spread[1] == alone[1]


class DyingPlanner:
    """The oracle, except that planning ``seed`` kills its own process (SIGKILL), as a
    segfault or the OOM killer would, the first ``times`` times (counted in a file)."""

    name = "oracle"

    def __init__(self, inner, seed: int, times: int, tally: Path) -> None:
        self.inner, self.seed, self.times, self.tally = inner, seed, times, tally

    def plan(self, task):
        if task.seed == self.seed:
            deaths = len(self.tally.read_text()) if self.tally.exists() else 0
            if deaths < self.times:
                with self.tally.open("a") as handle:
                    handle.write("x")
                os.kill(os.getpid(), signal.SIGKILL)
        return self.inner.plan(task)


@dataclass(frozen=True)
class DiesOnSeed:
    """A worker setup whose planner kills its worker on one seed (see DyingPlanner)."""

    workspace: Path
    seed: int
    times: int
    name: ClassVar[str] = "oracle"

    def build(self):
        rollout = WorkspaceRollout(self.workspace, PlannerChoice("oracle")).build()
        rollout.planner = DyingPlanner(
            rollout.planner, self.seed, self.times, self.workspace / "deaths"
        )
        return rollout


def test_a_worker_killed_mid_episode_is_replaced_and_its_episode_runs_again(tmp_path):
    summary, rows = stored_run(tmp_path, DiesOnSeed(tmp_path, seed=1, times=1), workers=2)
    assert summary.crashes == 1 and not summary.lost
    assert [(row["family"], row["seed"]) for row in rows] == [
        (family, seed) for family in FAMILIES for seed in range(3)
    ]
    assert summary.successes == 6


def test_an_episode_whose_workers_keep_dying_is_reported_not_dropped(tmp_path):
    summary, rows = stored_run(tmp_path, DiesOnSeed(tmp_path, seed=2, times=10), workers=2)
    lost = [(e.job.family, e.job.seed) for e in summary.lost]
    assert lost == [("stack", 2), ("push_to_zone", 2)]
    assert all("SIGKILL" in e.reason for e in summary.lost)
    assert [(row["family"], row["seed"]) for row in rows] == [
        (family, seed) for family in FAMILIES for seed in (0, 1)
    ]
    assert summary.to_dict()["lost"][0] == {
        "family": "stack",
        "seed": 2,
        "reason": summary.lost[0].reason,
    }


def test_workers_without_the_workspace_disk_plan_from_what_was_shipped(tmp_path, tiny_model):
    model = str(tiny_model[0])
    alone = stored_run(
        tmp_path / "here",
        WorkspaceRollout(tmp_path / "here", PlannerChoice("lm", model)),
        episodes=2,
    )
    source = tmp_path / "source"
    shutil.copytree(tmp_path / "here", source)
    shipped = ShippedRollout.pack(WorkspaceRollout(source, PlannerChoice("lm", model)).prepare())
    shutil.rmtree(source)  # the workers cannot read it: all they have is what was packed
    spread = stored_run(tmp_path / "there", shipped, episodes=2, workers=2)
    assert [row["plan"] for row in spread[1]] == [row["plan"] for row in alone[1]]
    assert spread[0].successes == alone[0].successes


def test_a_worker_that_cannot_load_its_model_says_why(tmp_path):
    setup = WorkspaceRollout(tmp_path, PlannerChoice("lm", str(tmp_path / "no-such-model")))
    with pytest.raises(WorkerSetupError, match="no model at"):
        stored_run(tmp_path, setup, workers=2)


def test_run_with_workers_prints_one_summary_of_every_episode(tmp_path):
    result = robolearn(
        "run",
        "--family",
        "stack",
        "--episodes",
        "4",
        "--planner",
        "oracle",
        "--workers",
        "2",
        "--json",
        "--workspace",
        str(tmp_path),
    )
    summary = json.loads(result.stdout)
    assert (summary["episodes"], summary["successes"], summary["workers"]) == (4, 4, 2)
    assert summary["lost"] == [] and summary["crashes"] == 0
    with Store.open(tmp_path) as store:
        assert [e.seed for e in store.episodes()] == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--workers", "0"], "--workers must be at least 1"),
        (["--backend", "slurm"], "unknown --backend 'slurm'; known: local, ray"),
        (["--ray-address", "auto"], "--ray-address is for --backend ray"),
        (["--workers", "2", "--learn-skills"], "run it with --workers 1"),
    ],
)
def test_a_bad_spread_is_one_clear_line(tmp_path, flags, message):
    result = robolearn(
        "run", "--planner", "oracle", "--workspace", str(tmp_path), *flags, check=False
    )
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "robolearn.db").exists()


HAS_RAY = importlib.util.find_spec("ray") is not None
needs_ray = pytest.mark.skipif(
    not HAS_RAY,
    reason="Ray is an optional extra: pip install 'robolearn[ray]' to run the Ray backend's tests",
)


@needs_ray
def test_ray_actors_store_the_same_episodes_as_local_workers(tmp_path):
    local = stored_run(
        tmp_path / "local", WorkspaceRollout(tmp_path / "local", PlannerChoice("oracle")), workers=2
    )
    shipped = ShippedRollout.pack(
        WorkspaceRollout(tmp_path / "ray", PlannerChoice("oracle")).prepare()
    )
    on_ray = stored_run(tmp_path / "ray", shipped, workers=2, backend="ray")
    assert on_ray[1] == local[1] and on_ray[0].backend == "ray"


@needs_ray
def test_a_ray_actor_killed_mid_episode_is_replaced(tmp_path):
    summary, rows = stored_run(
        tmp_path, DiesOnSeed(tmp_path, seed=1, times=1), workers=2, backend="ray"
    )
    assert summary.crashes == 1 and not summary.lost and len(rows) == 6


@needs_ray
def test_joining_a_ray_cluster_that_is_not_there_is_one_clear_line(tmp_path):
    if Path("/tmp/ray/ray_current_cluster").exists():
        pytest.skip("a Ray cluster runs on this machine, so --ray-address auto would join it")
    result = robolearn(
        "run",
        "--planner",
        "oracle",
        "--backend",
        "ray",
        "--ray-address",
        "auto",
        "--workspace",
        str(tmp_path),
        check=False,
    )
    assert result.returncode == 2 and "cannot join the Ray cluster at auto" in result.stderr
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_without_ray_the_ray_backend_says_what_to_install(tmp_path):
    if HAS_RAY:
        pytest.skip("Ray is installed here; this is the message for machines without it")
    result = robolearn(
        "run",
        "--planner",
        "oracle",
        "--backend",
        "ray",
        "--episodes",
        "1",
        "--family",
        "stack",
        "--workspace",
        str(tmp_path),
        check=False,
    )
    assert result.returncode == 2 and "pip install 'robolearn[ray]'" in result.stderr
    assert not (tmp_path / "robolearn.db").exists()
