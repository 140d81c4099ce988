"""Refusing a model or adapter folder that could run code or exhaust the machine, before loading.

transformers and peft believe what a folder says. A ``config.json`` with an ``auto_map`` makes
transformers ask on stdin whether to run the folder's Python (an answer of ``y`` runs it); a
``pytorch_model.bin`` is a pickle; a config may ask for a billion-word vocabulary, a quantizer,
or an attention kernel from the hub; an adapter config may name a module for peft to import, a
cache file for it to unpickle, or regular expressions that backtrack for hours. So before any
of it is loaded, :func:`check_model_folder` and :func:`check_adapter_folder` read the folder
as untrusted input (small JSON files parsed under bounds, safetensors headers parsed by hand,
the model built on the meta device, which allocates nothing) and refuse, in one line, whatever
could execute, prompt, or allocate past the machine's memory. The loads that follow also pass
``trust_remote_code=False`` and ``use_safetensors=True``.

    check_model_folder(Path("~/models/my-qwen").expanduser())   # UnsafeModelError, or None
"""

from __future__ import annotations

import math
import os
import re
import struct
from collections.abc import Iterator, Mapping
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
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "vocab.txt", "spiece.model")
"""A tokenizer's data: at least one must be there."""
MAX_TOKENIZER_BYTES = 200_000_000
"""Largest tokenizer file read (the largest real ones, with 256k-word vocabularies, are ~35 MB)."""
MAX_TEMPLATE_CHARS = 100_000
"""Longest chat template (real ones are a few kilobytes of Jinja, rendered in a sandbox)."""
MAX_HEADER_BYTES = 16_000_000
"""Largest safetensors header (a ~100-byte entry per tensor; big checkpoints hold a few
thousand tensors)."""
MAX_RANK = 1024
"""Largest LoRA rank accepted (robolearn trains 16)."""
MEMORY_SHARE = 0.8
"""The most of the machine's memory one model (as float32) may need."""
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
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,200}")
"""A module name as peft matches it: no regular-expression syntax that could backtrack."""
_SAFE_INIT = (True, False, "gaussian")


class UnsafeModelError(UserError, ValueError):
    """A model or adapter folder robolearn will not load; says what is wrong and what to do."""


def check_model_folder(folder: Path) -> None:
    """Raise UnsafeModelError unless ``folder`` is a causal LM robolearn may load.

    Refused: code or pickles anywhere in it; a config that is not bounded JSON, maps custom
    classes (``auto_map``), names a model type transformers does not ship as a causal LM, asks
    for quantization or another attention kernel, or gives a size out of bounds; a missing or
    custom tokenizer; safetensors files that are empty, malformed or missing; weights whose
    shapes the config does not describe; and a model that would not fit in memory as float32.
    """
    folder = Path(folder)
    _refuse_code_and_pickles(folder, "model")
    config = _json_file(folder / "config.json", "model")
    if not isinstance(config, dict):
        raise _refusal(folder, "config.json must hold a JSON object", "model")
    _check_config(folder, config)
    for path in sorted(folder.glob("*.json")):
        if path.name not in ("config.json", "tokenizer.json", "model.safetensors.index.json"):
            _json_file(path, "model")  # transformers reads them with unbounded parsers
    _check_tokenizer(folder)
    tensors = _weights(folder)
    _check_against_meta_model(folder, tensors)


def check_adapter_folder(folder: Path) -> None:
    """Raise UnsafeModelError unless ``folder`` is a LoRA adapter robolearn may load.

    Its ``adapter_config.json`` must describe a plain LoRA (rank, scale and dropout in
    bounds, modules named plainly rather than by regular expressions, nothing for peft to
    import, unpickle, replicate or initialise from data), and its weights must be one
    well-formed ``adapter_model.safetensors`` of LoRA matrices of at most that rank.
    """
    folder = Path(folder)
    _refuse_code_and_pickles(folder, "adapter")
    config = _json_file(folder / "adapter_config.json", "adapter")
    if not isinstance(config, dict):
        raise _refusal(folder, "adapter_config.json must hold a JSON object", "adapter")
    if problem := _adapter_config_problem(config):
        raise _refusal(folder, f"adapter_config.json: {problem}", "adapter")
    weights = folder / "adapter_model.safetensors"
    if not weights.is_file():
        raise _refusal(folder, "adapter_model.safetensors is missing", "adapter")
    total = 0
    for name, (dtype, shape) in _safetensors_header(weights, "adapter").items():
        if "lora_" not in name:
            raise _refusal(folder, f"tensor {name!r} is not a LoRA matrix", "adapter")
        if len(shape) != 2 or min(shape) > MAX_RANK:
            raise _refusal(
                folder,
                f"tensor {name!r} of shape {list(shape)} is not of rank <= {MAX_RANK}",
                "adapter",
            )
        total += math.prod(shape) * DTYPE_BYTES[dtype]
    _check_memory(folder, total, "adapter")


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
        raise _refusal(Path(folder), f"it cannot be loaded ({reason})", what) from None


