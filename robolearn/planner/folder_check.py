"""What model and adapter folders are checked for alike: code, pickles, JSON, safetensors, size.

The shared half of ``model_check`` (a model folder) and ``adapter_check`` (a LoRA adapter):
each refusal is an :class:`UnsafeModelError`, one line naming the folder, what is wrong and
what to do. Safetensors headers are parsed here by hand, under bounds, so a file that is empty,
truncated, or claims tensors larger than itself is refused before any library reads it.
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from robolearn.errors import UserError
from robolearn.untrusted import UntrustedTextError, load_json, read_json

MAX_FILES = 10_000
"""Most files a model folder may hold (a sharded checkpoint holds a few dozen)."""
CODE_SUFFIXES = frozenset({".py", ".pyc", ".pyo", ".so", ".pyd", ".dll", ".dylib"})
"""Files that are code: transformers imports a folder's modules when its config names them."""
PICKLE_SUFFIXES = frozenset(
    {".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".npy", ".npz", ".h5"}
)
"""Weights in formats that can carry code (pickles) or that robolearn does not load."""
MAX_HEADER_BYTES = 16_000_000
"""Largest safetensors header (a ~100-byte entry per tensor; big checkpoints hold a few
thousand tensors)."""
MEMORY_SHARE = 0.8
"""The most of the machine's memory one model (as float32) may need."""
DTYPE_BYTES = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E5M2": 1,
    "F8_E4M3": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "I64": 8,
    "U64": 8,
    "F64": 8,
}
"""The safetensors element types and their sizes in bytes."""


class UnsafeModelError(UserError, ValueError):
    """A model or adapter folder robolearn will not load; says what is wrong and what to do."""


@contextmanager
def load_errors(folder: Path, what: str = "model") -> Iterator[None]:
    """Report a load that fails after the checks as UnsafeModelError naming the folder.

    A tokenizer file transformers cannot parse, say, is one line, not a library's traceback.
    """
    try:
        yield
    except (OSError, ValueError, RuntimeError, KeyError, TypeError, AttributeError) as error:
        if isinstance(error, UserError):
            raise
        reason = " ".join(str(error).split())[:300] or type(error).__name__
        raise refusal(Path(folder), f"it cannot be loaded ({reason})", what) from None


def refusal(folder: Path, problem: str, what: str = "model") -> UnsafeModelError:
    """The one-line refusal of a ``what`` (model or adapter) folder, with what to do."""
    advice = {
        "model": "use a Hugging Face causal-LM folder of safetensors weights, or the default "
        "model ('robolearn bootstrap')",
        "adapter": "train a new adapter with 'robolearn train'",
    }[what]
    return UnsafeModelError(f"refused the {what} folder {folder}: {problem}; {advice}")


def refuse_code_and_pickles(folder: Path, what: str) -> None:
    """Refuse a folder holding code or pickled weights anywhere, or too many files."""
    if not folder.is_dir():
        raise refusal(folder, "it is not a folder", what)
    count = 0
    for root, folders, files in os.walk(folder):
        for name in folders + files:
            count += 1
            if count > MAX_FILES:
                raise refusal(folder, f"it holds more than {MAX_FILES:,} files", what)
            relative = Path(root, name).relative_to(folder)
            suffix = Path(name).suffix.lower()
            if suffix in CODE_SUFFIXES or name == "custom_generate":
                raise refusal(
                    folder, f"it holds code ({relative}); robolearn never runs a model's code", what
                )
            if suffix in PICKLE_SUFFIXES:
                raise refusal(
                    folder,
                    f"it holds {relative}, weights in a format that can run code when read "
                    "(robolearn loads safetensors only)",
                    what,
                )


