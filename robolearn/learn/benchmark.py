"""The continual-learning benchmark: new families arrive, corrections teach them, under conditions.

Every condition sees the same stream on the same seeds (``stream``): the six families the
default model never saw, in turn, each corrected by the simulated corrector until it reaches
the target or its correction budget. The conditions, the three families of continual learning
and the whole system:

- ``none``: no training and no memory (the base model throughout);
- ``naive``: one adapter continued on the new lessons alone, no replay;
- ``reservoir`` / ``balanced``: the same with replay chosen each way;
- ``l2``: the same, no replay, with L2 toward the previous adapter (regularisation);
- ``isolation``: a new expert adapter per cluster of lessons, earlier ones frozen, and the
  router (parameter isolation), no memory;
- ``system``: isolation with the correction memory at plan time and the promotion gate: what
  ``robolearn run`` and ``robolearn train`` do.

Only ``system`` is gated; the others promote every round, so the report shows what each way of
training does. Each condition works in its own workspace under ``out``; conditions run in
parallel worker processes (``workers``), the outcomes of the base model planned once for all.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING

from robolearn.errors import ConfigError
from robolearn.learn.dataset import DataConfig
from robolearn.learn.lora import LoraSettings
from robolearn.learn.round_config import MAX_EVAL_SCENES, RoundConfig
from robolearn.tasks.seeds import heldout_seeds
from robolearn.tasks.spec import get_family

if TYPE_CHECKING:
    from robolearn.learn.stream import StreamSetup

NEW_FAMILIES = (
    "put_between",
    "clear_table",
    "flip_stack",
    "swap_blocks",
    "move_stack",
    "two_towers",
)
"""The families the default model never saw (``bootstrap = false``), in arrival order."""
MAX_WORKERS = 64
RESULT_FILE = "result.json"
"""In each condition's workspace: its result, written when it ends."""


@dataclass(frozen=True)
class Condition:
    """One way of learning from the corrections."""

    name: str
    train: bool = True
    replay: str = "none"
    l2: float = 0.0
    experts: bool = False
    memory: bool = False
    gate: bool = False
    """Refuse a round that regresses a family (else every round is promoted)."""


L2_STRENGTH = 1.0
"""The ``l2`` condition's pull toward the previous adapter (``LoraSettings.l2``)."""

CONDITIONS = {
    c.name: c
    for c in (
        Condition("none", train=False),
        Condition("naive"),
        Condition("reservoir", replay="reservoir"),
        Condition("balanced", replay="balanced"),
        Condition("l2", l2=L2_STRENGTH),
        Condition("isolation", experts=True),
        Condition("system", experts=True, memory=True, gate=True),
    )
}


def bench_round() -> RoundConfig:
    """The rounds' settings: small data, so more steps a pass (see ``docs/learning.md``).

    A family's first round (10 corrections: 150-190 examples) takes 230-290 steps; a second
    (with the first expert's successful episodes: 400-700 examples, 600-1,050 steps) is held
    to 700, the same examples seen as ``LoraSettings.max_steps`` in batches of 16.
    """
    return RoundConfig(
        data=DataConfig(augment=15, replay_ratio=1.0),
        lora=LoraSettings(epochs=12, batch_size=8, learning_rate=1e-2, threads=1, max_steps=700),
    )