# ----- the parts of a folder --------------------------------------------------------------------
def _refusal(folder: Path, problem: str, what: str = "model") -> UnsafeModelError:
    advice = {
        "model": "use a Hugging Face causal-LM folder of safetensors weights, or the default "
        "model ('robolearn bootstrap')",
        "adapter": "train a new adapter with 'robolearn train'",
    }[what]
    return UnsafeModelError(f"refused the {what} folder {folder}: {problem}; {advice}")


def _refuse_code_and_pickles(folder: Path, what: str) -> None:
    if not folder.is_dir():
        raise _refusal(folder, "it is not a folder", what)
    count = 0
    for root, folders, files in os.walk(folder):
        for name in folders + files:
            count += 1
            if count > MAX_FILES:
                raise _refusal(folder, f"it holds more than {MAX_FILES:,} files", what)
            relative = Path(root, name).relative_to(folder)
            suffix = Path(name).suffix.lower()
            if suffix in CODE_SUFFIXES or name == "custom_generate":
                raise _refusal(
                    folder, f"it holds code ({relative}); robolearn never runs a model's code", what
                )
            if suffix in PICKLE_SUFFIXES:
                raise _refusal(
                    folder,
                    f"it holds {relative}, weights in a format that can run code when read "
                    "(robolearn loads safetensors only)",
                    what,
                )


def _json_file(path: Path, what: str, max_bytes: int = 1_000_000) -> Any:
    folder = path.parent
    if not path.is_file():
        raise _refusal(folder, f"{path.name} is missing", what)
    try:
        return read_json(path, max_bytes=max_bytes)
    except OSError as error:
        raise _refusal(folder, f"{path.name} cannot be read ({error.strerror})", what) from None
    except UntrustedTextError as error:
        raise _refusal(folder, f"{path.name}: {error}", what) from None


def _check_config(folder: Path, config: dict[str, Any]) -> None:
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    if "auto_map" in config:
        raise _refusal(folder, "config.json maps custom classes (auto_map) to the folder's code")
    model_type = config.get("model_type")
    if not isinstance(model_type, str) or model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        raise _refusal(
            folder, f"config.json's model_type {model_type!r} is no causal LM transformers ships"
        )
    if config.get("quantization_config") is not None:
        raise _refusal(folder, "config.json asks for quantization, which loads other libraries")
    for key in ("attn_implementation", "_attn_implementation"):
        if config.get(key) not in ATTENTION:
            raise _refusal(folder, f"config.json asks for the attention kernel {config[key]!r}")
    for key, bound in CONFIG_BOUNDS.items():
        value = config.get(key)
        if value is None and key in DERIVED_SIZES:
            continue
        if key in config and not (_is_int(value) and 1 <= value <= bound):
            raise _refusal(
                folder, f"config.json's {key} is {value!r}; it must be a whole number 1..{bound:,}"
            )


def _check_tokenizer(folder: Path) -> None:
    present = [name for name in TOKENIZER_FILES if (folder / name).is_file()]
    if not present:
        raise _refusal(folder, f"it has no tokenizer ({TOKENIZER_FILES[0]} is missing)")
    for name in present:
        if (size := (folder / name).stat().st_size) > MAX_TOKENIZER_BYTES:
            raise _refusal(
                folder, f"{name} is {size:,} bytes; the limit is {MAX_TOKENIZER_BYTES:,}"
            )
    template = folder / "chat_template.jinja"
    if template.is_file() and (size := template.stat().st_size) > MAX_TEMPLATE_CHARS:
        raise _refusal(
            folder, f"{template.name} is {size:,} bytes; the limit is {MAX_TEMPLATE_CHARS:,}"
        )
    if not (folder / "tokenizer_config.json").exists():
        return
    settings = _json_file(folder / "tokenizer_config.json", "model")
    if not isinstance(settings, dict):
        raise _refusal(folder, "tokenizer_config.json must hold a JSON object")
    if "auto_map" in settings:
        raise _refusal(folder, "tokenizer_config.json maps a custom tokenizer class (auto_map)")
    if len(str(settings.get("chat_template", ""))) > MAX_TEMPLATE_CHARS:
        raise _refusal(folder, f"its chat template is over {MAX_TEMPLATE_CHARS:,} characters")
    name = settings.get("tokenizer_class")
    if name is not None:
        from transformers.models.auto.tokenization_auto import tokenizer_class_from_name

        if not isinstance(name, str) or tokenizer_class_from_name(name) is None:
            raise _refusal(
                folder,
                f"tokenizer_config.json names the tokenizer class {name!r}, which "
                "transformers does not ship",
            )


