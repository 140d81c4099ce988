"""Searcher benchmarks: query latency at 100 to 10,000 skills, embedding cost, calibration.

Every latency is compared with a baseline measured in the same run (the machine is shared and
noisy, so only ratios within one run mean much). Run from the repository root::

    python -m benchmarks.bench_searcher            # full run, about half a minute
    python -m benchmarks.bench_searcher --quick    # fewer repeats, for CI and tests

Libraries of 100, 1,000 and 10,000 skills are the 13 seed skills (embedded by the model) plus
synthetic skills whose vectors are random unit vectors put in the embedding cache: the search
cost depends only on the matrix size, and no one should wait for 10,000 embeddings. The query
vectors are real embeddings of the labelled sub-goals in ``tests/fixtures/searcher_queries.json``.
The results are printed as a table and written to ``benchmarks/results/bench_searcher.json``.
"""

from __future__ import annotations

import itertools
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from benchmarks.common import Bar, benchmark_main, format_table
from robolearn.calls import parse_call
from robolearn.skills.calibration import (
    Calibration,
    calibrate,
    cross_validate,
    evaluate,
    read_labelled_queries,
    score_queries,
)
from robolearn.skills.composite import CompositeSkill
from robolearn.skills.embeddings import Embedder, EmbeddingCache
from robolearn.skills.library import SkillLibrary
from robolearn.skills.params import Param
from robolearn.skills.searcher import TAU_NEW, TAU_REUSE, Searcher, skill_text

ROOT = Path(__file__).resolve().parents[1]
RESULTS_PATH = ROOT / "benchmarks" / "results" / "bench_searcher.json"
QUERIES_PATH = ROOT / "tests" / "fixtures" / "searcher_queries.json"
SIZES = (100, 1_000, 10_000)
K = 5
SEED = 0
"""Seed of the synthetic skills' random vectors."""

MAX_SEARCH_MS_10K = 1.0
MIN_REUSE_PRECISION = 0.9


@dataclass(frozen=True)
class Settings:
    """How much work each benchmark does."""

    search_queries: int
    """Timed ``search_vector`` calls per library size."""
    loop_queries: int
    """Timed calls of the Python-loop baseline per library size (it is slow at 10k)."""
    embed_queries: int
    """Queries embedded one at a time (and once as one batch, the baseline)."""
    full_searches: int
    """Timed ``search`` calls (embedding included) on the 10k library."""


FULL = Settings(search_queries=2_000, loop_queries=100, embed_queries=95, full_searches=40)
QUICK = Settings(search_queries=200, loop_queries=10, embed_queries=20, full_searches=5)


# ----- results ------------------------------------------------------------------------------
@dataclass
class Latency:
    """Milliseconds per call: median and 95th percentile over ``calls``."""

    calls: int
    median_ms: float
    p95_ms: float


def _latency(seconds: Sequence[float]) -> Latency:
    ms = np.asarray(seconds) * 1000.0
    return Latency(len(ms), float(np.median(ms)), float(np.percentile(ms, 95)))


@dataclass
class SearchScale:
    """``search_vector`` on a library of ``skills`` skills against a Python loop over it."""

    skills: int
    synthetic: int
    """How many of the skills are synthetic (random unit vectors)."""
    index_build_ms: float
    """Building the Searcher with every vector already cached (hashing, lookup, stacking)."""
    search: Latency
    """``search_vector(v, k)`` as callers use it: with the check that the library is unchanged."""
    loop: Latency
    """Baseline: one ``np.dot`` per skill in a Python loop, then sorted, on the same matrix."""

    @property
    def ratio(self) -> float:
        """Median search time as a fraction of the loop's."""
        return self.search.median_ms / self.loop.median_ms


@dataclass
class ModelCost:
    """What the embedding model costs: cold start, one query, batched queries."""

    embedder_id: str
    import_s: float
    """Importing torch and transformers, the first time in this process."""
    load_s: float
    """Loading the tokenizer and weights (after the imports)."""
    first_query_ms: float
    one_query: Latency
    batched_per_query_ms: float
    """Baseline: the same queries embedded in one call, per query."""
    full_search_10k: Latency
    """``search(text)`` on the 10k library: embedding plus search."""
    warm_cache_searcher_ms: float
    """A Searcher over the seed library whose vectors are on disk: no model needed."""


@dataclass
class Results:
    """Everything one run measured."""

    quick: bool
    model: ModelCost
    scales: list[SearchScale]
    calibration: Calibration
    """The figures at the default thresholds (TAU_REUSE, TAU_NEW)."""
    recalibrated: Calibration
    """What calibrate() chooses on the same queries now."""
    held_out: Calibration
    """cross_validate(5 folds): the figures on queries the thresholds were not fitted to."""
    bars: list[Bar] = field(default_factory=list)
    wall_seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        """The JSON-ready results, derived figures included."""
        data = asdict(self)
        for row, scale in zip(data["scales"], self.scales, strict=True):
            row["ratio"] = scale.ratio
        for row, bar in zip(data["bars"], self.bars, strict=True):
            row["passed"] = bar.passed
        data["synthetic_note"] = "synthetic skills have random unit vectors, not embeddings"
        data["python"] = platform.python_version()
        data["machine"] = platform.machine()
        return data


