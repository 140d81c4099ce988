"""The language-model planner: plan latency, tokens/s, and plan accuracy per family.

On held-out task seeds (odd: the default model trains on even ones) it measures, in one run:
plan latency (median, p95) with constrained decoding against the same model's unconstrained
greedy generation (the baseline), tokens/s, exact match with the oracle plan, and execution
success in simulation against the oracle's success on the same seeds. Only the families the
default model trains on are measured (``bootstrap = true``); the others are for the learning
loop to teach. Run from the repo root::

    python -m benchmarks.bench_planner                    # the workspace's default model
    python -m benchmarks.bench_planner --model PATH       # any local causal-LM folder
    python -m benchmarks.bench_planner --quick
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.common import Bar, format_table
from robolearn.agent import run_episode
from robolearn.paths import workspace_dir
from robolearn.planner.bootstrap import bootstrap_families, ensure_default_model
from robolearn.planner.lm import LMPlanner
from robolearn.planner.oracle import OraclePlanner
from robolearn.planner.prompt import task_prompt
from robolearn.skills.library import SkillLibrary
from robolearn.tasks.env import TabletopEnv

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "bench_planner.json"
MAX_MEDIAN_MS = 30.0
MIN_SUCCESS = 0.9


@dataclass
class FamilyScore:
    """One family's held-out episodes with the LM planner and with the oracle."""

    family: str
    episodes: int
    exact: int = 0
    successes: int = 0
    oracle_successes: int = 0
    parse_failures: int = 0


@dataclass
class Results:
    """Everything one run measured."""

    model: str
    latency_ms: list[float] = field(default_factory=list)
    unconstrained_ms: list[float] = field(default_factory=list)
    tokens: int = 0
    families: list[FamilyScore] = field(default_factory=list)

    @property
    def success(self) -> float:
        """Execution success over all held-out episodes."""
        return sum(f.successes for f in self.families) / sum(f.episodes for f in self.families)

    def bars(self) -> list[Bar]:
        """The issue's targets for the default planner."""
        return [
            Bar(
                "median plan latency",
                statistics.median(self.latency_ms),
                MAX_MEDIAN_MS,
                at_least=False,
                unit="ms",
            ),
            Bar("execution success, held-out seeds", self.success, MIN_SUCCESS, at_least=True),
        ]


def _unconstrained_ms(planner: LMPlanner, prompt: str) -> float:
    """Plain greedy generation of as many tokens, the same model, no grammar."""
    import torch

    encoded = planner.tokenizer(prompt, return_tensors="pt")
    start = time.perf_counter()
    with torch.no_grad():
        planner.model.generate(
            **encoded,
            max_new_tokens=80,
            do_sample=False,
            pad_token_id=planner.tokenizer.pad_token_id,
        )
    return 1000 * (time.perf_counter() - start)


def run(model: Path, episodes: int) -> Results:
    """Plan and run ``episodes`` held-out seeds of every bootstrap family."""
    library = SkillLibrary.seed()
    planner = LMPlanner(model, library)
    results = Results(model=str(model))
    for family in bootstrap_families():
        score = FamilyScore(family.name, episodes)
        env = TabletopEnv(family)
        try:
            for seed in range(1, 2 * episodes, 2):
                env.reset(seed=seed)
                start = time.perf_counter()
                plan = planner.plan(env.task)
                results.latency_ms.append(1000 * (time.perf_counter() - start))
                results.tokens += (
                    len(planner.tokenizer(" " + "; ".join(map(str, plan)))["input_ids"]) + 1
                )
                results.unconstrained_ms.append(_unconstrained_ms(planner, task_prompt(env.task)))
                score.exact += plan == list(env.task.oracle)
                record = run_episode(env, planner, seed, library=library)
                score.successes += record.success
                score.parse_failures += record.error is not None and "answer" in record.error
                score.oracle_successes += run_episode(
                    env, OraclePlanner(), seed, library=library
                ).success
        finally:
            env.close()
        results.families.append(score)
    return results


def report(results: Results) -> str:
    """The tables a person reads."""
    latency = sorted(results.latency_ms)
    p95 = latency[int(0.95 * (len(latency) - 1))]
    median = statistics.median(latency)
    baseline = statistics.median(results.unconstrained_ms)
    seconds = sum(latency) / 1000
    speed = [
        [
            "plan latency (constrained)",
            f"{median:.1f} / {p95:.1f} ms",
            f"unconstrained greedy {baseline:.1f} ms",
            f"{median / baseline:.2f}",
        ],
        ["tokens/s", f"{results.tokens / seconds:,.0f}", "", ""],
    ]
    rows = [
        [
            f.family,
            f"{f.exact}/{f.episodes}",
            f"{f.successes}/{f.episodes}",
            f"{f.oracle_successes}/{f.episodes}",
            str(f.parse_failures),
        ]
        for f in results.families
    ]
    bars = format_table(
        ["bar", "measured", "required", "result"], [bar.row() for bar in results.bars()]
    )
    return "\n\n".join(
        [
            format_table(["measure", "median / p95", "baseline (this run)", "ratio"], speed),
            format_table(
                ["family", "exact match", "success", "oracle success", "parse failures"], rows
            ),
            bars,
            f"model {results.model}",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the tables, write the JSON results."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_planner", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        help="local causal-LM folder (default: the workspace's default model)",
    )
    parser.add_argument("--workspace", type=Path, default=None, help="workspace folder")
    parser.add_argument("--quick", action="store_true", help="2 seeds per family")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH, help="results JSON path")
    args = parser.parse_args(argv)
    model = args.model or ensure_default_model(
        workspace_dir(args.workspace), log=lambda m: print(m, file=sys.stderr)
    )
    results = run(model, 2 if args.quick else 10)
    print(report(results))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(asdict(results) | {"success": results.success}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
