"""Success per task family on held-out scenes: what the promotion gate and the metrics read.

Each (family, seed) scene is planned by the planner under test and the plan is run in
simulation. Both are deterministic (greedy decoding; DESIGN: bitwise replays), so an outcome is
computed once and remembered twice over:

- by *plan*: two planners that write the same plan for a scene cost one simulation;
- by *source*: what wrote the plan (the base model, or one adapter, by content: a frozen expert
  never changes, ``sources``), with the scene, its words and the library. A router that sends a
  scene to the same expert (or the base model) as before gets the outcome it got before, so a
  round's gate only plans the scenes its new experts take, and an expert the router does not
  send a family to cannot change that family's outcome. With an :class:`OutcomeCache` on disk
  this holds across rounds and processes.

The plans that are not remembered are made in one pass before any is simulated
(:meth:`SuccessEvaluator.evaluate`), in batches when the planner can (``plan_tasks``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from tqdm import tqdm

from robolearn.agent import Planner
from robolearn.learn.sources import library_fingerprint, plan_source
from robolearn.planner import PlanningError
from robolearn.skills.executor import PlanValidationError, execute_plan
from robolearn.skills.library import SkillLibrary
from robolearn.tasks.env import TabletopEnv
from robolearn.tasks.sampler import TaskInstance, sample_task
from robolearn.tasks.seeds import heldout_seeds
from robolearn.tasks.spec import get_family

__all__ = [
    "GATE_FIRST_SEED",
    "Evaluation",
    "OutcomeCache",
    "SuccessEvaluator",
    "heldout_seeds",
]

GATE_FIRST_SEED = 100_001
"""Where the promotion gate's held-out scenes start: odd like every held-out seed
(``tasks.seeds``), and far past the seeds runs start at (0), so a round is not judged on
scenes people ran and corrected."""

Outcome = tuple[tuple[str, ...], bool]
"""A plan as text (empty: the planner wrote none) and whether it succeeded."""


@dataclass(frozen=True)
class Evaluation:
    """A planner's success on each family, and the plans it wrote."""

    success: dict[str, float]
    plans: dict[tuple[str, int], tuple[str, ...]]
    """Each (family, seed)'s plan as text (empty when the planner wrote none)."""
    planned: int = 0
    """Scenes the planner was asked to plan (the rest were remembered)."""


