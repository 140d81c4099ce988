"""Router benchmark: base model or expert, chosen right in the families' own words and in other.

Run from the repository root::

    python -m benchmarks.bench_router            # about a minute (loads the embedding model)
    python -m benchmarks.bench_router --quick    # fewer scenes, for CI and tests

The base model knows the bootstrap families in their own words; each family the default model
never saw gets an expert, known by its own words on training scenes (even seeds), added one at
a time in the order of the stream. The questions are every family's own words on held-out
scenes (odd seeds) and the hand-written paraphrases (``tests/fixtures/paraphrases*.json``,
other words). A question is routed right when it goes to its family's expert, or to the base
model for a bootstrap family (or a family whose expert is not there yet). The same is measured
with the scene bonus off (the words alone) to show what the scene adds. Results go to
``benchmarks/results/bench_router.json``.
"""

from __future__ import annotations

import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.bench_memory import (
    json_config,
    paraphrase_options,
    paraphrase_test_sets,
    with_paraphrases,
)
from benchmarks.common import Bar, benchmark_main, format_table
from robolearn.learn.meaning import Meaning
from robolearn.learn.router import BASE, Expert, Router, family_scenes
from robolearn.planner.compare import read_paraphrases
from robolearn.tasks.sampler import sample_task
from robolearn.tasks.spec import load_families

ROOT = Path(__file__).resolve().parents[1]
RESULTS_PATH = ROOT / "benchmarks" / "results" / "bench_router.json"
MIN_ACCURACY = 0.95
STREAM = ("put_between", "clear_table", "flip_stack", "swap_blocks", "move_stack", "two_towers")
"""The new families in the order they arrive."""


@dataclass(frozen=True)
class RouterBenchConfig:
    """How many scenes to train experts on and to ask about."""

    training: int = 20
    """Training scenes of each expert (even seeds 0, 2, ...), every template on each."""
    heldout: int = 20
    """Held-out scenes asked in own words (odd seeds 1, 3, ...) of each family."""
    paraphrase_files: tuple[Path, ...] = ()
    """Other words; empty: the test sets ``tests/fixtures/paraphrases*.json``."""


QUICK = RouterBenchConfig(
    training=1,
    heldout=1,
    paraphrase_files=(ROOT / "tests/fixtures/paraphrases_move_stack_two_towers.json",),
)


@dataclass
class RouterBenchResults:
    """Everything the benchmark measured."""

    config: dict[str, object]
    python: str = platform.python_version()
    seconds: float = 0.0
    route_ms: float = 0.0
    """Median time of one route of an instruction not seen before (grounding, one embedding,
    nearest prototypes)."""
    accuracy: dict[str, dict[str, float]] = field(default_factory=dict)
    """Condition (``scene`` or ``words alone``) → words (own, other) → share routed right."""
    per_family: dict[str, dict[str, str]] = field(default_factory=dict)
    """Family → words → right/asked, with every expert."""
    stream: list[dict[str, object]] = field(default_factory=list)
    """After each expert joins: its name and the share of all questions routed right."""
    wrong: list[dict[str, str]] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready results."""
        return asdict(self)


def run(
    config: RouterBenchConfig, quick: bool, log: Callable[[str], None] = print
) -> RouterBenchResults:
    """Build the router expert by expert and ask it every question."""
    started = time.perf_counter()
    families = load_families()
    meaning = Meaning()
    results = RouterBenchResults(config=json_config(asdict(config)))
    questions = [
        ("own", name, seed, sample_task(family, seed).instruction)
        for name, family in sorted(families.items())
        for seed in range(1, 2 * config.heldout, 2)
    ]
    for path in config.paraphrase_files or paraphrase_test_sets():
        questions += [("other", p.family, p.seed, p.instruction) for p in read_paraphrases(path)]
    scenes = {(f, s): sample_task(families[f], s).objects for _, f, s, _ in questions}
    router = Router.for_families([f for f in families.values() if f.bootstrap], meaning)
    timings: list[float] = []
    for expert in STREAM:
        training = family_scenes(families[expert], range(0, 2 * config.training, 2))
        router.add_expert(Expert(expert), training, meaning)
        right = 0
        for _, family, seed, text in questions:
            begun = time.perf_counter()
            route = router.route(text, scenes[(family, seed)], meaning)
            if expert == STREAM[0]:  # each instruction's first route embeds it
                timings.append(time.perf_counter() - begun)
            right += _truth(families, family, router) == route.expert
        results.stream.append({"expert": expert, "right": right, "asked": len(questions)})
        log(f"with {expert}: {right}/{len(questions)} routed right")
    for condition, bonus in (("scene", router.scene_bonus), ("words alone", 0.0)):
        scored = Router(
            router.prototypes, router.experts.values(), router.embedder_id, router.threshold, bonus
        )
        tallies: dict[str, list[int]] = {}
        for words, family, seed, text in questions:
            route = scored.route(text, scenes[(family, seed)], meaning)
            truth = _truth(families, family, scored)
            tally = tallies.setdefault(words, [0, 0])
            tally[0] += route.expert == truth
            tally[1] += 1
            if condition == "scene":
                cell = results.per_family.setdefault(family, {}).setdefault(words, "0/0")
                good, asked = map(int, cell.split("/"))
                results.per_family[family][words] = f"{good + (route.expert == truth)}/{asked + 1}"
                if route.expert != truth:
                    results.wrong.append(
                        {"family": family, "instruction": text, "routed": route.explain()}
                    )
        results.accuracy[condition] = {w: right / asked for w, (right, asked) in tallies.items()}
    results.route_ms = 1000 * statistics.median(timings)
    results.seconds = time.perf_counter() - started
    results.bars = [
        Bar(f"routed right, {words} words", results.accuracy["scene"][words], MIN_ACCURACY, True)
        for words in ("own", "other")
    ]
    return results


def _truth(families: dict, family: str, router: Router) -> str | None:
    """The right choice: the family's expert if the router has it, else the base model."""
    return family if not families[family].bootstrap and family in router.experts else None


def report(results: RouterBenchResults) -> str:
    """The tables and bars as text."""
    accuracy = format_table(
        ["condition", "own words", "other words"],
        [[c, f"{a['own']:.1%}", f"{a.get('other', 0):.1%}"] for c, a in results.accuracy.items()],
    )
    stream = format_table(
        ["expert added", "routed right (all questions)"],
        [[s["expert"], f"{s['right']}/{s['asked']}"] for s in results.stream],
    )
    per_family = format_table(
        ["family", "own words", "other words", "right choice"],
        [
            [f, cells.get("own", "-"), cells.get("other", "-"), f if f in STREAM else BASE]
            for f, cells in sorted(results.per_family.items())
        ],
    )
    bars = format_table(["bar", "measured", "required", ""], [b.row() for b in results.bars])
    lines = [
        f"median route {results.route_ms:.0f} ms; {results.seconds:.0f} s",
        accuracy,
        "",
        stream,
        "",
        per_family,
        "",
        bars,
    ]
    lines += [f"wrong: {w}" for w in results.wrong]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark as the module docstring says."""
    return benchmark_main(
        argv,
        prog="python -m benchmarks.bench_router",
        doc=__doc__ or "",
        quick_help="fewer scenes (for CI and tests)",
        run=run,
        report=report,
        full=RouterBenchConfig(),
        quick=QUICK,
        results_path=RESULTS_PATH,
        options=paraphrase_options,
        configure=with_paraphrases,
    )


if __name__ == "__main__":
    sys.exit(main())
