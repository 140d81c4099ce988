"""How well the planner's doubt predicts its failures (KnowNo's idea): the AUROC of doubt.

The workspace's language model plans the scenes the learning benchmark judges on: held-out
scenes (odd seeds) of every family, the ones it was taught and the ones it never saw, and the
hand-written paraphrases of ``tests/fixtures`` (test sets: nothing was chosen on them).
Each plan runs in simulation; its doubt (the planner's ``doubt``: 1 - the lowest probability
of a token it chose under the grammar) is set against whether it failed. An AUROC of 1 ranks
every failure above every success, 0.5 is a coin; the Review page's queue is worth following
as far as it is high. The families the model was never taught fail almost always, and are
easy to doubt, so the AUROC is also given over the taught families alone (the model's
``bootstrap.json``), where a failure is a slip among plans it mostly gets right. Also: how
many of the failures a person finds by reviewing the most doubted quarter of the plans.

    python -m benchmarks.bench_doubt                  # the workspace's default model
    python -m benchmarks.bench_doubt --quick          # 2 scenes and 3 paraphrases a family
    python -m benchmarks.bench_doubt --model PATH     # another model folder or preset

A planner that records no doubt is reported as such, with no bar.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from benchmarks.common import Bar, benchmark_main, format_table
from robolearn.doubt import DoubtReport, auroc
from robolearn.planner.compare import Scene, read_paraphrases

ROOT = Path(__file__).resolve().parents[1]
RESULTS_PATH = Path(__file__).resolve().parent / "results" / "bench_doubt.json"
PARAPHRASES = (
    ROOT / "tests" / "fixtures" / "paraphrases.json",
    ROOT / "tests" / "fixtures" / "paraphrases_move_stack_two_towers.json",
)
TARGET = 0.8
"""The AUROC doubt must reach (issue 15)."""
REVIEWED = 0.25
"""The share of plans a person reviews, the most doubted first."""


@dataclass(frozen=True)
class Settings:
    """What is planned."""

    per_family: int
    """Held-out scenes of every family."""
    paraphrases_per_family: int | None
    """Paraphrases of every family from the fixture files; None: all of them."""
    model: str | None = None
    """A model folder or preset; None: the workspace's default model (built if missing)."""
    workspace: str = "robolearn-workspace"


FULL = Settings(per_family=10, paraphrases_per_family=None)
QUICK = Settings(per_family=2, paraphrases_per_family=3)


@dataclass(frozen=True)
class Plan:
    """One scene planned and run."""

    family: str
    seed: int
    set: str
    doubt: float | None
    success: bool
    taught: bool | None = None
    """Whether the model was trained on the family (None: not a bootstrapped model)."""


@dataclass(frozen=True)
class Review:
    """The most doubted plans a person looks at first, and the failures among them."""

    reviewed: int
    failed: int
    """Of the reviewed plans."""
    failures: int
    """Of all plans with a doubt."""

    def line(self) -> str:
        """One sentence a person reads."""
        if not self.reviewed:
            return "No plan has a doubt to review by."
        found = self.failed / self.failures if self.failures else 0.0
        return (
            f"Of the {self.reviewed} most doubted plans, which a person reviews first, "
            f"{self.failed} failed ({self.failed / self.reviewed:.0%}); they are {found:.0%} "
            f"of all {self.failures} failures."
        )


@dataclass
class Results:
    """Every plan, and what its doubt says."""

    model: str
    plans: list[Plan] = field(default_factory=list)

    def report_of(self, plans: Sequence[Plan]) -> DoubtReport:
        """The AUROC of doubt for failure over ``plans`` (those with a doubt)."""
        rated = [p for p in plans if p.doubt is not None]
        failed = [not p.success for p in rated]
        return DoubtReport(
            auroc([float(p.doubt) for p in rated], failed),
            sum(failed),
            len(failed) - sum(failed),
        )

    @property
    def overall(self) -> DoubtReport:
        """Over every plan."""
        return self.report_of(self.plans)

    def review(self, share: float = REVIEWED) -> Review:
        """What a person finds reviewing the ``share`` most doubted plans first."""
        rated = sorted((p for p in self.plans if p.doubt is not None), key=lambda p: -p.doubt)
        top = rated[: max(1, round(share * len(rated)))] if rated else []
        return Review(len(top), sum(not p.success for p in top), sum(not p.success for p in rated))

    @property
    def bars(self) -> list[Bar]:
        """The AUROC target, when the planner records doubt."""
        value = self.overall.auroc
        return [] if value is None else [Bar("doubt AUROC for failure", value, TARGET, True)]

    def to_dict(self) -> dict[str, Any]:
        """The JSON results."""
        sets = sorted({p.set for p in self.plans})
        return {
            "model": self.model,
            "plans": [p.__dict__ for p in self.plans],
            "auroc": self.overall.auroc,
            "auroc_by_set": {
                name: self.report_of([p for p in self.plans if p.set == name]).auroc
                for name in sets
            },
            "auroc_taught_families": self.report_of([p for p in self.plans if p.taught]).auroc,
            "review_a_quarter": self.review().__dict__,
        }