def _weights(folder: Path) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Every tensor of the folder's safetensors weights: name → (dtype, shape)."""
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        data = _json_file(index, "model", max_bytes=MAX_HEADER_BYTES)
        weight_map = data.get("weight_map") if isinstance(data, dict) else None
        if not isinstance(weight_map, dict) or not all(
            isinstance(f, str) and Path(f).name == f and f.endswith(".safetensors")
            for f in weight_map.values()
        ):
            raise _refusal(folder, f"{index.name} must map tensors to safetensors files beside it")
        files = sorted(set(weight_map.values()))
    else:
        files = sorted(p.name for p in folder.glob("*.safetensors"))
    if not files:
        raise _refusal(folder, "it has no weights (model.safetensors is missing)")
    tensors: dict[str, tuple[str, tuple[int, ...]]] = {}
    for name in files:
        if not (folder / name).is_file():
            raise _refusal(folder, f"the weights file {name} is missing")
        tensors.update(_safetensors_header(folder / name, "model"))
    return tensors


def _safetensors_header(path: Path, what: str) -> dict[str, tuple[str, tuple[int, ...]]]:
    """A safetensors file's tensors, name → (dtype, shape), each checked against the file.

    As the format requires: contiguous, in bounds, each the size its shape and dtype say.
    """
    folder, size = path.parent, path.stat().st_size
    if size < 8:
        raise _refusal(folder, f"{path.name} is {'empty' if size == 0 else 'truncated'}", what)
    with path.open("rb") as file:
        (length,) = struct.unpack("<Q", file.read(8))
        if length > min(MAX_HEADER_BYTES, size - 8):
            raise _refusal(folder, f"{path.name} is not a safetensors file (header length)", what)
        try:
            header = load_json(file.read(length), max_bytes=MAX_HEADER_BYTES, max_depth=4)
        except UntrustedTextError as error:
            raise _refusal(folder, f"{path.name}'s header: {error}", what) from None
    if not isinstance(header, dict):
        raise _refusal(folder, f"{path.name}'s header is not a JSON object", what)
    header.pop("__metadata__", None)
    if not header:
        raise _refusal(folder, f"{path.name} holds no tensors", what)
    tensors, spans = {}, []
    for name, entry in header.items():
        if problem := _tensor_problem(entry):
            raise _refusal(folder, f"{path.name}: tensor {name!r} {problem}", what)
        dtype, shape, (begin, end) = entry["dtype"], tuple(entry["shape"]), entry["data_offsets"]
        if math.prod(shape) == 0:
            raise _refusal(folder, f"{path.name}: tensor {name!r} is empty", what)
        if end - begin != math.prod(shape) * DTYPE_BYTES[dtype]:
            raise _refusal(
                folder, f"{path.name}: tensor {name!r} is not the size its shape says", what
            )
        tensors[name] = (dtype, shape)
        spans.append((begin, end))
    position = 0
    for begin, end in sorted(spans):
        if begin != position:
            raise _refusal(folder, f"{path.name}: its tensors overlap or leave gaps", what)
        position = end
    if position != size - 8 - length:
        raise _refusal(
            folder,
            f"{path.name}: its tensors need {position:,} bytes but it holds {size - 8 - length:,}",
            what,
        )
    return tensors


def _tensor_problem(entry: object) -> str | None:
    if not isinstance(entry, dict) or entry.get("dtype") not in DTYPE_BYTES:
        return "has no known dtype"
    shape, offsets = entry.get("shape"), entry.get("data_offsets")
    if not isinstance(shape, list) or len(shape) > 8 or not all(_is_int(d) for d in shape):
        return "has no shape of at most 8 whole numbers"
    if any(d < 0 or d > 2**40 for d in shape):
        return f"has the impossible shape {shape}"
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(_is_int(o) and o >= 0 for o in offsets)
        or offsets[0] > offsets[1]
    ):
        return "has no [begin, end] byte offsets"
    return None


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
            raise _refusal(
                folder,
                f"the config makes {name} of shape {list(parameter.shape)}, but the weights "
                f"hold {list(stored[1])}",
            )
    parameters = needed // 4
    needed += sum(b.numel() * b.element_size() for b in model.buffers())
    _check_memory(folder, needed, "model")
    if found < parameters / 2:
        raise _refusal(
            folder, f"the weights hold {found:,} of the {parameters:,} parameters the config makes"
        )


