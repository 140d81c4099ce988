"""Package-level promises: cheap import, one-way layers, the design's top-level layout."""

import subprocess
import sys
from pathlib import Path

from tests.conftest import modules_loaded_by

ROOT = Path(__file__).resolve().parents[1]


def test_importing_robolearn_loads_no_physics_or_ml_stack():
    heavy = ("pybullet", "torch", "transformers", "peft", "streamlit")
    assert modules_loaded_by("import robolearn", heavy) == []


def test_the_import_layers_of_the_design_hold():
    result = subprocess.run(["lint-imports"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_design_top_level_layout_exists():
    for name in ("pyproject.toml", "robolearn", "envs", "skills", "tests", "README.md"):
        assert (ROOT / name).exists(), name


def test_the_code_passes_the_linter():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "robolearn", "tests", "benchmarks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout


def test_the_code_is_formatted():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "robolearn", "tests", "benchmarks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + "\nrun: ruff format ."
