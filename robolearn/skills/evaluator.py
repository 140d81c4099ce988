"""The Evaluator: a candidate composite skill joins the library only once it has worked.

As in RoboCoder and Voyager, a new skill is tried before it is kept: in a sandboxed copy of the
live episode (the episode itself is untouched), its steps run and its declared effect must then
hold. A verdict always carries a reason a person can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from robolearn.calls import Arg, Call
from robolearn.skills.atomic import ATOMIC_SKILLS
from robolearn.skills.composite import CompositeSkill, Provenance
from robolearn.skills.library import SkillDefinitionError, SkillLibrary
from robolearn.skills.motion import Motion, SkillFailure
from robolearn.skills.params import SkillArgumentError
from robolearn.tasks.env import CONTROL_HZ, TabletopEnv
from robolearn.tasks.predicates import PREDICATES

if TYPE_CHECKING:
    from robolearn.store import Store

EVALUATION_BUDGET = 60 * CONTROL_HZ
"""Control steps (a simulated minute) a candidate may take before it counts as timed out."""

REASONS = {
    "ok": "the skill ran and its effect holds",
    "invalid_definition": "the skill is malformed or calls skills it cannot",
    "duplicate": "the library already has a skill that does exactly this",
    "infeasible_arguments": "the arguments do not fit the skill or the scene",
    "ik_failure": "the arm could not reach a pose the skill needs",
    "timeout": "the skill used up its step budget",
    "skill_failed": "a step failed (missed grasp, dropped block, ...)",
    "predicate_false": "the skill ran but its declared effect does not hold",
}
"""Every verdict reason, with what it means."""


@dataclass(frozen=True)
class Verdict:
    """Whether a candidate skill works, why, and what running it took."""

    passed: bool
    reason: str
    """A key of REASONS."""
    detail: str
    control_steps: int = 0

    def __str__(self) -> str:
        outcome = "passed" if self.passed else f"refused ({self.reason})"
        return f"{outcome}: {self.detail}"


class Evaluator:
    """Proves candidate skills in simulation before the library takes them."""

    def __init__(
        self, library: SkillLibrary, budget: int = EVALUATION_BUDGET, store: Store | None = None
    ) -> None:
        self.library = library
        self.budget = budget
        self.store = store
        """Where :meth:`admit` records each verdict on a skill the library holds (None: not)."""

    def evaluate(self, skill: CompositeSkill, env: TabletopEnv, args: tuple[Arg, ...]) -> Verdict:
        """Try ``skill(*args)`` in a sandboxed copy of ``env``'s episode; the episode is kept."""
        others = [s for s in self.library.composites.values() if s.name != skill.name]
        try:  # the library as it would be after a save: the skill and every caller checked
            trial = SkillLibrary([*others, skill])
        except SkillDefinitionError as error:
            return Verdict(False, "invalid_definition", str(error))
        template = trial.template(skill)
        for other in others:
            if trial.template(other) == template:
                return Verdict(
                    False,
                    "duplicate",
                    f"{skill.name} does what {other.name} "
                    f"already does ({other.signature}); reuse it instead",
                )
        current = self.library.composites.get(skill.name)
        if current is not None and current.content_hash == skill.content_hash:
            return Verdict(
                False,
                "duplicate",
                f"{skill.name} is already in the library, unchanged (version {current.version})",
            )
        call = Call(skill.name, tuple(args))
        with env.sandbox(self.budget):
            start = env.elapsed_steps
            try:
                atomic_calls = trial.expand(call, env.world)
            except SkillArgumentError as error:
                return Verdict(False, "infeasible_arguments", str(error))
            motion = Motion(env)
            for atomic in atomic_calls:
                try:
                    ATOMIC_SKILLS[atomic.name].run(motion, *atomic.args)
                except SkillFailure as failure:
                    reason = {"unreachable": "ik_failure", "budget": "timeout"}.get(
                        failure.reason, "skill_failed"
                    )
                    return Verdict(False, reason, f"{atomic}: {failure}", env.elapsed_steps - start)
            effect = [c.bind(skill.bindings(tuple(args))) for c in skill.effect]
            failed = [c for c in effect if not PREDICATES[c.name](env.world, *c.args)]
            steps = env.elapsed_steps - start
        if failed:
            return Verdict(
                False,
                "predicate_false",
                f"{call} ran, but {', '.join(map(str, failed))} does not hold",
                steps,
            )
        return Verdict(
            True,
            "ok",
            f"{call} ran in {steps} control steps and {', '.join(map(str, effect))} holds",
            steps,
        )

    def admit(
        self, skill: CompositeSkill, env: TabletopEnv, args: tuple[Arg, ...], provenance: Provenance
    ) -> tuple[Verdict, CompositeSkill | None]:
        """Evaluate ``skill``; if it passes, save it to the library as a new version.

        Returns the verdict and the stored version (None when refused).
        """
        verdict = self.evaluate(skill, env, args)
        stored = self.library.save(skill, provenance) if verdict.passed else None
        if self.store is not None and skill.name in self.library.composites:
            self.store.add_evaluation(skill.name, verdict.passed, verdict.reason, verdict.detail)
        return verdict, stored