# ----- measuring ----------------------------------------------------------------------------
def _timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def synthetic_library(seed: SkillLibrary, total: int) -> SkillLibrary:
    """The seed library plus synthetic one-step composites up to ``total`` skills."""
    extra = total - len(seed.names())
    step = (parse_call("pick(obj)"),)
    synthetic = [
        CompositeSkill(
            f"synthetic_{i:05d}", f"synthetic skill number {i}", (Param("obj", "block"),), step, ()
        )
        for i in range(extra)
    ]
    return SkillLibrary([*seed.composites.values(), *synthetic])


def _loop_search(matrix: np.ndarray, vector: np.ndarray, k: int) -> list[int]:
    """The baseline: a dot product per skill in Python, then a sort."""
    scores = [float(np.dot(row, vector)) for row in matrix]
    return sorted(range(len(scores)), key=scores.__getitem__, reverse=True)[:k]


def measure_scale(
    size: int, embedder: Embedder, cache: EmbeddingCache, queries: np.ndarray, settings: Settings
) -> SearchScale:
    """Build a ``size``-skill Searcher over cached vectors and time queries on it."""
    library = synthetic_library(SkillLibrary.seed(), size)
    texts = [
        skill_text(library.get(name)) for name in library.names() if name.startswith("synthetic_")
    ]
    rng = np.random.default_rng(SEED)
    vectors = rng.standard_normal((len(texts), queries.shape[1])).astype(np.float32)
    cache.put(embedder.embedder_id, texts, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
    searcher: Searcher | None = None

    def build() -> None:
        nonlocal searcher
        searcher = Searcher(library, embedder, cache)

    build_s = _timed(build)
    assert searcher is not None
    for vector in queries[:20]:  # warm-up
        searcher.search_vector(vector, K)
    vectors = list(itertools.islice(itertools.cycle(queries), settings.search_queries))
    search = [_timed(partial(searcher.search_vector, vector, K)) for vector in vectors]
    loop = [
        _timed(partial(_loop_search, searcher.matrix, vector, K))
        for vector in vectors[: settings.loop_queries]
    ]
    return SearchScale(
        skills=len(searcher),
        synthetic=len(texts),
        index_build_ms=1000 * build_s,
        search=_latency(search),
        loop=_latency(loop),
    )


def run(settings: Settings, quick: bool, log: Callable[[str], None] = print) -> Results:
    """Run every benchmark once and collect the results."""
    start = time.perf_counter()
    log("model cold start ...")
    import_s = _timed(lambda: (__import__("torch"), __import__("transformers")))
    embedder = Embedder()
    load_s = _timed(embedder.load)
    labelled = read_labelled_queries(QUERIES_PATH)
    texts = [q.text for q in labelled]
    first_s = _timed(lambda: embedder.embed(texts[:1]))
    log("embedding latency ...")
    sample = list(itertools.islice(itertools.cycle(texts), settings.embed_queries))
    one = [_timed(lambda t=text: embedder.embed([t])) for text in sample]
    batched_s = _timed(lambda: embedder.embed(sample))
    query_vectors = embedder.embed(texts)

    log("calibration ...")
    seed_searcher = Searcher(SkillLibrary.seed(), embedder)
    scored = score_queries(seed_searcher, labelled, K)
    with tempfile.TemporaryDirectory() as folder:
        Searcher(SkillLibrary.seed(), embedder, EmbeddingCache(Path(folder)))
        warm_s = _timed(
            lambda: Searcher(
                SkillLibrary.seed(), _NoModel(embedder.embedder_id), EmbeddingCache(Path(folder))
            )
        )

    cache = EmbeddingCache()
    seed = SkillLibrary.seed()
    cache.vectors([skill_text(seed.get(name)) for name in seed.names()], embedder)
    scales = []
    for size in SIZES:
        log(f"search at {size:,} skills ...")
        scales.append(measure_scale(size, embedder, cache, query_vectors, settings))
    largest = Searcher(synthetic_library(SkillLibrary.seed(), SIZES[-1]), embedder, cache)
    full = [
        _timed(lambda t=text: largest.search(t, K))
        for text in itertools.islice(itertools.cycle(texts), settings.full_searches)
    ]

    model = ModelCost(
        embedder_id=embedder.embedder_id,
        import_s=import_s,
        load_s=load_s,
        first_query_ms=1000 * first_s,
        one_query=_latency(one),
        batched_per_query_ms=1000 * batched_s / len(sample),
        full_search_10k=_latency(full),
        warm_cache_searcher_ms=1000 * warm_s,
    )
    results = Results(
        quick=quick,
        model=model,
        scales=scales,
        calibration=evaluate(scored, TAU_REUSE, TAU_NEW),
        recalibrated=calibrate(scored),
        held_out=cross_validate(scored, folds=5),
    )
    results.bars = bars_for(results)
    results.wall_seconds = time.perf_counter() - start
    return results


class _NoModel:
    """An embedder that must not be called: proves a warm cache needs no model."""

    def __init__(self, embedder_id: str) -> None:
        self.embedder_id = embedder_id

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Refuse: every vector should have come from the cache."""
        raise AssertionError(f"the warm cache missed {len(texts)} texts")


def bars_for(results: Results) -> list[Bar]:
    """The pass/fail thresholds the Searcher must meet."""
    largest = results.scales[-1]
    return [
        Bar(
            f"search_vector median, {largest.skills:,} skills",
            largest.search.median_ms,
            MAX_SEARCH_MS_10K,
            at_least=False,
            unit="ms",
        ),
        Bar(
            "reuse precision at the default taus",
            results.calibration.of("reuse").precision,
            MIN_REUSE_PRECISION,
            at_least=True,
        ),
    ]


# ----- reporting ----------------------------------------------------------------------------
def _calibration_rows(label: str, calibration: Calibration) -> list[list[str]]:
    rows = []
    for stats in calibration.stats:
        rows.append(
            [
                f"{label}: {stats.decision}",
                str(stats.count),
                f"{stats.right}/{stats.count}",
                f"{stats.precision:.2f}",
                f"{stats.recall:.2f}",
            ]
        )
    return rows


def report(results: Results) -> str:
    """The tables a person reads: latency with baselines, model cost, calibration, bars."""
    scale_rows = []
    for s in results.scales:
        scale_rows += [
            [
                f"search_vector, {s.skills:,} skills ({s.synthetic:,} synthetic)",
                f"{s.search.median_ms:.3f} / {s.search.p95_ms:.3f} ms",
                f"python loop {s.loop.median_ms:.2f} / {s.loop.p95_ms:.2f} ms",
                f"{s.ratio:.4f} (1/{1 / s.ratio:,.0f})",
                f"index build {s.index_build_ms:.1f} ms",
            ]
        ]
    m = results.model
    model_rows = [
        [
            "embed one query",
            f"{m.one_query.median_ms:.1f} / {m.one_query.p95_ms:.1f} ms",
            f"batch of {m.one_query.calls}: {m.batched_per_query_ms:.1f} ms/query",
            f"{m.one_query.median_ms / m.batched_per_query_ms:.2f}",
            "",
        ],
        [
            "search(text), 10,000 skills",
            f"{m.full_search_10k.median_ms:.1f} / {m.full_search_10k.p95_ms:.1f} ms",
            "",
            "",
            "embedding + search",
        ],
        ["cold start: import torch + transformers", f"{m.import_s:.2f} s", "", "", ""],
        [
            "cold start: load tokenizer + weights",
            f"{m.load_s:.2f} s",
            "",
            "",
            f"first query {m.first_query_ms:.0f} ms",
        ],
        [
            "Searcher over a warm disk cache (seed)",
            f"{m.warm_cache_searcher_ms:.1f} ms",
            f"cold start {m.import_s + m.load_s:.2f} s",
            f"{m.warm_cache_searcher_ms / 1000 / (m.import_s + m.load_s):.4f}",
            "no model loaded",
        ],
    ]
    table = format_table(
        ["benchmark", "median / p95", "baseline (this run)", "ratio", "detail"],
        scale_rows + model_rows,
    )
    note = (
        "ratio = measured / baseline (medians); synthetic skills have random unit vectors, "
        "not embeddings; query vectors are real"
    )
    c, r, h = results.calibration, results.recalibrated, results.held_out
    calib = format_table(
        ["decision", "queries", "right", "precision", "recall"],
        _calibration_rows(f"defaults {c.tau_reuse:.2f}/{c.tau_new:.2f}", c)
        + _calibration_rows(f"held out (5-fold, mean taus {h.tau_reuse:.2f}/{h.tau_new:.2f})", h),
    )
    calib_note = (
        f"{c.queries} labelled queries ({c.in_library} in-library, {c.out_of_library} "
        f"out-of-library), k = {c.k}; top-1 accuracy {c.top1_accuracy:.2f}, top-{c.k} "
        f"recall {c.top_k_recall:.2f}; calibrate() now chooses tau_reuse "
        f"{r.tau_reuse:.3f}, tau_new {r.tau_new:.3f}\n"
        "right: reuse = top-1 is the labelled skill; adapt = it is in the top-k; "
        "new = no skill does the query.\nrecall: of in-library queries (reuse, adapt) "
        "or of out-of-library ones (new)"
    )
    bars = format_table(
        ["bar", "measured", "required", "result"], [bar.row() for bar in results.bars]
    )
    mode = "quick" if results.quick else "full"
    return (
        f"{table}\n{note}\n\n{calib}\n{calib_note}\n\n{bars}\n\n{mode} run, "
        f"{results.wall_seconds:.1f} s wall, one process, embedder {m.embedder_id}, "
        f"Python {platform.python_version()}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks, print the tables, write the JSON; 1 on a failed bar with --strict."""
    return benchmark_main(
        argv,
        prog="python -m benchmarks.bench_searcher",
        doc=__doc__,
        quick_help="fewer repeats, for CI and tests",
        run=run,
        report=report,
        full=FULL,
        quick=QUICK,
        results_path=RESULTS_PATH,
    )


if __name__ == "__main__":
    sys.exit(main())
