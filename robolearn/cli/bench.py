"""``robolearn bench``: the continual-learning benchmark, and planner models compared."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from robolearn.cli.command import Command, InWorkspace, WithModel, note, say
from robolearn.cli.flags import flag
from robolearn.errors import ConfigError
from robolearn.planner import DEFAULT_MODEL
from robolearn.planner.compare import CompareConfig

if TYPE_CHECKING:
    from robolearn.learn.benchmark import LearningBenchConfig

EXAMPLES = """examples:
  robolearn bench planners
  robolearn bench planners --quick
  robolearn bench planners --model default --model smollm2 --model ~/models/my-qwen
  robolearn bench learning
  robolearn bench learning --quick --out /tmp/learning
  robolearn bench learning --condition system --condition naive
"""
BENCH_MODELS = (DEFAULT_MODEL, "smollm2")
"""What ``bench planners`` compares unless told otherwise."""
QUICK_PER_FAMILY = 2
QUICK_PARAPHRASES = 3
"""``bench planners --quick``: held-out scenes and paraphrases per family."""


@dataclass(kw_only=True)
class LearningConfig(WithModel, InWorkspace):
    """Run the continual-learning benchmark headless; write report.json, report.md, a plot."""

    out: Path = Path("learning-report")
    """The folder for the report and the conditions' workspaces."""
    quick: bool = False
    """Two families, small budgets: a minutes-long smoke run."""
    conditions: list[str] = flag(default_factory=list, name="--condition")
    """Run only this condition (repeatable): none, naive, reservoir, balanced, l2, isolation,
    system."""
    paraphrases: list[Path] = flag(default_factory=list, name="--paraphrases")
    """A test set of other words (repeatable; default: the new families' sets of a checkout,
    tests/fixtures/paraphrases_*.json): asked, never learned from."""
    families: list[str] = flag(default_factory=list, name="--family")
    """Teach only these new families, in this order (repeatable; default: all six)."""
    max_corrections: int | None = None
    """Corrections per new family at most (default: the benchmark's, 20)."""
    eval_scenes: int | None = None
    """Held-out scenes per family (default: the benchmark's, 10)."""
    workers: int = 2
    """Conditions run at once, each in its own process."""
    threads: int = 1
    """CPU threads of each condition's process."""

    def __post_init__(self) -> None:
        for path in self.paraphrases:
            if not Path(path).is_file():
                raise ConfigError(
                    "paraphrases",
                    f"{{}} names {path}, which is not a file; give a paraphrase "
                    "test set (tests/fixtures/paraphrases_new_families.json)",
                )
        self.settings  # noqa: B018 (the benchmark's config checks the values, before any work)

    @property
    def settings(self) -> LearningBenchConfig:
        """The benchmark's config these flags describe."""
        from robolearn.learn.benchmark import LearningBenchConfig, quick_config

        files = tuple(self.paraphrases) or default_paraphrases()
        config = quick_config(files) if self.quick else LearningBenchConfig(paraphrases=files)
        if self.conditions:
            config = replace(config, conditions=tuple(dict.fromkeys(self.conditions)))
        if self.families:
            config = replace(config, families=tuple(dict.fromkeys(self.families)))
        if self.max_corrections is not None:
            per_round = min(config.corrections_per_round, self.max_corrections)
            config = replace(
                config, max_corrections=self.max_corrections, corrections_per_round=per_round
            )
        if self.eval_scenes is not None:
            config = replace(config, eval_scenes=self.eval_scenes)
        lora = replace(config.round.lora, threads=self.threads)
        return replace(config, round=replace(config.round, lora=lora), workers=self.workers)


TEST_SETS = ("paraphrases_new_families.json", "paraphrases_move_stack_two_towers.json")
"""The other-words test sets of the six new families, as robolearn ships them."""


def default_paraphrases() -> tuple[Path, ...]:
    """The new families' paraphrase test sets robolearn ships (``paths.paraphrases_path``)."""
    from robolearn.paths import paraphrases_path

    found = []
    for name in TEST_SETS:
        try:
            found.append(paraphrases_path(name))
        except FileNotFoundError:
            continue
    return tuple(found)


