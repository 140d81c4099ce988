"""One LoRA round: data, training, evaluation on every family seen, and the promotion gate.

A round trains new expert adapters and the router over them (``method = "experts"``, the
default: ``experts``), or one adapter continuing the one in use (``"adapter"``). The gate then
promotes what it made only if no family seen so far fell past the bound.

The round is recorded in the store when it starts and again when it ends. What is in use
changes only in the round's last write, the one transaction that also records its outcome,
after its folder is complete, so a round that crashes or is killed at any point leaves the
previous experts, router or adapter in use and the database whole; the next round marks it
``interrupted``. One round runs at a time in a workspace (a lock file).
"""

from __future__ import annotations

import contextlib
import random
import shutil
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from robolearn.errors import UserError
from robolearn.learn.adapters import ActiveAdapter, active, lineage, planner_for
from robolearn.learn.dataset import RoundDataset, build_dataset, learned_examples
from robolearn.learn.evaluation import OutcomeCache, SuccessEvaluator, heldout_seeds
from robolearn.learn.experts import (
    ExpertPlan,
    base_router,
    next_router,
    plan_experts,
    round_dataset,
    train_experts,
    write_round,
)
from robolearn.learn.gate import GateVerdict, promotion_verdict
from robolearn.learn.lora import train_adapter
from robolearn.learn.meaning import Meaning
from robolearn.learn.round_config import RoundConfig, RoundOutcome
from robolearn.learn.router import Router
from robolearn.locks import BusyError, exclusive
from robolearn.paths import WorkspaceLayout
from robolearn.planner.bootstrap import bootstrap_demonstrations, recorded_config
from robolearn.planner.lm import LMPlanner
from robolearn.planner.training import Example, TrainingResult
from robolearn.skills.library import SkillLibrary
from robolearn.store import AdapterRow, RoundRow, Store
from robolearn.tasks.spec import get_family


class RoundBusyError(BusyError, RuntimeError):
    """Another training round is running in this workspace."""


class NothingToLearnError(UserError, RuntimeError):
    """No correction or successful episode is new since the adapter in use."""


class AdapterInUseError(UserError, RuntimeError):
    """A round of experts asked for while one continued adapter is in use."""


OUTCOMES_FILE = "outcomes.jsonl"
"""In the workspace's cache: the gate's outcomes by source, kept across rounds."""


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
    meaning: Meaning | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> RoundOutcome:
    """Run one round for the model in ``model_dir``; promote it if nothing regressed.

    ``evaluator``, ``base_pool`` and ``meaning`` may be passed in to reuse them across rounds
    (the continual-learning benchmark does); by default the gate remembers its outcomes in the
    workspace's cache and the router embeds with the workspace's vector cache.
    """
    config = config or RoundConfig()
    workspace = Path(workspace)
    clock = _Clock()
    with _round_lock(workspace), Store.open(workspace) as store:
        _recover(store, workspace, log)
        meaning = meaning or _workspace_meaning(workspace)
        plan = _plan_round(store, workspace, model_dir, config, library, base_pool, meaning)
        round_id = _record_start(store, plan, config, log)
        out = WorkspaceLayout(workspace).round_adapter(round_id)
        try:
            clock.lap("data")
            training = _train(plan, config, round_id, out, progress)
            clock.lap("training")
            scores, planned = _judge(plan, evaluator, config, out, progress)
            clock.lap("gate")
        except BaseException as error:
            _record_failure(store, round_id, error, out)
            raise
        verdict = promotion_verdict(*scores, config.max_regression)
        timing = clock.laps | {"gate_planned": float(planned)}
        metrics = {
            "incumbent": scores[0],
            "candidate": scores[1],
            "families": plan.families,
            "dataset": plan.dataset.summary(),
            "training": {name: asdict(result) for name, result in training.items()},
            "experts": [e.name for e in plan.experts],
            "seconds": clock.total,
            "timing": timing,
        }
        _record_end(store, workspace, round_id, plan.base, verdict, metrics, out)
    return RoundOutcome(
        round_id,
        verdict.promoted,
        verdict.reason,
        out,
        *scores,
        plan.dataset.summary(),
        clock.total,
        timing,
        [e.name for e in plan.experts],
    )


class _Clock:
    """Seconds since the round began, and of each of its steps."""

    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.laps[step] = now - self.last
        self.last = now

    @property
    def total(self) -> float:
        return time.perf_counter() - self.start


def _workspace_meaning(workspace: Path) -> Meaning:
    from robolearn.skills.embeddings import EmbeddingCache

    return Meaning(cache=EmbeddingCache.for_workspace(workspace))


