"""The pretrained planner (SmolLM2): each way of making it fast and right, before and after.

Every variant plans the same scenes in one run, interleaved scene by scene (the machine is
shared, so a slow minute slows every variant alike), and every plan runs in simulation:

- ``few-shot, plain loop``: ``--model smollm2-base`` (the skills and three worked examples in a
  ~600-token prompt) decoded by ``decoding.plain_greedy``, the loop the planner had before;
- ``few-shot, fast decoding``: the same prompts through ``decoding.constrained_greedy`` (forced
  tokens and text unasked, last-position logits only, the shared prompt prefix's cache);
- ``tuned, plain loop``: ``--model smollm2`` (tuned once to plan from a ~60-token prompt,
  ``planner/tuning.py``) decoded by the plain loop;
- ``tuned, fast decoding``: what ``--model smollm2`` does;
- ``tuned, batches of 16``: ``LMPlanner.plan_many``; its latency is a batch's time per plan;
- ``default model`` and ``default model, batches of 16``: robolearn's own model, for its doubt
  and its batches.

Sets: the development phrasings the tuning and decoding were chosen on
(``paraphrases_dev_pretrained.json``), the test phrasings (``paraphrases.json``, chosen on by
nothing) and, for the variants whose doubt is scored, held-out templated scenes. Latency is
measured on one thread (wall time, and the process's CPU time, which a busy machine does not
inflate) and, over the first scenes of each set, on two. Doubt (``LMPlanner.doubt``) is scored
by how well it ranks the plans that failed above those that succeeded (AUROC, held-out scenes
and test phrasings together), for the tuned model and for the default model. From the repo root::

    python -m benchmarks.bench_pretrained            # ~1 hour on a busy 2-core machine
    python -m benchmarks.bench_pretrained --quick    # 2 scenes a family and set
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from benchmarks.common import Bar, benchmark_main, format_table
from robolearn.calls import Call
from robolearn.paths import paraphrases_path, workspace_dir
from robolearn.planner import PlanningError
from robolearn.planner.bootstrap import bootstrap_families, ensure_default_model
from robolearn.planner.compare import Scene, read_paraphrases
from robolearn.planner.decoding import plain_greedy
from robolearn.planner.lm import LMPlanner, PlanResult, check_instruction, parse_answer
from robolearn.planner.pretrained import resolve_model
from robolearn.skills.executor import PlanValidationError, execute_plan, validate_plan
from robolearn.skills.library import SkillLibrary
from robolearn.tasks.env import TabletopEnv
from robolearn.tasks.sampler import sample_task
from robolearn.tasks.spec import TaskFamily

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "bench_pretrained.json"
DEV_PATH = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
DEV_FILE = "paraphrases_dev_pretrained.json"
MAX_MEDIAN_MS = 1000.0
MIN_SUCCESS = 0.85
MIN_AUROC = 0.8
BATCH = 16
DOUBTED = ("tuned, fast decoding", "default model")
"""The variants whose doubt is scored; only they plan the held-out templated scenes."""


@dataclass(frozen=True)
class Settings:
    """How much to measure."""

    per_family: int | None = None
    """Scenes per family and set; None: every phrasing, and 10 held-out scenes a family."""
    two_thread_scenes: int = 12
    """Scenes of each set also timed on two threads."""
    default_model: Path | None = None
    """The default model whose doubt is scored too; None: the workspace's (built if missing)."""


@dataclass
class Outcome:
    """One variant's plan of one scene."""

    variant: str
    set: str
    family: str
    instruction: str
    plan: list[str]
    success: bool
    exact: bool
    latency_ms: float
    cpu_ms: float
    """The process's CPU time for the plan: what it costs on one thread of an idle machine."""
    doubt: float | None
    error: str | None = None


