"""What a rollout worker holds and does: a planner, a library, one env per family, episodes.

Every backend (in process, a local pool, Ray) runs episodes through :class:`EpisodeRunner`,
built in the worker from a picklable :class:`RolloutSetup`, so they give the same records.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from robolearn.agent import Planner, SkillLearner, run_episode
from robolearn.records import EpisodeRecord
from robolearn.skills.library import SkillLibrary
from robolearn.tasks.env import TabletopEnv
from robolearn.tasks.spec import get_family


@dataclass(frozen=True)
class EpisodeJob:
    """One episode to run: its place in the run's order, its family and its task seed."""

    index: int
    family: str
    seed: int

    def __str__(self) -> str:
        return f"{self.family} seed {self.seed}"


def episode_jobs(families: list[str], episodes: int, seed: int) -> list[EpisodeJob]:
    """A run's episodes in the order they are stored: family by family, seeds ascending.

    A seed belongs to its episode, not to the worker that happens to run it, so any
    schedule gives the same scenes.
    """
    pairs = [
        (family, task_seed) for family in families for task_seed in range(seed, seed + episodes)
    ]
    return [EpisodeJob(index, family, task_seed) for index, (family, task_seed) in enumerate(pairs)]


@dataclass
class Rollout:
    """What runs episodes: a planner, the library its composite skills come from.

    An optional skill learner needs the episodes one after another in one library.
    """

    planner: Planner
    library: SkillLibrary | None = None
    learner: SkillLearner | None = None
    close: Callable[[], None] = field(default=lambda: None)
    """Releases what the setup opened (a store connection, a model)."""


class RolloutSetup(Protocol):
    """A recipe for a :class:`Rollout` that a worker process builds for itself.

    It must be picklable (plain data: paths, names, flags), because a worker of a spawned
    pool or a Ray actor receives it instead of the driver's live objects.
    """

    @property
    def name(self) -> str:
        """The planner's name, as its episodes record it."""
        ...

    def build(self) -> Rollout:
        """The rollout this worker runs its episodes with."""
        ...


class EpisodeRunner:
    """Runs jobs with one rollout, building each family's env once and reusing it."""

    def __init__(self, rollout: Rollout, frames: bool = False) -> None:
        self.rollout = rollout
        self.frames = frames
        self._envs: dict[str, TabletopEnv] = {}

    def run(self, job: EpisodeJob) -> EpisodeRecord:
        """The record of ``job``'s episode."""
        env = self._envs.get(job.family)
        if env is None:
            env = self._envs[job.family] = TabletopEnv(get_family(job.family))
        rollout = self.rollout
        return run_episode(
            env,
            rollout.planner,
            job.seed,
            frames=self.frames,
            library=rollout.library,
            learner=rollout.learner,
        )

    def close(self) -> None:
        """Close every env and what the rollout's setup opened."""
        for env in self._envs.values():
            env.close()
        self._envs.clear()
        self.rollout.close()
