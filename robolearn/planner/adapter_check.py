"""Refusing a LoRA adapter folder that peft would be unsafe to load (``model_check``'s twin).

peft reads ``adapter_config.json`` and acts on it: it imports the module ``megatron_core``
names, unpickles the cache files some initialisations name, replicates layers, saves whole
modules, and matches module names as regular expressions (which can backtrack for hours). An
adapter robolearn trains needs none of that, so anything of it is refused, with the rank, scale
and dropout bounded and the weights checked as LoRA matrices of at most that rank.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from robolearn.planner.folder_check import (
    DTYPE_BYTES,
    check_memory,
    is_int,
    is_number,
    json_file,
    refusal,
    refuse_code_and_pickles,
    safetensors_header,
)

MAX_RANK = 1024
"""Largest LoRA rank accepted (robolearn trains 16)."""
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,200}")
"""A module name as peft matches it: no regular-expression syntax that could backtrack."""
_SAFE_INIT = (True, False, "gaussian")


def check_adapter_folder(folder: Path) -> None:
    """Raise UnsafeModelError unless ``folder`` is a LoRA adapter robolearn may load.

    Its ``adapter_config.json`` must describe a plain LoRA (rank, scale and dropout in
    bounds, modules named plainly rather than by regular expressions, nothing for peft to
    import, unpickle, replicate or initialise from data), and its weights must be one
    well-formed ``adapter_model.safetensors`` of LoRA matrices of at most that rank.
    """
    folder = Path(folder)
    refuse_code_and_pickles(folder, "adapter")
    config = json_file(folder / "adapter_config.json", "adapter")
    if not isinstance(config, dict):
        raise refusal(folder, "adapter_config.json must hold a JSON object", "adapter")
    if problem := _adapter_config_problem(config):
        raise refusal(folder, f"adapter_config.json: {problem}", "adapter")
    weights = folder / "adapter_model.safetensors"
    if not weights.is_file():
        raise refusal(folder, "adapter_model.safetensors is missing", "adapter")
    total = 0
    for name, (dtype, shape) in safetensors_header(weights, "adapter").items():
        if "lora_" not in name:
            raise refusal(folder, f"tensor {name!r} is not a LoRA matrix", "adapter")
        if len(shape) != 2 or min(shape) > MAX_RANK:
            raise refusal(
                folder,
                f"tensor {name!r} of shape {list(shape)} is not of rank <= {MAX_RANK}",
                "adapter",
            )
        total += math.prod(shape) * DTYPE_BYTES[dtype]
    check_memory(folder, total, "adapter")


def _adapter_config_problem(config: dict[str, Any]) -> str | None:
    """What in a peft adapter config robolearn will not hand to peft, or None."""
    checks: list[tuple[str, Any, str]] = [
        ("peft_type", config.get("peft_type") == "LORA", "must be LORA"),
        ("task_type", config.get("task_type") in (None, "CAUSAL_LM"), "must be CAUSAL_LM"),
        ("r", is_int(config.get("r")) and 1 <= config["r"] <= MAX_RANK, f"must be 1..{MAX_RANK}"),
        ("lora_alpha", is_number(config.get("lora_alpha"), 0, 1e6), "must be a number 0..1e6"),
        ("lora_dropout", is_number(config.get("lora_dropout", 0), 0, 1), "must be 0..1"),
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
    return len(values) <= 10_000 and all(is_int(v) and 0 <= v < 10_000 for v in values)


def _pattern(value: object, high: float) -> bool:
    if value is None:
        return True
    return (
        isinstance(value, dict)
        and len(value) <= 1000
        and all(_PLAIN_NAME.fullmatch(k) and is_number(v, 1e-9, high) for k, v in value.items())
    )


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "..."
