"""Headless runs: many seeded episodes per family, a progress bar and a success table.

Episodes run in this process, in a local pool of worker processes (``workers`` > 1) or on
Ray (``backend="ray"``); whichever runs them, the records come back in the same order and
this process alone stores them, so a run's results do not depend on how it was spread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from robolearn.paths import WorkspaceLayout
from robolearn.png import write_png
from robolearn.records import EpisodeRecord
from robolearn.rollout.jobs import EpisodeJob, EpisodeRunner, RolloutSetup, episode_jobs
from robolearn.rollout.pool import LocalPool, LostEpisode
from robolearn.store import Store

BACKENDS = ("local", "ray")
"""Where worker processes run: this machine (``local``) or a Ray cluster (``ray``)."""


@dataclass
class FamilySummary:
    """How one family went over a run."""

    family: str
    episodes: int = 0
    successes: int = 0
    control_steps: int = 0

    @property
    def success_rate(self) -> float:
        """Fraction of episodes that succeeded."""
        return self.successes / self.episodes if self.episodes else 0.0

    def to_dict(self) -> dict[str, object]:
        """The JSON-ready summary."""
        return {
            "family": self.family,
            "episodes": self.episodes,
            "successes": self.successes,
            "success_rate": round(self.success_rate, 4),
            "mean_control_steps": round(self.control_steps / max(self.episodes, 1), 1),
        }


@dataclass
class RunSummary:
    """The outcome of a run: one row per family, with the seeds and timing that made it."""

    planner: str
    seed: int
    families: list[FamilySummary] = field(default_factory=list)
    wall_seconds: float = 0.0
    workers: int = 1
    backend: str = "local"
    lost: list[LostEpisode] = field(default_factory=list)
    """Episodes given up because the workers running them kept dying (none, normally)."""
    crashes: int = 0
    """Worker processes that died during the run (each one's episode was run again)."""

    @property
    def episodes(self) -> int:
        """Episodes run over all families."""
        return sum(f.episodes for f in self.families)

    @property
    def successes(self) -> int:
        """Episodes that succeeded over all families."""
        return sum(f.successes for f in self.families)

    def to_dict(self) -> dict[str, object]:
        """The JSON-ready summary (timing kept apart from the deterministic part)."""
        return {
            "planner": self.planner,
            "seed": self.seed,
            "episodes": self.episodes,
            "successes": self.successes,
            "families": [f.to_dict() for f in self.families],
            "lost": [
                {"family": e.job.family, "seed": e.job.seed, "reason": e.reason} for e in self.lost
            ],
            "crashes": self.crashes,
            "workers": self.workers,
            "backend": self.backend,
            "wall_seconds": round(self.wall_seconds, 3),
        }

    def table(self) -> str:
        """The per-family success table a person reads."""
        lines = [f"{'family':<18} {'success':>9} {'rate':>7} {'steps/ep':>9}"]
        rows = [
            *self.families,
            FamilySummary(
                "all", self.episodes, self.successes, sum(f.control_steps for f in self.families)
            ),
        ]
        for row in rows:
            steps = row.control_steps / max(row.episodes, 1)
            lines.append(
                f"{row.family:<18} {row.successes:>4}/{row.episodes:<4} "
                f"{row.success_rate:>7.0%} {steps:>9.0f}"
            )
        return "\n".join(lines)


def run_episodes(
    families: Sequence[str],
    episodes: int,
    seed: int,
    setup: RolloutSetup,
    recorder: RunRecorder | None = None,
    progress: bool = True,
    workers: int = 1,
    backend: str = "local",
    ray_address: str | None = None,
    log: Callable[[str], None] = print,
) -> tuple[RunSummary, list[EpisodeRecord]]:
    """Run ``episodes`` episodes of each family with task seeds ``seed .. seed+episodes-1``.

    The same arguments give the same records with any number of workers: each episode's
    scene comes from its seed alone and the simulation is reset to a saved state. With a
    ``recorder`` every episode is stored, in order, as soon as it and those before it ended.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    jobs = episode_jobs(list(families), episodes, seed)
    frames = recorder is not None and recorder.frames
    summary = RunSummary(
        planner=setup.name,
        seed=seed,
        workers=workers,
        backend=backend,
        families=[FamilySummary(name) for name in families],
    )
    rows = {row.family: row for row in summary.families}
    records: list[EpisodeRecord] = []
    start = time.perf_counter()
    if backend == "ray":
        from robolearn.rollout.ray_pool import RayPool

        pool: LocalPool | RayPool | None = RayPool(setup, workers, frames, ray_address, log)
    else:
        pool = LocalPool(setup, workers, frames, log) if workers > 1 else None
    results = _in_process(setup, frames, jobs) if pool is None else pool.run(jobs)
    with tqdm(total=len(jobs), desc="episodes", unit="ep", disable=not progress) as bar:
        for result in results:
            if isinstance(result, LostEpisode):
                summary.lost.append(result)
            else:
                if recorder is not None:
                    recorder.save(result)
                records.append(result)
                row = rows[result.family]
                row.episodes += 1
                row.successes += result.success
                row.control_steps += result.control_steps
                bar.set_postfix(family=row.family, success=f"{row.successes}/{row.episodes}")
            bar.update()
    summary.crashes = 0 if pool is None else pool.crashes
    summary.wall_seconds = time.perf_counter() - start
    return summary, records


def _in_process(
    setup: RolloutSetup, frames: bool, jobs: Sequence[EpisodeJob]
) -> Iterator[EpisodeRecord]:
    """The records of ``jobs`` run one after another in this process."""
    runner = EpisodeRunner(setup.build(), frames)
    try:
        for job in jobs:
            yield runner.run(job)
    finally:
        runner.close()


@dataclass
class RunRecorder:
    """Keeps each episode as it finishes: its images as PNG files, its record in the store.

    Episodes are written one by one, so a run that is stopped keeps every finished episode.
    """

    store: Store
    run_id: int
    workspace: Path
    frames: bool = False
    """Ask episodes for a camera image after every step, saved under frames/run<id>/."""

    def save(self, record: EpisodeRecord) -> int:
        """Store ``record`` (saving its images first); its episode id.

        Its steps are each skill's record of runs (``Store.skill_stats``). If the images or the
        record cannot be written, the images already written are removed: no file is left that
        no episode refers to.
        """
        layout, written = WorkspaceLayout(self.workspace), []
        try:
            for index, step in enumerate(record.steps):
                if step.frame is not None:
                    path = (
                        layout.run_frames(self.run_id)
                        / f"{record.family}-{record.seed}-{index + 1}.png"
                    )
                    written.append(path)  # removed also if it fails half-way
                    write_png(path, step.frame)
                    # Not every image in memory: the record keeps the file's path instead.
                    step.frame, step.frame_path = None, layout.relative(path)
            return self.store.add_episode(self.run_id, record)
        except BaseException:
            for path in written:
                path.unlink(missing_ok=True)
            raise
