"""One condition of the continual-learning benchmark: new families taught in turn, in one workspace.

For each new family in turn, episodes on its training seeds (even) are planned and run, each
failure is corrected by the simulated corrector, and after every ``corrections_per_round``
corrections a round trains (a condition that trains) and every family seen is evaluated on
held-out seeds (odd). A family is done once it reaches the target or its correction budget is
spent; then its paraphrase scenes are asked in its own words and in other words, and every
situation corrected so far is planned again (a wrong plan is a repeat mistake).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from robolearn.agent import Planner, run_episode
from robolearn.correction import CorrectionAPI
from robolearn.learn.adapters import planner_in_use
from robolearn.learn.corrector import SimulatedCorrector
from robolearn.learn.evaluation import OutcomeCache, SuccessEvaluator
from robolearn.learn.heldout import (
    Question,
    RecallCount,
    own_questions,
    router_accuracy,
    words_success,
)
from robolearn.learn.meaning import Meaning
from robolearn.learn.memory import CorrectionMemory, MemoryPlanner
from robolearn.learn.metrics import MistakeLog, SuccessMatrix, corrections_to_reach
from robolearn.learn.rounds import run_round
from robolearn.planner.lm import LMPlanner
from robolearn.planner.training import Example
from robolearn.rollout import RunRecorder
from robolearn.skills.library import SkillLibrary
from robolearn.store import Store
from robolearn.tasks.env import TabletopEnv
from robolearn.tasks.seeds import training_seeds
from robolearn.tasks.spec import get_family

if TYPE_CHECKING:
    from robolearn.learn.benchmark import Condition, LearningBenchConfig

Log = Callable[[str], None]


@dataclass
class ConditionResult:
    """What one condition did over the stream."""

    name: str
    matrix: SuccessMatrix
    curves: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    """Per new family: (corrections so far, held-out success) after each evaluation."""
    mistakes: MistakeLog = field(default_factory=MistakeLog)
    rounds: list[dict[str, object]] = field(default_factory=list)
    words: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per new family, once taught: held-out success in own words and in other words."""
    words_at_end: dict[str, dict[str, float]] = field(default_factory=dict)
    """The same after the last family was taught."""
    router: dict[str, dict[str, int]] = field(default_factory=dict)
    """Experts: questions routed right, and asked, in own and other words."""
    recalls: dict[str, int] = field(default_factory=dict)
    """Memory: questions asked, recalls, and recalls of another family's correction."""
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
            "words": self.words,
            "words_at_end": self.words_at_end,
            "router": self.router,
            "recalls": self.recalls,
            "seconds": self.seconds,
        }


@dataclass(frozen=True)
class StreamSetup:
    """What every condition shares: the model, the scenes, the questions and the caches."""

    model_dir: Path
    base_pool: list[Example]
    families: list[str]
    """Every family evaluated: the base model's, then the new ones in arrival order."""
    paraphrases: list[Question]
    outcomes: Path
    """The outcome cache's file (outcomes of the same source are the same in every
    condition: the base model's are planned once)."""
    meaning: Meaning


def run_condition(
    condition: Condition,
    config: LearningBenchConfig,
    setup: StreamSetup,
    workspace: Path,
    progress: bool,
    log: Log,
) -> ConditionResult:
    """The stream under one condition, in a fresh workspace."""
    start = time.perf_counter()
    if workspace.exists():
        shutil.rmtree(workspace)
    base = [f for f in setup.families if f not in config.families]
    learned_at = {f: 0 for f in base} | {f: i + 1 for i, f in enumerate(config.families)}
    result = ConditionResult(condition.name, SuccessMatrix(list(setup.families), learned_at))
    with Store.open(workspace) as store:
        stream = _Stream(condition, config, setup, store, result)
        try:
            stream.run(progress)
        finally:
            stream.close()
    result.seconds = time.perf_counter() - start
    log(f"{condition.name}: done in {result.seconds:.0f} s")
    return result


