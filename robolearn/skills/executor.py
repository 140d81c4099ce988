"""Running a plan of skill calls in the env, step by step, with an outcome for each step."""

from __future__ import annotations

from robolearn.calls import Call
from robolearn.errors import UserError
from robolearn.records import StepRecord
from robolearn.skills.atomic import ATOMIC_SKILLS
from robolearn.skills.library import SkillLibrary
from robolearn.skills.motion import Motion, SkillFailure
from robolearn.skills.params import SkillArgumentError
from robolearn.tasks.env import TabletopEnv

MAX_PLAN_STEPS = 32
"""Longest plan accepted; a longer one is refused before anything moves."""


class PlanValidationError(UserError, ValueError):
    """A plan with a call that cannot run; names the step and what is wrong with it."""

    def __init__(self, step: int, call: Call | None, problem: str) -> None:
        where = f"step {step + 1} ({call})" if call is not None else "plan"
        super().__init__(f"{where}: {problem}")
        self.step = step


def validate_plan(
    plan: list[Call], env: TabletopEnv, library: SkillLibrary | None = None
) -> list[list[Call]]:
    """The atomic calls of every call, once every call fits its skill and the current scene.

    ``library`` (default: atomic skills only) resolves composite skills.
    """
    library = library or SkillLibrary()
    if not plan:
        raise PlanValidationError(0, None, "the plan is empty")
    if len(plan) > MAX_PLAN_STEPS:
        raise PlanValidationError(
            0, None, f"{len(plan)} steps is more than the limit of {MAX_PLAN_STEPS}"
        )
    expansions = []
    for i, call in enumerate(plan):
        try:
            expansions.append(library.expand(call, env.world))
        except SkillArgumentError as error:
            raise PlanValidationError(i, call, str(error)) from None
    return expansions


def execute_plan(
    env: TabletopEnv, plan: list[Call], frames: bool = False, library: SkillLibrary | None = None
) -> list[StepRecord]:
    """Run ``plan`` in ``env`` (already reset); stop at the first step that fails.

    The whole plan is validated first, so a bad call raises PlanValidationError before the
    robot moves. A composite skill's step runs its atomic calls in turn.
    """
    expansions = validate_plan(plan, env, library)
    motion = Motion(env)
    records = []
    for call, atomic_calls in zip(plan, expansions, strict=True):
        start = env.elapsed_steps
        record = StepRecord(call=str(call), ok=True)
        try:
            for atomic in atomic_calls:
                ATOMIC_SKILLS[atomic.name].run(motion, *atomic.args)
        except SkillFailure as failure:
            record.ok, record.reason, record.message = False, failure.reason, str(failure)
        record.ticks = env.elapsed_steps - start
        if frames:
            record.frame = env.world.render()
        records.append(record)
        if not record.ok:
            break
    return records
