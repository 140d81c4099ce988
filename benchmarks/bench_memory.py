"""Correction memory benchmark: recall in other words, in held-out scenes, and false recalls.

Run from the repository root::

    python -m benchmarks.bench_memory            # 5 corrections of each new family, ~5 min
    python -m benchmarks.bench_memory --quick    # 1 correction of two families, for CI

Each family the default model never saw gets corrections in its own words on training scenes
(even seeds): an episode planned with only the oracle's first step fails, and the simulated
corrector puts the oracle plan, re-run in simulation. Then two memories over the same store
are asked about held-out scenes (odd seeds):

* *before*: exact and recoloured recall only (the memory as it was before recall by meaning);
* *after*: the same, then recall by meaning (``robolearn/learn/memory.py``).

The questions are the hand-written paraphrases (``tests/fixtures/paraphrases*.json``: other
words, never used for calibration or training) and every family's own words on held-out seeds.
A recall of a corrected family's question counts as *recalled*, and its plan is run in
simulation (*succeeded*); a recall of a correction of another family is a *false recall* (a
recalled plan applied to a different task). Results go to ``benchmarks/results/bench_memory.json``.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from benchmarks.common import Bar, benchmark_main, format_table
from robolearn.agent import run_episode
from robolearn.calls import Call
from robolearn.correction import CorrectionAPI
from robolearn.learn.corrector import SimulatedCorrector
from robolearn.learn.memory import CorrectionMemory
from robolearn.planner.compare import read_paraphrases
from robolearn.rollout import RunRecorder
from robolearn.skills.library import SkillLibrary
from robolearn.store import Store
from robolearn.tasks.env import TabletopEnv
from robolearn.tasks.sampler import TaskInstance, sample_task
from robolearn.tasks.spec import load_families

Settings = TypeVar("Settings")

ROOT = Path(__file__).resolve().parents[1]
RESULTS_PATH = ROOT / "benchmarks" / "results" / "bench_memory.json"
MAX_FALSE_RECALL_RATE = 0.02
MEMORIES = ("before", "after")


@dataclass(frozen=True)
class MemoryBenchConfig:
    """What to correct and what to ask."""

    corrections: int = 5
    """Corrections of each family (its even seeds 0, 2, ...)."""
    families: tuple[str, ...] = ()
    """The families corrected; empty: every family the default model never saw."""
    heldout: int = 10
    """Held-out scenes in a family's own words asked of each family (odd seeds 1, 3, ...)."""
    paraphrase_files: tuple[Path, ...] = ()
    """Other words; empty: every ``tests/fixtures/paraphrases*.json``."""


QUICK = MemoryBenchConfig(
    corrections=1,
    families=("move_stack", "two_towers"),
    heldout=1,
    paraphrase_files=(ROOT / "tests/fixtures/paraphrases_move_stack_two_towers.json",),
)


@dataclass(frozen=True)
class Question:
    """An instruction asked in a family's held-out scene."""

    words: str
    """``own`` (the family's template) or ``other`` (a hand-written paraphrase)."""
    family: str
    seed: int
    instruction: str


@dataclass
class Tally:
    """One memory on one kind of question of one family."""

    asked: int = 0
    recalled: int = 0
    succeeded: int = 0
    false: int = 0
    how: dict[str, int] = field(default_factory=dict)
    """Recalls by how they were made (exact, recoloured, meaning)."""


@dataclass
class MemoryBenchResults:
    """Everything the benchmark measured."""

    config: dict[str, object]
    python: str = platform.python_version()
    seconds: float = 0.0
    corrections: int = 0
    corrected: list[str] = field(default_factory=list)
    tallies: dict[str, dict[str, dict[str, Tally]]] = field(default_factory=dict)
    """Memory → words (own, other) → family → tally."""
    false_recalls: list[dict[str, object]] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)

    def total(self, memory: str, words: str, corrected: bool) -> Tally:
        """The tally over the corrected families (or over the others)."""
        total = Tally()
        for family, tally in self.tallies[memory][words].items():
            if (family in self.corrected) == corrected:
                for name in ("asked", "recalled", "succeeded", "false"):
                    setattr(total, name, getattr(total, name) + getattr(tally, name))
        return total

    def to_dict(self) -> dict[str, object]:
        """JSON-ready results."""
        return asdict(self)


def paraphrase_test_sets() -> tuple[Path, ...]:
    """The hand-written paraphrase test sets (development sets, ``*_dev*``, left out)."""
    found = sorted((ROOT / "tests/fixtures").glob("paraphrases*.json"))
    return tuple(p for p in found if "_dev" not in p.stem)


def questions(config: MemoryBenchConfig, families: Sequence[str]) -> list[Question]:
    """Every family's own words on held-out seeds, and every paraphrase."""
    every = load_families()
    asked = [
        Question("own", name, seed, sample_task(every[name], seed).instruction)
        for name in families
        for seed in range(1, 2 * config.heldout, 2)
    ]
    files = config.paraphrase_files or paraphrase_test_sets()
    for path in files:
        asked += [
            Question("other", p.family, p.seed, p.instruction) for p in read_paraphrases(path)
        ]
    return asked


class _FirstStep:
    """Plans only the oracle's first step: a wrong plan for the corrector to mend."""

    name = "first-step"

    def plan(self, task: TaskInstance) -> list[Call]:
        return list(task.oracle[:1])


class _Fixed:
    """Plans the plan it was given."""

    name = "recalled"

    def __init__(self, plan: list[Call]) -> None:
        self._plan = plan

    def plan(self, task: TaskInstance) -> list[Call]:
        return self._plan


