"""Shared helpers for the tests: a family file writer for the bad-input stories."""

from __future__ import annotations

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