@dataclass(frozen=True)
class LearningBenchConfig:
    """Settings of ``robolearn bench learning``."""

    families: tuple[str, ...] = NEW_FAMILIES
    """New families, in the order they arrive."""
    conditions: tuple[str, ...] = tuple(CONDITIONS)
    corrections_per_round: int = 10
    max_corrections: int = 20
    """Correction budget per new family."""
    eval_scenes: int = 10
    """Held-out scenes (odd seeds) per family."""
    target: float = 0.9
    round: RoundConfig = field(default_factory=bench_round)
    """LoRA and data settings; each condition sets the method, replay, L2 and the gate."""
    paraphrases: tuple[Path, ...] = ()
    """Test sets of other words (``tests/fixtures/paraphrases_*.json``); none: own words only."""
    workers: int = 2
    """Conditions run at once, each in its own process with one thread."""
    patience: int = 10
    """Episodes in a row without a mistake after which a family's corrections stop (each a
    successful episode, which rounds learn from too: 100 made the whole system's rounds train
    on 1,000 examples, 130 s each)."""
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = [c for c in self.conditions if c not in CONDITIONS]
        if unknown:
            raise ConfigError(
                "conditions", f"unknown conditions {unknown}; known: {', '.join(CONDITIONS)}"
            )
        for name in self.families:
            get_family(name)  # an unknown family says which exist
        if self.max_corrections < 1:
            raise ConfigError(
                "max_corrections", f"{{}} must be at least 1, got {self.max_corrections}"
            )
        if not 1 <= self.corrections_per_round <= self.max_corrections:
            raise ConfigError("corrections_per_round", "{} must be between 1 and max_corrections")
        if not 0 < self.target <= 1:
            raise ConfigError("target", f"{{}} is a success rate in (0, 1], got {self.target}")
        if not 1 <= self.workers <= MAX_WORKERS:
            raise ConfigError(
                "workers", f"{{}} must be between 1 and {MAX_WORKERS}, got {self.workers}"
            )
        if not 1 <= self.eval_scenes <= MAX_EVAL_SCENES:
            raise ConfigError(
                "eval_scenes",
                f"{{}} must be between 1 and {MAX_EVAL_SCENES}, got {self.eval_scenes}",
            )

    @property
    def heldout(self) -> list[int]:
        """The held-out scenes every family is evaluated on."""
        return heldout_seeds(self.eval_scenes)

    @property
    def threads(self) -> int:
        """Torch threads of each condition's process."""
        return self.round.lora.threads

    @property
    def gate_bound(self) -> float:
        """The gated condition's bound: the rounds' own, or one held-out scene if that is more.

        ``robolearn train`` judges on 20 scenes a family, where its 5% is one scene; the
        benchmark judges on fewer (10), where one scene is 10%: a single scene that a lucky base
        model planned right is not a regression.
        """
        return max(self.round.max_regression, 1 / self.eval_scenes)

    def round_for(self, condition: Condition) -> RoundConfig:
        """The round settings under ``condition``."""
        return replace(
            self.round,
            method="experts" if condition.experts else "adapter",
            data=replace(self.round.data, replay=condition.replay),
            lora=replace(self.round.lora, l2=condition.l2),
            max_regression=self.gate_bound if condition.gate else 1.0,
            eval_scenes=self.eval_scenes,
            eval_seed_start=self.heldout[0],
            seed=self.seed,
        )


def run_benchmark(
    model_dir: Path,
    out: Path,
    config: LearningBenchConfig | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, object]:
    """Run every condition on the same stream; write ``report.json`` under ``out``."""
    from robolearn.planner.identity import model_identity

    config = config or LearningBenchConfig()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    outcomes = out / "outcomes.jsonl"
    outcomes.unlink(missing_ok=True)  # a run starts cold: every figure measured in it
    report: dict[str, object] = {
        "model": model_identity(model_dir),
        "config": _plain(asdict(config)),
        "conditions": {},
    }
    jobs = [(name, config, model_dir, outcomes, out / name) for name in config.conditions]
    _warm(config, model_dir, outcomes, progress, log)
    if config.workers == 1:
        results = [_condition(*job, progress=progress) for job in jobs]
    else:
        pool = ProcessPoolExecutor(
            config.workers,
            mp_context=get_context("spawn"),
            initializer=_end_with,
            initargs=(os.getpid(),),
        )
        with pool:
            results = list(pool.map(_condition, *zip(*jobs, strict=True)))
    for name, result in zip(config.conditions, results, strict=True):
        report["conditions"][name] = result  # type: ignore[index]
        log(_summary(name, result))
    report["seconds"] = time.perf_counter() - start
    (out / "report.json").write_text(json.dumps(report, indent=2))
    return report


