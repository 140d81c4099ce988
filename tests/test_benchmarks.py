"""The benchmark command runs as the README says (its figures are not asserted: no timed tests)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_simulation_benchmark_runs_and_reports_every_bar(tmp_path):
    output = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_sim", "--quick", "--output", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for bar in ("env.step / raw stepSimulation", "set_scene", "pick-and-place, no images",
                "determinism"):
        assert bar in result.stdout
    results = json.loads(output.read_text())
    assert results["determinism"]["equal"] is True


def test_the_searcher_benchmark_runs_and_reports_its_bars(tmp_path):
    output = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_searcher", "--quick", "--output", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "search_vector median" in result.stdout and "reuse precision" in result.stdout
    assert json.loads(output.read_text())["scales"]


def test_the_evaluator_benchmark_runs_and_every_seed_skill_passes(tmp_path):
    output = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_evaluator", "--quick", "--output", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    costs = json.loads(output.read_text())
    assert {c["skill"] for c in costs} >= {"put_in", "build_tower"}
    assert all(c["passed"] == c["verdicts"] for c in costs)
