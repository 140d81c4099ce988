"""Scale-out: how much faster a run is with 2 local workers, and what Ray costs on top.

The same oracle episodes run in this process (``--workers 1``), in a local pool of 2 spawned
workers, and (when Ray is installed) on 2 Ray actors; each run stores its episodes through the one
writer, as ``robolearn run`` does. Speed-ups are against the in-process run of this same
benchmark run. Run from the repository root::

    python -m benchmarks.bench_rollout            # 200 stack episodes a run, about 1.5 minutes
    python -m benchmarks.bench_rollout --quick    # 8 episodes a run, for CI and tests

The results are printed as a table and written to ``benchmarks/results/bench_rollout.json``.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from benchmarks.common import Bar, benchmark_main, format_table
from robolearn.rollout import RolloutSetup, RunRecorder, run_episodes
from robolearn.rollout.shipped import ShippedRollout
from robolearn.store import Store
from robolearn.workspace import PlannerChoice, WorkspaceRollout

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "bench_rollout.json"
MIN_SPEEDUP_2 = 1.8
"""Two workers on two cores should do at least this much more work per second."""


@dataclass(frozen=True)
class Settings:
    """How much work each run does."""

    families: tuple[str, ...]
    episodes: int
    """Episodes per family per run."""


FULL = Settings(families=("stack",), episodes=200)
QUICK = Settings(families=("stack",), episodes=8)


@dataclass
class Timing:
    """One way of running the same episodes."""

    name: str
    workers: int
    backend: str
    seconds: float
    steady_seconds: float
    """From the first episode stored to the last: the run without its workers' start-up."""
    episodes: int
    successes: int
    crashes: int

    @property
    def per_minute(self) -> float:
        """Episodes stored per minute, start-up included."""
        return self.episodes / self.seconds * 60


@dataclass
class Results:
    """Every run's timing and the bars."""

    quick: bool
    cores: int
    timings: list[Timing] = field(default_factory=list)
    same_records: bool = True
    ray: str = "not installed (pip install 'robolearn[ray]')"
    bars: list[Bar] = field(default_factory=list)

    def timing(self, name: str) -> Timing | None:
        """The run called ``name``, if it ran."""
        return next((t for t in self.timings if t.name == name), None)

    def to_dict(self) -> dict[str, object]:
        """The JSON-ready results."""
        return {
            "quick": self.quick,
            "cores": self.cores,
            "same_records": self.same_records,
            "ray": self.ray,
            "timings": [dict(asdict(t), per_minute=round(t.per_minute, 1)) for t in self.timings],
            "bars": [asdict(bar) | {"passed": bar.passed} for bar in self.bars],
        }


def _timed_run(
    name: str, settings: Settings, workers: int, backend: str, root: Path
) -> tuple[Timing, list[tuple[object, ...]]]:
    """Run the episodes into a fresh workspace; the timing and what was stored."""
    workspace = root / name.replace(" ", "-").replace(",", "")
    setup: RolloutSetup = WorkspaceRollout(workspace, PlannerChoice("oracle")).prepare()
    if backend == "ray":  # as robolearn run ships it: Ray's cost includes the shipping
        setup = ShippedRollout.pack(setup)
    with Store.open(workspace) as store:
        recorder = RunRecorder(store, store.start_run(setup.name, 0), workspace)
        start = time.perf_counter()
        summary, _ = run_episodes(
            settings.families,
            settings.episodes,
            0,
            setup,
            recorder=recorder,
            progress=False,
            workers=workers,
            backend=backend,
            log=lambda _: None,
        )
        seconds = time.perf_counter() - start
        episodes = store.episodes(limit=None)
    stored = [(e.family, e.seed, tuple(e.plan), e.success, e.control_steps) for e in episodes]
    first, last = (datetime.fromisoformat(str(e.created)) for e in (episodes[0], episodes[-1]))
    return Timing(
        name,
        workers,
        backend,
        seconds,
        (last - first).total_seconds(),
        summary.episodes,
        summary.successes,
        summary.crashes,
    ), stored


def run(settings: Settings, quick: bool, log: Callable[[str], None]) -> Results:
    """Time each way of running the same episodes."""
    results = Results(quick=quick, cores=os.cpu_count() or 1)
    runs = [("in process", 1, "local"), ("local pool, 2 workers", 2, "local")]
    if importlib.util.find_spec("ray") is not None:
        runs.append(("ray, 2 actors", 2, "ray"))
        results.ray = "installed"
    baseline: list[tuple[object, ...]] | None = None
    with tempfile.TemporaryDirectory(prefix="bench-rollout-") as root:
        for name, workers, backend in runs:
            log(f"{name}: {settings.episodes * len(settings.families)} episodes")
            timing, stored = _timed_run(name, settings, workers, backend, Path(root))
            results.timings.append(timing)
            baseline = stored if baseline is None else baseline
            results.same_records &= stored == baseline
    alone, pair = results.timing("in process"), results.timing("local pool, 2 workers")
    assert alone is not None and pair is not None
    results.bars = [
        Bar(
            "speed-up, 2 local workers / in process",
            alone.seconds / pair.seconds,
            MIN_SPEEDUP_2,
            at_least=True,
            unit="x",
        ),
        Bar(
            "same stored episodes in every run",
            float(results.same_records),
            1,
            at_least=True,
            yes_no=True,
        ),
    ]
    return results


def report(results: Results) -> str:
    """The table a person reads: each run against the in-process one, then the bars."""
    alone = results.timing("in process")
    pool = results.timing("local pool, 2 workers")
    assert alone is not None and pool is not None
    rows = []
    for t in results.timings:
        against_pool = f"{t.seconds / pool.seconds:.2f}x the time" if t.backend == "ray" else ""
        rows.append(
            [
                t.name,
                f"{t.seconds:.1f} s",
                f"{t.per_minute:,.0f}",
                f"{alone.seconds / t.seconds:.2f}x",
                f"{alone.seconds / t.seconds / t.workers:.0%}",
                f"{alone.steady_seconds / t.steady_seconds:.2f}x",
                against_pool,
                f"{t.successes}/{t.episodes}",
            ]
        )
    table = format_table(
        [
            "run",
            "wall",
            "episodes/min",
            "speed-up",
            "efficiency",
            "steady speed-up",
            "vs 2 local workers",
            "success",
        ],
        rows,
    )
    note = (
        "speed-up = in-process wall / this wall (worker start-up included); "
        "efficiency = speed-up / workers; steady = first to last episode stored; "
        f"Ray: {results.ray}"
    )
    bars = format_table(
        ["bar", "measured", "required", "result"], [bar.row() for bar in results.bars]
    )
    mode = "quick" if results.quick else "full"
    return (
        f"{table}\n{note}\n\n{bars}\n\n{mode} run on {results.cores} cores, "
        f"Python {platform.python_version()}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the table, write the JSON; 1 on a failed bar with --strict."""
    return benchmark_main(
        argv,
        prog="python -m benchmarks.bench_rollout",
        doc=__doc__,
        quick_help="8 episodes a run, for CI and tests",
        run=run,
        report=report,
        full=FULL,
        quick=QUICK,
        results_path=RESULTS_PATH,
    )


if __name__ == "__main__":
    sys.exit(main())
