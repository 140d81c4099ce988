"""The correction API: validate a person's fix of an episode's plan, re-run it, record it.

The dashboard and the simulated corrector both go through here, so a correction is checked
the same way whoever makes it. A correction is the whole corrected plan plus the first step it
changes; it is re-run in simulation from the episode's initial state (rebuilt from its family
and seed), and stored append-only with who, why and the outcome. Bad input raises
CorrectionError and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from robolearn.calls import Call, CallSyntaxError, first_difference, parse_calls
from robolearn.errors import UserError
from robolearn.records import EpisodeRecord, StepRecord
from robolearn.skills.executor import PlanValidationError, execute_plan, validate_plan
from robolearn.skills.library import SkillLibrary
from robolearn.store import CorrectionRow, Store
from robolearn.tasks.env import TabletopEnv
from robolearn.tasks.sampler import SceneChangedError, TaskInstance, rebuild_task
from robolearn.tasks.spec import get_family
from robolearn.text import text_problem

MAX_WHO_CHARS = 100
"""Longest name of the person (or program) that makes a correction."""


class CorrectionError(UserError, ValueError):
    """A correction that cannot be accepted; says what to change. Nothing was written."""


@dataclass(frozen=True)
class Correction:
    """A proposed fix of one episode's plan, already validated against its scene."""

    episode: EpisodeRecord
    plan: tuple[Call, ...]
    step_index: int
    """The first step of the episode's plan that the correction changes (0-based)."""
    who: str
    why: str = ""


@dataclass
class Rerun:
    """What the corrected plan did in simulation, from the episode's initial state."""

    success: bool
    steps: list[StepRecord] = field(default_factory=list)


class CorrectionAPI:
    """Corrections of stored episodes: one simulator per task family, reused."""

    def __init__(self, store: Store, library: SkillLibrary) -> None:
        self.store = store
        self.library = library
        self._envs: dict[str, TabletopEnv] = {}

    def close(self) -> None:
        """Release the simulators."""
        for env in self._envs.values():
            env.close()
        self._envs.clear()

    def task_of(self, episode: EpisodeRecord) -> TaskInstance:
        """The task instance an episode ran: rebuilt from its family and seed."""
        try:
            return rebuild_task(episode)
        except SceneChangedError as error:
            raise CorrectionError(f"{error}; correct a newer episode") from None

    def scene(self, episode: EpisodeRecord) -> TabletopEnv:
        """The family's simulator, reset to the episode's initial state."""
        env = self._envs.get(episode.family)
        if env is None:
            env = self._envs[episode.family] = TabletopEnv(get_family(episode.family))
        env.reset(options={"task": self.task_of(episode)})
        return env

    def propose(
        self, episode_id: int, plan: str | list[Call], who: str, why: str = ""
    ) -> Correction:
        """Check a corrected plan (text in the call language, or calls) for an episode."""
        if problem := text_problem(who, "who", MAX_WHO_CHARS):
            raise CorrectionError(
                f"{problem}: say who makes the correction (a name, or 'simulated')"
            )
        if why.strip() and (problem := text_problem(why, "why")):
            raise CorrectionError(f"{problem}: say in a sentence or two why the plan was wrong")
        episode = self.store.episode(episode_id)
        try:
            calls = parse_calls(plan) if isinstance(plan, str) else list(plan)
        except CallSyntaxError as error:
            raise CorrectionError(f"the corrected plan does not parse: {error}") from None
        env = self.scene(episode)
        try:
            validate_plan(calls, env, self.library)
        except PlanValidationError as error:
            raise CorrectionError(f"the corrected plan cannot run: {error}") from None
        texts = [str(c) for c in calls]
        if texts == episode.plan:
            raise CorrectionError(
                "the corrected plan is the plan the robot already ran; change "
                "a step, insert one or delete one"
            )
        first = first_difference(texts, episode.plan)
        return Correction(episode, tuple(calls), first, who.strip(), why.strip())

    def rerun(self, correction: Correction, frames: bool = False) -> Rerun:
        """Run the corrected plan from the episode's initial state; nothing is stored."""
        env = self.scene(correction.episode)
        steps = execute_plan(env, list(correction.plan), frames=frames, library=self.library)
        return Rerun(success=env.task.succeeded(env.world), steps=steps)

    def save(self, correction: Correction, rerun: Rerun | None) -> int:
        """Append the correction, with the re-run's outcome, to the store; its id."""
        return self.store.add_correction(
            CorrectionRow(
                episode_id=correction.episode.id,
                step_index=correction.step_index,
                proposed=correction.episode.plan,
                corrected=[str(c) for c in correction.plan],
                who=correction.who,
                why=correction.why,
                rerun_success=None if rerun is None else rerun.success,
            )
        )
