"""The ``robolearn`` command: one small function per verb, each fed by a typed config.

A bad flag or value prints one line that says what was wrong and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from robolearn.paths import workspace_dir

EXAMPLES = """examples:
  robolearn run --family stack --episodes 20 --planner oracle --seed 0
  robolearn run --episodes 5 --json
  robolearn tasks
"""


class UsageError(ValueError):
    """A command line that cannot run; the message says what to change."""


@dataclass
class RunConfig:
    """Settings of ``robolearn run``."""

    families: list[str] = field(default_factory=list)
    """Task families to run (``robolearn tasks`` lists them); empty means all of them."""
    episodes: int = 10
    """Episodes per family; task seeds are seed, seed+1, ..."""
    seed: int = 0
    """First task seed: the same seed gives the same scenes and results."""
    planner: str = "oracle"
    """Who writes the plans: ``oracle`` (the family's scripted expert)."""
    json: bool = False
    """Print the summary as JSON (for scripts) instead of a table."""
    frames: bool = False
    """Save a camera image after every step under <workspace>/frames/."""
    workspace: Path = field(default_factory=workspace_dir)
    """Folder of this workspace's records (DESIGN.md); runs are saved under runs/."""

    def __post_init__(self) -> None:
        from robolearn.tasks.spec import load_families

        if self.episodes < 1:
            raise UsageError(f"--episodes must be at least 1, got {self.episodes}")
        if self.seed < 0:
            raise UsageError(f"--seed must be 0 or more, got {self.seed}")
        known = load_families()
        unknown = [f for f in self.families if f not in known]
        if unknown:
            raise UsageError(f"unknown --family {', '.join(unknown)}; known: "
                             f"{', '.join(sorted(known))}")
        self.families = list(dict.fromkeys(self.families)) or sorted(known)
        if self.planner not in PLANNERS:
            raise UsageError(f"unknown --planner {self.planner!r}; known: "
                             f"{', '.join(PLANNERS)}")


PLANNERS = ("oracle",)


def cmd_run(config: RunConfig) -> int:
    """Run seeded episodes headless and print the per-family success table.

    Example::

        robolearn run --family stack --episodes 20 --planner oracle --seed 0
    """
    from robolearn.planner.oracle import OraclePlanner
    from robolearn.rollout import run_episodes, save_run
    from robolearn.skills.library import SkillLibrary

    run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-seed{config.seed}-{uuid.uuid4().hex[:6]}"
    frames_dir = config.workspace / "frames" / run_id if config.frames else None
    summary, records = run_episodes(config.families, config.episodes, config.seed,
                                    OraclePlanner(), frames_dir=frames_dir,
                                    library=SkillLibrary.open(config.workspace))
    run_file = config.workspace / "runs" / f"{run_id}.json"
    save_run(run_file, summary, records)
    if config.json:
        print(json.dumps(summary.to_dict(), indent=2))
        return 0
    print(summary.table())
    rate = summary.episodes / summary.wall_seconds * 60 if summary.wall_seconds else 0.0
    print(f"\n{summary.episodes} episodes in {summary.wall_seconds:.1f} s "
          f"({rate:.0f} episodes/min); records in {run_file}")
    if frames_dir is not None:
        print(f"frames in {frames_dir}")
    return 0


def cmd_tasks() -> int:
    """List the task families with an example instruction of each.

    Example::

        robolearn tasks
    """
    from robolearn.tasks.sampler import sample_task
    from robolearn.tasks.spec import load_families

    for name, family in sorted(load_families().items()):
        print(f"{name:<18} {family.description}")
        print(f"{'':<18} e.g. \"{sample_task(family, 0).instruction}\"")
    return 0


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line, not a usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="robolearn", description="A robotics skill-library learner with "
                     "correction feedback.", epilog=EXAMPLES,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = parser.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    run = verbs.add_parser("run", help="run seeded episodes headless", epilog=(
        "examples:\n  robolearn run --family stack --episodes 20 --planner oracle --seed 0\n"
        "  robolearn run --family stack --family tower --episodes 5 --json\n"
        "  robolearn run --episodes 3 --frames --workspace /tmp/ws"),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--family", action="append", default=[], dest="families",
                     help="task family (repeatable; default: all)")
    run.add_argument("--episodes", type=int, default=RunConfig.episodes,
                     help="episodes per family (default: %(default)s)")
    run.add_argument("--seed", type=int, default=RunConfig.seed,
                     help="first task seed (default: %(default)s)")
    run.add_argument("--planner", default=RunConfig.planner, help="oracle (default)")
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    run.add_argument("--frames", action="store_true",
                     help="save a camera image after every step")
    run.add_argument("--workspace", type=Path, default=None,
                     help="workspace folder (default: $ROBOLEARN_WORKSPACE or "
                     "./robolearn-workspace)")
    verbs.add_parser("tasks", help="list the task families",
                     epilog="example:\n  robolearn tasks",
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``robolearn`` console script."""
    args = _parser().parse_args(argv)
    try:
        if args.verb == "run":
            return cmd_run(RunConfig(
                families=args.families, episodes=args.episodes, seed=args.seed,
                planner=args.planner, json=args.json, frames=args.frames,
                workspace=workspace_dir(args.workspace)))
        return cmd_tasks()
    except UsageError as error:
        print(f"robolearn {args.verb}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
