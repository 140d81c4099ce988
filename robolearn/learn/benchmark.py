"""The continual-learning benchmark: new families arrive, corrections teach them, under conditions.

The simulated corrector fixes the planner's mistakes and LoRA rounds teach it. Every condition
sees the same stream: for each new family in turn, episodes on its training
seeds (even) are planned and run, each failure is corrected, and after every
``corrections_per_round`` corrections a round trains (conditions that train) and every family is
evaluated on held-out seeds (odd). A family is done once it reaches ``target`` or its
correction budget is spent. The conditions:

- ``none``: no training and no memory (the base model throughout);
- ``naive``: LoRA on the new lessons alone, no replay;
- ``reservoir`` / ``balanced``: LoRA with replay chosen each way;
- ``memory``: balanced replay, the correction memory at plan time, and the promotion gate:
  the whole system as ``robolearn run`` and ``robolearn train`` use it.

Only ``memory`` is gated; the others promote every round, so the matrix shows what each way
of training does. Each condition works in its own workspace under ``out``.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from tqdm import tqdm

from robolearn.agent import Planner, run_episode
from robolearn.correction import CorrectionAPI
from robolearn.errors import ConfigError
from robolearn.learn.adapters import plan_with_active_adapter
from robolearn.learn.corrector import SimulatedCorrector
from robolearn.learn.evaluation import SuccessEvaluator, heldout_seeds
from robolearn.learn.lora import train_adapter
from robolearn.learn.memory import CorrectionMemory, MemoryPlanner
from robolearn.learn.metrics import MistakeLog, SuccessMatrix, corrections_to_reach
from robolearn.learn.rounds import RoundConfig, base_demonstrations, run_round
from robolearn.planner.identity import model_identity
from robolearn.planner.lm import LMPlanner
from robolearn.planner.training import Example
from robolearn.rollout import RunRecorder
from robolearn.skills.library import SkillLibrary
from robolearn.store import Store
from robolearn.tasks.env import TabletopEnv
from robolearn.tasks.seeds import FIRST_HELDOUT, training_seeds
from robolearn.tasks.spec import get_family

NEW_FAMILIES = ("put_between", "clear_table", "flip_stack", "swap_blocks")
"""The families the default model never saw (``bootstrap = false``), in arrival order."""


@dataclass(frozen=True)
class Condition:
    """One way of learning from the corrections."""

    name: str
    train: bool
    replay: str = "balanced"
    memory: bool = False
    gate: bool = False
    """Refuse an adapter that regresses a family (else every round is promoted)."""


CONDITIONS = {
    c.name: c
    for c in (
        Condition("none", train=False),
        Condition("naive", train=True, replay="none"),
        Condition("reservoir", train=True, replay="reservoir"),
        Condition("balanced", train=True, replay="balanced"),
        Condition("memory", train=True, replay="balanced", memory=True, gate=True),
    )
}


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
    round: RoundConfig = field(default_factory=RoundConfig)
    """LoRA and data settings; each condition sets the replay, the gate and the scenes."""
    timing_examples: int = 1000
    """Examples in the timed LoRA round (0: skip the timing)."""
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = [c for c in self.conditions if c not in CONDITIONS]
        if unknown:
            raise ConfigError(
                "conditions", f"unknown conditions {unknown}; known: {', '.join(CONDITIONS)}"
            )
        for name in self.families:
            get_family(name)  # an unknown family says which exist
        if not 1 <= self.corrections_per_round <= self.max_corrections:
            raise ConfigError("corrections_per_round", "{} must be between 1 and max_corrections")
        if not 0 < self.target <= 1:
            raise ConfigError("target", f"{{}} is a success rate in (0, 1], got {self.target}")

    def round_for(self, condition: Condition) -> RoundConfig:
        """The round settings under ``condition``."""
        return replace(
            self.round,
            data=replace(self.round.data, replay=condition.replay),
            max_regression=self.round.max_regression if condition.gate else 1.0,
            eval_scenes=self.eval_scenes,
            eval_seed_start=FIRST_HELDOUT,
            seed=self.seed,
        )


@dataclass
class ConditionResult:
    """What one condition did over the stream."""

    name: str
    matrix: SuccessMatrix
    curves: dict[str, list[tuple[int, float]]]
    """Per new family: (corrections so far, held-out success) after each evaluation."""
    mistakes: MistakeLog
    rounds: list[dict[str, object]] = field(default_factory=list)
    seconds: float = 0.0

    def corrections_needed(self, target: float) -> dict[str, int | None]:
        """Per new family: corrections made when it first reached ``target`` (None: never)."""
        return {f: corrections_to_reach(curve, target) for f, curve in self.curves.items()}

    def to_dict(self, target: float) -> dict[str, object]:
        """The JSON-ready result."""
        return {
            "name": self.name,
            "matrix": self.matrix.to_dict(),
            "curves": self.curves,
            "repeat_mistakes": asdict(self.mistakes),
            "repeat_mistake_rate": self.mistakes.rate,
            "corrections_needed": self.corrections_needed(target),
            "rounds": self.rounds,
            "seconds": self.seconds,
        }


def run_benchmark(
    model_dir: Path,
    out: Path,
    config: LearningBenchConfig | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, object]:
    """Run every condition on the same stream; write ``report.json`` under ``out``."""
    config = config or LearningBenchConfig()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    library = SkillLibrary.seed()
    evaluator = SuccessEvaluator(library, heldout_seeds(config.eval_scenes))
    base_pool = base_demonstrations(model_dir)
    report: dict[str, object] = {
        "model": model_identity(model_dir),
        "config": asdict(config),
        "conditions": {},
    }
    try:
        if config.timing_examples:
            report["lora_timing"] = time_lora_round(model_dir, base_pool, config, out)
            log(
                f"LoRA round on {config.timing_examples} examples: "
                f"{report['lora_timing']['seconds']:.1f} s"
            )
        for name in config.conditions:
            result = run_condition(
                CONDITIONS[name], config, model_dir, evaluator, base_pool, out / name, progress, log
            )
            report["conditions"][name] = result.to_dict(config.target)  # type: ignore[index]
            log(
                f"{name}: ACC {result.matrix.acc:.0%}  BWT {result.matrix.bwt:+.1%}  "
                f"FWT {result.matrix.fwt:+.1%}  repeat mistakes {result.mistakes.rate:.0%}  "
                f"({result.seconds:.0f} s)"
            )
    finally:
        evaluator.close()
    (out / "report.json").write_text(json.dumps(report, indent=2))
    return report


def run_condition(
    condition: Condition,
    config: LearningBenchConfig,
    model_dir: Path,
    evaluator: SuccessEvaluator,
    base_pool: list[Example],
    workspace: Path,
    progress: bool,
    log: Callable[[str], None],
) -> ConditionResult:
    """The stream under one condition, in a fresh workspace."""
    start = time.perf_counter()
    if workspace.exists():
        shutil.rmtree(workspace)
    library = SkillLibrary.open(workspace)
    base_families = sorted({e.family for e in base_pool})
    families = base_families + [f for f in config.families if f not in base_families]
    learned_at = {f: 0 for f in base_families} | {f: i + 1 for i, f in enumerate(config.families)}
    matrix = SuccessMatrix(families, learned_at)
    model = LMPlanner(model_dir, library, threads=config.round.lora.threads)
    result = ConditionResult(condition.name, matrix, {}, MistakeLog())
    with Store.open(workspace) as store:
        stream = _Stream(condition, config, model_dir, evaluator, base_pool, library, store, model)
        matrix.add("base", evaluator.evaluate(stream.planner, families).success)
        total = len(config.families) * config.max_corrections
        with tqdm(total=total, unit="correction", desc=condition.name, disable=not progress) as bar:
            for family in config.families:
                matrix.add(family, stream.teach(family, families, result, bar))
        stream.api.close()
    result.seconds = time.perf_counter() - start
    return result


class _Stream:
    """One condition's stream: families taught in turn, corrections made, rounds trained."""

    def __init__(
        self,
        condition: Condition,
        config: LearningBenchConfig,
        model_dir: Path,
        evaluator: SuccessEvaluator,
        base_pool: list[Example],
        library: SkillLibrary,
        store: Store,
        model: LMPlanner,
    ) -> None:
        self.condition, self.config, self.model_dir = condition, config, model_dir
        self.evaluator, self.base_pool, self.library = evaluator, base_pool, library
        self.store, self.model = store, model
        self.planner: Planner = (
            MemoryPlanner(model, CorrectionMemory(store)) if condition.memory else model
        )
        self.api = CorrectionAPI(store, library)
        self.corrector = SimulatedCorrector(self.api)
        run = store.start_run(
            self.planner.name, 0, {"benchmark": "learning", "condition": condition.name}
        )
        self.recorder = RunRecorder(store, run, store.workspace)
        self.corrected: list[tuple[str, int]] = []

    def teach(
        self, family: str, families: list[str], result: ConditionResult, bar: tqdm
    ) -> dict[str, float]:
        """Correct ``family``'s mistakes batch by batch until it reaches the target.

        A condition that trains runs a round after each batch. Returns success per family.
        """
        config = self.config
        env = TabletopEnv(get_family(family))
        seeds = iter(training_seeds(500))  # never evaluated
        made, success = 0, result.matrix.rows[-1]
        result.curves[family] = [(0, success[family])]
        try:
            while made < config.max_corrections:
                wanted = min(config.corrections_per_round, config.max_corrections - made)
                batch = _collect(
                    env, self.planner, self.library, self.recorder, self.corrector, seeds, wanted
                )
                made += len(batch)
                bar.update(len(batch))
                self.corrected += [(family, seed) for seed in batch]
                if self.condition.train and batch:
                    result.rounds.append(self.train(family, made))
                success = self.evaluator.evaluate(self.planner, families).success
                result.curves[family].append((made, success[family]))
                for f, seed in self.corrected:
                    result.mistakes.count(not self.evaluator.attempt(self.planner, f, seed)[1])
                if success[family] >= config.target or not batch:
                    break
        finally:
            env.close()
        return success

    def train(self, family: str, made: int) -> dict[str, object]:
        """A round on the corrections so far; the model plans with what it promoted."""
        workspace = self.store.workspace
        outcome = run_round(
            workspace,
            self.model_dir,
            self.config.round_for(self.condition),
            library=self.library,
            evaluator=self.evaluator,
            base_pool=self.base_pool,
            progress=False,
            log=lambda _: None,
        )
        plan_with_active_adapter(self.model, self.store, workspace)
        return {
            "family": family,
            "corrections": made,
            "promoted": outcome.promoted,
            "reason": outcome.reason,
            "seconds": outcome.seconds,
            "dataset": outcome.dataset,
        }


