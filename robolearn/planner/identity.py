"""Which base model a folder holds, so an adapter is never put on a model it was not trained on.

The identity hashes what decides the model's behaviour: its config, tokenizer and weights. Two
bootstraps with the same settings but other weights get different identities.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

from robolearn.errors import UserError

_IDENTITY_FILES = ("config.json", "tokenizer.json")
_CHUNK = 1 << 20


def model_identity(model_dir: Path) -> str:
    """A stable id for the model in ``model_dir``: its folder name and a content hash.

    Hashing reads the weights once (about half a second for a 500 MB model).
    """
    model_dir = Path(model_dir)
    digest = hashlib.sha256()
    files = [model_dir / name for name in _IDENTITY_FILES if (model_dir / name).is_file()]
    files += sorted(model_dir.glob("*.safetensors"))
    if not any(f.suffix == ".safetensors" for f in files):
        raise FileNotFoundError(f"no *.safetensors weights in {model_dir}")
    for path in files:
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as stream:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
    return f"{model_dir.name}-{digest.hexdigest()[:16]}"


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
        raise AdapterMismatchError(f"{info} cannot be read ({error}); the adapter's origin is "
                                   "unknown, so it is not used") from None
    if int(data.get("format", 0)) > ADAPTER_FORMAT:
        warnings.warn(f"{info} was written by a newer robolearn (format {data['format']}); "
                      "reading what this one knows", stacklevel=2)
    return data.get("base_model")


def check_adapter_fits(adapter_dir: Path, model_dir: Path) -> None:
    """Refuse, saying which is which, an adapter trained on another base model."""
    base = adapter_base_model(adapter_dir)
    if base is not None and base != model_identity(model_dir):
        raise AdapterMismatchError(
            f"the adapter {adapter_dir} was trained on the base model {base}, not on "
            f"{model_identity(model_dir)} ({model_dir}); plan with that model (--model), or "
            "train an adapter for this one with 'robolearn train'")
