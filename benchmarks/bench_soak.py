"""Soak: a run, training rounds and a person correcting write one workspace at once, then kill -9.

Three processes write the same workspace for ``--seconds``, as a headless run, ``robolearn
train`` and the dashboard's Correct page do: one stores oracle episodes of ``stack`` through a
``RunRecorder``, one runs LoRA rounds back to back (``run_round``), and one corrects every new
episode through the correction API (propose, re-run with frames, save). Each process keeps the
ids the store acknowledged; at the end every one of them is looked up (rows sent, stored, lost)
and every error is counted ("database is locked" apart). Then ``--kill-cycles`` times a
``python -m robolearn run`` or ``train`` is killed with SIGKILL at a random moment, and the file
must pass ``PRAGMA integrity_check`` and keep every row committed before the kill; a last run
and a last round must succeed. The baseline, measured in the same run, is the episode writer
alone: episodes per second and commit latency, against the same under contention. Run from the
repository root::

    python -m benchmarks.bench_soak                          # 60 s of three writers, 6 kills
    python -m benchmarks.bench_soak --seconds 300 --kill-cycles 20
    python -m benchmarks.bench_soak --quick                  # 10 s, 2 kills
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from benchmarks.common import Bar, benchmark_main, format_table
from robolearn.learn.dataset import DataConfig
from robolearn.learn.lora import LoraSettings
from robolearn.learn.rounds import RoundConfig
from robolearn.planner.bootstrap import BootstrapConfig
from robolearn.store import Store

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "bench_soak.json"
ROOT = Path(__file__).resolve().parents[1]
FAMILY = "stack"
CORRECTOR = "soak corrector"
SOAK_ROUND = RoundConfig(
    data=DataConfig(augment=1, replay_ratio=1, replay_size=64, max_new=64),
    lora=LoraSettings(epochs=2, batch_size=16, threads=1),
    eval_scenes=1,
)
"""Rounds of a few seconds on a tiny model: the soak is about the writes, not the learning."""
SOAK_MODEL = BootstrapConfig(
    scenes_per_family=20,
    phrasings_per_scene=1,
    paraphrases_per_scene=0,
    epochs=2,
    width=64,
    heads=2,
    layers=1,
    vocab_size=300,
    heldout_per_family=1,
    families=(FAMILY,),
    threads=1,
)
"""The base model the benchmark trains for itself when no ``--model`` is given (seconds)."""


@dataclass(frozen=True)
class Settings:
    """How long the soak runs."""

    seconds: float
    """Three writers at once for this long."""
    baseline_seconds: float
    """The episode writer alone for this long first (the baseline)."""
    kill_cycles: int
    """Runs and rounds killed with SIGKILL at a random moment, alternately."""
    model: Path | None = None
    """The base model the rounds train; None: a tiny one trained first (seconds)."""
    seed: int = 0


FULL = Settings(seconds=60, baseline_seconds=15, kill_cycles=6)
QUICK = Settings(seconds=10, baseline_seconds=5, kill_cycles=2)


# ----- the writers, one process each --------------------------------------------------------
@dataclass
class WriterReport:
    """What one writer process sent, as the store acknowledged it, and what went wrong."""

    writer: str
    episodes: dict[int, int] = field(default_factory=dict)
    """Episode id -> its number of steps."""
    corrections: list[int] = field(default_factory=list)
    rounds: dict[int, int] = field(default_factory=dict)
    """Finished round id -> the examples it recorded."""
    promoted: list[int] = field(default_factory=list)
    commit_ms: list[float] = field(default_factory=list)
    """Wall time of each episode's write (episodes writer)."""
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


def write_episodes(workspace: Path, seconds: float) -> WriterReport:
    """Oracle episodes of ``stack``, each stored as it ends, as ``robolearn run`` stores them."""
    from robolearn.agent import run_episode
    from robolearn.planner.oracle import OraclePlanner
    from robolearn.rollout import RunRecorder
    from robolearn.skills.library import SkillLibrary
    from robolearn.tasks.env import TabletopEnv

    report = WriterReport("episodes")
    library, planner, env = SkillLibrary.open(workspace), OraclePlanner(), TabletopEnv(FAMILY)
    with Store.open(workspace) as store:
        recorder = RunRecorder(
            store, store.start_run(planner.name, 0, {"soak": "episodes"}), workspace
        )
        seed, deadline = 0, time.monotonic() + seconds
        while time.monotonic() < deadline:
            record = run_episode(env, planner, seed, library=library)
            seed += 1
            began = time.perf_counter()
            try:
                report.episodes[recorder.save(record)] = len(record.steps)
            except Exception as error:  # counted, not raised: the report lists them all
                report.errors.append(f"{type(error).__name__}: {error}")
            report.commit_ms.append(1000 * (time.perf_counter() - began))
    env.close()
    return report


