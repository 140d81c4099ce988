"""Refusing a model folder that could run code or exhaust the machine, before loading it.

transformers believes what a folder says. A ``config.json`` with an ``auto_map`` makes it ask
on stdin whether to run the folder's Python (an answer of ``y`` runs it); a
``pytorch_model.bin`` is a pickle; a config may ask for a billion-word vocabulary, a quantizer,
or an attention kernel from the hub. So before anything is loaded, :func:`check_model_folder`
reads the folder as untrusted input (small JSON files parsed under bounds, safetensors headers
parsed by hand, the model built on the meta device, which allocates nothing) and refuses, in
one line, whatever could execute, prompt, or allocate past the machine's memory. The loads
that follow also pass ``trust_remote_code=False`` and ``use_safetensors=True``. Adapters get
the same treatment in ``adapter_check``; what both share is in ``folder_check``.

    check_model_folder(Path("~/models/my-qwen").expanduser())   # UnsafeModelError, or None
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from robolearn.planner.folder_check import (
    MAX_HEADER_BYTES,
    check_memory,
    is_int,
    json_file,
    load_errors,
    refusal,
    refuse_code_and_pickles,
    safetensors_header,
)

TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "vocab.txt", "spiece.model")
"""A tokenizer's data: at least one must be there."""
MAX_TOKENIZER_BYTES = 200_000_000
"""Largest tokenizer file read (the largest real ones, with 256k-word vocabularies, are ~35 MB)."""
MAX_TEMPLATE_CHARS = 100_000
"""Longest chat template (real ones are a few kilobytes of Jinja, rendered in a sandbox)."""
CONFIG_BOUNDS: Mapping[str, int] = {
    "vocab_size": 2**20,
    "hidden_size": 2**16,
    "n_embd": 2**16,
    "d_model": 2**16,
    "intermediate_size": 2**18,
    "n_inner": 2**18,
    "ffn_dim": 2**18,
    "num_hidden_layers": 512,
    "n_layer": 512,
    "num_layers": 512,
    "num_attention_heads": 1024,
    "n_head": 1024,
    "num_key_value_heads": 1024,
    "head_dim": 4096,
    "max_position_embeddings": 2**21,
    "n_positions": 2**21,
    "n_ctx": 2**21,
}
"""Upper bounds of the sizes a config may give (each must be a positive integer): far above any
model this machine could hold, far below what would take minutes just to build."""
DERIVED_SIZES = frozenset({"n_inner", "head_dim", "num_key_value_heads", "intermediate_size"})
"""Sizes a config may leave null: the model derives them from the others."""
ATTENTION = (None, "eager", "sdpa")
"""Attention implementations a config may ask for; others load kernels, some from the hub."""


def check_model_folder(folder: Path) -> None:
    """Raise UnsafeModelError unless ``folder`` is a causal LM robolearn may load.

    Refused: code or pickles anywhere in it; a config that is not bounded JSON, maps custom
    classes (``auto_map``), names a model type transformers does not ship as a causal LM, asks
    for quantization or another attention kernel, or gives a size out of bounds; a missing or
    custom tokenizer; safetensors files that are empty, malformed or missing; weights whose
    shapes the config does not describe; and a model that would not fit in memory as float32.
    """
    folder = Path(folder)
    refuse_code_and_pickles(folder, "model")
    config = json_file(folder / "config.json", "model")
    if not isinstance(config, dict):
        raise refusal(folder, "config.json must hold a JSON object", "model")
    _check_config(folder, config)
    for path in sorted(folder.glob("*.json")):
        if path.name not in ("config.json", "tokenizer.json", "model.safetensors.index.json"):
            json_file(path, "model")  # transformers reads them with unbounded parsers
    _check_tokenizer(folder)
    tensors = _weights(folder)
    _check_against_meta_model(folder, tensors)


def _check_config(folder: Path, config: dict[str, Any]) -> None:
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    if "auto_map" in config:
        raise refusal(folder, "config.json maps custom classes (auto_map) to the folder's code")
    model_type = config.get("model_type")
    if not isinstance(model_type, str) or model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        raise refusal(
            folder, f"config.json's model_type {model_type!r} is no causal LM transformers ships"
        )
    if config.get("quantization_config") is not None:
        raise refusal(folder, "config.json asks for quantization, which loads other libraries")
    for key in ("attn_implementation", "_attn_implementation"):
        if config.get(key) not in ATTENTION:
            raise refusal(folder, f"config.json asks for the attention kernel {config[key]!r}")
    for key, bound in CONFIG_BOUNDS.items():
        value = config.get(key)
        if value is None and key in DERIVED_SIZES:
            continue
        if key in config and not (is_int(value) and 1 <= value <= bound):
            raise refusal(
                folder, f"config.json's {key} is {value!r}; it must be a whole number 1..{bound:,}"
            )