def scenes(settings: Settings) -> list[tuple[str, Scene]]:
    """The held-out scenes of every family, then the paraphrases, each with its set's name."""
    from robolearn.tasks.seeds import heldout_seeds
    from robolearn.tasks.spec import load_families

    chosen = [
        ("held-out", Scene(name, seed, None))
        for name in sorted(load_families())
        for seed in heldout_seeds(settings.per_family)
    ]
    for path in PARAPHRASES:
        by_family: dict[str, int] = {}
        for scene in read_paraphrases(path):
            by_family[scene.family] = by_family.get(scene.family, 0) + 1
            limit = settings.paraphrases_per_family
            if limit is None or by_family[scene.family] <= limit:
                chosen.append(("paraphrases", scene))
    return chosen


def run(settings: Settings, quick: bool, log: Callable[[str], None]) -> Results:
    """Plan and run every scene with the model; the results."""
    from robolearn.planner.lm import LMPlanner
    from robolearn.workspace import Workspace

    workspace = Workspace.open(settings.workspace)
    model_dir = workspace.model_dir(settings.model, log=log)
    library = workspace.library()
    planner = LMPlanner(model_dir, library, threads=1)
    results = Results(str(planner.identity))
    taught = taught_families(model_dir)
    chosen = scenes(settings)
    log(f"planning {len(chosen)} scenes with {model_dir}")
    envs: dict[str, Any] = {}
    try:
        for set_name, scene in chosen:
            plan = _attempt(planner, library, envs, set_name, scene)
            known = None if taught is None else plan.family in taught
            results.plans.append(replace(plan, taught=known))
    finally:
        for env in envs.values():
            env.close()
    return results


def taught_families(model_dir: Path) -> set[str] | None:
    """The families a bootstrapped model was trained on; None for any other model."""
    from robolearn.planner.bootstrap import recorded_config

    config = recorded_config(model_dir)
    return None if config is None else {f.name for f in config.trained_families()}


def _attempt(planner: Any, library: Any, envs: dict[str, Any], set_name: str, scene: Scene) -> Plan:
    """Plan one scene and run the plan; a plan that cannot run is a failure."""
    from robolearn.planner import PlanningError
    from robolearn.skills.executor import PlanValidationError, execute_plan
    from robolearn.tasks.env import TabletopEnv
    from robolearn.tasks.spec import get_family

    env = envs.get(scene.family)
    if env is None:
        env = envs[scene.family] = TabletopEnv(get_family(scene.family))
    env.reset(seed=scene.seed)
    task = env.task
    planner.doubt = None  # what this plan says, not the last one's
    try:
        plan = planner.plan_instruction(scene.instruction or task.instruction, task.objects)
        execute_plan(env, plan, library=library)
        success = task.succeeded(env.world)
    except (PlanningError, PlanValidationError):
        success = False
    doubt = getattr(planner, "doubt", None)
    return Plan(scene.family, scene.seed, set_name, doubt, success)


def report(results: Results) -> str:
    """The table a person reads."""
    overall = results.overall
    if not any(p.doubt is not None for p in results.plans):
        return (
            f"model {results.model}: {len(results.plans)} plans, none with a doubt: this "
            "planner does not record how unsure it is, so there is nothing to measure"
        )
    rows = [["all", *_row(results, results.plans)]]
    for set_name in sorted({p.set for p in results.plans}):
        rows.append([set_name, *_row(results, [p for p in results.plans if p.set == set_name])])
    for taught, name in ((True, "taught families"), (False, "untaught families")):
        alike = [p for p in results.plans if p.taught is taught]
        if alike:
            rows.append([name, *_row(results, alike)])
    lines = [
        f"model {results.model}",
        format_table(["set", "plans", "succeeded", "failed", "AUROC"], rows),
        overall.line(),
        results.review().line(),
        "",
        format_table(["bar", "measured", "required", "result"], [b.row() for b in results.bars]),
    ]
    return "\n".join(lines)


def _row(results: Results, plans: Sequence[Plan]) -> list[str]:
    rated = results.report_of(plans)
    value = "-" if rated.auroc is None else f"{rated.auroc:.2f}"
    return [f"{len(plans)}", f"{sum(p.success for p in plans)}", f"{rated.failures}", value]


def options(parser: Any) -> None:
    """The benchmark's own flags."""
    parser.add_argument("--model", help="a model folder or preset (default: the workspace's)")
    parser.add_argument("--workspace", default="robolearn-workspace", help="its workspace")


def configure(settings: Settings, args: Any) -> Settings:
    """The settings with the flags' model and workspace."""
    return replace(settings, model=args.model, workspace=args.workspace)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the table, write the JSON; 1 on a failed bar with --strict."""
    return benchmark_main(
        argv,
        prog="python -m benchmarks.bench_doubt",
        doc=__doc__,
        quick_help="2 held-out scenes and 3 paraphrases a family",
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
