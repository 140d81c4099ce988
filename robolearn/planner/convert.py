"""GGUF files into plain Hugging Face folders, converted once and cached by content hash.

transformers can read a GGUF file, but what it loads can be neither saved nor trained (it
stays marked as quantized) and reading it takes ~40 s. So it is converted once into a plain
folder (config, fp32 safetensors, the tokenizer with its chat template) that loads in under a
second, and kept in the model cache (``robolearn.paths.cache_dir``) under the GGUF's SHA-256::

    <cache>/models/<preset>-<first 16 hex digits of the GGUF's sha256>/
        config.json  generation_config.json  model.safetensors
        tokenizer.json  tokenizer_config.json  chat_template.jinja
        robolearn_model.json   preset, gguf_sha256, format_version, every file's size and hash

The folder is written beside its place and renamed into it, and ``robolearn_model.json`` is
written last, so a conversion cut short leaves no folder that passes :func:`verify`; every load
checks each file's size and hash against it, and anything that does not match is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from robolearn.durable import DiskError, publish_folder
from robolearn.errors import UserError
from robolearn.hf import offline_loading

FORMAT_VERSION = 1
"""Of the converted folder; a folder of another version is converted again."""
MANIFEST = "robolearn_model.json"
REQUIRED = ("config.json", "model.safetensors", "tokenizer.json")


class ConversionError(UserError, RuntimeError):
    """A GGUF file that cannot be turned into a plain Hugging Face folder."""


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, hex (~1 GB/s)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def cached_folder(cache: Path, preset: str, gguf_sha256: str, variant: str = "") -> Path:
    """Where the conversion of a GGUF with this hash lives in the cache (a variant beside it)."""
    return cache / "models" / "-".join(filter(None, [preset, gguf_sha256[:16], variant]))


def verify(folder: Path, gguf_sha256: str) -> str | None:
    """What is wrong with a converted folder, or None if it is whole and of this GGUF."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"no {MANIFEST} (a conversion that did not finish)"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        return f"unreadable {MANIFEST}: {error}"
    if not isinstance(manifest, dict):
        return f"{MANIFEST} is not a JSON object"
    if manifest.get("format_version") != FORMAT_VERSION:
        return f"format version {manifest.get('format_version')!r}, not {FORMAT_VERSION}"
    if manifest.get("gguf_sha256") != gguf_sha256:
        return "converted from another GGUF file"
    files = manifest.get("files")
    if not isinstance(files, dict) or not set(REQUIRED) <= set(files):
        return f"{MANIFEST} does not list {', '.join(REQUIRED)}"
    for name, expected in files.items():
        path = folder / name
        if not path.is_file():
            return f"{name} is missing"
        if not isinstance(expected, dict) or path.stat().st_size != expected.get("size"):
            return f"{name} has the wrong size"
        if file_sha256(path) != expected.get("sha256"):
            return f"{name} does not match its checksum"
    return None


def ensure_converted(
    gguf: Path, cache: Path, preset: str, log: Callable[[str], None] = print
) -> Path:
    """The plain folder converted from ``gguf``: the cached one if it verifies, else a new one."""
    digest = file_sha256(gguf)
    folder = cached_folder(cache, preset, digest)
    return build_cached(
        folder,
        Manifest(preset, gguf.name, digest),
        lambda out: convert(gguf, out),  # read when called: tests swap it
        f"converting {gguf.name} into a Hugging Face folder in {folder} (once, about a minute)",
        log,
    )


@dataclass(frozen=True)
class Manifest:
    """What ``robolearn_model.json`` says of a cached folder besides its files."""

    preset: str
    """The name the folder's model identity starts with (``identity.model_identity``)."""
    source: str
    """What it was made from: the GGUF file's name, or the folder it was tuned from."""
    gguf_sha256: str
    extra: dict[str, Any] = field(default_factory=dict)
    """More to record (how a tuned folder was tuned)."""


def build_cached(
    folder: Path,
    manifest: Manifest,
    build: Callable[[Path], dict[str, Any] | None],
    doing: str,
    log: Callable[[str], None] = print,
) -> Path:
    """``folder`` if it verifies; else ``build(staging)`` then renamed into place, manifest last.

    What ``build`` returns joins the manifest's fields; ``doing`` is the line logged before a
    build (what, where, how long).
    """
    problem = verify(folder, manifest.gguf_sha256)
    if problem is None:
        return folder
    if folder.exists():
        log(f"the cached {manifest.preset} model in {folder} is unusable ({problem}); redoing it")
    log(doing)
    start = time.perf_counter()
    staging = folder.with_name(f"{folder.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        made = build(staging) or {}
        _write_manifest(staging, manifest, made)
        publish_folder(staging, folder)
    except (OSError, DiskError):
        # Another process may have put a whole folder there first: use it if it verifies.
        if verify(folder, manifest.gguf_sha256) is not None:
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log(f"built {folder.name} in {time.perf_counter() - start:.0f} s")
    return folder


def convert(gguf: Path, out: Path) -> None:
    """Write the model in ``gguf`` to ``out`` as a plain (unquantized, fp32) HF folder."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        with offline_loading():
            tokenizer = AutoTokenizer.from_pretrained(
                gguf.parent, gguf_file=gguf.name, trust_remote_code=False
            )
            loaded = AutoModelForCausalLM.from_pretrained(
                gguf.parent, gguf_file=gguf.name, dtype=torch.float32, trust_remote_code=False
            )
    except (ValueError, OSError, KeyError) as error:
        raise ConversionError(f"cannot read {gguf} as a GGUF causal LM: {error}") from error
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    # A fresh model of the same class holds the dequantized weights without the GGUF
    # quantizer that transformers attached to `loaded`, so it saves and trains like any other.
    plain = type(loaded)(config)
    plain.load_state_dict(loaded.state_dict(), strict=True)
    plain.save_pretrained(out)
    tokenizer.save_pretrained(out)


def _write_manifest(folder: Path, manifest: Manifest, made: dict[str, Any]) -> None:
    files = {
        path.name: {"size": path.stat().st_size, "sha256": file_sha256(path)}
        for path in sorted(folder.iterdir())
        if path.is_file()
    }
    missing = [name for name in REQUIRED if name not in files]
    if missing:
        raise ConversionError(f"the build from {manifest.source} wrote no {', '.join(missing)}")
    data = {
        "format_version": FORMAT_VERSION,
        "preset": manifest.preset,
        "source": manifest.source,
        "gguf_sha256": manifest.gguf_sha256,
        **manifest.extra,
        **made,
        "files": files,
    }
    (folder / MANIFEST).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