def _check_tokenizer(folder: Path) -> None:
    present = [name for name in TOKENIZER_FILES if (folder / name).is_file()]
    if not present:
        raise refusal(folder, f"it has no tokenizer ({TOKENIZER_FILES[0]} is missing)")
    for name in present:
        if (size := (folder / name).stat().st_size) > MAX_TOKENIZER_BYTES:
            raise refusal(folder, f"{name} is {size:,} bytes; the limit is {MAX_TOKENIZER_BYTES:,}")
    template = folder / "chat_template.jinja"
    if template.is_file() and (size := template.stat().st_size) > MAX_TEMPLATE_CHARS:
        raise refusal(
            folder, f"{template.name} is {size:,} bytes; the limit is {MAX_TEMPLATE_CHARS:,}"
        )
    if not (folder / "tokenizer_config.json").exists():
        return
    settings = json_file(folder / "tokenizer_config.json", "model")
    if not isinstance(settings, dict):
        raise refusal(folder, "tokenizer_config.json must hold a JSON object")
    if "auto_map" in settings:
        raise refusal(folder, "tokenizer_config.json maps a custom tokenizer class (auto_map)")
    if len(str(settings.get("chat_template", ""))) > MAX_TEMPLATE_CHARS:
        raise refusal(folder, f"its chat template is over {MAX_TEMPLATE_CHARS:,} characters")
    name = settings.get("tokenizer_class")
    if name is not None:
        from transformers.models.auto.tokenization_auto import tokenizer_class_from_name

        if not isinstance(name, str) or tokenizer_class_from_name(name) is None:
            raise refusal(
                folder,
                f"tokenizer_config.json names the tokenizer class {name!r}, which "
                "transformers does not ship",
            )


def _weights(folder: Path) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Every tensor of the folder's safetensors weights: name → (dtype, shape)."""
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        data = json_file(index, "model", max_bytes=MAX_HEADER_BYTES)
        weight_map = data.get("weight_map") if isinstance(data, dict) else None
        if not isinstance(weight_map, dict) or not all(
            isinstance(f, str) and Path(f).name == f and f.endswith(".safetensors")
            for f in weight_map.values()
        ):
            raise refusal(folder, f"{index.name} must map tensors to safetensors files beside it")
        files = sorted(set(weight_map.values()))
    else:
        files = sorted(p.name for p in folder.glob("*.safetensors"))
    if not files:
        raise refusal(folder, "it has no weights (model.safetensors is missing)")
    tensors: dict[str, tuple[str, tuple[int, ...]]] = {}
    for name in files:
        if not (folder / name).is_file():
            raise refusal(folder, f"the weights file {name} is missing")
        tensors.update(safetensors_header(folder / name, "model"))
    return tensors


def _check_against_meta_model(folder: Path, tensors: Mapping[str, tuple[str, tuple]]) -> None:
    """Refuse a config the weights do not fit, or a model too big for this machine.

    The model the config describes is built on the meta device, which allocates nothing.
    """
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    with load_errors(folder), torch.device("meta"):
        config = AutoConfig.from_pretrained(folder, trust_remote_code=False, local_files_only=True)
        model = AutoModelForCausalLM.from_config(config, trust_remote_code=False)
    prefix = f"{model.base_model_prefix}." if model.base_model_prefix else ""
    needed = found = 0
    for name, parameter in model.named_parameters():
        needed += parameter.numel() * 4  # loaded as float32
        stored = next(
            (tensors[n] for n in (name, name.removeprefix(prefix), prefix + name) if n in tensors),
            None,
        )
        if stored is None:
            continue
        found += parameter.numel()
        if tuple(stored[1]) != tuple(parameter.shape):
            raise refusal(
                folder,
                f"the config makes {name} of shape {list(parameter.shape)}, but the weights "
                f"hold {list(stored[1])}",
            )
    parameters = needed // 4
    needed += sum(b.numel() * b.element_size() for b in model.buffers())
    check_memory(folder, needed, "model")
    if found < parameters / 2:
        raise refusal(
            folder, f"the weights hold {found:,} of the {parameters:,} parameters the config makes"
        )
