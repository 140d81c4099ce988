"""Rollouts on a Ray cluster, for users who outgrow one machine (``pip install 'robolearn[ray]'``).

Each worker is a Ray actor that builds its rollout once from the same picklable setup as a
local worker and keeps one env per family. Actors return records and write nothing: the
driver alone stores them. An actor that dies is replaced and its episode run once more, as in
the local pool (:class:`~robolearn.rollout.pool.Schedule`).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from robolearn.errors import UserError
from robolearn.records import EpisodeRecord
from robolearn.rollout.jobs import EpisodeJob, EpisodeRunner, RolloutSetup
from robolearn.rollout.pool import LostEpisode, Schedule, WorkerError, WorkerSetupError

OBJECT_STORE_BYTES = 256 * 2**20
"""The object store of a local cluster started here: records are small, and Ray's default
(30% of memory) would take gigabytes from the simulators."""


class RayMissingError(UserError, ImportError):
    """``--backend ray`` without Ray installed."""


def check_ray_installed() -> None:
    """Raise RayMissingError unless Ray can be imported (cheap: nothing is imported)."""
    if importlib.util.find_spec("ray") is None:
        raise RayMissingError(
            "--backend ray needs Ray, an optional extra: "
            "pip install 'robolearn[ray]' (or use --backend local)"
        )


def _ray() -> Any:
    check_ray_installed()
    import ray

    return ray


class RayConnectError(UserError, ConnectionError):
    """The Ray cluster named by ``--ray-address`` cannot be joined."""


def connect(address: str | None, workers: int) -> bool:
    """Join the cluster at ``address``, or start a local one; whether this call started Ray.

    A run connects before it writes anything, so a wrong address leaves the store as it was.
    """
    ray = _ray()
    if ray.is_initialized():
        return False
    # A local cluster's actors import what this process imports, as spawned workers do.
    local = {
        "object_store_memory": OBJECT_STORE_BYTES,
        "num_cpus": workers,
        "runtime_env": {"env_vars": {"PYTHONPATH": os.pathsep.join(sys.path)}},
    }
    try:
        ray.init(
            address=address,
            include_dashboard=False,
            log_to_driver=False,
            **({} if address else local),
        )
    except (ConnectionError, TimeoutError) as error:
        raise RayConnectError(
            f"cannot join the Ray cluster at {address}: {error}; check "
            "--ray-address (ray status on the head node shows it)"
        ) from None
    return True


class _Actor:
    """A Ray worker: one rollout, one env per family, one episode at a time."""

    def __init__(self, setup: RolloutSetup, frames: bool) -> None:
        self.setup, self.frames = setup, frames
        self.runner: EpisodeRunner | None = None

    def start(self) -> None:
        """Build the rollout (apart from ``__init__``, so a bad setup reads as its error)."""
        self.runner = EpisodeRunner(self.setup.build(), self.frames)

    def run(self, job: EpisodeJob) -> EpisodeRecord:
        """The record of ``job``'s episode."""
        assert self.runner is not None, "start() first"
        return self.runner.run(job)


class RayPool:
    """``workers`` Ray actors that run a run's episodes, yielding records in order."""

    def __init__(
        self,
        setup: RolloutSetup,
        workers: int,
        frames: bool = False,
        address: str | None = None,
        log: Callable[[str], None] = print,
    ) -> None:
        self.setup, self.workers, self.frames = setup, workers, frames
        self.address, self.log = address, log
        self.crashes = 0
        """Actors that died during the last :meth:`run`."""

    def run(self, jobs: Sequence[EpisodeJob]) -> Iterator[EpisodeRecord | LostEpisode]:
        """Each job's record (or its loss), in the order of ``jobs`` (indexes 0, 1, ...)."""
        ray = _ray()
        ours = connect(self.address, self.workers)
        actor_class = ray.remote(num_cpus=1, max_restarts=0)(_Actor)
        schedule = Schedule(jobs, self.workers, self.log)
        actors: list[Any] = []
        try:
            actors = [self._start(actor_class) for _ in range(min(self.workers, len(jobs)))]
            idle = list(range(len(actors)))
            running: dict[Any, tuple[int, EpisodeJob]] = {}
            while schedule.running:
                while idle and (job := schedule.take()) is not None:
                    number = idle.pop()
                    running[actors[number].run.remote(job)] = (number, job)
                finished, _ = ray.wait(list(running), num_returns=1)
                for ref in finished:
                    number, job = running.pop(ref)
                    try:
                        schedule.done(job, ray.get(ref))
                    except ray.exceptions.RayActorError as error:
                        schedule.died(f"Ray actor {number}", job, type(error).__name__)
                        ray.kill(actors[number])
                        actors[number] = self._start(actor_class)
                    except ray.exceptions.RayTaskError as error:
                        raise _user_error(error) from None
                    idle.append(number)
                yield from schedule.ready()
        finally:
            self.crashes = schedule.crashes
            for actor in actors:
                ray.kill(actor)
            if ours:
                ray.shutdown()

    def _start(self, actor_class: Any) -> Any:
        """A new actor with its rollout built (a bad setup raises its own error here)."""
        ray = _ray()
        actor = actor_class.remote(self.setup, self.frames)
        try:
            ray.get(actor.start.remote())
        except ray.exceptions.RayTaskError as error:
            raise _user_error(error) from None
        except ray.exceptions.RayActorError as error:
            raise WorkerError(f"a Ray actor could not start: {error}") from None
        return actor


def _user_error(error: Any) -> Exception:
    """A Ray task's exception as robolearn would have raised it in this process."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, UserError):
        return WorkerSetupError(str(cause))
    return error