class _Stream:
    """One condition's stream: families taught in turn, corrections made, rounds trained."""

    def __init__(
        self,
        condition: Condition,
        config: LearningBenchConfig,
        setup: StreamSetup,
        store: Store,
        result: ConditionResult,
    ) -> None:
        self.condition, self.config, self.setup = condition, config, setup
        self.store, self.result = store, result
        self.workspace = store.workspace
        self.library = SkillLibrary.open(self.workspace)
        self.model = LMPlanner(setup.model_dir, self.library, threads=config.threads)
        self.evaluator = SuccessEvaluator(
            self.library, config.heldout, OutcomeCache(setup.outcomes)
        )
        self.memory = (
            RecallCount(MemoryPlanner(self.model, CorrectionMemory(store, setup.meaning)))
            if condition.memory
            else None
        )
        self.planner: Planner = self.model
        self.model_planner: Planner = self.model
        self._use_what_is_in_use()
        self.api = CorrectionAPI(store, self.library)
        self.corrector = SimulatedCorrector(self.api)
        run = store.start_run("lm", 0, {"benchmark": "learning", "condition": condition.name})
        self.recorder = RunRecorder(store, run, self.workspace)
        self.corrected: list[tuple[str, int]] = []
        self.asked = 0

    def run(self, progress: bool) -> None:
        """Teach every new family in turn; then ask the questions of the end."""
        result, families = self.result, self.setup.families
        result.matrix.add("base", self._evaluate(families))
        total = len(self.config.families) * self.config.max_corrections
        name = self.condition.name
        with tqdm(total=total, unit="correction", desc=name, disable=not progress) as bar:
            for family in self.config.families:
                result.matrix.add(family, self._teach(family, bar))
                self._ask(family)
        taught = set(self.config.families)
        result.words_at_end = self._words([q for q in self.setup.paraphrases if q.family in taught])
        if self.condition.experts:
            self._route()
        if self.memory is not None:
            result.recalls = {
                "asked": self.asked,
                "recalls": self.memory.recalls,
                "false": self.memory.false,
            }

    def _teach(self, family: str, bar: tqdm) -> dict[str, float]:
        """Correct ``family``'s mistakes batch by batch until it reaches the target.

        A condition that trains runs a round after each batch. Returns success per family.
        """
        config, result = self.config, self.result
        env = TabletopEnv(get_family(family))
        seeds = iter(training_seeds(500))  # never evaluated
        made, success = 0, result.matrix.rows[-1]
        result.curves[family] = [(0, success[family])]
        try:
            while made < config.max_corrections:
                wanted = min(config.corrections_per_round, config.max_corrections - made)
                batch = self._collect(env, seeds, wanted)
                made += len(batch)
                bar.update(len(batch))
                self.corrected += [(family, seed) for seed in batch]
                if self.condition.train and batch:
                    result.rounds.append(self._train(family, made))
                success = self._evaluate(self.setup.families)
                result.curves[family].append((made, success[family]))
                if success[family] >= config.target or not batch:
                    break
        finally:
            env.close()
        return success

    def _collect(self, env: TabletopEnv, seeds: Iterator[int], wanted: int) -> list[int]:
        """Run episodes on the next training seeds until ``wanted`` were corrected; their seeds.

        Gives up after ``patience`` episodes in a row that needed no correction.
        """
        corrected: list[int] = []
        streak = 0
        while len(corrected) < wanted and streak < self.config.patience:
            seed = next(seeds)
            record = run_episode(env, self.planner, seed, library=self.library)
            if self.corrector.correct(self.recorder.save(record)) is None:
                streak += 1
            else:
                corrected.append(seed)
                streak = 0
        return corrected

    def _train(self, family: str, made: int) -> dict[str, object]:
        """A round on the corrections so far; the planner then plans with what is in use."""
        outcome = run_round(
            self.workspace,
            self.setup.model_dir,
            self.config.round_for(self.condition),
            library=self.library,
            evaluator=self.evaluator,
            base_pool=self.setup.base_pool,
            meaning=self.setup.meaning,
            progress=False,
            log=lambda _: None,
        )
        self._use_what_is_in_use()
        return {
            "family": family,
            "corrections": made,
            "promoted": outcome.promoted,
            "reason": outcome.reason,
            "seconds": outcome.seconds,
            "timing": outcome.timing,
            "experts": outcome.experts,
            "dataset": outcome.dataset,
        }

    def _use_what_is_in_use(self) -> None:
        """Plan with what the store says is in use (behind the memory, if any)."""
        planner, _ = planner_in_use(self.model, self.store, self.workspace, self.setup.meaning)
        self.model_planner = planner  # alone, with an adapter, or routed among experts
        if self.memory is not None:
            self.memory.planner.inner = planner
            self.planner = self.memory
        else:
            self.planner = planner

    def _evaluate(self, families: list[str]) -> dict[str, float]:
        self.asked += len(families) * len(self.evaluator.seeds)
        return self.evaluator.evaluate(self.planner, families).success

    def _ask(self, family: str) -> None:
        """The family's paraphrase scenes in both words; every corrected situation again."""
        mine = [q for q in self.setup.paraphrases if q.family == family]
        self.result.words.update(self._words(mine))
        for f, seed in self.corrected:
            self.asked += 1
            self.result.mistakes.count(not self.evaluator.attempt(self.planner, f, seed)[1])

    def _words(self, questions: list[Question]) -> dict[str, dict[str, float]]:
        self.asked += len(questions)
        return words_success(self.evaluator, self.planner, questions)

    def _route(self) -> None:
        """The router in use asked every held-out question, in own and other words."""
        router = getattr(self.model_planner, "router", None)
        if router is None:
            return
        own = own_questions(self.setup.families, self.config.heldout)
        other = [q for q in self.setup.paraphrases if q.words == "other"]
        self.result.router = router_accuracy(router, self.setup.meaning, own + other)

    def close(self) -> None:
        self.api.close()
        self.evaluator.close()
