"""A local pool of rollout worker processes: episodes in parallel, records back in order.

Each worker is a spawned process that builds its rollout (planner, library) once from a
picklable setup and keeps one env per family. It runs one episode at a time and sends the
record back; it writes nothing, so the driver alone persists records. A worker that dies
(a crash, a kill, the kernel's OOM killer) is reported, replaced, and its episode run once
more before it is given up as lost; nothing is dropped silently.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import traceback
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from robolearn.errors import UserError
from robolearn.records import EpisodeRecord
from robolearn.rollout.jobs import EpisodeJob, EpisodeRunner, RolloutSetup

RETRIES = 1
"""How many more times an episode runs after the worker running it died."""
AHEAD_PER_WORKER = 4
"""How far past the next record to store the pool may run, per worker: a bound on the
records held back to keep the order."""


class WorkerSetupError(UserError, RuntimeError):
    """A worker could not do its work because of bad input (a missing model, a bad store)."""


class WorkerError(RuntimeError):
    """A worker raised an unexpected exception (a bug); the message holds its traceback."""


@dataclass(frozen=True)
class LostEpisode:
    """An episode given up after the workers running it died ``RETRIES + 1`` times."""

    job: EpisodeJob
    reason: str


def _serve(setup: RolloutSetup, frames: bool, conn: Connection) -> None:
    """A worker's life: build the rollout, then run the jobs the driver sends until None.

    Ctrl-C is the driver's to handle (it stops the workers); a driver that is gone (killed)
    closes the pipe, and the worker ends quietly.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    runner = None
    try:
        runner = EpisodeRunner(setup.build(), frames)
        while (job := conn.recv()) is not None:
            conn.send(("record", runner.run(job)))
    except (EOFError, BrokenPipeError):
        pass
    except UserError as error:
        conn.send(("user", str(error)))
    except Exception:
        conn.send(("bug", traceback.format_exc()))
    finally:
        if runner is not None:
            runner.close()


@dataclass
class _Worker:
    number: int
    process: BaseProcess
    conn: Connection
    job: EpisodeJob | None = None


def describe_exit(code: int | None) -> str:
    """A dead process's exit code in words: ``signal 9 (SIGKILL)`` or ``exit code 3``."""
    if code is not None and code < 0:
        try:
            return f"signal {-code} ({signal.Signals(-code).name})"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


class Schedule:
    """The bookkeeping every pool shares, whatever its workers are.

    It says which episode goes next, hands records out in order, and runs an episode again
    after its worker died (or gives it up).
    """

    def __init__(
        self, jobs: Sequence[EpisodeJob], workers: int, log: Callable[[str], None]
    ) -> None:
        self.total = len(jobs)
        self.log = log
        self.crashes = 0
        self._queue = deque(jobs)
        self._attempts: Counter[int] = Counter()
        self._finished: dict[int, EpisodeRecord | LostEpisode] = {}
        self._next = 0
        self._ahead = AHEAD_PER_WORKER * workers

    @property
    def running(self) -> bool:
        """Whether some episode's record has not been handed out yet."""
        return self._next < self.total

    def take(self) -> EpisodeJob | None:
        """The next episode to run, unless none is left or the pool is too far ahead."""
        if self._queue and self._queue[0].index < self._next + self._ahead:
            return self._queue.popleft()
        return None

    def done(self, job: EpisodeJob, record: EpisodeRecord) -> None:
        """``job`` ended with ``record``."""
        self._finished[job.index] = record

    def died(self, worker: str, job: EpisodeJob, cause: str) -> None:
        """The worker running ``job`` died of ``cause``: run it again, or give it up."""
        self.crashes += 1
        self._attempts[job.index] += 1
        if self._attempts[job.index] > RETRIES:
            reason = f"the workers running it died {self._attempts[job.index]} times ({cause})"
            self._finished[job.index] = LostEpisode(job, reason)
            self.log(
                f"{worker} died ({cause}) running {job} again: giving that episode up; "
                "the run goes on"
            )
        else:
            self._queue.appendleft(job)
            self.log(f"{worker} died ({cause}) running {job}; running it again in a new worker")

    def remaining(self) -> list[EpisodeJob]:
        """The episodes not yet handed to a worker."""
        return list(self._queue)

    def lost(self, job: EpisodeJob, reason: str) -> None:
        """Give ``job`` up, for ``reason``: it is reported, not run."""
        self._queue.remove(job)
        self._finished[job.index] = LostEpisode(job, reason)

    def ready(self) -> Iterator[EpisodeRecord | LostEpisode]:
        """The records (or losses) that are next in order, once each."""
        while self._next in self._finished:
            yield self._finished.pop(self._next)
            self._next += 1


