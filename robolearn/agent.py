"""One episode of the loop: plan the task, run the plan in the env, record what happened."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from robolearn.calls import Call
from robolearn.planner import PlanningError
from robolearn.skills.executor import PlanValidationError, StepRecord, execute_plan
from robolearn.skills.library import SkillLibrary
from robolearn.tasks.env import TabletopEnv
from robolearn.tasks.sampler import TaskInstance


class Planner(Protocol):
    """Anything that turns a task instance into a plan of skill calls."""

    name: str

    def plan(self, task: TaskInstance) -> list[Call]:
        """The calls to run for ``task``; raises a PlanningError when it cannot write one."""
        ...


@dataclass
class EpisodeRecord:
    """Everything a later reader needs about one episode (the store persists these)."""

    family: str
    seed: int
    instruction: str
    planner: str
    plan: list[str]
    steps: list[StepRecord] = field(default_factory=list)
    success: bool = False
    control_steps: int = 0
    error: str | None = None
    """Why the plan could not run at all (it failed validation), else None."""

    def to_dict(self) -> dict[str, object]:
        """The JSON-ready record, without images."""
        return {"family": self.family, "seed": self.seed, "instruction": self.instruction,
                "planner": self.planner, "plan": self.plan,
                "steps": [s.to_dict() for s in self.steps], "success": self.success,
                "control_steps": self.control_steps, "error": self.error}


def run_episode(env: TabletopEnv, planner: Planner, seed: int, frames: bool = False,
                library: SkillLibrary | None = None) -> EpisodeRecord:
    """Reset ``env`` to task instance ``seed``, plan it, run it, and say how it went.

    A plan the planner cannot write, or one that fails validation, is reported in the record
    (``error``), not raised: one bad plan must not stop a run of many episodes. ``library``
    resolves composite skills.
    """
    env.reset(seed=seed)
    task = env.task
    record = EpisodeRecord(family=task.family, seed=seed, instruction=task.instruction,
                           planner=planner.name, plan=[])
    try:
        plan = planner.plan(task)
        record.plan = [str(c) for c in plan]
        record.steps = execute_plan(env, plan, frames=frames, library=library)
    except (PlanValidationError, PlanningError) as error:
        record.error = str(error)
    record.success = task.succeeded(env.world)
    record.control_steps = env.elapsed_steps
    return record