@dataclass
class Results:
    """Everything one run measured."""

    outcomes: list[Outcome] = field(default_factory=list)
    two_threads_ms: dict[str, list[float]] = field(default_factory=dict)
    """Variant → plan latencies on two threads."""
    load_seconds: dict[str, float] = field(default_factory=dict)

    def of(self, variant: str, set_name: str | None = None) -> list[Outcome]:
        """The outcomes of a variant (in one set)."""
        return [
            o
            for o in self.outcomes
            if o.variant == variant and (set_name is None or o.set == set_name)
        ]

    def success(self, variant: str, set_name: str) -> float:
        """Execution success of a variant on a set."""
        chosen = self.of(variant, set_name)
        return sum(o.success for o in chosen) / len(chosen) if chosen else 0.0

    def doubt_auroc(self, variant: str) -> float:
        """How well doubt ranks failures above successes: held-out scenes and test phrasings."""
        chosen = [o for o in self.of(variant) if o.set != "dev" and o.doubt is not None]
        return auroc([o.doubt for o in chosen], [not o.success for o in chosen])

    @property
    def bars(self) -> list[Bar]:
        """The issue's targets, on the shipped path (``tuned, fast decoding``)."""
        shipped = "tuned, fast decoding"
        two = self.two_threads_ms.get(shipped, [])
        return [
            Bar(
                "smollm2 median plan, 2 threads",
                statistics.median(two) if two else float("nan"),
                MAX_MEDIAN_MS,
                at_least=False,
                unit="ms",
            ),
            Bar(
                "smollm2 success, test phrasings", self.success(shipped, "test"), MIN_SUCCESS, True
            ),
            Bar("smollm2 doubt AUROC", self.doubt_auroc(shipped), MIN_AUROC, True),
            Bar("default doubt AUROC", self.doubt_auroc("default model"), MIN_AUROC, True),
        ]

    def to_dict(self) -> dict[str, object]:
        """The JSON-ready results."""
        return {
            "summary": summary_rows(self),
            "two_threads_ms": self.two_threads_ms,
            "load_seconds": self.load_seconds,
            "outcomes": [asdict(o) for o in self.outcomes],
            "bars": [bar.row() for bar in self.bars],
        }


def auroc(scores: Sequence[float], positive: Sequence[bool]) -> float:
    """The chance that a random positive scores above a random negative (ties count half)."""
    pos = [s for s, p in zip(scores, positive, strict=True) if p]
    neg = [s for s, p in zip(scores, positive, strict=True) if not p]
    if not pos or not neg:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


Planner = Callable[[str, tuple], tuple[list[Call], float | None]]
"""Plans an instruction in a scene of objects: the calls and the doubt."""


def fast(planner: LMPlanner) -> Planner:
    """The planner as it plans (``plan_instruction``)."""

    def plan(instruction: str, objects: tuple) -> tuple[list[Call], float | None]:
        calls = planner.plan_instruction(instruction, objects)
        return calls, planner.doubt

    return plan


def plain(planner: LMPlanner) -> Planner:
    """The same model, prompt and grammar decoded by the loop the planner had before."""

    def plan(instruction: str, objects: tuple) -> tuple[list[Call], float | None]:
        check_instruction(instruction)
        prompt = planner.format.prompt(instruction, [o.name for o in objects])
        task = planner.decoding_task(prompt, objects)
        decoded = plain_greedy(
            planner.model, task.prompt_ids, task.processor.allowed, task.budget, task.end
        )
        text = planner.tokenizer.decode(list(decoded.ids), skip_special_tokens=True)
        return parse_answer(text), decoded.doubt

    return plan


def scene_sets(settings: Settings) -> dict[str, list[Scene]]:
    """The development and test phrasings and held-out templated scenes, as asked."""
    families = [f.name for f in bootstrap_families()]
    sets = {
        "dev": read_paraphrases(DEV_PATH / DEV_FILE),
        "test": read_paraphrases(paraphrases_path()),
        "held-out": [Scene(f, seed, None) for f in families for seed in range(1, 20, 2)],
    }
    if settings.per_family is None:
        return sets
    return {
        name: [
            s for f in families for s in [x for x in scenes if x.family == f][: settings.per_family]
        ]
        for name, scenes in sets.items()
    }