def json_file(path: Path, what: str, max_bytes: int = 1_000_000) -> Any:
    """A small JSON file of the folder, parsed under ``untrusted.py``'s bounds, or a refusal."""
    folder = path.parent
    if not path.is_file():
        raise refusal(folder, f"{path.name} is missing", what)
    try:
        return read_json(path, max_bytes=max_bytes)
    except OSError as error:
        raise refusal(folder, f"{path.name} cannot be read ({error.strerror})", what) from None
    except UntrustedTextError as error:
        raise refusal(folder, f"{path.name}: {error}", what) from None


def safetensors_header(path: Path, what: str) -> dict[str, tuple[str, tuple[int, ...]]]:
    """A safetensors file's tensors, name → (dtype, shape), each checked against the file.

    As the format requires: contiguous, in bounds, each the size its shape and dtype say.
    """
    folder, size = path.parent, path.stat().st_size
    if size < 8:
        raise refusal(folder, f"{path.name} is {'empty' if size == 0 else 'truncated'}", what)
    with path.open("rb") as file:
        (length,) = struct.unpack("<Q", file.read(8))
        if length > min(MAX_HEADER_BYTES, size - 8):
            raise refusal(folder, f"{path.name} is not a safetensors file (header length)", what)
        try:
            header = load_json(file.read(length), max_bytes=MAX_HEADER_BYTES, max_depth=4)
        except UntrustedTextError as error:
            raise refusal(folder, f"{path.name}'s header: {error}", what) from None
    if not isinstance(header, dict):
        raise refusal(folder, f"{path.name}'s header is not a JSON object", what)
    header.pop("__metadata__", None)
    if not header:
        raise refusal(folder, f"{path.name} holds no tensors", what)
    tensors, spans = {}, []
    for name, entry in header.items():
        if problem := tensor_problem(entry):
            raise refusal(folder, f"{path.name}: tensor {name!r} {problem}", what)
        dtype, shape, (begin, end) = entry["dtype"], tuple(entry["shape"]), entry["data_offsets"]
        if math.prod(shape) == 0:
            raise refusal(folder, f"{path.name}: tensor {name!r} is empty", what)
        if end - begin != math.prod(shape) * DTYPE_BYTES[dtype]:
            raise refusal(
                folder, f"{path.name}: tensor {name!r} is not the size its shape says", what
            )
        tensors[name] = (dtype, shape)
        spans.append((begin, end))
    position = 0
    for begin, end in sorted(spans):
        if begin != position:
            raise refusal(folder, f"{path.name}: its tensors overlap or leave gaps", what)
        position = end
    if position != size - 8 - length:
        raise refusal(
            folder,
            f"{path.name}: its tensors need {position:,} bytes but it holds {size - 8 - length:,}",
            what,
        )
    return tensors


def tensor_problem(entry: object) -> str | None:
    """What is wrong with one entry of a safetensors header, or None."""
    if not isinstance(entry, dict) or entry.get("dtype") not in DTYPE_BYTES:
        return "has no known dtype"
    shape, offsets = entry.get("shape"), entry.get("data_offsets")
    if not isinstance(shape, list) or len(shape) > 8 or not all(is_int(d) for d in shape):
        return "has no shape of at most 8 whole numbers"
    if any(d < 0 or d > 2**40 for d in shape):
        return f"has the impossible shape {shape}"
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(is_int(o) and o >= 0 for o in offsets)
        or offsets[0] > offsets[1]
    ):
        return "has no [begin, end] byte offsets"
    return None


def check_memory(folder: Path, needed: int, what: str) -> None:
    """Refuse what would need more than ``MEMORY_SHARE`` of this machine's memory."""
    available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if needed > MEMORY_SHARE * available:
        raise refusal(
            folder,
            f"it needs {needed / 2**30:,.1f} GiB as float32 and this machine has "
            f"{available / 2**30:,.1f} GiB",
            what,
        )


def is_int(value: object) -> bool:
    """A whole number (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object, low: float, high: float) -> bool:
    """A finite number in ``[low, high]`` (not a bool)."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and low <= value <= high
    )
