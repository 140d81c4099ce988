"""The planner benchmark: models side by side on held-out scenes and phrasings no template made.

``robolearn bench planners`` and ``python -m benchmarks.bench_planners`` run this. Each model
plans every scene; its plan is checked against the right one (exact match, after composite
skills are expanded into the atomic calls they stand for) and run in simulation (execution
success, the measure that counts: sorting may take the blocks in any order). The oracle runs
the same scenes, so a scene the skills cannot do is visible as such. Three sets:

- ``held-out``: 10 scenes per bootstrap family (odd seeds), in the family's own phrasing;
- ``paraphrases``: ``tests/fixtures/paraphrases.json``, hand-written for held-out scenes of the
  bootstrap families, none a rendering of any template;
- ``new-families``: ``tests/fixtures/paraphrases_new_families.json``, the same for the four
  families a model learns from corrections (the default model has never seen them).

Latency is the planner's alone, parsing included; every wrong plan gets a kind
(``failures.failure_kind``) and the most common kinds are listed, so a reader sees what fails.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from robolearn.calls import Call
from robolearn.errors import UserError
from robolearn.paths import PARAPHRASE_FILES, paraphrases_path
from robolearn.planner import DEFAULT_MODEL, PlanningError
from robolearn.planner.bootstrap import bootstrap_families
from robolearn.planner.failures import failure_kind, most_common
from robolearn.planner.identity import model_identity
from robolearn.planner.lm import LMPlanner
from robolearn.planner.paraphrases import Scene, read_paraphrases
from robolearn.skills.executor import PlanValidationError, execute_plan, validate_plan
from robolearn.skills.library import SkillLibrary
from robolearn.tables import format_table
from robolearn.tasks.env import TabletopEnv
from robolearn.tasks.sampler import sample_task
from robolearn.tasks.seeds import heldout_seeds
from robolearn.tasks.spec import TaskFamily, load_families

SETS = ("held-out", "paraphrases", "new-families")
BATCH = 16
"""Plans a batch, for the latency per plan in a batch (a planner with ``plan_many``)."""
"""The scene sets, in report order; the last two come from ``PARAPHRASE_FILES``."""


@dataclass(frozen=True)
class Target:
    """What issue 13 asks of a model in this benchmark."""

    paraphrases: float
    """Execution success on ``paraphrases`` at least."""
    heldout: float | None
    """Execution success on ``held-out`` at least (None: no target)."""
    median_ms: float
    """Median plan latency at most, with ``threads`` torch threads."""
    threads: int


TARGETS = {
    DEFAULT_MODEL: Target(paraphrases=0.85, heldout=0.95, median_ms=100, threads=1),
    "smollm2": Target(paraphrases=0.85, heldout=None, median_ms=1000, threads=2),
}
"""The targets by model name; a model named here plans with its target's thread count."""


@dataclass(frozen=True)
class CompareConfig:
    """What ``robolearn bench planners`` measures."""

    per_family: int = 10
    """Held-out scenes per family (odd seeds 1, 3, ...: the default model trains on even)."""
    paraphrases_per_family: int | None = None
    """Paraphrases per family from each file; None: all of them."""
    threads: int = 1
    """CPU threads per model (torch), for a model without a ``Target``."""

    def __post_init__(self) -> None:
        if self.per_family < 0:
            raise ValueError(f"per_family must be 0 or more, got {self.per_family}")
        if self.paraphrases_per_family is not None and self.paraphrases_per_family < 0:
            raise ValueError(
                f"paraphrases_per_family must be 0 or more, got {self.paraphrases_per_family}"
            )
        if self.threads < 1:
            raise ValueError(f"threads must be at least 1, got {self.threads}")


