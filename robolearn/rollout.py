"""Headless runs: many seeded episodes per family, a progress bar and a success table."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from robolearn.agent import EpisodeRecord, Planner, SkillLearner, run_episode
from robolearn.png import write_png
from robolearn.skills.library import SkillLibrary
from robolearn.store import EpisodeRow, Store
from robolearn.tasks.env import TabletopEnv
from robolearn.tasks.spec import get_family


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
        return {"family": self.family, "episodes": self.episodes, "successes": self.successes,
                "success_rate": round(self.success_rate, 4),
                "mean_control_steps": round(self.control_steps / max(self.episodes, 1), 1)}


@dataclass
class RunSummary:
    """The outcome of a run: one row per family, with the seeds and timing that made it."""

    planner: str
    seed: int
    families: list[FamilySummary] = field(default_factory=list)
    wall_seconds: float = 0.0

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
        return {"planner": self.planner, "seed": self.seed, "episodes": self.episodes,
                "successes": self.successes,
                "families": [f.to_dict() for f in self.families],
                "wall_seconds": round(self.wall_seconds, 3)}

    def table(self) -> str:
        """The per-family success table a person reads."""
        lines = [f"{'family':<18} {'success':>9} {'rate':>7} {'steps/ep':>9}"]
        rows = [*self.families, FamilySummary("all", self.episodes, self.successes,
                                              sum(f.control_steps for f in self.families))]
        for row in rows:
            steps = row.control_steps / max(row.episodes, 1)
            lines.append(f"{row.family:<18} {row.successes:>4}/{row.episodes:<4} "
                         f"{row.success_rate:>7.0%} {steps:>9.0f}")
        return "\n".join(lines)


def run_episodes(families: Sequence[str], episodes: int, seed: int, planner: Planner,
                 recorder: RunRecorder | None = None, progress: bool = True,
                 library: SkillLibrary | None = None,
                 learner: SkillLearner | None = None) -> tuple[RunSummary, list[EpisodeRecord]]:
    """Run ``episodes`` episodes of each family with task seeds ``seed .. seed+episodes-1``.

    The same arguments give the same records in any process: each episode's scene comes from
    its seed alone and the simulation is reset to a saved state. With a ``recorder`` every
    episode is stored as soon as it ends.
    """
    summary = RunSummary(planner=planner.name, seed=seed)
    records: list[EpisodeRecord] = []
    start = time.perf_counter()
    with tqdm(total=episodes * len(families), desc="episodes", unit="ep",
              disable=not progress) as bar:
        for name in families:
            env = TabletopEnv(get_family(name))
            row = FamilySummary(name)
            try:
                for task_seed in range(seed, seed + episodes):
                    record = run_episode(env, planner, task_seed,
                                         frames=recorder is not None and recorder.frames,
                                         library=library, learner=learner)
                    if recorder is not None:
                        recorder.save(record)
                    records.append(record)
                    row.episodes += 1
                    row.successes += record.success
                    row.control_steps += record.control_steps
                    bar.set_postfix(family=name, success=f"{row.successes}/{row.episodes}")
                    bar.update()
            finally:
                env.close()
            summary.families.append(row)
    summary.wall_seconds = time.perf_counter() - start
    return summary, records


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
        """Store ``record`` (saving its images first); its episode id."""
        for index, step in enumerate(record.steps):
            if step.frame is not None:
                path = Path("frames") / f"run{self.run_id}" / (
                    f"{record.family}-{record.seed}-{index + 1}.png")
                write_png(self.workspace / path, step.frame)
                step.frame, step.frame_path = None, path.as_posix()  # not every image in memory
        return self.store.add_episode(self.run_id, EpisodeRow.from_dict(record.to_dict()))