def write_corrections(workspace: Path, seconds: float) -> WriterReport:
    """Correct every new episode as the dashboard's Correct page does: propose, re-run, save."""
    from robolearn.correction import CorrectionAPI
    from robolearn.skills.library import SkillLibrary

    report = WriterReport("corrections")
    with Store.open(workspace) as store:
        api = CorrectionAPI(store, SkillLibrary.open(workspace))
        last, deadline = 0, time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                fresh = store.episodes(since_id=last, limit=1)
                if not fresh:
                    time.sleep(0.05)
                    continue
                episode = fresh[0]
                last = episode.id
                correction = api.propose(
                    episode.id,
                    "\n".join([*episode.plan, "open_gripper()"]),
                    who=CORRECTOR,
                    why="let go again at the end",
                )
                report.corrections.append(api.save(correction, api.rerun(correction, frames=True)))
            except Exception as error:
                report.errors.append(f"{type(error).__name__}: {error}")
        api.close()
    return report


def train_rounds(workspace: Path, seconds: float, model_dir: Path) -> WriterReport:
    """LoRA rounds back to back; the last one started before the deadline runs to its end."""
    from robolearn.learn.rounds import NothingToLearnError, run_round

    report = WriterReport("rounds")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            outcome = run_round(
                workspace, model_dir, SOAK_ROUND, progress=False, log=lambda _: None
            )
        except NothingToLearnError:  # no episode stored yet
            time.sleep(0.2)
            continue
        except Exception as error:
            report.errors.append(f"{type(error).__name__}: {error}")
            time.sleep(0.2)
            continue
        report.rounds[outcome.round_id] = int(outcome.dataset["new"]) + int(
            outcome.dataset["replay"]
        )
        if outcome.promoted:
            report.promoted.append(outcome.round_id)
    return report


def _released(
    index: int, function: Callable[..., Any], args: tuple, start: Any, results: Any
) -> None:
    start.wait()  # every process has imported what it needs: they begin together
    began = time.perf_counter()
    try:
        result = function(*args)
    except Exception as error:
        result = f"{type(error).__name__}: {error}"
    results.put((index, result, time.perf_counter() - began))


def at_once(
    calls: Sequence[tuple[Callable[..., Any], tuple]], timeout: float = 600
) -> list[tuple[Any, float]]:
    """Run each ``(function, args)`` in its own spawned process, all released together.

    Each gives back what it returned (or its exception, as text) and its seconds, in call order.
    """
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(len(calls)), context.Queue()
    processes = [
        context.Process(target=_released, args=(i, *call, start, results))
        for i, call in enumerate(calls)
    ]
    for process in processes:
        process.start()
    outcomes: dict[int, tuple[Any, float]] = {}
    for _ in calls:
        index, result, seconds = results.get(timeout=timeout)
        outcomes[index] = (result, seconds)
    for process in processes:
        process.join(timeout=60)
    return [outcomes[i] for i in range(len(calls))]


def run_writers(
    workspace: Path,
    seconds: float,
    model_dir: Path | None,
    writers: Sequence[str] = ("episodes", "corrections", "rounds"),
) -> list[WriterReport]:
    """Run the named writers, each in its own process, on ``workspace`` for ``seconds``."""
    table: dict[str, tuple[Callable[..., WriterReport], tuple]] = {
        "episodes": (write_episodes, (workspace, seconds)),
        "corrections": (write_corrections, (workspace, seconds)),
        "rounds": (train_rounds, (workspace, seconds, model_dir)),
    }
    reports = []
    for name, (result, taken) in zip(
        writers, at_once([table[name] for name in writers], timeout=seconds + 600), strict=True
    ):
        report = result if isinstance(result, WriterReport) else WriterReport(name, errors=[result])
        report.seconds = taken
        reports.append(report)
    return reports


# ----- what was stored ------------------------------------------------------------------------
@dataclass
class TableTally:
    """Rows of one table: acknowledged to a writer, and found in the store afterwards."""

    table: str
    sent: int
    stored: int

    @property
    def lost(self) -> int:
        """Acknowledged rows the store does not hold."""
        return self.sent - self.stored


