"""One episode of the loop: plan the task, run the plan in the env, record what happened."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from robolearn.calls import Call
from robolearn.planner import PlanningError
from robolearn.records import EpisodeRecord
from robolearn.skills.compose import compose_skill, skill_name
from robolearn.skills.composite import Provenance
from robolearn.skills.evaluator import Evaluator, Verdict
from robolearn.skills.executor import PlanValidationError, execute_plan
from robolearn.skills.library import SkillLibrary
from robolearn.skills.searcher import Searcher
from robolearn.tasks.env import TabletopEnv
from robolearn.tasks.sampler import TaskInstance


class Planner(Protocol):
    """Anything that turns a task instance into a plan of skill calls."""

    name: str

    def plan(self, task: TaskInstance) -> list[Call]:
        """The calls to run for ``task``; raises a PlanningError when it cannot write one.

        A planner may also keep an ``explanation`` attribute: where its last plan came from,
        in a line a person reads beside it (the episode record keeps it).
        """
        ...


@dataclass
class SkillLearner:
    """Grows the library from plans no skill covers, as RoboCoder writes new actions.

    When the Searcher does not simply reuse a skill for an instruction, the planner's plan is
    composed into a parametric skill whose effect is the task's success condition, and the
    Evaluator must prove it (in a sandbox, from the episode's start) before it is kept. It
    needs the ground truth, so it serves headless runs.
    """

    library: SkillLibrary
    searcher: Searcher
    evaluator: Evaluator

    def consider(self, env: TabletopEnv, task: TaskInstance, plan: list[Call]) -> Verdict | None:
        """Propose ``plan`` as a new skill unless it is trivial or already covered."""
        if len(plan) < 2 or self.searcher.search(task.instruction, k=1).decision == "reuse":
            return None
        provenance = Provenance(
            "planner", note=f"from {task.family} seed {task.seed}: {task.instruction!r}"
        )
        skill, args = compose_skill(
            skill_name(task.instruction, self.library.names()),
            task.instruction,
            plan,
            task.success,
            env.world.objects,
            provenance,
        )
        return self.evaluator.admit(skill, env, args, provenance)[0]


def run_episode(
    env: TabletopEnv,
    planner: Planner,
    seed: int,
    frames: bool = False,
    library: SkillLibrary | None = None,
    learner: SkillLearner | None = None,
) -> EpisodeRecord:
    """Reset ``env`` to task instance ``seed``, plan it, run it, and say how it went.

    A plan the planner cannot write, or one that fails validation, is reported in the record
    (``error``), not raised: one bad plan must not stop a run of many episodes. ``library``
    resolves composite skills; nothing is written (a :class:`RunRecorder` stores the record
    and counts the skills' runs), so workers in other processes can run episodes too.
    """
    env.reset(seed=seed)
    task = env.task
    record = EpisodeRecord(
        family=task.family, seed=seed, instruction=task.instruction, planner=planner.name, plan=[]
    )
    try:
        plan = planner.plan(task)
        record.plan = [str(c) for c in plan]
        record.explanation = getattr(planner, "explanation", None) or None
        if learner is not None:
            verdict = learner.consider(env, task, plan)
            record.proposal = None if verdict is None else str(verdict)
        record.steps = execute_plan(env, plan, frames=frames, library=library)
    except (PlanValidationError, PlanningError) as error:
        record.error = str(error)
    record.success = task.succeeded(env.world)
    record.control_steps = env.elapsed_steps
    return record