@dataclass
class _RoundPlan:
    """What a round starts from: the planner, what is in use, its data and families."""

    planner: LMPlanner
    current: ActiveAdapter
    dataset: RoundDataset
    families: list[str]
    model_dir: Path
    workspace: Path
    meaning: Meaning
    learned: list[Example]
    """What the rounds of what is in use learned before (their new examples)."""
    base_pool: list[Example]
    rng: random.Random
    """Drawn from by the data sampling, then by training: one seed, one stream."""
    router: Router | None = None
    """Experts: the router in use (a new one knowing the base model if none is)."""
    experts: list[ExpertPlan] = field(default_factory=list)

    @property
    def base(self) -> str:
        """The base model's identity."""
        return self.planner.identity

    def prepare(self, round_id: int, config: RoundConfig) -> None:
        """Experts: which the round trains, on what (the dataset then says what they use)."""
        if self.router is None:
            return
        self.experts = plan_experts(
            round_id,
            self.dataset,
            self.learned,
            self.base_pool,
            self.router,
            config.expert_replay,
            self.rng,
        )
        self.dataset = round_dataset(self.dataset, self.experts)


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
    meaning: Meaning,
) -> _RoundPlan:
    """The round's data: what is new since what is in use, plus replay; refuses nothing."""
    planner = LMPlanner(
        model_dir, library or SkillLibrary.open(workspace), threads=config.lora.threads
    )
    current = active(store, workspace, planner.identity)
    if base_pool is None:
        base_pool = base_demonstrations(model_dir)
    rng = random.Random(config.seed)
    data = config.data if config.method == "adapter" else replace(config.data, replay="none")
    chain = lineage(store, current.round_id)
    dataset = build_dataset(
        store,
        base_pool,
        chain,
        data,
        rng,
        planner.format,  # examples are written as this model reads its prompts
        planner.library,
    )
    if not dataset.new:
        raise NothingToLearnError(
            "nothing new to learn: no correction whose re-run succeeded, and no "
            "successful episode, since the adapter in use was trained; correct some "
            "episodes first (dashboard, or the correction API)"
        )
    families = {e.family for e in base_pool} | {row.family for row in store.success_by_family()}
    experts = config.method == "experts"
    return _RoundPlan(
        planner,
        current,
        dataset,
        sorted(families),
        Path(model_dir),
        workspace,
        meaning,
        learned_examples(store, chain) if experts else [],
        base_pool,
        rng,
        _router_in_use(current, meaning, base_pool) if experts else _no_router(current),
    )


def _router_in_use(current: ActiveAdapter, meaning: Meaning, base_pool: list[Example]) -> Router:
    """The router a round of experts adds to: the one in use, or a new one.

    A new router knows the base model by its own families (those of its demonstrations; a
    pretrained model's, those robolearn's default model is built on).
    """
    if current.router is not None:
        return Router.load(current.router)
    if current.path is not None:
        raise AdapterInUseError(
            f"round {current.round_id}'s one adapter is in use; a round of experts starts "
            "from the base model: run 'robolearn adapters use base' first, or train with "
            "--method adapter"
        )
    own = sorted({e.family for e in base_pool})  # none for a pretrained model: the bootstrap's
    return base_router(meaning, [get_family(f) for f in own] or None)


def _no_router(current: ActiveAdapter) -> None:
    """A round of one adapter continues an adapter, never a router over experts."""
    if current.router is not None:
        raise AdapterInUseError(
            f"round {current.round_id}'s experts and router are in use; one adapter cannot "
            "continue them: train with --method experts, or run 'robolearn adapters use "
            "base' first"
        )


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
        plan.prepare(round_id, config)
        store.add_round_examples(round_id, plan.dataset.rows())
    except BaseException as error:
        store.finish_round(round_id, "failed", f"{type(error).__name__}: {error}", {})
        raise
    log(f"round {round_id}: {_what(plan, config)}")
    return round_id


def _what(plan: _RoundPlan, config: RoundConfig) -> str:
    """What a round trains, in a line."""
    data = plan.dataset
    counts = f"{len(data.new)} new examples ({_lesson_counts(data)})"
    if plan.experts:
        experts = ", ".join(
            e.name + (f" (replacing {e.replaces})" if e.replaces else "") for e in plan.experts
        )
        return f"{counts} teach new experts {experts}; earlier experts stay as they are"
    parent = plan.current.round_id
    return (
        f"{counts} + {len(data.replay)} replayed ({config.data.replay}), continuing from "
        f"{'the base model' if parent is None else f'round {parent}'}"
    )


def _train(
    plan: _RoundPlan, config: RoundConfig, round_id: int, out: Path, progress: bool
) -> dict[str, TrainingResult]:
    """Train the round's experts and router, or its one adapter, into ``out``."""
    style = plan.planner.format
    if config.method == "experts":
        router = plan.router
        assert router is not None  # prepare() set it
        return write_round(
            out,
            lambda staging: train_experts(
                plan.experts,
                plan.model_dir,
                plan.base,
                config.lora,
                staging,
                plan.rng,
                progress,
                style.end_token_id,
                style.add_special_tokens,
            ),
            lambda: next_router(
                router, plan.experts, round_id, plan.workspace, plan.base, plan.meaning
            ),
        )
    result = train_adapter(
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
    return {"adapter": result}


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
) -> tuple[tuple[dict[str, float], dict[str, float]], int]:
    """Held-out success per family of what is in use and of what the round made.

    Also how many scenes were planned (the rest were remembered).
    """
    own = evaluator is None
    if evaluator is None:
        cache = OutcomeCache(WorkspaceLayout(plan.workspace).cache / OUTCOMES_FILE)
        seeds = heldout_seeds(config.eval_scenes, config.eval_seed_start)
        evaluator = SuccessEvaluator(plan.planner.library, seeds, cache)
    made = ActiveAdapter(plan.base, None, candidate)
    try:
        scores, planned = [], 0
        for label, setup in (("what is in use", plan.current), ("what the round made", made)):
            planner = planner_for(plan.planner, setup, plan.workspace, plan.meaning)
            result = evaluator.evaluate(planner, plan.families, progress, f"evaluating {label}")
            scores.append(result.success)
            planned += result.planned
    finally:
        if own:
            evaluator.close()
    return (scores[0], scores[1]), planned


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