def tally(workspace: Path, reports: Sequence[WriterReport]) -> list[TableTally]:
    """Look up every row the writers were told was stored."""
    episodes = {k: v for r in reports for k, v in r.episodes.items()}
    corrections = {i for r in reports for i in r.corrections}
    rounds = {k: v for r in reports for k, v in r.rounds.items()}
    promoted = {i for r in reports for i in r.promoted}
    with Store.open(workspace) as store:
        stored_steps = {e.id: len(e.steps) for e in store.episodes(limit=None)}
        stored_corrections = {c.id for c in store.corrections()}
        finished = {r.id for r in store.rounds() if r.status in ("promoted", "refused")}
        examples = {i: len(store.round_examples([i])) for i in rounds}
        logged = {a.round_id for a in store.adapter_log()}
    whole = [i for i, steps in episodes.items() if stored_steps.get(i) == steps]
    return [
        TableTally("episodes", len(episodes), len(whole)),
        TableTally("steps", sum(episodes.values()), sum(episodes[i] for i in whole)),
        TableTally("corrections", len(corrections), len(corrections & stored_corrections)),
        TableTally("training_rounds", len(rounds), len(rounds.keys() & finished)),
        TableTally(
            "round_examples",
            sum(rounds.values()),
            sum(min(n, examples[i]) for i, n in rounds.items()),
        ),
        TableTally("adapters", len(promoted), len(promoted & logged)),
    ]


def committed_rows(workspace: Path) -> set[tuple[str, int, int]]:
    """Every row the store holds, as (kind, id, size).

    An episode with its steps, a correction, a training round, a round's examples, an entry of
    the adapter log.
    """
    with Store.open(workspace) as store:
        rounds = [r.id for r in store.rounds()]
        return (
            {("episode", e.id, len(e.steps)) for e in store.episodes(limit=None)}
            | {("correction", c.id, 0) for c in store.corrections()}
            | {("round", i, 0) for i in rounds}
            | {("round examples", i, len(store.round_examples([i]))) for i in rounds}
            | {("adapter log", a.id, 0) for a in store.adapter_log()}
        )


# ----- python -m robolearn, killed ------------------------------------------------------------
def start_robolearn(log: Path, *args: str) -> subprocess.Popen:
    """``python -m robolearn ARGS`` from this checkout, in its own process group, to ``log``."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "robolearn", *args],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": path},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill_9(process: subprocess.Popen) -> None:
    """SIGKILL the process and everything it started; wait for it."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def wait_until(
    condition: Callable[[], bool], process: subprocess.Popen | None, what: str, timeout: float = 300
) -> None:
    """Poll ``condition``; fail if ``process`` (None: no process) ends or time runs out."""
    deadline = time.monotonic() + timeout
    while not condition():
        ended = process is not None and process.poll() is not None
        if ended or time.monotonic() > deadline:
            status = "" if process is None else f" (exit status {process.poll()})"
            raise RuntimeError(f"{what} never happened{status}")
        time.sleep(0.05)


@dataclass
class KillCycle:
    """One process killed with SIGKILL: what it had written and what the file kept."""

    command: str
    after_s: float
    """Seconds from its start (``run``) or from the start of its epochs (``train``)."""
    rows_added: int
    """Rows the process committed before the kill."""
    rows_lost: int
    """Rows committed before the kill (by anyone) that the file no longer holds."""
    integrity_ok: bool


def kill_cycle(
    workspace: Path, command: list[str], after_s: float, log: Path, wait_for: str | None = None
) -> KillCycle:
    """Start ``python -m robolearn COMMAND``, SIGKILL it ``after_s`` later, check the file.

    With ``wait_for``, the delay counts from when that text first appears in its output.
    """
    start = committed_rows(workspace)
    offset = log.stat().st_size if log.exists() else 0
    process = start_robolearn(log, *command)
    if wait_for is not None:
        wait_until(lambda: wait_for.encode() in log.read_bytes()[offset:], process, wait_for)
    time.sleep(after_s)
    before = committed_rows(workspace)
    kill_9(process)
    with Store.open(workspace) as store:
        sound = store.integrity_ok()
    return KillCycle(
        command[0], after_s, len(before - start), len(before - committed_rows(workspace)), sound
    )


