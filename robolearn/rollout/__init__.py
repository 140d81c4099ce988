"""Headless rollouts: seeded episodes in this process, a local worker pool, or on Ray."""

from robolearn.rollout.jobs import EpisodeJob, Rollout, RolloutSetup
from robolearn.rollout.pool import LostEpisode, WorkerError, WorkerSetupError
from robolearn.rollout.run import BACKENDS, FamilySummary, RunRecorder, RunSummary, run_episodes

__all__ = [
    "BACKENDS",
    "EpisodeJob",
    "FamilySummary",
    "LostEpisode",
    "Rollout",
    "RolloutSetup",
    "RunRecorder",
    "RunSummary",
    "WorkerError",
    "WorkerSetupError",
    "run_episodes",
]
