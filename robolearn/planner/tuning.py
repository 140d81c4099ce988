"""Teaching a pretrained chat model to plan, once: LoRA on its top layers, merged, cached.

Prompted with the skills and three worked examples (~600 tokens), SmolLM2-135M plans about half
of the phrasings no template wrote, at ~4 s a plan. Trained on the bootstrap families'
demonstrations (their templated phrasings on even-seeded scenes, plans written with the
library's composite skills), it needs neither: its prompt is a short system turn, the scene's
objects and the task (:data:`TUNED_STYLE`, ~60 tokens), and it plans more of them right.

LoRA adapts the top :attr:`TuningConfig.layers` layers only: the layers below stay as they
were and no gradient runs through them, so a step costs little more than a forward pass. The
adapter is merged into the weights and the folder saved whole, with the prompt it learned
(``robolearn_chat.json``), beside the converted folder in the model cache::

    <cache>/models/<preset>-<gguf sha256, 16 hex>-tuned-<config hash, 8 hex>/
        config.json  model.safetensors  tokenizer.json  tokenizer_config.json  ...
        robolearn_chat.json    the chat style it was tuned on (``prompt.ChatStyle``)
        robolearn_model.json   its files' hashes, the tuning settings and what the run took

Another config makes another folder, so a changed recipe is never confused with an old one.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from robolearn.hf import load_causal_lm, offline_loading
from robolearn.planner.bootstrap import bootstrap_families
from robolearn.planner.convert import MANIFEST, Manifest, build_cached, cached_folder
from robolearn.planner.demonstrations import scene_demonstrations
from robolearn.planner.prompt import ChatFormat, ChatStyle, template
from robolearn.planner.training import Example, Schedule, encode, train
from robolearn.skills.library import SkillLibrary

TUNED_STYLE = ChatStyle(template("chat_tuned_system"), template("chat_tuned_user"), shots=0)
"""The prompt a tuned model learns: no skill list, no examples; the objects and the task."""


@dataclass(frozen=True)
class TuningConfig:
    """How a pretrained chat model is tuned to plan."""

    scenes_per_family: int = 100
    """Training scenes per bootstrap family (even task seeds 0, 2, 4, ...)."""
    phrasings_per_scene: int = 2
    """Of each scene's phrasings, how many (chosen at random) to learn from."""
    layers: int = 10
    """The top layers LoRA adapts; the rest stay frozen."""
    rank: int = 16
    epochs: int = 1
    batch_size: int = 8
    learning_rate: float = 1e-3
    threads: int = 1
    """CPU threads for torch. On a 2-core machine that is busy, 2 threads ran a step 5x
    slower than 1."""
    seed: int = 0

    def __post_init__(self) -> None:
        for name in (
            "scenes_per_family",
            "phrasings_per_scene",
            "layers",
            "rank",
            "epochs",
            "batch_size",
            "threads",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")

    @property
    def key(self) -> str:
        """8 hex digits that tell this config from any other (the cached folder's suffix)."""
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:8]


def tuning_examples(
    config: TuningConfig, chat: ChatFormat, library: SkillLibrary, rng: random.Random
) -> list[Example]:
    """The demonstrations a tuning learns from, written as ``chat`` prompts and answers."""
    examples = []
    for family in bootstrap_families():
        for seed in range(0, 2 * config.scenes_per_family, 2):
            scene = scene_demonstrations(family, seed, library)
            for shown in rng.sample(scene, min(config.phrasings_per_scene, len(scene))):
                examples.append(
                    Example(
                        chat.prompt(shown.instruction, shown.objects),
                        chat.answer(shown.plan),
                        family.name,
                        source_id=seed,
                    )
                )
    return examples


def tune(source: Path, out: Path, config: TuningConfig, progress: bool = True) -> dict:
    """Tune the chat model in ``source`` to plan and save it to ``out``; what the run took."""
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    rng = random.Random(config.seed)
    tokenizer, model = load_causal_lm(source)
    library = SkillLibrary.seed()
    chat = ChatFormat(tokenizer, library, style=TUNED_STYLE)
    examples = tuning_examples(config, chat, library, rng)
    rows = encode(tokenizer, examples, chat.end_token_id, add_special_tokens=False)
    total = model.config.num_hidden_layers
    lora = LoraConfig(
        r=config.rank,
        lora_alpha=2 * config.rank,
        lora_dropout=0.0,
        target_modules=sorted(
            {
                name.rsplit(".", 1)[-1]
                for name, module in model.named_modules()
                if isinstance(module, torch.nn.Linear) and ".layers." in f".{name}"
            }
        ),
        layers_to_transform=list(range(max(total - config.layers, 0), total)),
    )
    with offline_loading():  # quiets a deprecation warning peft triggers in transformers
        peft_model = get_peft_model(model, lora)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else chat.end_token_id
    result = train(
        peft_model,
        rows,
        pad,
        Schedule(config.epochs, config.batch_size, config.learning_rate),
        rng,
        "tuning the planner",
        progress,
    )
    with offline_loading():
        peft_model.merge_and_unload().save_pretrained(out)
    tokenizer.save_pretrained(out)
    TUNED_STYLE.write(out)
    return {
        "examples": len(rows),
        "tokens_per_example": sum(len(ids) for ids, _ in rows) / len(rows),
        "train_seconds": result.seconds,
        "final_loss": result.final_loss,
    }


def ensure_tuned(
    base: Path,
    cache: Path,
    preset: str,
    config: TuningConfig,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> Path:
    """The tuned folder of the converted ``base``: the cached one if it verifies, else made."""
    digest = json.loads((base / MANIFEST).read_text(encoding="utf-8"))["gguf_sha256"]
    variant = f"tuned-{config.key}"
    folder = cached_folder(cache, preset, digest, variant)

    def build(out: Path) -> dict:
        start = time.perf_counter()
        report = tune(base, out, config, progress)
        return {"report": {**report, "seconds": time.perf_counter() - start}}

    return build_cached(
        folder,
        Manifest(f"{preset}-{variant}", base.name, digest, {"tuning": asdict(config)}),
        build,
        f"tuning {preset} to plan, into {folder} (once; minutes on a 2-core CPU)",
        log,
    )
