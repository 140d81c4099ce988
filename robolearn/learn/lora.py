"""Training one LoRA adapter (peft) on a round's examples, saved as a versioned folder.

An adapter continues from its parent (the adapter in use) when there is one, so each round
adds to what the planner knows; replay keeps the rest in place. The folder::

    <workspace>/adapters/round-0003/
        adapter_config.json  adapter_model.safetensors   peft's own files
        robolearn_adapter.json   base model identity, LoRA and training settings, result

It is written beside its final name and renamed, so it exists whole or not at all.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from robolearn.durable import staged_folder
from robolearn.errors import ConfigError
from robolearn.hf import load_causal_lm, offline_loading
from robolearn.planner.adapter_check import check_adapter_folder
from robolearn.planner.folder_check import load_errors
from robolearn.planner.identity import ADAPTER_FORMAT, ADAPTER_INFO, check_adapter_fits
from robolearn.planner.model_check import check_model_folder
from robolearn.planner.training import Example, Schedule, TrainingResult, encode, train

TARGET_MODULES = {
    # GPT-2's attention and MLP projections are Conv1D layers, stored transposed; and its
    # output layer (lm_head, tied to the embeddings), without which an expert cannot learn to
    # write tokens its base model never wrote (put_between's "pick(": 13 nats to overcome;
    # loss 2.2 after 12 epochs without it, 0.008 with it).
    "gpt2": (["c_attn", "c_proj", "c_fc", "lm_head"], True),
    "llama": (["q_proj", "k_proj", "v_proj", "o_proj"], False),
}
"""The layers LoRA adapts, and whether their weights are stored (fan_in, fan_out), by model
type; any other type adapts every linear layer."""
MAX_RANK = 1024
"""The largest LoRA rank a round trains (a rank past a layer's width adds nothing)."""
MAX_EPOCHS = 1_000_000
"""Passes over a round's data; a round past this would not end (a test kills one at 100,000)."""
MAX_STEPS = 100_000_000
"""The most optimizer steps a round may be given (a round of more would train for weeks)."""
MAX_BATCH = 4_096
MAX_THREADS = 1_024
MAX_L2 = 1e6


@dataclass(frozen=True)
class LoraSettings:
    """How a round's adapter is trained."""

    rank: int = 16
    """LoRA rank r (r=8 on attention only could not learn a new skill name; FACTS.md)."""
    alpha: int = 32
    epochs: int = 12
    """Passes over the round's data (8 at 3e-3 left flip_stack at 20% after 10 corrections;
    12 at 5e-3 reached 80%)."""
    max_steps: int = 350
    """The most optimizer steps a round takes. 12 passes over 10 corrections' data take 120-170
    steps; an expert's second round (with its first expert's successful episodes, each with
    renamed copies: 400-700 examples) passes over its data fewer times rather than taking
    twice as long."""
    batch_size: int = 16
    learning_rate: float = 5e-3
    threads: int = 2
    """CPU threads for torch (1 beside a busy dashboard)."""
    l2: float = 0.0
    """Regularisation: this times the squared distance of the adapter's weights from where
    they started (the parent adapter's, or a new adapter's: the base model's function) is
    added to the loss. 0: none."""

    def __post_init__(self) -> None:
        for name, most in (
            ("rank", MAX_RANK),
            ("alpha", 2 * MAX_RANK),
            ("epochs", MAX_EPOCHS),
            ("max_steps", MAX_STEPS),
            ("batch_size", MAX_BATCH),
            ("threads", MAX_THREADS),
        ):
            if not 1 <= getattr(self, name) <= most:
                raise ConfigError(
                    name, f"{{}} must be between 1 and {most}, got {getattr(self, name)}"
                )
        if not 0 <= self.l2 <= MAX_L2:
            raise ConfigError("l2", f"{{}} must be between 0 and {MAX_L2}, got {self.l2}")
        if not 0 < self.learning_rate < 1:
            raise ConfigError(
                "learning_rate", f"{{}} must be between 0 and 1, got {self.learning_rate}"
            )


def train_adapter(
    model_dir: Path,
    parent: Path | None,
    examples: Sequence[Example],
    settings: LoraSettings,
    out: Path,
    base_model: str,
    rng: random.Random,
    progress: bool = True,
    end_token_id: int | None = None,
    add_special_tokens: bool = True,
) -> TrainingResult:
    """Train an adapter for the model in ``model_dir`` (continuing ``parent``) and save it.

    ``end_token_id`` and ``add_special_tokens`` come from the planner's prompt format (a chat
    model's answer ends at its end-of-turn token); the defaults suit a plain prompt.
    """
    import torch

    check_model_folder(model_dir)
    if parent is not None:
        check_adapter_fits(parent, base_model, model_dir)
        check_adapter_folder(parent)
    torch.set_num_threads(settings.threads)
    torch.manual_seed(rng.randrange(2**31))
    tokenizer, model = _trainable(model_dir, parent, settings)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (tokenizer.eos_token_id)
    rows = encode(tokenizer, examples, end_token_id, add_special_tokens)
    result = train(
        model,
        rows,
        pad,
        Schedule(
            settings.epochs,
            settings.batch_size,
            settings.learning_rate,
            max_steps=settings.max_steps,
        ),
        rng,
        f"LoRA round -> {out.name}",
        progress,
        _pull_to_start(model, settings.l2) if settings.l2 else None,
    )
    info = {
        "format": ADAPTER_FORMAT,
        "base_model": base_model,
        "parent": None if parent is None else parent.name,
        "lora": asdict(settings),
        "result": asdict(result),
    }
    _save(model, info, out)
    return result


def _trainable(model_dir: Path, parent: Path | None, settings: LoraSettings) -> tuple[Any, Any]:
    """The tokenizer, and the base model with a trainable adapter: ``parent``'s, or a new one."""
    from peft import LoraConfig, PeftModel, get_peft_model

    with offline_loading(), load_errors(model_dir):
        tokenizer, model = load_causal_lm(model_dir)
        if parent is not None:
            return tokenizer, PeftModel.from_pretrained(model, parent, is_trainable=True)
        targets, transposed = TARGET_MODULES.get(model.config.model_type, ("all-linear", False))
        lora = LoraConfig(
            r=settings.rank,
            lora_alpha=settings.alpha,
            lora_dropout=0.0,
            target_modules=targets,
            fan_in_fan_out=transposed,
            task_type="CAUSAL_LM",
        )
        return tokenizer, get_peft_model(model, lora)


def _pull_to_start(model: Any, strength: float) -> Any:
    """L2 toward the trainable weights as they are before training, to call once a batch.

    ``strength`` times the squared distance of the weights from where they started.
    """
    import torch

    start = [(p, p.detach().clone()) for p in model.parameters() if p.requires_grad]

    def penalty() -> torch.Tensor:
        return strength * sum(((p - p0) ** 2).sum() for p, p0 in start)

    return penalty


def _save(model: Any, info: dict[str, object], out: Path) -> None:
    """Save the adapter (safetensors) and its info beside ``out``, then rename it into place."""
    with staged_folder(out) as staging:
        # safetensors; the LoRA matrices alone, not a copy of the tied embeddings under them
        model.save_pretrained(staging, save_embedding_layers=False)
        (staging / ADAPTER_INFO).write_text(json.dumps(info, indent=2))