@dataclass
class Tally:
    """One planner on one set of scenes of one family."""

    scenes: int = 0
    exact: int = 0
    successes: int = 0
    parse_failures: int = 0
    """Plans the parser refused (0 under constrained decoding)."""
    invalid: int = 0
    """Plans that parsed but failed validation in the scene."""

    def add(self, other: Tally) -> None:
        """Count ``other``'s scenes in too."""
        for name in ("scenes", "exact", "successes", "parse_failures", "invalid"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class ModelResult:
    """Everything measured of one planner."""

    name: str
    folder: str = ""
    identity: str = ""
    threads: int = 1
    prepare_seconds: float = 0.0
    """Getting the folder ready (a conversion, a cache check, a bootstrap)."""
    load_seconds: float = 0.0
    batch_ms: float | None = None
    """Every scene planned again, ``BATCH`` at a time: ms per plan (None: the planner cannot
    plan many at once)."""
    tallies: dict[str, dict[str, Tally]] = field(default_factory=dict)
    """Set name → family → tally."""
    plans: list[dict[str, object]] = field(default_factory=list)
    """Every scene's plan and outcome (set, family, seed, instruction, plan, exact, success,
    failure, error, latency_ms), to see which instructions a model gets wrong."""

    def total(self, set_name: str) -> Tally:
        """The set's tally over every family."""
        total = Tally()
        for tally in self.tallies.get(set_name, {}).values():
            total.add(tally)
        return total

    def latency(self, set_name: str | None = None) -> dict[str, float]:
        """Median and 95th percentile plan latency over a set (None: all), ms; 0 for the oracle."""
        values = sorted(
            float(p["latency_ms"])
            for p in self.plans
            if set_name in (None, p["set"]) and "latency_ms" in p
        )
        if not values:
            return {"median": 0.0, "p95": 0.0}
        return {"median": statistics.median(values), "p95": values[int(0.95 * (len(values) - 1))]}

    def success(self, set_name: str) -> float:
        """Execution success over a set."""
        total = self.total(set_name)
        return total.successes / total.scenes if total.scenes else 0.0

    def failures(self, n: int = 10) -> list[tuple[str, int]]:
        """The ``n`` most common kinds of failure, ``family: kind``, with their counts."""
        return most_common(
            ((str(p["family"]), str(p["failure"])) for p in self.plans if p["failure"]), n
        )


@dataclass
class Comparison:
    """The models' results, the oracle's, and the models that could not run."""

    results: list[ModelResult]
    oracle: ModelResult
    skipped: dict[str, str] = field(default_factory=dict)
    """Model name → why it was not run (a missing extra, say)."""

    def to_dict(self) -> dict[str, object]:
        """The JSON-ready results."""

        def one(result: ModelResult) -> dict[str, object]:
            data = asdict(result)
            data["summary"] = {
                s: asdict(result.total(s))
                | {"success": result.success(s), "latency_ms": result.latency(s)}
                for s in SETS
                if result.total(s).scenes
            }
            data["latency_ms"] = result.latency()
            data["failure_kinds"] = result.failures()
            return data

        return {
            "models": [one(r) for r in self.results],
            "oracle": one(self.oracle),
            "skipped": self.skipped,
            "bars": [list(bar) for bar in self.bars()],
        }

    def bars(self) -> list[tuple[str, str, str, bool]]:
        """(what, measured, required, passed) for the issue's targets."""
        bars = []
        for r in self.results:
            parse_failures = sum(r.total(s).parse_failures for s in SETS)
            bars.append((f"{r.name}: parse failures", str(parse_failures), "0", not parse_failures))
            target = TARGETS.get(r.name)
            if target is None:
                continue
            wanted = [("paraphrases", target.paraphrases), ("held-out", target.heldout)]
            for set_name, least in wanted:
                if least is not None and r.total(set_name).scenes:
                    got = r.success(set_name)
                    bars.append(
                        (
                            f"{r.name}: success, {set_name}",
                            f"{got:.0%}",
                            f">= {least:.0%}",
                            got >= least,
                        )
                    )
            median = r.latency()["median"]
            bars.append(
                (
                    f"{r.name}: median plan, {r.threads} thread(s)",
                    f"{median:,.0f} ms",
                    f"<= {target.median_ms:,.0f} ms",
                    median <= target.median_ms,
                )
            )
        return bars

    def summary(self) -> str:
        """One row per model and scene set: exact match, success, parse failures, latency."""
        rows = []
        for result in [*self.results, self.oracle]:
            for set_name in SETS:
                total = result.total(set_name)
                if not total.scenes:
                    continue
                latency = result.latency(set_name) if result is not self.oracle else None
                rows.append(
                    [
                        result.name,
                        set_name,
                        str(total.scenes),
                        f"{total.exact}/{total.scenes}",
                        f"{total.successes}/{total.scenes} ({result.success(set_name):.0%})",
                        str(total.parse_failures),
                        f"{latency['median']:,.0f} / {latency['p95']:,.0f} ms" if latency else "-",
                    ]
                )
        header = ["model", "scenes", "n", "exact match", "success", "parse failures"]
        return format_table([*header, "plan latency median / p95"], rows)

    def report(self) -> str:
        """The tables a person reads."""
        everyone = [*self.results, self.oracle]
        sets = [s for s in SETS if self.oracle.total(s).scenes]
        families = sorted({f for r in everyone for t in r.tallies.values() for f in t})
        per_family = format_table(
            ["family"] + [f"{r.name} {s}" for r in everyone for s in sets],
            [
                [family] + [_cell(r.tallies.get(s, {}).get(family)) for r in everyone for s in sets]
                for family in families
            ],
        )
        failures = format_table(
            ["model", "most common failures (family: kind)", "plans"],
            [[r.name, kind, str(count)] for r in self.results for kind, count in r.failures()],
        )
        models = [
            f"{r.name}: {r.folder} [{r.identity}], {r.threads} thread(s), ready in "
            f"{r.prepare_seconds:.1f} s, loaded in {r.load_seconds:.1f} s; plan latency over "
            f"every scene: median {r.latency()['median']:,.0f} ms, p95 {r.latency()['p95']:,.0f} "
            f"ms; in batches of {BATCH}: "
            + (f"{r.batch_ms:,.0f} ms a plan" if r.batch_ms is not None else "- (no plan_many)")
            for r in self.results
        ]
        models += [f"{name}: skipped ({why})" for name, why in self.skipped.items()]
        bars = format_table(
            ["target", "measured", "required", "result"],
            [[a, b, c, "PASS" if ok else "FAIL"] for a, b, c, ok in self.bars()],
        )
        return "\n\n".join(
            [self.summary(), "success per family\n" + per_family, failures, bars, "\n".join(models)]
        )


def _cell(tally: Tally | None) -> str:
    return f"{tally.successes}/{tally.scenes}" if tally else "-"


def shipped_paraphrases() -> dict[str, list[Scene]]:
    """The hand-written test sets robolearn ships, by set name (``paraphrases``, ...)."""
    return {
        name: read_paraphrases(paraphrases_path(file))
        for name, file in zip(SETS[1:], PARAPHRASE_FILES, strict=True)
    }


def scene_sets(
    config: CompareConfig,
    paraphrases: Mapping[str, Sequence[Scene]],
    families: Sequence[TaskFamily],
) -> dict[str, list[Scene]]:
    """The held-out scenes of ``families`` and each paraphrase set, as the config asks."""
    heldout = [
        Scene(f.name, seed, None) for f in families for seed in heldout_seeds(config.per_family)
    ]
    sets = {"held-out": heldout}
    for set_name, scenes in paraphrases.items():
        chosen: list[Scene] = []
        for name in sorted({s.family for s in scenes}):
            mine = [p for p in scenes if p.family == name]
            chosen += mine[: config.paraphrases_per_family]
        sets[set_name] = chosen
    return sets


def compare(
    models: dict[str, Callable[[], Path]],
    config: CompareConfig,
    paraphrases: Mapping[str, Sequence[Scene]] | None = None,
    library: SkillLibrary | None = None,
    log: Callable[[str], None] = print,
) -> Comparison:
    """Plan and run every scene with every model (``name → how to get its folder``).

    ``paraphrases`` maps a set name to its scenes (default: ``shipped_paraphrases()``).
    """
    library = library or SkillLibrary.seed()
    sets = scene_sets(
        config, shipped_paraphrases() if paraphrases is None else paraphrases, bootstrap_families()
    )
    oracle = ModelResult("oracle")
    _run(oracle, None, sets, library)
    results, skipped = [], {}
    for name, prepare in models.items():
        target = TARGETS.get(name)
        result = ModelResult(name, threads=target.threads if target else config.threads)
        start = time.perf_counter()
        try:
            folder = prepare()
        except (UserError, ImportError) as error:
            skipped[name] = str(error)
            log(f"{name}: skipped: {error}")
            continue
        result.prepare_seconds = time.perf_counter() - start
        result.folder, result.identity = str(folder), model_identity(folder)
        start = time.perf_counter()
        planner = LMPlanner(folder, library, threads=result.threads)
        result.load_seconds = time.perf_counter() - start
        log(f"{name}: planning {sum(map(len, sets.values()))} scenes")
        _run(result, planner, sets, library)
        result.batch_ms = _batch_ms(planner, sets)
        results.append(result)
    return Comparison(results, oracle, skipped)


def _run(
    result: ModelResult,
    planner: LMPlanner | None,
    sets: dict[str, list[Scene]],
    library: SkillLibrary,
) -> None:
    """Every scene of every set with one planner (None: the oracle), tallied into ``result``."""
    families = load_families()
    for set_name, scenes in sets.items():
        tallies = result.tallies.setdefault(set_name, {})
        for family_name, group in _by_family(scenes):
            env = TabletopEnv(families[family_name])
            try:
                for scene in group:
                    tally = tallies.setdefault(family_name, Tally())
                    outcome, record = _attempt(planner, env, scene, library)
                    tally.add(outcome)
                    result.plans.append({"set": set_name, **record})
            finally:
                env.close()


def _batch_ms(planner: LMPlanner, sets: dict[str, list[Scene]]) -> float | None:
    """Ms per plan when every scene is planned ``BATCH`` at a time; None without ``plan_many``.

    ``plan_many`` (batched decoding) is the planner's way to plan hundreds of scenes at once.
    """
    plan_many = getattr(planner, "plan_many", None)
    if plan_many is None:
        return None
    families = load_families()
    requests = []
    for scene in (s for scenes in sets.values() for s in scenes):
        task = sample_task(families[scene.family], scene.seed)
        requests.append((scene.instruction or task.instruction, task.objects))
    start = time.perf_counter()
    plan_many(requests, batch_size=BATCH)
    return 1000 * (time.perf_counter() - start) / max(len(requests), 1)


def _by_family(scenes: Sequence[Scene]) -> Iterator[tuple[str, list[Scene]]]:
    order: dict[str, list[Scene]] = {}
    for scene in scenes:
        order.setdefault(scene.family, []).append(scene)
    yield from order.items()


def _attempt(
    planner: LMPlanner | None, env: TabletopEnv, scene: Scene, library: SkillLibrary
) -> tuple[Tally, dict[str, object]]:
    """Plan one scene, compare the plan with the right one, run it: its tally and record."""
    env.reset(seed=scene.seed)
    task = env.task
    instruction = scene.instruction or task.instruction
    right = list(scene.plan) if scene.plan is not None else [str(c) for c in task.oracle]
    tally = Tally(scenes=1)
    record: dict[str, object] = {
        "family": scene.family,
        "seed": scene.seed,
        "instruction": instruction,
        "plan": [],
        "error": None,
    }
    plan: list[Call] = list(task.oracle)
    if planner is not None:
        start = time.perf_counter()
        try:
            plan = planner.plan_instruction(instruction, task.objects)
        except PlanningError as error:
            tally.parse_failures, record["error"] = 1, str(error)
            plan = []
        record["latency_ms"] = 1000 * (time.perf_counter() - start)
    record["plan"] = [str(c) for c in plan]
    atomic: list[str] | None = None
    if plan:
        try:
            atomic = [str(c) for calls in validate_plan(plan, env, library) for c in calls]
            tally.exact = int(atomic == right)
            execute_plan(env, plan, library=library)
        except PlanValidationError as error:
            tally.invalid, record["error"] = 1, f"invalid: {error}"
        tally.successes = int(task.succeeded(env.world))
    record.update(
        exact=bool(tally.exact),
        success=bool(tally.successes),
        failure=None if tally.successes else failure_kind(right, atomic, record["error"]),
    )
    return tally, record
