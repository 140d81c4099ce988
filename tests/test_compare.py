"""Comparing planners: the benchmark and ``robolearn bench planners`` run one piece of code."""

import shutil

import pytest

from robolearn.cli import main
from robolearn.planner.bootstrap import bootstrap_families, default_model_dir
from robolearn.planner.compare import CompareConfig, scene_sets
from robolearn.planner.paraphrases import Scene
from tests.test_benchmarks import run_benchmark


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, tiny_model):
    """A workspace whose default model is the tiny one."""
    root = tmp_path_factory.mktemp("workspace")
    shutil.copytree(tiny_model[0], default_model_dir(root))
    return root


def test_the_planner_comparison_reports_every_measure(workspace, tmp_path):
    stdout, results = run_benchmark(
        "bench_planners",
        tmp_path,
        "--model",
        "default",
        "--per-family",
        "1",
        "--workspace",
        str(workspace),
    )
    assert "plan latency median / p95" in stdout and "success per family" in stdout
    assert "most common failures (family: kind)" in stdout
    for bar in ("parse failures", "success, paraphrases", "success, held-out", "median plan"):
        assert f"default: {bar}" in stdout
    (model,) = results["models"]
    assert model["name"] == "default" and model["identity"].startswith("sha256-")
    bootstrapped, new = len(bootstrap_families()), 4
    assert model["summary"]["held-out"]["scenes"] == bootstrapped
    assert model["summary"]["paraphrases"]["scenes"] == 3 * bootstrapped
    assert model["summary"]["new-families"]["scenes"] == 3 * new
    assert all(model["summary"][s]["parse_failures"] == 0 for s in model["summary"])
    assert model["summary"]["paraphrases"]["latency_ms"]["median"] > 0
    assert len(model["plans"]) == 4 * bootstrapped + 3 * new
    assert {p["set"] for p in model["plans"]} == {"held-out", "paraphrases", "new-families"}
    assert all(p["plan"] and isinstance(p["success"], bool) for p in model["plans"])
    # Every plan that failed says how; the counts of the kinds add up to at most the failures.
    failed = [p for p in model["plans"] if not p["success"]]
    assert all(p["failure"] for p in failed)
    assert sum(count for _, count in model["failure_kinds"]) <= len(failed)
    for set_name in ("paraphrases", "new-families"):
        assert results["oracle"]["summary"][set_name]["success"] == 1.0


def test_scene_sets_take_odd_seeds_and_the_paraphrases_asked_for():
    families = bootstrap_families()
    paraphrases = {
        "paraphrases": [Scene("stack", seed, "x") for seed in (1, 3, 5)],
        "new-families": [Scene("flip_stack", seed, "x") for seed in (7, 9, 11)],
    }
    sets = scene_sets(CompareConfig(per_family=2, paraphrases_per_family=2), paraphrases, families)
    assert {s.seed for s in sets["held-out"]} == {1, 3}
    assert len(sets["held-out"]) == 2 * len(families)
    assert [s.seed for s in sets["paraphrases"]] == [1, 3]
    assert [s.seed for s in sets["new-families"]] == [7, 9]


@pytest.mark.parametrize(
    "args, message",
    [
        (["bench"], "the following arguments are required"),
        (["bench", "planners", "--per-family", "-1"], "--per-family must be 0 or more"),
        (["bench", "planners", "--model", "/no/such/model"], "no model at /no/such/model"),
    ],
)
def test_bad_bench_flags_print_one_line(args, message, capsys):
    try:
        status = main(args)
    except SystemExit as stop:  # argparse's own errors
        status = stop.code
    assert status == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