def run(settings: Settings, quick: bool, log: Callable[[str], None]) -> Results:
    """Plan every scene with every variant, interleaved; then time some on two threads."""
    import torch

    torch.set_num_threads(1)
    library = SkillLibrary.seed()
    results = Results()
    default_dir = settings.default_model or ensure_default_model(workspace_dir(), log=log)
    loaded: dict[str, LMPlanner] = {}
    for name, spec in (("base", "smollm2-base"), ("tuned", "smollm2"), ("default", default_dir)):
        start = time.perf_counter()
        loaded[name] = LMPlanner(resolve_model(spec, log=log), library)
        results.load_seconds[name] = time.perf_counter() - start
    variants: dict[str, Planner] = {
        "few-shot, plain loop": plain(loaded["base"]),
        "few-shot, fast decoding": fast(loaded["base"]),
        "tuned, plain loop": plain(loaded["tuned"]),
        "tuned, fast decoding": fast(loaded["tuned"]),
        "default model": fast(loaded["default"]),
    }
    families = {f.name: f for f in bootstrap_families()}
    sets = scene_sets(settings)
    for set_name, scenes in sets.items():
        log(f"{set_name}: {len(scenes)} scenes x {len(variants)} variants")
        for family_name in dict.fromkeys(s.family for s in scenes):
            env = TabletopEnv(families[family_name])
            try:
                for scene in (s for s in scenes if s.family == family_name):
                    for variant, planner in variants.items():
                        if set_name == "held-out" and variant not in DOUBTED:
                            continue
                        results.outcomes.append(
                            attempt(variant, set_name, planner, env, scene, library)
                        )
            finally:
                env.close()
        for name, planner in (("tuned", loaded["tuned"]), ("default model", loaded["default"])):
            batched(
                results, f"{name}, batches of {BATCH}", set_name, planner, scenes, families, library
            )
    torch.set_num_threads(2)
    for variant in ("few-shot, fast decoding", "tuned, fast decoding"):
        planner = variants[variant]
        times = results.two_threads_ms.setdefault(variant, [])
        for scenes in sets.values():
            for scene in scenes[: settings.two_thread_scenes]:
                task = sample_task(families[scene.family], scene.seed)
                start = time.perf_counter()
                planner(scene.instruction or task.instruction, task.objects)
                times.append(1000 * (time.perf_counter() - start))
    torch.set_num_threads(1)
    return results


def attempt(
    variant: str,
    set_name: str,
    planner: Planner,
    env: TabletopEnv,
    scene: Scene,
    library: SkillLibrary,
) -> Outcome:
    """Plan one scene with one variant, run the plan from the scene's start, and say how it went."""
    env.reset(seed=scene.seed)
    task = env.task
    instruction = scene.instruction or task.instruction
    right = list(scene.plan) if scene.plan is not None else [str(c) for c in task.oracle]
    start, cpu = time.perf_counter(), time.process_time()
    error, calls, doubt = None, [], None
    try:
        calls, doubt = planner(instruction, task.objects)
    except PlanningError as failure:
        error = str(failure)
    latency = 1000 * (time.perf_counter() - start)
    cpu_ms = 1000 * (time.process_time() - cpu)
    exact = success = False
    if calls:
        try:
            exact = [str(c) for group in validate_plan(calls, env, library) for c in group] == right
            execute_plan(env, calls, library=library)
            success = bool(task.succeeded(env.world))
        except PlanValidationError as failure:
            error = str(failure)
    return Outcome(
        variant,
        set_name,
        scene.family,
        instruction,
        [str(c) for c in calls],
        success,
        exact,
        latency,
        cpu_ms,
        doubt,
        error,
    )


