"""Which base model a folder holds, so an adapter is never put on a model it was not trained on."""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

from robolearn.errors import UserError
from robolearn.planner.convert import MANIFEST, file_sha256

_IDENTITY_FILES = ("config.json", "tokenizer.json")


def model_identity(model_dir: Path) -> str:
    """A stable id of the base model in a folder, for adapters to check what they were made on.

    A converted preset is ``<preset>:gguf-<sha256 of its GGUF, 16 hex>-v<format>`` (read from
    its manifest, no hashing); any other folder (the default model, a user's) is
    ``sha256-<16 hex>`` over its ``config.json``, ``tokenizer.json`` and safetensors files, so
    two bootstraps with the same settings but other weights differ.
    """
    folder = Path(model_dir)
    manifest = folder / MANIFEST
    if manifest.is_file():
        data = json.loads(manifest.read_text(encoding="utf-8"))
        return f"{data['preset']}:gguf-{data['gguf_sha256'][:16]}-v{data['format_version']}"
    names = [n for n in _IDENTITY_FILES if (folder / n).is_file()]
    names += sorted(p.name for p in folder.glob("*.safetensors"))
    if "config.json" not in names:
        from robolearn.planner.lm import ModelNotFoundError

        raise ModelNotFoundError(f"no model at {folder} (config.json missing)")
    digest = hashlib.sha256()
    for name in names:
        digest.update(f"{name}\0{file_sha256(folder / name)}\n".encode())
    return f"sha256-{digest.hexdigest()[:16]}"


ADAPTER_INFO = "robolearn_adapter.json"
"""The file in an adapter folder that says which base model it was trained on, and how."""
ADAPTER_FORMAT = 1
"""The version of that file's layout this robolearn writes."""


class AdapterMismatchError(UserError, ValueError):
    """An adapter trained on another base model than the one it is being put on."""


def adapter_base_model(adapter_dir: Path) -> str | None:
    """The identity of the base model an adapter was trained on (None if it does not say)."""
    info = Path(adapter_dir) / ADAPTER_INFO
    if not info.is_file():
        return None
    try:
        data = json.loads(info.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise AdapterMismatchError(
            f"{info} cannot be read ({error}); the adapter's origin is unknown, so it is not used"
        ) from None
    if int(data.get("format", 0)) > ADAPTER_FORMAT:
        warnings.warn(
            f"{info} was written by a newer robolearn (format {data['format']}); "
            "reading what this one knows",
            stacklevel=2,
        )
    return data.get("base_model")


def check_adapter_fits(adapter_dir: Path, base_model: str, model_dir: Path) -> None:
    """Refuse, saying which is which, an adapter trained on another base model.

    ``base_model`` is ``model_identity(model_dir)``, which the caller already holds (it hashes
    the weights, so it is computed once per loaded model, not once per adapter).
    """
    base = adapter_base_model(adapter_dir)
    if base is not None and base != base_model:
        raise AdapterMismatchError(
            f"the adapter {adapter_dir} was trained on the base model {base}, not on "
            f"{base_model} ({model_dir}); plan with that model (--model), or "
            "train an adapter for this one with 'robolearn train'"
        )
