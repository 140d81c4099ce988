"""One LoRA round: data, training, evaluation on every family seen, and the promotion gate.

The round is recorded in the store when it starts and again when it ends. The adapter in use
changes only in the round's last write, the one transaction that also records its outcome,
after its folder is complete, so a round that crashes or is killed at any point leaves the
previous adapter in use and the database whole; the next round marks it ``interrupted``.
One round runs at a time in a workspace (a lock file).
"""

from __future__ import annotations

import contextlib
import random
import shutil
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from robolearn.errors import ConfigError, UserError
from robolearn.learn.adapters import ActiveAdapter, active, lineage
from robolearn.learn.dataset import DataConfig, RoundDataset, build_dataset
from robolearn.learn.evaluation import GATE_FIRST_SEED, SuccessEvaluator, heldout_seeds
from robolearn.learn.gate import GateVerdict, promotion_verdict
from robolearn.learn.lora import LoraSettings, train_adapter
from robolearn.locks import BusyError, exclusive
from robolearn.paths import WorkspaceLayout
from robolearn.planner.bootstrap import bootstrap_demonstrations, recorded_config
from robolearn.planner.lm import LMPlanner
from robolearn.planner.training import Example, TrainingResult
from robolearn.skills.library import SkillLibrary
from robolearn.store import AdapterRow, RoundRow, Store


class RoundBusyError(BusyError, RuntimeError):
    """Another training round is running in this workspace."""


class NothingToLearnError(UserError, RuntimeError):
    """No correction or successful episode is new since the adapter in use."""


MAX_EVAL_SCENES = 10_000
"""The most held-out scenes per family a gate evaluates on."""


@dataclass(frozen=True)
class RoundConfig:
    """Settings of one training round (``robolearn train``)."""

    data: DataConfig = field(default_factory=DataConfig)
    lora: LoraSettings = field(default_factory=LoraSettings)
    max_regression: float = 0.05
    """The most a family's held-out success may drop (0.05 = 5 points) for the new adapter to
    be promoted."""
    eval_scenes: int = 20
    """Held-out scenes per family that the gate evaluates on."""
    eval_seed_start: int = GATE_FIRST_SEED
    """The first held-out scene's task seed (every other seed from there)."""
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.max_regression <= 1:
            raise ConfigError(
                "max_regression", f"{{}} is a fraction between 0 and 1, got {self.max_regression}"
            )
        if not 1 <= self.eval_scenes <= MAX_EVAL_SCENES:
            raise ConfigError(
                "eval_scenes",
                f"{{}} must be between 1 and {MAX_EVAL_SCENES}, got {self.eval_scenes}",
            )


@dataclass
class RoundOutcome:
    """How a round ended, with the numbers behind the verdict."""

    round_id: int
    promoted: bool
    reason: str
    adapter: Path
    incumbent: dict[str, float]
    """Held-out success per family of the adapter in use before the round."""
    candidate: dict[str, float]
    """The same for the round's new adapter."""
    dataset: dict[str, object]
    seconds: float

    def table(self) -> str:
        """Success per family before and after, as a person reads it."""
        lines = [f"{'family':<18} {'in use':>7} {'new':>7}"]
        for family in sorted(self.candidate):
            before, after = self.incumbent[family], self.candidate[family]
            lines.append(
                f"{family:<18} {before:>7.0%} {after:>7.0%}"
                + (f"  {after - before:+.0%}" if after != before else "")
            )
        return "\n".join(lines)


def base_demonstrations(model_dir: Path) -> list[Example]:
    """What the base model was trained on, if robolearn built it (replay's oldest data)."""
    config = recorded_config(model_dir)
    return [] if config is None else bootstrap_demonstrations(config)


