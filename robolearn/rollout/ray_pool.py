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
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from robolearn.errors import UserError
from robolearn.records import EpisodeRecord
from robolearn.rollout.jobs import EpisodeJob, EpisodeRunner, RolloutSetup
from robolearn.rollout.pool import LostEpisode, Schedule, WorkerError, WorkerSetupError

OBJECT_STORE_BYTES = 256 * 2**20
"""The object store of a local cluster started here: records are small, and Ray's default
(30% of memory) would take gigabytes from the simulators."""
START_TIMEOUT_S = 300.0
"""Longest an actor may take to start (placed on a node, its rollout built; a language model
loads in seconds). Past it, the cluster has no room for it: the run goes on without it."""
EPISODE_TIMEOUT_S = 900.0
"""Longest one episode may run on an actor before the actor is taken for dead (its node gone
without a word) and the episode is run elsewhere."""
POLL_S = 5.0
"""How often the driver looks up from waiting for records, to check those deadlines."""


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
            "--ray-address (ray status on the head node shows it) and, for a cluster with "
            "token authentication, RAY_AUTH_MODE=token and its token (RAY_AUTH_TOKEN)"
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
        """Each job's record (or its loss), in the order of ``jobs`` (indexes 0, 1, ...).

        Actors are spread over the cluster's nodes. An actor whose node dies (or that runs an
        episode past ``EPISODE_TIMEOUT_S``) is replaced and its episode run again elsewhere;
        a replacement that finds no room within ``START_TIMEOUT_S`` is done without, and
        once no actor is left the remaining episodes are reported lost. Every wait is bounded.
        """
        ray = _ray()
        ours = connect(self.address, self.workers)
        actor_class = ray.remote(num_cpus=1, max_restarts=0, scheduling_strategy="SPREAD")(_Actor)
        schedule = Schedule(jobs, self.workers, self.log)
        actors: dict[int, Any] = {}
        try:
            actors = self._start_all(actor_class, min(self.workers, len(jobs)))
            if not actors:
                raise WorkerError(
                    f"no Ray node could start a worker within {START_TIMEOUT_S:.0f} s; check "
                    "the cluster's free CPUs ('ray status')"
                )
            idle = list(actors)
            running: dict[Any, tuple[int, EpisodeJob, float]] = {}
            while schedule.running:
                while idle and (job := schedule.take()) is not None:
                    number = idle.pop()
                    running[actors[number].run.remote(job)] = (number, job, time.monotonic())
                if not running:  # every actor gone: what is left cannot run
                    for job in schedule.remaining():
                        schedule.lost(job, "no Ray worker was left to run it")
                    yield from schedule.ready()
                    break
                idle += self._collect(running, actors, actor_class, schedule)
                yield from schedule.ready()
        finally:
            self.crashes = schedule.crashes
            for actor in actors.values():
                ray.kill(actor)
            if ours:
                ray.shutdown()

    def _collect(
        self,
        running: dict[Any, tuple[int, EpisodeJob, float]],
        actors: dict[int, Any],
        actor_class: Any,
        schedule: Schedule,
    ) -> list[int]:
        """Wait (at most ``POLL_S``) for records; the actors free again.

        A dead actor, or one past ``EPISODE_TIMEOUT_S``, is replaced (its episode goes back to
        the schedule); one that cannot be replaced is left out of ``actors``.
        """
        ray = _ray()
        finished, _ = ray.wait(list(running), num_returns=1, timeout=POLL_S)
        overdue = [
            ref
            for ref, (_, _, began) in running.items()
            if ref not in finished and time.monotonic() - began > EPISODE_TIMEOUT_S
        ]
        free = []
        for ref in [*finished, *overdue]:
            number, job, _ = running.pop(ref)
            try:
                if ref in overdue:
                    raise TimeoutError(f"no record after {EPISODE_TIMEOUT_S:.0f} s")
                schedule.done(job, ray.get(ref, timeout=POLL_S))
            except (ray.exceptions.RayActorError, TimeoutError) as error:
                schedule.died(f"Ray actor {number}", job, type(error).__name__)
                ray.kill(actors.pop(number))
                replacement = self._start(actor_class)
                if replacement is None:
                    self.log(f"Ray actor {number} could not be replaced; going on without")
                    continue
                actors[number] = replacement
            except ray.exceptions.RayTaskError as error:
                raise _user_error(error) from None
            free.append(number)
        return free

    def _start_all(self, actor_class: Any, count: int) -> dict[int, Any]:
        """Up to ``count`` actors started at once, by number; those without room are left out."""
        started = {n: self._start(actor_class) for n in range(count)}
        return {n: actor for n, actor in started.items() if actor is not None}

    def _start(self, actor_class: Any) -> Any | None:
        """A new actor with its rollout built, or None if no node had room for it in time.

        A bad setup raises its own error here.
        """
        ray = _ray()
        actor = actor_class.remote(self.setup, self.frames)
        try:
            ray.get(actor.start.remote(), timeout=START_TIMEOUT_S)
        except ray.exceptions.GetTimeoutError:
            ray.kill(actor)
            return None
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
