"""Planners side by side on the same scenes: held-out seeds, and paraphrases no template makes.

``robolearn bench planners`` and ``python -m benchmarks.bench_planners`` run this. Each model
plans every scene; its plan is checked against the oracle's (exact match, after composite
skills are expanded into the atomic calls they stand for) and run in simulation (execution
success, the measure that counts: sorting may take the blocks in any order). The oracle runs
the same scenes, so a scene the skills cannot do is visible as such. Latency is the planner's
alone, parsing included. The paraphrases (``tests/fixtures/paraphrases.json``) were written by
hand for held-out scenes; none is a rendering of any family's template.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from robolearn.calls import Call, parse_call
from robolearn.errors import UserError
from robolearn.planner import PlanningError
from robolearn.planner.bootstrap import bootstrap_families
from robolearn.planner.identity import model_identity
from robolearn.planner.lm import LMPlanner
from robolearn.skills.executor import PlanValidationError, execute_plan, validate_plan
from robolearn.skills.library import SkillLibrary
from robolearn.tables import format_table
from robolearn.tasks.env import TabletopEnv
from robolearn.tasks.seeds import heldout_seeds
from robolearn.tasks.spec import TaskFamily

SETS = ("held-out", "paraphrases")
MIN_GAIN = 0.20
"""How far a pretrained model's paraphrase success must beat the default model's (issue 7)."""


class ParaphraseFileError(UserError, ValueError):
    """A paraphrase file that cannot be used; says which entry and why."""


@dataclass(frozen=True)
class Scene:
    """One scene to plan: a family's seeded scene with an instruction and the right plan."""

    family: str
    seed: int
    instruction: str | None
    """What to ask; None: the family's own instruction for the seed."""
    plan: tuple[str, ...] | None = None
    """The right plan; None: the oracle's."""


@dataclass(frozen=True)
class CompareConfig:
    """What ``robolearn bench planners`` measures."""

    per_family: int = 10
    """Held-out scenes per family (odd seeds 1, 3, ...: the default model trains on even)."""
    paraphrases_per_family: int | None = None
    """Paraphrases per family from the file; None: all of them."""
    threads: int = 1
    """CPU threads per model (torch)."""

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
    prepare_seconds: float = 0.0
    """Getting the folder ready (a conversion, a cache check, a bootstrap)."""
    load_seconds: float = 0.0
    tallies: dict[str, dict[str, Tally]] = field(default_factory=dict)
    """Set name → family → tally."""
    plans: list[dict[str, object]] = field(default_factory=list)
    """Every scene's plan and outcome (set, family, seed, instruction, plan, exact, success,
    error, latency_ms), to see which instructions a model gets wrong."""

    def total(self, set_name: str) -> Tally:
        """The set's tally over every family."""
        total = Tally()
        for tally in self.tallies.get(set_name, {}).values():
            total.add(tally)
        return total

    def latency(self, set_name: str) -> dict[str, float]:
        """Median and 95th percentile of the plan latency over a set, ms (0 for the oracle)."""
        values = sorted(
            float(p["latency_ms"]) for p in self.plans if p["set"] == set_name and "latency_ms" in p
        )
        if not values:
            return {"median": 0.0, "p95": 0.0}
        return {"median": statistics.median(values), "p95": values[int(0.95 * (len(values) - 1))]}

    def success(self, set_name: str) -> float:
        """Execution success over a set."""
        total = self.total(set_name)
        return total.successes / total.scenes if total.scenes else 0.0


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
            }
            return data

        return {
            "models": [one(r) for r in self.results],
            "oracle": one(self.oracle),
            "skipped": self.skipped,
            "bars": [list(bar) for bar in self.bars()],
        }

    def bars(self) -> list[tuple[str, str, str, bool]]:
        """(what, measured, required, passed) for the issue's targets."""
        bars = [
            (
                f"{r.name}: parse failures",
                str(sum(r.total(s).parse_failures for s in SETS)),
                "0",
                all(r.total(s).parse_failures == 0 for s in SETS),
            )
            for r in self.results
        ]
        default = next((r for r in self.results if r.name == "default"), None)
        for result in self.results:
            if default is not None and result is not default:
                gain = result.success("paraphrases") - default.success("paraphrases")
                bars.append(
                    (
                        f"{result.name}: paraphrase success over default's",
                        f"{gain * 100:+.0f} points",
                        f">= +{MIN_GAIN * 100:.0f}",
                        gain >= MIN_GAIN,
                    )
                )
        return bars

    def report(self) -> str:
        """The tables a person reads."""
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
        summary = format_table(
            [
                "model",
                "scenes",
                "n",
                "exact match",
                "success",
                "parse failures",
                "plan latency median / p95",
            ],
            rows,
        )
        families = sorted({f for r in self.results for t in r.tallies.values() for f in t})
        header = ["family"] + [f"{r.name} {s}" for r in [*self.results, self.oracle] for s in SETS]
        per_family = format_table(
            header,
            [
                [family]
                + [
                    _cell(r.tallies.get(s, {}).get(family))
                    for r in [*self.results, self.oracle]
                    for s in SETS
                ]
                for family in families
            ],
        )
        models = [
            f"{r.name}: {r.folder} [{r.identity}], ready in {r.prepare_seconds:.1f} s, "
            f"loaded in {r.load_seconds:.1f} s"
            for r in self.results
        ]
        models += [f"{name}: skipped ({why})" for name, why in self.skipped.items()]
        bars = format_table(
            ["target", "measured", "required", "result"],
            [[a, b, c, "PASS" if ok else "FAIL"] for a, b, c, ok in self.bars()],
        )
        return "\n\n".join([summary, "success per family\n" + per_family, bars, "\n".join(models)])