def replaying(answer: PlanResult) -> Planner:
    """A planner that gives a plan made already (in a batch)."""

    def plan(instruction: str, objects: tuple) -> tuple[list[Call], float | None]:
        if answer.error is not None:
            raise answer.error
        return answer.calls, answer.doubt

    return plan


def batched(
    results: Results,
    variant: str,
    set_name: str,
    planner: LMPlanner,
    scenes: Sequence[Scene],
    families: dict[str, TaskFamily],
    library: SkillLibrary,
) -> None:
    """Plan a set with ``plan_many`` in batches; each plan run and scored as the others."""
    requests = []
    for scene in scenes:
        task = sample_task(families[scene.family], scene.seed)
        requests.append((scene.instruction or task.instruction, task.objects))
    start, cpu = time.perf_counter(), time.process_time()
    plans = planner.plan_many(requests, batch_size=BATCH)
    per_plan = 1000 * (time.perf_counter() - start) / max(len(requests), 1)
    cpu_per_plan = 1000 * (time.process_time() - cpu) / max(len(requests), 1)
    answers = dict(zip(map(id, scenes), plans, strict=True))
    for family_name in dict.fromkeys(s.family for s in scenes):
        env = TabletopEnv(families[family_name])
        try:
            for scene in (s for s in scenes if s.family == family_name):
                replay = replaying(answers[id(scene)])
                outcome = attempt(variant, set_name, replay, env, scene, library)
                outcome.latency_ms, outcome.cpu_ms = per_plan, cpu_per_plan
                results.outcomes.append(outcome)
        finally:
            env.close()


def summary_rows(results: Results) -> list[list[str]]:
    """A row per variant: success per set, latency on one and two threads, doubt AUROC."""
    rows = []
    for variant in dict.fromkeys(o.variant for o in results.outcomes):
        one = sorted(o.latency_ms for o in results.of(variant))
        cpu = statistics.median(o.cpu_ms for o in results.of(variant))
        two = results.two_threads_ms.get(variant, [])
        rows.append(
            [
                variant,
                *(_fraction(results.of(variant, s)) for s in ("dev", "test", "held-out")),
                f"{statistics.median(one):,.0f} / {one[int(0.95 * (len(one) - 1))]:,.0f}",
                f"{cpu:,.0f}",
                f"{statistics.median(two):,.0f}" if two else "-",
                f"{results.doubt_auroc(variant):.2f}",
            ]
        )
    return rows


def _fraction(outcomes: Sequence[Outcome]) -> str:
    return f"{sum(o.success for o in outcomes)}/{len(outcomes)}"


def report(results: Results) -> str:
    """The tables a person reads."""
    summary = format_table(
        [
            "variant",
            "dev success",
            "test success",
            "held-out success",
            "ms a plan, 1 thread (median / p95)",
            "CPU ms (median)",
            "median, 2 threads",
            "doubt AUROC",
        ],
        summary_rows(results),
    )
    bars = format_table(["bar", "measured", "required", "result"], [b.row() for b in results.bars])
    loads = ", ".join(f"{k} {v:.1f} s" for k, v in results.load_seconds.items())
    return "\n\n".join([summary, bars, f"loaded (prepared included): {loads}"])


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the tables, write the JSON results."""

    def options(parser) -> None:  # noqa: ANN001 (argparse.ArgumentParser)
        parser.add_argument(
            "--default-model",
            type=Path,
            default=None,
            help="the default model folder whose doubt is scored (default: the workspace's)",
        )

    def configure(settings: Settings, args) -> Settings:  # noqa: ANN001 (argparse.Namespace)
        return replace(settings, default_model=args.default_model)

    return benchmark_main(
        argv,
        prog="python -m benchmarks.bench_pretrained",
        doc=__doc__,
        quick_help="2 scenes a family and set, 2 timed on two threads",
        run=run,
        report=report,
        full=Settings(),
        quick=Settings(per_family=2, two_thread_scenes=2),
        results_path=RESULTS_PATH,
        options=options,
        configure=configure,
    )


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
