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

from robolearn.errors import UserError
from robolearn.learn.adapters import active, adapters_dir, lineage, round_dir
from robolearn.learn.dataset import DataConfig, RoundDataset, build_dataset
from robolearn.learn.evaluation import EVAL_SEED_START, SuccessEvaluator, heldout_seeds
from robolearn.learn.lora import LoraSettings, train_adapter
from robolearn.locks import BusyError, exclusive
from robolearn.planner.bootstrap import bootstrap_demonstrations, recorded_config
from robolearn.planner.lm import LMPlanner
from robolearn.planner.training import Example
from robolearn.skills.library import SkillLibrary
from robolearn.store import AdapterRow, RoundRow, Store


class RoundBusyError(BusyError, RuntimeError):
    """Another training round is running in this workspace."""


class NothingToLearnError(UserError, RuntimeError):
    """No correction or successful episode is new since the adapter in use."""


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
    eval_seed_start: int = EVAL_SEED_START
    """The first held-out scene's task seed (every other seed from there)."""
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.max_regression <= 1:
            raise ValueError(
                f"max_regression is a fraction between 0 and 1, got {self.max_regression}"
            )
        if self.eval_scenes < 1:
            raise ValueError(f"eval_scenes must be at least 1, got {self.eval_scenes}")


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
    library = library or SkillLibrary.open(workspace)
    rng = random.Random(config.seed)
    start = time.perf_counter()
    with _round_lock(workspace), Store.open(workspace) as store:
        for stale in store.mark_interrupted():
            log(
                f"round {stale} had been interrupted (its process stopped); its adapter, if "
                "any, was never used"
            )
        _remove_partial_folders(workspace)
        planner = LMPlanner(model_dir, library, threads=config.lora.threads)
        base = planner.identity
        current = active(store, workspace, base)
        if base_pool is None:
            base_pool = base_demonstrations(model_dir)
        style = planner.format  # examples are written as this model reads its prompts
        dataset = build_dataset(
            store, base_pool, lineage(store, current.round_id), config.data, rng, style
        )
        if not dataset.new:
            raise NothingToLearnError(
                "nothing new to learn: no correction whose re-run succeeded, and no "
                "successful episode, since the adapter in use was trained; correct some "
                "episodes first (dashboard, or the correction API)"
            )
        families = sorted(
            {e.family for e in base_pool} | {row.family for row in store.success_by_family()}
        )
        round_id = store.start_round(
            RoundRow(
                base_model=base,
                config=asdict(config),
                last_correction_id=dataset.last_correction_id,
                parent_round=current.round_id,
            )
        )
        try:
            store.add_round_examples(round_id, dataset.rows())
            log(
                f"round {round_id}: {len(dataset.new)} new examples "
                f"({_lesson_counts(dataset)}) + {len(dataset.replay)} replayed "
                f"({config.data.replay}), continuing from "
                f"{'the base model' if current.round_id is None else f'round {current.round_id}'}"
            )
            out = round_dir(workspace, round_id)
            result = train_adapter(
                model_dir,
                current.path,
                dataset.examples,
                config.lora,
                out,
                base,
                rng,
                progress,
                style.end_token_id,
                style.add_special_tokens,
            )
            outcome = _judge(planner, evaluator, config, families, current.path, out, progress)
        except BaseException as error:
            shutil.rmtree(round_dir(workspace, round_id), ignore_errors=True)  # never used
            with contextlib.suppress(Exception):  # else the next round marks it interrupted
                store.finish_round(round_id, "failed", f"{type(error).__name__}: {error}", {})
            raise
        incumbent, candidate = outcome
        regressed = {
            f: (incumbent[f], candidate[f])
            for f in families
            if candidate[f] < incumbent[f] - config.max_regression - 1e-9
        }
        promoted = not regressed
        reason = (
            f"no family regressed by more than {config.max_regression:.0%}"
            if promoted
            else "refused: "
            + ", ".join(f"{f} fell from {a:.0%} to {b:.0%}" for f, (a, b) in regressed.items())
        )
        relative = out.relative_to(workspace).as_posix()
        metrics = {
            "incumbent": incumbent,
            "candidate": candidate,
            "families": families,
            "dataset": dataset.summary(),
            "training": asdict(result),
            "seconds": time.perf_counter() - start,
        }
        try:
            store.finish_round(
                round_id,
                "promoted" if promoted else "refused",
                reason,
                metrics,
                relative,
                use=AdapterRow(base, round_id, relative, f"round {round_id} promoted: {reason}")
                if promoted
                else None,
            )
        except BaseException as error:  # the outcome was not stored: the adapter is no one's
            shutil.rmtree(out, ignore_errors=True)
            with contextlib.suppress(Exception):  # else the next round marks it interrupted
                store.finish_round(round_id, "failed", f"{type(error).__name__}: {error}", {})
            raise
    return RoundOutcome(
        round_id,
        promoted,
        reason,
        out,
        incumbent,
        candidate,
        dataset.summary(),
        time.perf_counter() - start,
    )


def _judge(
    planner: LMPlanner,
    evaluator: SuccessEvaluator | None,
    config: RoundConfig,
    families: list[str],
    incumbent: Path | None,
    candidate: Path,
    progress: bool,
) -> tuple[dict[str, float], dict[str, float]]:
    """Held-out success per family of the adapter in use and of the new one."""
    own = evaluator is None
    evaluator = evaluator or SuccessEvaluator(
        planner.library, heldout_seeds(config.eval_scenes, config.eval_seed_start)
    )
    try:
        planner.use_adapter(incumbent)
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
        adapters_dir(workspace) / ".round.lock",
        "running a training round",
        wait=False,
        error=RoundBusyError,
    )


def _remove_partial_folders(workspace: Path) -> None:
    """Adapters half-written by a round that was killed: never used, safe to delete."""
    for partial in adapters_dir(workspace).glob("*.partial"):
        shutil.rmtree(partial, ignore_errors=True)


def _lesson_counts(dataset: RoundDataset) -> str:
    return (
        ", ".join(f"{n} from {source}s" for source, n in sorted(dataset.lesson_counts().items()))
        or "none"
    )