def run_round(
    workspace: Path,
    model_dir: Path,
    config: RoundConfig | None = None,
    *,
    library: SkillLibrary | None = None,
    evaluator: SuccessEvaluator | None = None,
    base_pool: list[Example] | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> RoundOutcome:
    """Run one round for the model in ``model_dir``; promote its adapter if nothing regressed.

    ``evaluator`` and ``base_pool`` may be passed in to reuse them across rounds (the
    continual-learning benchmark does).
    """
    config = config or RoundConfig()
    workspace = Path(workspace)
    start = time.perf_counter()
    with _round_lock(workspace), Store.open(workspace) as store:
        _recover(store, workspace, log)
        plan = _plan_round(store, workspace, model_dir, config, library, base_pool)
        round_id = _record_start(store, plan, config, log)
        out = WorkspaceLayout(workspace).round_adapter(round_id)
        try:
            result = _train(plan, config, out, progress)
            scores = _judge(plan, evaluator, config, out, progress)
        except BaseException as error:
            _record_failure(store, round_id, error, out)
            raise
        verdict = promotion_verdict(*scores, config.max_regression)
        metrics = {
            "incumbent": scores[0],
            "candidate": scores[1],
            "families": plan.families,
            "dataset": plan.dataset.summary(),
            "training": asdict(result),
            "seconds": time.perf_counter() - start,
        }
        _record_end(store, workspace, round_id, plan.base, verdict, metrics, out)
    return RoundOutcome(
        round_id,
        verdict.promoted,
        verdict.reason,
        out,
        *scores,
        plan.dataset.summary(),
        time.perf_counter() - start,
    )


@dataclass
class _RoundPlan:
    """What a round starts from: the planner, the adapter in use, its data and families."""

    planner: LMPlanner
    current: ActiveAdapter
    dataset: RoundDataset
    families: list[str]
    model_dir: Path
    rng: random.Random
    """Drawn from by the data sampling, then by training: one seed, one stream."""

    @property
    def base(self) -> str:
        """The base model's identity."""
        return self.planner.identity


def _recover(store: Store, workspace: Path, log: Callable[[str], None]) -> None:
    """Mark rounds a killed process left running, and delete their half-written adapters."""
    for stale in store.mark_interrupted():
        log(
            f"round {stale} had been interrupted (its process stopped); its adapter, if "
            "any, was never used"
        )
    for partial in WorkspaceLayout(workspace).adapters.glob("*.partial"):
        shutil.rmtree(partial, ignore_errors=True)  # never used, safe to delete


def _plan_round(
    store: Store,
    workspace: Path,
    model_dir: Path,
    config: RoundConfig,
    library: SkillLibrary | None,
    base_pool: list[Example] | None,
) -> _RoundPlan:
    """The round's data: what is new since the adapter in use, plus replay; refuses nothing."""
    planner = LMPlanner(
        model_dir, library or SkillLibrary.open(workspace), threads=config.lora.threads
    )
    current = active(store, workspace, planner.identity)
    if base_pool is None:
        base_pool = base_demonstrations(model_dir)
    rng = random.Random(config.seed)
    dataset = build_dataset(
        store,
        base_pool,
        lineage(store, current.round_id),
        config.data,
        rng,
        planner.format,  # examples are written as this model reads its prompts
    )
    if not dataset.new:
        raise NothingToLearnError(
            "nothing new to learn: no correction whose re-run succeeded, and no "
            "successful episode, since the adapter in use was trained; correct some "
            "episodes first (dashboard, or the correction API)"
        )
    families = {e.family for e in base_pool} | {row.family for row in store.success_by_family()}
    return _RoundPlan(planner, current, dataset, sorted(families), Path(model_dir), rng)


def _record_start(
    store: Store, plan: _RoundPlan, config: RoundConfig, log: Callable[[str], None]
) -> int:
    """Record the round as running, with every example it trains on; its id."""
    round_id = store.start_round(
        RoundRow(
            base_model=plan.base,
            config=asdict(config),
            last_correction_id=plan.dataset.last_correction_id,
            parent_round=plan.current.round_id,
        )
    )
    try:
        store.add_round_examples(round_id, plan.dataset.rows())
    except BaseException as error:
        store.finish_round(round_id, "failed", f"{type(error).__name__}: {error}", {})
        raise
    parent = plan.current.round_id
    log(
        f"round {round_id}: {len(plan.dataset.new)} new examples "
        f"({_lesson_counts(plan.dataset)}) + {len(plan.dataset.replay)} replayed "
        f"({config.data.replay}), continuing from "
        f"{'the base model' if parent is None else f'round {parent}'}"
    )
    return round_id


def _train(plan: _RoundPlan, config: RoundConfig, out: Path, progress: bool) -> TrainingResult:
    """Train the round's adapter into ``out``, continuing from the adapter in use."""
    style = plan.planner.format
    return train_adapter(
        plan.model_dir,
        plan.current.path,
        plan.dataset.examples,
        config.lora,
        out,
        plan.base,
        plan.rng,
        progress,
        style.end_token_id,
        style.add_special_tokens,
    )


def _record_end(
    store: Store,
    workspace: Path,
    round_id: int,
    base: str,
    verdict: GateVerdict,
    metrics: dict[str, object],
    out: Path,
) -> None:
    """Record the outcome; a promoted adapter is put in use in the same transaction."""
    relative = WorkspaceLayout(workspace).relative(out)
    use = AdapterRow(base, round_id, relative, f"round {round_id} promoted: {verdict.reason}")
    try:
        store.finish_round(
            round_id,
            "promoted" if verdict.promoted else "refused",
            verdict.reason,
            metrics,
            relative,
            use=use if verdict.promoted else None,
        )
    except BaseException as error:  # not stored: the adapter is no one's
        _record_failure(store, round_id, error, out)
        raise


def _record_failure(store: Store, round_id: int, error: BaseException, out: Path) -> None:
    """Mark the round failed and delete its adapter, which was never used.

    If even that cannot be stored (the disk is still full), the round stays ``running`` and
    the next round marks it interrupted.
    """
    shutil.rmtree(out, ignore_errors=True)
    with contextlib.suppress(Exception):
        store.finish_round(round_id, "failed", f"{type(error).__name__}: {error}", {})


def _judge(
    plan: _RoundPlan,
    evaluator: SuccessEvaluator | None,
    config: RoundConfig,
    candidate: Path,
    progress: bool,
) -> tuple[dict[str, float], dict[str, float]]:
    """Held-out success per family of the adapter in use and of the new one."""
    planner, families = plan.planner, plan.families
    own = evaluator is None
    evaluator = evaluator or SuccessEvaluator(
        planner.library, heldout_seeds(config.eval_scenes, config.eval_seed_start)
    )
    try:
        planner.use_adapter(plan.current.path)
        before = evaluator.evaluate(planner, families, progress, "evaluating the adapter in use")
        planner.use_adapter(candidate)
        after = evaluator.evaluate(planner, families, progress, "evaluating the new adapter")
    finally:
        if own:
            evaluator.close()
    return before.success, after.success


def _round_lock(workspace: Path) -> AbstractContextManager[None]:
    """One round at a time in a workspace; another is refused at once (RoundBusyError)."""
    return exclusive(
        WorkspaceLayout(workspace).adapters / ".round.lock",
        "running a training round",
        wait=False,
        error=RoundBusyError,
    )


def _lesson_counts(dataset: RoundDataset) -> str:
    return (
        ", ".join(f"{n} from {source}s" for source, n in sorted(dataset.lesson_counts().items()))
        or "none"
    )