def _cell(tally: Tally | None) -> str:
    return f"{tally.successes}/{tally.scenes}" if tally else "-"


def read_paraphrases(path: Path) -> list[Scene]:
    """The paraphrase file's entries, each checked for the fields a scene needs."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        entries = data["paraphrases"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as error:
        raise ParaphraseFileError(f"cannot read paraphrases from {path}: {error}") from None
    scenes = []
    for i, entry in enumerate(entries):
        try:
            scene = Scene(
                str(entry["family"]),
                int(entry["seed"]),
                str(entry["instruction"]),
                tuple(str(parse_call(c)) for c in entry["plan"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ParaphraseFileError(
                f"{path}: entry {i} is not a paraphrase (family, seed, instruction, plan): {error}"
            ) from None
        scenes.append(scene)
    return scenes


def scene_sets(
    config: CompareConfig, paraphrases: Sequence[Scene], families: Sequence[TaskFamily]
) -> dict[str, list[Scene]]:
    """The held-out scenes and the paraphrases of ``families``, as the config asks."""
    names = {f.name for f in families}
    heldout = [
        Scene(f.name, seed, None) for f in families for seed in heldout_seeds(config.per_family)
    ]
    chosen: list[Scene] = []
    for name in sorted(names):
        mine = [p for p in paraphrases if p.family == name]
        chosen += (
            mine if config.paraphrases_per_family is None else mine[: config.paraphrases_per_family]
        )
    return {"held-out": heldout, "paraphrases": chosen}


def compare(
    models: dict[str, Callable[[], Path]],
    config: CompareConfig,
    paraphrases: Sequence[Scene],
    library: SkillLibrary | None = None,
    log: Callable[[str], None] = print,
) -> Comparison:
    """Plan and run every scene with every model (``name → how to get its folder``)."""
    library = library or SkillLibrary.seed()
    families = bootstrap_families()
    sets = scene_sets(config, paraphrases, families)
    oracle = ModelResult("oracle")
    _run(oracle, None, sets, families, library)
    results, skipped = [], {}
    for name, prepare in models.items():
        result = ModelResult(name)
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
        planner = LMPlanner(folder, library, threads=config.threads)
        result.load_seconds = time.perf_counter() - start
        log(f"{name}: planning {sum(map(len, sets.values()))} scenes")
        _run(result, planner, sets, families, library)
        results.append(result)
    return Comparison(results, oracle, skipped)


def _run(
    result: ModelResult,
    planner: LMPlanner | None,
    sets: dict[str, list[Scene]],
    families: Sequence[TaskFamily],
    library: SkillLibrary,
) -> None:
    """Every scene of every set with one planner (None: the oracle), tallied into ``result``."""
    by_name = {f.name: f for f in families}
    for set_name, scenes in sets.items():
        tallies = result.tallies.setdefault(set_name, {})
        for family_name, group in _by_family(scenes):
            env = TabletopEnv(by_name[family_name])
            try:
                for scene in group:
                    tally = tallies.setdefault(family_name, Tally())
                    outcome, record = _attempt(planner, env, scene, library)
                    tally.add(outcome)
                    result.plans.append({"set": set_name, **record})
            finally:
                env.close()


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
    if plan:
        try:
            atomic = [str(c) for calls in validate_plan(plan, env, library) for c in calls]
            tally.exact = int(atomic == right)
            execute_plan(env, plan, library=library)
        except PlanValidationError as error:
            tally.invalid, record["error"] = 1, str(error)
        tally.successes = int(task.succeeded(env.world))
    record.update(exact=bool(tally.exact), success=bool(tally.successes))
    return tally, record
