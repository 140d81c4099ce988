"""Success per task family on held-out scenes: what the promotion gate and the metrics read.

Each (family, seed) scene is planned by the planner under test and the plan is run in
simulation. The simulation is deterministic (DESIGN: bitwise replays), so the outcome of a plan
in a scene is computed once and remembered: two adapters that write the same plan for a scene
cost one simulation between them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tqdm import tqdm

from robolearn.agent import Planner
from robolearn.planner import PlanningError
from robolearn.skills.executor import PlanValidationError, execute_plan
from robolearn.skills.library import SkillLibrary
from robolearn.tasks.env import TabletopEnv
from robolearn.tasks.seeds import heldout_seeds
from robolearn.tasks.spec import get_family

__all__ = ["GATE_FIRST_SEED", "Evaluation", "SuccessEvaluator", "heldout_seeds"]

GATE_FIRST_SEED = 100_001
"""Where the promotion gate's held-out scenes start: odd like every held-out seed
(``tasks.seeds``), and far past the seeds runs start at (0), so a round is not judged on
scenes people ran and corrected."""


@dataclass(frozen=True)
class Evaluation:
    """A planner's success on each family, and the plans it wrote."""

    success: dict[str, float]
    plans: dict[tuple[str, int], tuple[str, ...]]
    """Each (family, seed)'s plan as text (empty when the planner wrote none)."""


class SuccessEvaluator:
    """Scores planners on the same held-out scenes, one simulator per family, reused."""

    def __init__(self, library: SkillLibrary, seeds: Sequence[int]) -> None:
        if not seeds:
            raise ValueError("evaluate on at least 1 scene per family")
        self.library = library
        self.seeds = list(seeds)
        self._envs: dict[str, TabletopEnv] = {}
        self._outcomes: dict[tuple[str, int, tuple[str, ...]], bool] = {}

    def evaluate(
        self,
        planner: Planner,
        families: Sequence[str],
        progress: bool = False,
        label: str = "evaluating",
    ) -> Evaluation:
        """Plan and run every held-out scene of ``families``."""
        success: dict[str, float] = {}
        plans: dict[tuple[str, int], tuple[str, ...]] = {}
        with tqdm(
            total=len(families) * len(self.seeds), desc=label, unit="scene", disable=not progress
        ) as bar:
            for family in families:
                wins = 0
                for seed in self.seeds:
                    plan, ok = self.attempt(planner, family, seed)
                    plans[(family, seed)] = plan
                    wins += ok
                    bar.update()
                success[family] = wins / len(self.seeds)
        return Evaluation(success, plans)

    def attempt(self, planner: Planner, family: str, seed: int) -> tuple[tuple[str, ...], bool]:
        """The plan ``planner`` writes for scene ``seed`` of ``family``, and whether it works."""
        env = self._env(family)
        env.reset(seed=seed)
        try:
            plan = planner.plan(env.task)
        except PlanningError:
            return (), False
        key = (family, seed, tuple(map(str, plan)))
        if key not in self._outcomes:
            try:
                execute_plan(env, plan, library=self.library)
                self._outcomes[key] = env.task.succeeded(env.world)
            except PlanValidationError:
                self._outcomes[key] = False
        return key[2], self._outcomes[key]

    def _env(self, family: str) -> TabletopEnv:
        if family not in self._envs:
            self._envs[family] = TabletopEnv(get_family(family))
        return self._envs[family]

    def close(self) -> None:
        """Release the simulators."""
        for env in self._envs.values():
            env.close()
        self._envs.clear()