class OutcomeCache:
    """Outcomes by (source, scene, words, library), in memory and, given a file, on disk.

    The file is JSON lines, one outcome a line, only ever appended (a line that cannot be read
    is skipped): it is derived data, deleted or rebuilt at no loss but time.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = None if path is None else Path(path)
        self._outcomes: dict[str, Outcome] = {}
        if self.path is not None and self.path.is_file():
            for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    row = json.loads(line)
                    self._outcomes[str(row["key"])] = (tuple(map(str, row["plan"])), row["ok"])
                except (ValueError, KeyError, TypeError):
                    continue

    def get(self, key: str) -> Outcome | None:
        """The outcome remembered under ``key``, if any."""
        return self._outcomes.get(key)

    def put(self, key: str, outcome: Outcome) -> None:
        """Remember ``outcome`` under ``key`` (and append it to the file)."""
        self._outcomes[key] = outcome
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            line = json.dumps({"key": key, "plan": list(outcome[0]), "ok": bool(outcome[1])})
            with open(self.path, "a", encoding="utf-8") as handle:  # one short append a line
                handle.write(line + "\n")
                handle.flush()
                os.fsync(handle.fileno())

    def __len__(self) -> int:
        return len(self._outcomes)


class SuccessEvaluator:
    """Scores planners on the same held-out scenes, one simulator per family, reused."""

    def __init__(
        self, library: SkillLibrary, seeds: Sequence[int], cache: OutcomeCache | None = None
    ) -> None:
        if not seeds:
            raise ValueError("evaluate on at least 1 scene per family")
        self.library = library
        self.seeds = list(seeds)
        self.cache = cache if cache is not None else OutcomeCache()
        self._envs: dict[str, TabletopEnv] = {}
        self._by_plan: dict[tuple[str, int, tuple[str, ...]], bool] = {}
        self._library_id = library_fingerprint(library)
        self._last_planned = 0

    def evaluate(
        self,
        planner: Planner,
        families: Sequence[str],
        progress: bool = False,
        label: str = "evaluating",
    ) -> Evaluation:
        """Plan and run every held-out scene of ``families``."""
        tasks = [sample_task(get_family(f), seed) for f in families for seed in self.seeds]
        outcomes = self.attempt_all(planner, tasks, progress, label)
        success = {
            f: sum(outcomes[(f, s)][1] for s in self.seeds) / len(self.seeds) for f in families
        }
        plans = {scene: plan for scene, (plan, _) in outcomes.items()}
        return Evaluation(success, plans, self._last_planned)

    def attempt_all(
        self,
        planner: Planner,
        tasks: Sequence[TaskInstance],
        progress: bool = False,
        label: str = "evaluating",
    ) -> dict[tuple[str, int], Outcome]:
        """The outcome of each task (by family and seed): remembered, or planned and run."""
        outcomes: dict[tuple[str, int], Outcome] = {}
        todo: list[tuple[TaskInstance, str | None]] = []
        for task in tasks:
            key = self._key(planner, task)
            known = None if key is None else self.cache.get(key)
            if known is None:
                todo.append((task, key))
            else:
                outcomes[(task.family, task.seed)] = known
        self._last_planned = len(todo)
        with tqdm(total=len(todo), desc=label, unit="scene", disable=not progress) as bar:
            for (task, key), plan in zip(todo, self._plans(planner, todo), strict=True):
                outcome = (plan, self._run(task, plan))
                outcomes[(task.family, task.seed)] = outcome
                if key is not None:
                    self.cache.put(key, outcome)
                bar.update()
        return outcomes

    def attempt(self, planner: Planner, family: str, seed: int) -> Outcome:
        """The plan ``planner`` writes for scene ``seed`` of ``family``, and whether it works."""
        return self.attempt_task(planner, sample_task(get_family(family), seed))

    def attempt_task(self, planner: Planner, task: TaskInstance) -> Outcome:
        """The plan ``planner`` writes for ``task`` (any words), and whether it works."""
        return self.attempt_all(planner, [task])[(task.family, task.seed)]

    def attempt_words(self, planner: Planner, family: str, seed: int, words: str) -> Outcome:
        """As :meth:`attempt`, the scene asked in ``words`` instead of its own."""
        return self.attempt_task(
            planner, replace(sample_task(get_family(family), seed), instruction=words)
        )

    def _plans(
        self, planner: Planner, todo: Sequence[tuple[TaskInstance, str | None]]
    ) -> list[tuple[str, ...]]:
        """The plans of tasks not remembered, in order.

        A planner with ``plan_tasks`` (a language model, the router over one) plans them in
        batches; any other one at a time.
        """
        plan_tasks = getattr(planner, "plan_tasks", None)
        if callable(plan_tasks) and todo:
            return [tuple(map(str, r.calls)) for r in plan_tasks([task for task, _ in todo])]
        plans = []
        for task, _ in todo:
            try:
                plans.append(tuple(map(str, planner.plan(task))))
            except PlanningError:
                plans.append(())
        return plans

    def _key(self, planner: Planner, task: TaskInstance) -> str | None:
        """Where ``task``'s outcome under ``planner`` is remembered (None: it is not)."""
        source = plan_source(planner, task)
        if source is None:
            return None
        scene = [source, self._library_id, task.family, task.seed, task.instruction]
        scene.append([list(vars(o).values()) for o in task.objects])
        return hashlib.sha256(json.dumps(scene).encode()).hexdigest()

    def _run(self, task: TaskInstance, plan: tuple[str, ...]) -> bool:
        """Whether ``plan`` achieves ``task`` in simulation (remembered by plan)."""
        if not plan:
            return False
        by_plan = (task.family, task.seed, plan)
        if by_plan not in self._by_plan:
            from robolearn.calls import parse_calls

            env = self._env(task.family)
            env.reset(seed=task.seed)
            try:
                execute_plan(env, parse_calls("\n".join(plan)), library=self.library)
                self._by_plan[by_plan] = env.task.succeeded(env.world)
            except PlanValidationError:
                self._by_plan[by_plan] = False
        return self._by_plan[by_plan]

    def _env(self, family: str) -> TabletopEnv:
        if family not in self._envs:
            self._envs[family] = TabletopEnv(get_family(family))
        return self._envs[family]

    def close(self) -> None:
        """Release the simulators."""
        for env in self._envs.values():
            env.close()
        self._envs.clear()