# ----- the benchmark ------------------------------------------------------------------------
@dataclass
class EpisodeWrites:
    """The episode writer's pace: episodes per second and the latency of each commit."""

    episodes: int
    seconds: float
    commit_median_ms: float
    commit_p95_ms: float

    @classmethod
    def of(cls, report: WriterReport) -> EpisodeWrites:
        """The figures of an episodes writer's report."""
        times = sorted(report.commit_ms) or [0.0]
        return cls(
            len(report.episodes),
            report.seconds,
            statistics.median(times),
            times[int(0.95 * (len(times) - 1))],
        )

    @property
    def per_second(self) -> float:
        """Episodes stored per second."""
        return self.episodes / self.seconds if self.seconds else 0.0


@dataclass
class Results:
    """The soak's figures and its bars."""

    settings: Settings
    alone: EpisodeWrites
    contended: EpisodeWrites
    writers: list[WriterReport]
    tallies: list[TableTally]
    integrity_ok: bool
    kills: list[KillCycle]
    next_run_ok: bool
    next_round_ok: bool

    @property
    def errors(self) -> list[str]:
        """Every error any writer met."""
        return [f"{r.writer}: {e}" for r in self.writers for e in r.errors]

    @property
    def locked(self) -> int:
        """How many of them were "database is locked"."""
        return sum("database is locked" in e for e in self.errors)

    @property
    def bars(self) -> list[Bar]:
        """Nothing lost, no error, a sound file after every kill, and work goes on after."""
        return [
            Bar("rows lost (three writers)", sum(t.lost for t in self.tallies), 0, False),
            Bar("errors in any writer", len(self.errors), 0, False),
            Bar('"database is locked"', self.locked, 0, False),
            Bar("integrity_check ok after the writers", self.integrity_ok, 1, True, yes_no=True),
            Bar(
                "integrity_check ok after every kill",
                all(k.integrity_ok for k in self.kills),
                1,
                True,
                yes_no=True,
            ),
            Bar("committed rows lost to kills", sum(k.rows_lost for k in self.kills), 0, False),
            Bar(
                "the next run and round succeed",
                self.next_run_ok and self.next_round_ok,
                1,
                True,
                yes_no=True,
            ),
        ]

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready results (the writers' id lists left out)."""
        return {
            "settings": asdict(self.settings),
            "alone": asdict(self.alone),
            "contended": asdict(self.contended),
            "tallies": [{**asdict(t), "lost": t.lost} for t in self.tallies],
            "errors": self.errors,
            "database_is_locked": self.locked,
            "integrity_ok": self.integrity_ok,
            "kills": [asdict(k) for k in self.kills],
            "next_run_ok": self.next_run_ok,
            "next_round_ok": self.next_round_ok,
            "bars": [{"name": b.name, "value": b.value, "passed": b.passed} for b in self.bars],
        }


def run(settings: Settings, quick: bool, log: Callable[[str], None]) -> Results:
    """Baseline, three writers, kill cycles, then a last run and round, in a new workspace."""
    from robolearn.planner.bootstrap import build_default_model, default_model_dir

    workspace = Path(tempfile.mkdtemp(prefix="robolearn-soak-"))
    model = settings.model
    if model is None:
        model = default_model_dir(workspace)
        log(f"training a tiny base model in {model}")
        build_default_model(model, SOAK_MODEL, progress=False, log=lambda _: None)
    log(f"baseline: the episode writer alone for {settings.baseline_seconds:.0f} s")
    [alone] = run_writers(workspace / "baseline", settings.baseline_seconds, None, ["episodes"])
    log(f"three writers on {workspace} for {settings.seconds:.0f} s")
    writers = run_writers(workspace, settings.seconds, model)
    tallies = tally(workspace, writers)
    with Store.open(workspace) as store:
        sound = store.integrity_ok()
    rng, console = random.Random(settings.seed), workspace / "robolearn.log"
    kills = []
    for cycle in range(settings.kill_cycles):
        if cycle % 2 == 0:  # anywhere from its start-up to mid-run; every other on 2 workers
            command = [
                "run",
                "--planner",
                "oracle",
                "--family",
                FAMILY,
                "--episodes",
                "50",
                "--seed",
                str(10_000 + 50 * cycle),
                "--workers",
                str(1 + cycle // 2 % 2),
            ]
            after, wait_for = rng.uniform(0.5, 4.0), None
        else:  # mid-epoch (its data is recorded by then)
            command = [
                "train",
                "--epochs",
                "100000",
                "--threads",
                "1",
                "--eval-scenes",
                "1",
                "--model",
                str(model),
            ]
            after, wait_for = rng.uniform(0.0, 2.0), "LoRA round"
        kills.append(
            kill_cycle(
                workspace, [*command, "--workspace", str(workspace)], after, console, wait_for
            )
        )
        log(f"kill -9 of {command[0]}: {kills[-1]}")
    next_run = (
        start_robolearn(
            console,
            "run",
            "--planner",
            "oracle",
            "--family",
            FAMILY,
            "--episodes",
            "5",
            "--seed",
            "20000",
            "--workspace",
            str(workspace),
        ).wait()
        == 0
    )
    next_round = (
        start_robolearn(
            console,
            "train",
            "--epochs",
            "2",
            "--threads",
            "1",
            "--eval-scenes",
            "1",
            "--model",
            str(model),
            "--workspace",
            str(workspace),
        ).wait()
        == 0
    )
    contended = next(r for r in writers if r.writer == "episodes")
    return Results(
        settings,
        EpisodeWrites.of(alone),
        EpisodeWrites.of(contended),
        writers,
        tallies,
        sound,
        kills,
        next_run,
        next_round,
    )


def report(results: Results) -> str:
    """Rows sent, stored and lost; the pace against the baseline; the kills; the bars."""
    tallies = format_table(
        ["table", "sent", "stored", "lost"],
        [[t.table, f"{t.sent:,}", f"{t.stored:,}", f"{t.lost:,}"] for t in results.tallies],
    )
    alone, contended = results.alone, results.contended
    pace = format_table(
        ["episode writer", "alone (baseline)", "three writers", "ratio"],
        [
            [
                "episodes/s",
                f"{alone.per_second:.1f}",
                f"{contended.per_second:.1f}",
                f"{contended.per_second / alone.per_second:.2f}" if alone.per_second else "-",
            ],
            [
                "commit median",
                f"{alone.commit_median_ms:.1f} ms",
                f"{contended.commit_median_ms:.1f} ms",
                f"{contended.commit_median_ms / alone.commit_median_ms:.1f}x"
                if alone.commit_median_ms
                else "-",
            ],
            [
                "commit p95",
                f"{alone.commit_p95_ms:.1f} ms",
                f"{contended.commit_p95_ms:.1f} ms",
                f"{contended.commit_p95_ms / alone.commit_p95_ms:.1f}x"
                if alone.commit_p95_ms
                else "-",
            ],
        ],
    )
    kills = format_table(
        ["kill -9 of", "after", "rows it wrote", "rows lost", "integrity_check"],
        [
            [
                k.command,
                f"{k.after_s:.1f} s",
                f"{k.rows_added:,}",
                str(k.rows_lost),
                "ok" if k.integrity_ok else "FAILED",
            ]
            for k in results.kills
        ],
    )
    writers = ", ".join(f"{r.writer} {r.seconds:.0f} s" for r in results.writers)
    bars = format_table(["bar", "measured", "required", ""], [b.row() for b in results.bars])
    return "\n\n".join(
        [
            f"three writers ({writers})",
            tallies,
            pace,
            kills,
            bars,
            *(["errors:", *results.errors] if results.errors else []),
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the soak, print the tables, write the JSON; 1 on a failed bar with --strict."""

    def options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--seconds",
            type=float,
            default=None,
            help=f"three writers for this long (default {FULL.seconds:.0f})",
        )
        parser.add_argument(
            "--kill-cycles",
            type=int,
            default=None,
            help=f"processes killed with SIGKILL (default {FULL.kill_cycles})",
        )
        parser.add_argument(
            "--model",
            type=Path,
            default=None,
            help="a base model folder (default: train a tiny one, seconds)",
        )

    def configure(settings: Settings, args: argparse.Namespace) -> Settings:
        given = {name: getattr(args, name) for name in ("seconds", "kill_cycles", "model")}
        return replace(settings, **{k: v for k, v in given.items() if v is not None})

    return benchmark_main(
        argv,
        prog="python -m benchmarks.bench_soak",
        doc=__doc__,
        quick_help="10 s of writers and 2 kill cycles, for CI and tests",
        run=run,
        report=report,
        full=FULL,
        quick=QUICK,
        results_path=RESULTS_PATH,
        options=options,
        configure=configure,
    )


if __name__ == "__main__":
    sys.exit(main())
