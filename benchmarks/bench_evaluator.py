"""Evaluator time per verdict, against running the same skill without the sandbox.

For every seed composite, on the task family that exercises it, the Evaluator's verdict (check,
duplicate search, sandboxed run, effect check, restore) is timed against executing the same call
straight in the episode (the baseline, measured in the same run). Run from the repository root::

    python -m benchmarks.bench_evaluator            # 10 verdicts per skill
    python -m benchmarks.bench_evaluator --quick    # 2 per skill
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.common import format_table
from robolearn.calls import Call
from robolearn.skills.evaluator import Evaluator
from robolearn.skills.executor import execute_plan
from robolearn.skills.library import SkillLibrary
from robolearn.tasks.env import TabletopEnv

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "bench_evaluator.json"
PROOFS = (  # seed composite, the family that exercises it, the roles it is called on
    ("put_in", "place_in_zone", ("item", "zone")),
    ("stack_on", "stack", ("top", "base")),
    ("build_tower", "tower", ("a", "b", "c")),
    ("line_up_three", "line_up", ("a", "b", "c")),
    ("sort_into_bowls", "sort_into_bowls", ("b1", "bowl1", "b2", "bowl2", "b3", "bowl3")),
)


@dataclass
class VerdictCost:
    """Time per verdict for one skill, with the plain run of the same call as baseline."""

    skill: str
    family: str
    verdicts: int
    passed: int
    verdict_ms: float
    """Median wall time of one Evaluator verdict."""
    plain_ms: float
    """Median wall time of executing the same call in the episode, no sandbox."""

    @property
    def ratio(self) -> float:
        """Verdict time over plain execution time."""
        return self.verdict_ms / self.plain_ms


def measure(skill_name: str, family: str, roles: Sequence[str], seeds: int) -> VerdictCost:
    """Time ``seeds`` verdicts and as many plain runs of ``skill_name`` on ``family``."""
    seed_library = SkillLibrary.seed()
    skill = seed_library.get(skill_name)
    called = {step.name for step in skill.steps}
    evaluator = Evaluator(
        SkillLibrary([s for s in seed_library.composites.values() if s.name in called])
    )
    env = TabletopEnv(family)
    verdict_times, plain_times, passed = [], [], 0
    try:
        for seed in range(seeds):
            env.reset(seed=seed)
            args = tuple(env.task.roles[role] for role in roles)
            start = time.perf_counter()
            passed += evaluator.evaluate(skill, env, args).passed
            verdict_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            execute_plan(env, [Call(skill_name, args)], library=seed_library)
            plain_times.append(time.perf_counter() - start)
    finally:
        env.close()
    return VerdictCost(
        skill_name,
        family,
        seeds,
        passed,
        1000 * statistics.median(verdict_times),
        1000 * statistics.median(plain_times),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the table, write the JSON results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 verdicts per skill")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH, help="results JSON path")
    args = parser.parse_args(argv)
    seeds = 2 if args.quick else 10
    costs = [measure(name, family, roles, seeds) for name, family, roles in PROOFS]
    rows = [
        [
            c.skill,
            c.family,
            f"{c.passed}/{c.verdicts}",
            f"{c.verdict_ms:.0f} ms",
            f"{c.plain_ms:.0f} ms",
            f"{c.ratio:.2f}",
        ]
        for c in costs
    ]
    print(
        format_table(
            ["skill", "family", "passed", "per verdict", "plain run (baseline)", "ratio"], rows
        )
    )
    print(
        "ratio = verdict / plain run of the same call (medians); the difference is the "
        "definition and duplicate checks, the sandbox and the effect check"
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps([asdict(c) | {"ratio": c.ratio} for c in costs], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
