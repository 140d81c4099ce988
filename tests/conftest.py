"""Shared helpers for the tests: a family file writer for the bad-input stories."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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