def learning(config: LearningConfig) -> int:
    """Run every condition, write the report, and say which targets were missed."""
    from robolearn.learn.benchmark import run_benchmark
    from robolearn.learn.report import bars, write_report
    from robolearn.workspace import Workspace

    model = Workspace.open(config.folder).model_dir(config.model, log=note)
    settings = config.settings
    if not settings.paraphrases:
        note("no paraphrase test set found: held-out success is measured in own words only")
    report = run_benchmark(model, config.out, settings, log=note)
    text, image = write_report(report, config.out)
    say(text.read_text())
    failed = [bar.name for bar in bars(report) if not bar.passed]
    say(
        f"report: {text}, plot: {image}"
        + (f"; missed: {', '.join(failed)}" if failed else "; every target met")
    )
    return 0


@dataclass(kw_only=True)
class PlannersConfig(InWorkspace):
    """Compare planner models on the same held-out scenes and hand-written paraphrases."""

    models: list[str] = flag(default_factory=lambda: list(BENCH_MODELS), name="--model")
    """A model to compare (repeatable): default (the workspace's own), a preset (smollm2) or a
    local folder; a preset whose extra is missing is skipped with a note. None given:
    default and smollm2."""
    per_family: int | None = None
    """Held-out scenes per family (default: 10; --quick: 2)."""
    quick: bool = False
    """Two held-out scenes and three paraphrases per family."""
    output: Path | None = None
    """The JSON results file (default: <workspace>/bench/planners.json)."""
    compare: CompareConfig = field(init=False)

    def __post_init__(self) -> None:
        self.models = list(dict.fromkeys(self.models))
        per_family = self.per_family
        if per_family is None:
            per_family = QUICK_PER_FAMILY if self.quick else CompareConfig.per_family
        if per_family < 0:
            raise ConfigError("per_family", f"{{}} must be 0 or more, got {per_family}")
        paraphrases = QUICK_PARAPHRASES if self.quick else None
        self.compare = CompareConfig(per_family=per_family, paraphrases_per_family=paraphrases)


def planners(config: PlannersConfig) -> int:
    """Exact match, execution success, parse failures and latency per model, also as JSON."""
    from robolearn.planner.compare import compare
    from robolearn.planner.lm import ModelNotFoundError
    from robolearn.planner.pretrained import is_preset
    from robolearn.workspace import Workspace

    for spec in config.models:  # a mistyped folder fails now, not after the other models
        folder = Path(spec).expanduser()
        if spec != DEFAULT_MODEL and not is_preset(spec) and not (folder / "config.json").is_file():
            raise ModelNotFoundError(
                f"no model at {spec} (config.json missing); --model takes "
                f"{DEFAULT_MODEL!r}, a preset (smollm2) or a local folder"
            )
    workspace = Workspace.open(config.folder)
    comparison = compare(
        {spec: (lambda spec=spec: workspace.model_dir(spec, log=note)) for spec in config.models},
        config.compare,
        library=workspace.library(),
        log=note,
    )
    say(comparison.report())
    output = config.output or workspace.bench / "planners.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(comparison.to_dict(), indent=1) + "\n")
    say(f"\nresults written to {output}")
    return 0


ACTIONS = {
    "learning": Command(
        help="the continual-learning benchmark",
        config=LearningConfig,
        run=learning,
        examples=(
            "robolearn bench learning",
            "robolearn bench learning --quick --out /tmp/learning",
            "robolearn bench learning --condition system --condition isolation",
        ),
    ),
    "planners": Command(
        help="compare planner models on held-out scenes and paraphrases",
        config=PlannersConfig,
        run=planners,
        examples=(
            "robolearn bench planners",
            "robolearn bench planners --quick",
            "robolearn bench planners --model default --model smollm2 --model ~/models/my-qwen",
        ),
    ),
}