def _collect(
    env: TabletopEnv,
    planner: Planner,
    library: SkillLibrary,
    recorder: RunRecorder,
    corrector: SimulatedCorrector,
    seeds: Iterator[int],
    wanted: int,
    patience: int = 100,
) -> list[int]:
    """Run episodes on the next training seeds until ``wanted`` were corrected; their seeds.

    Gives up after ``patience`` episodes in a row that needed no correction.
    """
    corrected: list[int] = []
    streak = 0
    while len(corrected) < wanted and streak < patience:
        seed = next(seeds)
        episode_id = recorder.save(run_episode(env, planner, seed, library=library))
        if corrector.correct(episode_id) is None:
            streak += 1
        else:
            corrected.append(seed)
            streak = 0
    return corrected


def time_lora_round(
    model_dir: Path, base_pool: list[Example], config: LearningBenchConfig, out: Path
) -> dict[str, float]:
    """Seconds to train one adapter on ``timing_examples`` examples with the round settings."""
    rng = random.Random(config.seed)
    examples = rng.sample(base_pool, min(config.timing_examples, len(base_pool)))
    target = out / "timing-adapter"
    result = train_adapter(
        model_dir,
        None,
        examples,
        config.round.lora,
        target,
        model_identity(model_dir),
        rng,
        progress=False,
    )
    shutil.rmtree(target)
    return {
        "examples": len(examples),
        "seconds": result.seconds,
        "epochs": config.round.lora.epochs,
        "threads": config.round.lora.threads,
    }


def quick_config() -> LearningBenchConfig:
    """A smoke run in minutes: two new families, small budgets, every condition."""
    base = LearningBenchConfig()
    return replace(
        base,
        families=NEW_FAMILIES[:2],
        corrections_per_round=3,
        max_corrections=3,
        eval_scenes=3,
        timing_examples=100,
        round=replace(base.round, lora=replace(base.round.lora, epochs=2)),
    )