def _warm(
    config: LearningBenchConfig,
    model_dir: Path,
    outcomes: Path,
    progress: bool,
    log: Callable[[str], None],
) -> None:
    """Plan what every condition plans first, once: the base model on every question."""
    from robolearn.learn.evaluation import OutcomeCache, SuccessEvaluator
    from robolearn.learn.heldout import words_success
    from robolearn.planner.lm import LMPlanner
    from robolearn.skills.library import SkillLibrary

    setup = stream_setup(config, model_dir, outcomes)
    library = SkillLibrary.seed()
    model = LMPlanner(model_dir, library, threads=config.threads)
    evaluator = SuccessEvaluator(library, config.heldout, OutcomeCache(outcomes))
    try:
        evaluator.evaluate(model, setup.families, progress, "the base model")
        words_success(evaluator, model, setup.paraphrases)
    finally:
        evaluator.close()
    log(f"the base model planned every held-out scene once ({len(evaluator.cache)} outcomes)")


def stream_setup(config: LearningBenchConfig, model_dir: Path, outcomes: Path) -> StreamSetup:
    """What every condition's stream shares (``stream.StreamSetup``)."""
    from robolearn.learn.heldout import paraphrase_questions
    from robolearn.learn.meaning import Meaning
    from robolearn.learn.rounds import base_demonstrations
    from robolearn.learn.stream import StreamSetup
    from robolearn.skills.embeddings import EmbeddingCache

    base_pool = base_demonstrations(model_dir)
    base = sorted({e.family for e in base_pool})
    families = base + [f for f in config.families if f not in base]
    return StreamSetup(
        model_dir,
        base_pool,
        families,
        paraphrase_questions(config.paraphrases, config.families),
        outcomes,
        Meaning(cache=EmbeddingCache(outcomes.parent / "embeddings")),
    )


def _end_with(parent: int) -> None:
    """In a condition's worker: end when the benchmark's process is gone.

    A pool's workers outlive a parent that was killed (SIGTERM, SIGKILL) and go on training
    and writing into the run's folders; this one checks every second who its parent is.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, name="end-with-the-benchmark", daemon=True).start()


def _condition(
    name: str,
    config: LearningBenchConfig,
    model_dir: Path,
    outcomes: Path,
    workspace: Path,
    progress: bool = False,
) -> dict[str, object]:
    """One condition's result as JSON-ready data (what a worker process sends back)."""
    import torch

    from robolearn.learn.stream import run_condition

    torch.set_num_threads(config.threads)
    setup = stream_setup(config, model_dir, outcomes)
    result = run_condition(CONDITIONS[name], config, setup, workspace, progress, lambda _: None)
    data = result.to_dict(config.target)
    # Kept beside the condition's workspace at once: a run stopped later keeps what it measured.
    (workspace / RESULT_FILE).write_text(json.dumps(data, indent=2))
    return data


def _summary(name: str, result: dict[str, object]) -> str:
    matrix = result["matrix"]
    assert isinstance(matrix, dict)
    return (
        f"{name}: ACC {matrix['acc']:.0%}  BWT {matrix['bwt']:+.1%}  FWT {matrix['fwt']:+.1%}  "
        f"repeat mistakes {result['repeat_mistake_rate']:.0%}  ({result['seconds']:.0f} s)"
    )


def _plain(value: object) -> object:
    """``value`` with paths as strings (JSON)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value) if isinstance(value, Path) else value


def quick_config(paraphrases: tuple[Path, ...] = ()) -> LearningBenchConfig:
    """A smoke run in minutes: two new families, small budgets, every condition."""
    base = LearningBenchConfig()
    return replace(
        base,
        families=NEW_FAMILIES[:2],
        corrections_per_round=3,
        max_corrections=3,
        eval_scenes=3,
        paraphrases=paraphrases,
        round=replace(base.round, lora=replace(base.round.lora, epochs=2)),
    )
