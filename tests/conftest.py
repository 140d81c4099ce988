"""Shared helpers for the tests: a family file writer for the bad-input stories, and a tiny
default planner model trained once per test session."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from robolearn.planner.bootstrap import BootstrapConfig, build_default_model

VALID_FAMILY = """
name = "demo"
description = "Stack one block on another."
instructions = ["stack the {top} on the {base}"]
success = ["on(top, base)"]
oracle = ["pick(top)", "place(top, base)"]

[objects.top]
kind = "block"

[objects.base]
kind = "block"
"""


@pytest.fixture
def family_file(tmp_path: Path):
    """Write a family file named demo.toml with ``text`` and return its path."""

    def write(text: str = VALID_FAMILY, name: str = "demo") -> Path:
        path = tmp_path / f"{name}.toml"
        path.write_text(text)
        return path

    return write


def modules_loaded_by(statement: str, candidates: tuple[str, ...]) -> list[str]:
    """Which of ``candidates`` a fresh interpreter has imported after running ``statement``."""
    code = (f"import json, sys; {statement}; "
            f"print(json.dumps([m for m in {candidates!r} if m in sys.modules]))")
    return json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                     text=True, check=True).stdout)


TINY = BootstrapConfig(scenes_per_family=8, phrasings_per_scene=1, epochs=1, width=32,
                       heads=2, layers=1, vocab_size=400, heldout_per_family=1)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A default-model folder from a seconds-long bootstrap: (folder, report)."""
    out = tmp_path_factory.mktemp("models") / "default"
    report = build_default_model(out, TINY, progress=False, log=lambda _: None)
    return out, report