class LocalPool:
    """``workers`` spawned processes that run a run's episodes, yielding records in order."""

    def __init__(
        self,
        setup: RolloutSetup,
        workers: int,
        frames: bool = False,
        log: Callable[[str], None] = print,
    ) -> None:
        if workers < 1:
            raise ValueError(f"a pool needs at least 1 worker, got {workers}")
        self.setup, self.workers, self.frames, self.log = setup, workers, frames, log
        self.crashes = 0
        """Workers that died during the last :meth:`run`."""
        self._context = multiprocessing.get_context("spawn")

    def _start(self, number: int) -> _Worker:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(
            target=_serve,
            args=(self.setup, self.frames, theirs),
            name=f"robolearn-worker-{number}",
            daemon=True,
        )
        process.start()
        theirs.close()  # the worker's end: a dead worker then reads as EOF here
        return _Worker(number, process, ours)

    def run(self, jobs: Sequence[EpisodeJob]) -> Iterator[EpisodeRecord | LostEpisode]:
        """Each job's record (or its loss), in the order of ``jobs`` (indexes 0, 1, ...)."""
        schedule = Schedule(jobs, self.workers, self.log)
        pool = [self._start(n) for n in range(min(self.workers, len(jobs)))]
        try:
            while schedule.running:
                for position, worker in enumerate(pool):
                    if worker.job is None and (job := schedule.take()) is not None:
                        worker.job = job
                        try:
                            worker.conn.send(job)
                        except OSError:  # it died between episodes
                            pool[position] = self._replace(worker, schedule)
                busy = [w for w in pool if w.job is not None]
                wait([w.conn for w in busy] + [w.process.sentinel for w in busy])
                for position, worker in enumerate(pool):
                    if worker.job is None:
                        continue
                    if worker.conn.poll():
                        try:
                            kind, payload = worker.conn.recv()
                        except EOFError:  # it died with nothing more to say
                            pool[position] = self._replace(worker, schedule)
                            continue
                        if kind == "user":
                            raise WorkerSetupError(payload)
                        if kind == "bug":
                            raise WorkerError(
                                f"worker {worker.number} failed running {worker.job}:\n{payload}"
                            )
                        schedule.done(worker.job, payload)
                        worker.job = None
                    elif not worker.process.is_alive():
                        pool[position] = self._replace(worker, schedule)
                yield from schedule.ready()
        finally:
            self.crashes = schedule.crashes
            self._stop(pool)

    def _replace(self, dead: _Worker, schedule: Schedule) -> _Worker:
        """Report a dead worker, hand its episode back to the schedule, and start another."""
        dead.process.join()
        assert dead.job is not None
        schedule.died(
            f"worker {dead.number} (pid {dead.process.pid})",
            dead.job,
            describe_exit(dead.process.exitcode),
        )
        dead.conn.close()
        return self._start(dead.number)

    @staticmethod
    def _stop(pool: list[_Worker]) -> None:
        """Ask every worker to finish, and end those that do not within a few seconds."""
        for worker in pool:
            with contextlib.suppress(OSError):  # a dead worker's pipe is broken
                worker.conn.send(None)
        for worker in pool:
            worker.process.join(timeout=10)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()
