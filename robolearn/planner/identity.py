"""Which base model a folder holds, so an adapter is never put on a model it was not trained on."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

from robolearn.errors import UserError
from robolearn.planner.convert import MANIFEST, file_sha256
from robolearn.planner.folder_check import UnsafeModelError
from robolearn.untrusted import UntrustedTextError, read_json

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
        data = _read_small_json(manifest, "the model's manifest", UnsafeModelError)
        preset, digest, version = (data.get(k) for k in ("preset", "gguf_sha256", "format_version"))
        if not (isinstance(preset, str) and isinstance(digest, str) and type(version) is int):
            raise UnsafeModelError(
                f"{manifest} must give preset, gguf_sha256 and format_version; delete the "
                "folder and robolearn converts the model again"
            )
        return f"{preset}:gguf-{digest[:16]}-v{version}"
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
    data = _read_small_json(info, "the adapter's record", AdapterMismatchError)
    version, base = data.get("format", 0), data.get("base_model")
    if type(version) is not int or not (base is None or isinstance(base, str)):
        raise AdapterMismatchError(
            f"{info} must give a whole-number format and the base model's name; the "
            "adapter's origin is unknown, so it is not used"
        )
    if version > ADAPTER_FORMAT:
        warnings.warn(
            f"{info} was written by a newer robolearn (format {version}); "
            "reading what this one knows",
            stacklevel=2,
        )
    return base


def _read_small_json(path: Path, what: str, error_type: type[UserError]) -> dict:
    """The JSON object in ``path`` (under untrusted.py's bounds), or ``error_type``."""
    try:
        data = read_json(path)
    except (OSError, UntrustedTextError) as error:
        raise error_type(f"{path} ({what}) cannot be read ({error}); it is not used") from None
    if not isinstance(data, dict):
        raise error_type(f"{path} ({what}) must hold a JSON object; it is not used")
    return data


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
