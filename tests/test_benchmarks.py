"""The benchmark command runs as the README says (its figures are not asserted: no timed tests)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_benchmark(module, tmp_path, *args):
    """Run ``python -m benchmarks.<module> --quick`` as a user would; stdout and its JSON."""
    output = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{module}", "--quick", "--output", str(output), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout, json.loads(output.read_text())


def test_the_simulation_benchmark_runs_and_reports_every_bar(tmp_path):
    stdout, results = run_benchmark("bench_sim", tmp_path)
    for bar in (
        "env.step / raw stepSimulation",
        "set_scene",
        "pick-and-place, no images",
        "determinism",
    ):
        assert bar in stdout
    assert results["determinism"]["equal"] is True


def test_the_searcher_benchmark_runs_and_reports_its_bars(tmp_path):
    stdout, results = run_benchmark("bench_searcher", tmp_path)
    assert "search_vector median" in stdout and "reuse precision" in stdout
    assert results["scales"]


def test_the_evaluator_benchmark_runs_and_every_seed_skill_passes(tmp_path):
    _, costs = run_benchmark("bench_evaluator", tmp_path)
    assert {c["skill"] for c in costs} >= {"put_in", "build_tower"}
    assert all(c["passed"] == c["verdicts"] for c in costs)


def test_the_rollout_benchmark_compares_workers_on_the_same_episodes(tmp_path):
    stdout, results = run_benchmark("bench_rollout", tmp_path)
    assert "speed-up, 2 local workers / in process" in stdout
    assert results["same_records"] is True
    runs = {t["name"]: t for t in results["timings"]}
    assert runs["local pool, 2 workers"]["episodes"] == runs["in process"]["episodes"] == 8


@pytest.mark.slow
def test_the_soak_benchmark_loses_nothing_and_reports_every_bar(tmp_path):
    stdout, results = run_benchmark("bench_soak", tmp_path, "--seconds", "5", "--kill-cycles", "2")
    assert "rows lost (three writers)" in stdout and "integrity_check" in stdout
    assert all(bar["passed"] for bar in results["bars"]), results["bars"]


def test_the_memory_benchmark_compares_recall_before_and_after_with_no_false_recall(tmp_path):
    stdout, results = run_benchmark("bench_memory", tmp_path)
    assert "false recalls, other words" in stdout
    after, before = (results["tallies"][m] for m in ("after", "before"))
    assert sum(t["recalled"] for t in after["other"].values()) > sum(
        t["recalled"] for t in before["other"].values()
    )
    assert all(t["false"] == 0 for words in after.values() for t in words.values())


def test_the_router_benchmark_routes_every_question_and_reports_its_bars(tmp_path):
    stdout, results = run_benchmark("bench_router", tmp_path)
    assert "routed right, other words" in stdout
    assert [s["expert"] for s in results["stream"]][-1] == "two_towers"
    assert results["accuracy"]["scene"]["own"] >= 0.9