def run(
    config: MemoryBenchConfig, quick: bool, log: Callable[[str], None] = print
) -> MemoryBenchResults:
    """Correct, ask both memories, run what they recall."""
    started = time.perf_counter()
    every = load_families()
    corrected = list(config.families) or [n for n, f in sorted(every.items()) if not f.bootstrap]
    results = MemoryBenchResults(config=json_config(asdict(config)), corrected=corrected)
    library = SkillLibrary.seed()
    envs: dict[str, TabletopEnv] = {}
    try:
        with tempfile.TemporaryDirectory() as folder, Store.open(Path(folder)) as store:
            api = CorrectionAPI(store, library)
            corrector = SimulatedCorrector(api)
            recorder = RunRecorder(store, store.start_run("first-step", 0), Path(folder))
            for name in corrected:
                env = envs.setdefault(name, TabletopEnv(name))
                for seed in range(0, 2 * config.corrections, 2):
                    episode = recorder.save(run_episode(env, _FirstStep(), seed, library=library))
                    results.corrections += corrector.correct(episode) is not None
            log(f"{results.corrections} corrections of {', '.join(corrected)}")
            memories = {
                "before": CorrectionMemory(store, by_meaning=False),
                "after": CorrectionMemory(store),
            }
            for memory in memories.values():
                memory.refresh()
            for question in questions(config, sorted(every)):
                task = sample_task(every[question.family], question.seed)
                for label, memory in memories.items():
                    _ask(results, label, memory, question, task, envs, library)
    finally:
        for env in envs.values():
            env.close()
    results.seconds = time.perf_counter() - started
    results.bars = _bars(results)
    return results


def _ask(
    results: MemoryBenchResults,
    label: str,
    memory: CorrectionMemory,
    question: Question,
    task: TaskInstance,
    envs: dict[str, TabletopEnv],
    library: SkillLibrary,
) -> None:
    by_family = results.tallies.setdefault(label, {}).setdefault(question.words, {})
    tally = by_family.setdefault(question.family, Tally())
    tally.asked += 1
    recall = memory.recall(question.instruction, task.objects)
    if recall is None:
        return
    if recall.source.lesson.family != question.family:
        tally.false += 1
        results.false_recalls.append(
            {"memory": label, **asdict(question), "recalled": recall.explain()}
        )
        return
    tally.recalled += 1
    tally.how[recall.how] = tally.how.get(recall.how, 0) + 1
    env = envs.setdefault(question.family, TabletopEnv(question.family))
    tally.succeeded += run_episode(env, _Fixed(recall.plan), question.seed, library=library).success


def _bars(results: MemoryBenchResults) -> list[Bar]:
    bars = []
    for words in ("other", "own"):
        others = results.total("after", words, corrected=False)
        mine = results.total("after", words, corrected=True)
        false = others.false + mine.false
        asked = others.asked + mine.asked
        bars.append(
            Bar(
                f"false recalls, {words} words (share of questions)",
                false / max(asked, 1),
                MAX_FALSE_RECALL_RATE,
                at_least=False,
            )
        )
    return bars


def report(results: MemoryBenchResults) -> str:
    """The tables and bars as text."""
    rows = []
    for words in ("other", "own"):
        for memory in MEMORIES:
            mine = results.total(memory, words, corrected=True)
            others = results.total(memory, words, corrected=False)
            rows.append(
                [
                    f"{words} words",
                    memory,
                    f"{mine.recalled}/{mine.asked}",
                    f"{mine.succeeded}/{mine.recalled}",
                    f"{mine.false + others.false}/{mine.asked + others.asked}",
                ]
            )
    table = format_table(
        [
            "questions",
            "memory",
            "recalled (corrected families)",
            "recalled plan succeeded",
            "false recalls (all questions)",
        ],
        rows,
    )
    per_family = defaultdict(list)
    for words in ("other", "own"):
        for family in results.corrected:
            for memory in MEMORIES:
                tally = results.tallies[memory][words].get(family, Tally())
                per_family[family].append(f"{tally.succeeded}/{tally.asked}")
    family_table = format_table(
        ["family", "other words: before", "after", "own words: before", "after"],
        [[f, *cells] for f, cells in per_family.items()],
    )
    bars = format_table(["bar", "measured", "required", ""], [b.row() for b in results.bars])
    lines = [
        f"{results.corrections} corrections; {results.seconds:.0f} s",
        table,
        "",
        "plans recalled that succeeded, of questions asked, per corrected family:",
        family_table,
        "",
        bars,
    ]
    lines += [f"false recall: {f}" for f in results.false_recalls]
    return "\n".join(lines)


def json_config(config: dict[str, object]) -> dict[str, object]:
    """The config as JSON can hold it (paths as text)."""
    return {k: [str(p) for p in v] if k == "paraphrase_files" else v for k, v in config.items()}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark as the module docstring says."""
    return benchmark_main(
        argv,
        prog="python -m benchmarks.bench_memory",
        doc=__doc__ or "",
        quick_help="one correction of two families, their paraphrases (for CI and tests)",
        run=run,
        report=report,
        full=MemoryBenchConfig(),
        quick=QUICK,
        results_path=RESULTS_PATH,
        options=paraphrase_options,
        configure=with_paraphrases,
    )


def paraphrase_options(parser: argparse.ArgumentParser) -> None:
    """``--paraphrases``: the benchmarks that ask paraphrase files (this one and the router's)."""
    parser.add_argument(
        "--paraphrases",
        type=Path,
        nargs="+",
        default=(),
        help="paraphrase files to ask (default: the test sets tests/fixtures/paraphrases*.json)",
    )


def with_paraphrases(settings: Settings, args: argparse.Namespace) -> Settings:
    """``settings`` asking the ``--paraphrases`` files, if any were given."""
    return (
        replace(settings, paraphrase_files=tuple(args.paraphrases))
        if args.paraphrases
        else settings
    )


if __name__ == "__main__":
    sys.exit(main())