def _check_memory(folder: Path, needed: int, what: str) -> None:
    available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if needed > MEMORY_SHARE * available:
        raise _refusal(
            folder,
            f"it needs {needed / 2**30:,.1f} GiB as float32 and this machine has "
            f"{available / 2**30:,.1f} GiB",
            what,
        )


def _adapter_config_problem(config: dict[str, Any]) -> str | None:
    """What in a peft adapter config robolearn will not hand to peft, or None."""
    checks: list[tuple[str, Any, str]] = [
        ("peft_type", config.get("peft_type") == "LORA", "must be LORA"),
        ("task_type", config.get("task_type") in (None, "CAUSAL_LM"), "must be CAUSAL_LM"),
        ("r", _is_int(config.get("r")) and 1 <= config["r"] <= MAX_RANK, f"must be 1..{MAX_RANK}"),
        ("lora_alpha", _is_number(config.get("lora_alpha"), 0, 1e6), "must be a number 0..1e6"),
        ("lora_dropout", _is_number(config.get("lora_dropout", 0), 0, 1), "must be 0..1"),
        ("target_modules", _plain_names(config.get("target_modules")), "must list module names"),
        ("exclude_modules", _plain_names(config.get("exclude_modules")), "must list names"),
        ("layers_pattern", _plain_names(config.get("layers_pattern")), "must list names"),
        (
            "layers_to_transform",
            _layer_numbers(config.get("layers_to_transform")),
            "must be layer numbers",
        ),
        ("rank_pattern", _pattern(config.get("rank_pattern"), MAX_RANK), "must map names to ranks"),
        ("alpha_pattern", _pattern(config.get("alpha_pattern"), 1e6), "must map names to numbers"),
        (
            "init_lora_weights",
            config.get("init_lora_weights", True) in _SAFE_INIT,
            "must be true, false or gaussian",
        ),
        (
            "auto_mapping",
            _transformers_class(config.get("auto_mapping")),
            "must name a class of transformers",
        ),
        (
            "megatron_core",
            config.get("megatron_core", "megatron.core") == "megatron.core",
            "must be megatron.core",
        ),
    ]
    for key in (
        "megatron_config",
        "layer_replication",
        "modules_to_save",
        "trainable_token_indices",
        "corda_config",
        "eva_config",
        "lora_ga_config",
        "loftq_config",
        "target_parameters",
    ):
        checks.append((key, not config.get(key), "must be empty (robolearn loads plain LoRA)"))
    for key, ok, rule in checks:
        if not ok:
            return f"{key} {rule}, not {_shown(config.get(key))}"
    return None


# ----- small predicates -------------------------------------------------------------------------
def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object, low: float, high: float) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and low <= value <= high
    )


def _plain_names(value: object) -> bool:
    """None, "all-linear", or a short list of plain names (peft treats a string as a regex)."""
    if value is None or value == "all-linear":
        return True
    return (
        isinstance(value, list)
        and len(value) <= 1000
        and all(isinstance(v, str) and _PLAIN_NAME.fullmatch(v) for v in value)
    )


def _transformers_class(value: object) -> bool:
    """None, or what peft records for a base model of transformers.

    Only AutoPeftModel, which robolearn never uses, would import it.
    """
    if value is None:
        return True
    return (
        isinstance(value, dict)
        and set(value) == {"base_model_class", "parent_library"}
        and isinstance(value["base_model_class"], str)
        and value["base_model_class"].isidentifier()
        and isinstance(value["parent_library"], str)
        and re.fullmatch(r"transformers(\.[A-Za-z0-9_]+)*", value["parent_library"]) is not None
    )


def _layer_numbers(value: object) -> bool:
    values = value if isinstance(value, list) else [] if value is None else [value]
    return len(values) <= 10_000 and all(_is_int(v) and 0 <= v < 10_000 for v in values)


def _pattern(value: object, high: float) -> bool:
    if value is None:
        return True
    return (
        isinstance(value, dict)
        and len(value) <= 1000
        and all(_PLAIN_NAME.fullmatch(k) and _is_number(v, 1e-9, high) for k, v in value.items())
    )


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "..."
