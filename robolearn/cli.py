"""The ``robolearn`` command: one small function per verb, each fed by a typed config.

A bad flag or value prints one line that says what was wrong and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from robolearn.errors import UserError
from robolearn.paths import workspace_dir
from robolearn.planner import DEFAULT_MODEL

if TYPE_CHECKING:
    from robolearn.learn.rounds import RoundConfig, RoundOutcome
    from robolearn.rollout import RolloutSetup

EXAMPLES = """examples:
  robolearn run --family stack --episodes 20 --planner oracle --seed 0
  robolearn run --episodes 5 --json
  robolearn run --family stack --episodes 200 --workers 2
  robolearn plan "stack the red block on the blue one" --family stack
  robolearn run --family stack --episodes 10 --model smollm2
  robolearn bench planners --quick
  robolearn bootstrap
  robolearn train --every 20
  robolearn adapters list
  robolearn dashboard
  robolearn tasks
  robolearn skills search "put the red cube into the bowl"
"""
BENCH_EXAMPLES = """examples:
  robolearn bench planners
  robolearn bench planners --quick
  robolearn bench planners --model default --model smollm2 --model ~/models/my-qwen
  robolearn bench learning
  robolearn bench learning --quick --out /tmp/learning
  robolearn bench learning --condition memory --condition naive
"""
SKILLS_EXAMPLES = """examples:
  robolearn skills list
  robolearn skills show build_tower
  robolearn skills search "put the red cube into the bowl"
  robolearn skills add my_stack.json --family stack --args top,base
  robolearn skills export my-skills.zip
  robolearn skills import my-skills.zip --workspace other-workspace
"""


TRAIN_EXAMPLES = """examples:
  robolearn train
  robolearn train --every 20
  robolearn train --replay reservoir --replay-ratio 2 --epochs 10
  robolearn train --max-regression 0.1 --eval-scenes 30
"""
ADAPTERS_EXAMPLES = """examples:
  robolearn adapters list
  robolearn adapters use 3
  robolearn adapters use base --why "round 4 breaks stacking"
"""


class UsageError(UserError, ValueError):
    """A command line that cannot run; the message says what to change."""


@dataclass
class RunConfig:
    """Settings of ``robolearn run``."""

    families: list[str] = field(default_factory=list)
    """Task families to run (``robolearn tasks`` lists them); empty means all of them."""
    episodes: int = 10
    """Episodes per family; task seeds are seed, seed+1, ..."""
    seed: int = 0
    """First task seed: the same seed gives the same scenes and results."""
    planner: str = "lm"
    """Who writes the plans: ``lm`` (the language-model planner) or ``oracle`` (the family's
    scripted expert)."""
    model: str | None = None
    """The lm planner's model: a preset name (``smollm2``, converted into the model cache on
    first use) or a local Hugging Face causal-LM folder; default: the workspace's own model,
    built by ``robolearn bootstrap`` (or by the first run that needs it)."""
    json: bool = False
    """Print the summary as JSON (for scripts) instead of a table."""
    frames: bool = False
    """Save a camera image after every step under <workspace>/frames/."""
    learn_skills: bool = False
    """Compose new skills from plans the Searcher finds no skill for; the Evaluator proves
    each before the library keeps it (loads the embedding model)."""
    memory: bool = True
    """Plan a situation someone corrected with its correction (the lm planner only)."""
    workers: int = 1
    """Worker processes that run episodes side by side (one env each); 1 runs them here."""
    backend: str = "local"
    """Where the workers run: ``local`` (processes on this machine) or ``ray`` (a Ray
    cluster; ``pip install 'robolearn[ray]'``)."""
    ray_address: str | None = None
    """With ``--backend ray``: the cluster to join (default: start a local one)."""
    workspace: Path = field(default_factory=workspace_dir)
    """The workspace (DESIGN.md); episodes are stored in its robolearn.db."""

    def __post_init__(self) -> None:
        from robolearn.rollout import BACKENDS
        from robolearn.tasks.spec import load_families

        if self.workers < 1:
            raise UsageError(f"--workers must be at least 1, got {self.workers}")
        if self.backend not in BACKENDS:
            raise UsageError(f"unknown --backend {self.backend!r}; known: {', '.join(BACKENDS)}")
        if self.ray_address is not None and self.backend != "ray":
            raise UsageError("--ray-address is for --backend ray")
        if self.backend == "ray":
            from robolearn.rollout.ray_pool import check_ray_installed

            check_ray_installed()
        if self.learn_skills and (self.workers > 1 or self.backend == "ray"):
            raise UsageError(
                "--learn-skills grows one library episode after episode; run it "
                "with --workers 1 (the local backend)"
            )
        if self.episodes < 1:
            raise UsageError(f"--episodes must be at least 1, got {self.episodes}")
        if self.seed < 0:
            raise UsageError(f"--seed must be 0 or more, got {self.seed}")
        known = load_families()
        unknown = [f for f in self.families if f not in known]
        if unknown:
            raise UsageError(
                f"unknown --family {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        self.families = list(dict.fromkeys(self.families)) or sorted(known)
        from robolearn.learn.planners import PLANNERS

        if self.planner not in PLANNERS:
            raise UsageError(f"unknown --planner {self.planner!r}; known: {', '.join(PLANNERS)}")
        if self.model is not None and self.planner != "lm":
            raise UsageError("--model is for the lm planner; drop --planner oracle")


QUICK_PER_FAMILY = 2
QUICK_PARAPHRASES = 3
"""``bench planners --quick``: scenes per family."""
BENCH_MODELS = (DEFAULT_MODEL, "smollm2")
"""What ``bench planners`` compares unless told otherwise."""


def _to_stderr(message: str) -> None:
    """Progress notes go to stderr, so stdout stays clean for --json and pipes."""
    print(message, file=sys.stderr)


def cmd_run(config: RunConfig) -> int:
    """Run seeded episodes headless and print the per-family success table.

    Example::

        robolearn run --family stack --episodes 20 --planner oracle --seed 0
    """
    from robolearn.learn.planners import WorkspaceRollout
    from robolearn.rollout import RunRecorder, run_episodes
    from robolearn.skills.library import SkillLibrary
    from robolearn.store import Store

    if config.backend == "ray":  # a wrong address fails before any work or any write
        from robolearn.rollout.ray_pool import connect

        connect(config.ray_address, config.workers)
    setup: RolloutSetup = WorkspaceRollout(
        config.workspace, config.planner, config.model, config.memory, config.learn_skills
    ).prepare(log=_to_stderr)
    if config.backend == "ray":  # Ray workers may have no access to this disk
        from robolearn.learn.shipped import ShippedRollout

        setup = ShippedRollout.pack(setup)
    with Store.open(config.workspace) as store:
        run_id = store.start_run(
            setup.name,
            config.seed,
            {
                "families": config.families,
                "episodes": config.episodes,
                "model": str(config.model) if config.model else None,
                "learn_skills": config.learn_skills,
                "memory": config.memory,
                "workers": config.workers,
                "backend": config.backend,
            },
        )
        recorder = RunRecorder(
            store,
            run_id,
            config.workspace,
            frames=config.frames,
            library=SkillLibrary.open(config.workspace),
        )
        summary, records = run_episodes(
            config.families,
            config.episodes,
            config.seed,
            setup,
            recorder=recorder,
            workers=config.workers,
            backend=config.backend,
            ray_address=config.ray_address,
            log=_to_stderr,
        )
    for lost in summary.lost:
        print(f"error: {lost.job} was not run: {lost.reason}", file=sys.stderr)
    if config.json:
        print(json.dumps(summary.to_dict(), indent=2))
        return 1 if summary.lost else 0
    print(summary.table())
    rate = summary.episodes / summary.wall_seconds * 60 if summary.wall_seconds else 0.0
    spread = f" on {config.workers} {config.backend} workers" if config.workers > 1 else ""
    print(
        f"\n{summary.episodes} episodes in {summary.wall_seconds:.1f} s "
        f"({rate:.0f} episodes/min){spread}; stored as run {run_id} in {store.path}"
    )
    if summary.crashes:
        print(
            f"{summary.crashes} worker(s) died during the run; their episodes ran again",
            file=sys.stderr,
        )
    if config.frames:
        print(f"frames in {config.workspace / 'frames' / f'run{run_id}'}")
    for record in records:
        if record.proposal is not None:
            print(f"new skill from {record.family} seed {record.seed}: {record.proposal}")
    return 1 if summary.lost else 0


def cmd_tasks() -> int:
    """List the task families with an example instruction of each.

    Example::

        robolearn tasks
    """
    from robolearn.tasks.sampler import sample_task
    from robolearn.tasks.spec import load_families

    for name, family in sorted(load_families().items()):
        print(f"{name:<18} {family.description}")
        print(f'{"":<18} e.g. "{sample_task(family, 0).instruction}"')
    return 0


def cmd_bootstrap(workspace: Path, epochs: int, scenes: int) -> int:
    """Train the default planner model from the oracle's demonstrations (a few minutes).

    Example::

        robolearn bootstrap
    """
    from robolearn.planner.bootstrap import BootstrapConfig, build_default_model, default_model_dir

    try:
        config = BootstrapConfig(epochs=epochs, scenes_per_family=scenes)
    except ValueError as error:
        raise UsageError(str(error)) from None
    out = default_model_dir(workspace)
    report = build_default_model(out, config)
    print(
        f"saved {out}: {report.parameters:,} parameters, {report.examples} demonstrations, "
        f"{report.train_seconds:.0f} s of training; held-out exact match "
        f"{report.exact_match:.0%} of {report.heldout} tasks"
    )
    return 0


def cmd_plan(
    workspace: Path, instruction: str, family: str, seed: int | None, model: str | None
) -> int:
    """Print the plan for an instruction in a sampled scene, without running it.

    Without ``--seed`` the first scene of the family that has every colour the instruction
    names is used. Example::

        robolearn plan "stack the red block on the blue one" --family stack
    """
    from dataclasses import replace

    from robolearn.learn.planners import workspace_planner
    from robolearn.planner.lm import check_instruction
    from robolearn.sim.scene import COLOURS
    from robolearn.skills.library import SkillLibrary
    from robolearn.store import Store
    from robolearn.tasks.sampler import sample_task
    from robolearn.tasks.spec import get_family

    check_instruction(instruction)  # before a model is loaded, or built
    named = {word for word in instruction.lower().split() if word in COLOURS}
    seeds = [seed] if seed is not None else range(500)
    for seed in seeds:  # the last seed tried is the one used
        task = sample_task(get_family(family), seed)
        if named <= {o.colour for o in task.objects}:
            break
    missing = named - {o.colour for o in task.objects}
    if missing:
        print(
            f"note: this scene has no {', '.join(sorted(missing))} object; the plan can "
            "only use the objects it has",
            file=sys.stderr,
        )
    with Store.open(workspace) as store:
        planner = workspace_planner(
            "lm", workspace, SkillLibrary.open(workspace), store, model=model, log=_to_stderr
        )
        plan = planner.plan(replace(task, instruction=instruction))
    print(f"scene ({family}, seed {seed}): {', '.join(o.name for o in task.objects)}")
    print("\n".join(f"  {i + 1}. {call}" for i, call in enumerate(plan)))
    print(f"from: {planner.explanation}")
    return 0


@dataclass
class BenchPlannersConfig:
    """Settings of ``robolearn bench planners``."""

    models: list[str] = field(default_factory=lambda: list(BENCH_MODELS))
    """Models to compare: ``default`` (the workspace's own), a preset (``smollm2``) or a local
    folder; a preset whose extra is missing is skipped with a note."""
    per_family: int = 10
    """Held-out scenes per family (odd seeds)."""
    paraphrases_per_family: int | None = None
    """Paraphrases per family; None: every one in the file."""
    output: Path | None = None
    """Where the JSON results go; default: <workspace>/bench/planners.json."""
    workspace: Path = field(default_factory=workspace_dir)
    """The workspace whose default model and library are used."""

    def __post_init__(self) -> None:
        if not self.models:
            raise UsageError("give at least one --model")
        self.models = list(dict.fromkeys(self.models))
        if self.per_family < 0:
            raise UsageError(f"--per-family must be 0 or more, got {self.per_family}")

    @property
    def output_path(self) -> Path:
        """Where the JSON results are written."""
        return self.output or self.workspace / "bench" / "planners.json"


def cmd_bench_planners(config: BenchPlannersConfig) -> int:
    """Compare planner models on the same held-out scenes and hand-written paraphrases.

    Prints exact match, execution success, parse failures and plan latency per model, and
    writes them as JSON. Example::

        robolearn bench planners --model default --model smollm2 --model ~/models/my-qwen
    """
    from robolearn.learn.planners import model_dir_for
    from robolearn.planner.compare import CompareConfig, compare
    from robolearn.planner.lm import ModelNotFoundError
    from robolearn.planner.pretrained import is_preset
    from robolearn.skills.library import SkillLibrary

    for spec in config.models:  # a mistyped folder fails now, not after the other models
        if (
            spec != DEFAULT_MODEL
            and not is_preset(spec)
            and not (Path(spec).expanduser() / "config.json").is_file()
        ):
            raise ModelNotFoundError(
                f"no model at {spec} (config.json missing); --model takes "
                f"{DEFAULT_MODEL!r}, a preset (smollm2) or a local folder"
            )
    comparison = compare(
        {
            spec: (lambda spec=spec: model_dir_for(config.workspace, spec, log=_to_stderr))
            for spec in config.models
        },
        CompareConfig(
            per_family=config.per_family, paraphrases_per_family=config.paraphrases_per_family
        ),
        library=SkillLibrary.open(config.workspace),
        log=_to_stderr,
    )
    print(comparison.report())
    config.output_path.parent.mkdir(parents=True, exist_ok=True)
    config.output_path.write_text(json.dumps(comparison.to_dict(), indent=1) + "\n")
    print(f"\nresults written to {config.output_path}")
    return 0


def cmd_dashboard(workspace: Path, address: str, port: int) -> int:
    """Serve the Streamlit dashboard for a workspace (localhost unless told otherwise).

    Example::

        robolearn dashboard --port 8501
    """
    import os
    import signal
    import subprocess

    from robolearn.paths import WORKSPACE_ENV, app_path

    if not 0 < port < 65536:
        raise UsageError(f"--port must be between 1 and 65535, got {port}")
    if address not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"warning: the dashboard listens on {address}: anyone who can reach it can run "
            "and correct episodes in this workspace",
            file=sys.stderr,
        )
    print(f"dashboard for {workspace.resolve()} at http://{address}:{port}", file=sys.stderr)
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app_path()),
        "--server.headless",
        "true",
        "--server.address",
        address,
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
    ]
    environment = {**os.environ, WORKSPACE_ENV: str(workspace.resolve())}
    server = subprocess.Popen(command, env=environment)
    # A kill (SIGTERM) becomes SystemExit, so the `finally` below stops the server too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return server.wait()
    finally:  # Ctrl-C or a kill of this process must not leave the server on the port
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=10)


# ----- robolearn train, adapters ---------------------------------------------------------------
@dataclass
class TrainConfig:
    """Settings of ``robolearn train``."""

    round: RoundConfig
    """What one round trains on and how (data, LoRA, promotion gate)."""
    every: int | None = None
    """Keep watching the store and run a round whenever this many new corrections arrived;
    None runs one round now."""
    poll_seconds: float = 5.0
    """How often ``--every`` looks for new corrections."""
    max_rounds: int | None = None
    """With ``--every``: stop after this many rounds (default: run until interrupted)."""
    model: str | None = None
    """The base model: a preset, a folder, or None for the workspace's own."""
    workspace: Path = field(default_factory=workspace_dir)

    def __post_init__(self) -> None:
        if self.every is not None and self.every < 1:
            raise UsageError(f"--every must be at least 1 correction, got {self.every}")
        if self.poll_seconds <= 0:
            raise UsageError(f"--poll must be more than 0 seconds, got {self.poll_seconds}")
        if self.max_rounds is not None and self.max_rounds < 1:
            raise UsageError(f"--rounds must be at least 1, got {self.max_rounds}")


def cmd_train(config: TrainConfig) -> int:
    """Run a LoRA round now, or (``--every N``) whenever N new corrections have arrived.

    Example::

        robolearn train
        robolearn train --every 20
    """
    from robolearn.learn.planners import model_dir_for
    from robolearn.learn.rounds import run_round
    from robolearn.learn.watch import CorrectionWatcher

    model = model_dir_for(config.workspace, config.model, log=_to_stderr)
    if config.every is None:
        _report(run_round(config.workspace, model, config.round, log=_to_stderr))
        return 0
    watcher = CorrectionWatcher(config.workspace, model, config.every)
    print(
        f"watching {config.workspace} for corrections: a round every {config.every} (Ctrl-C stops)",
        file=sys.stderr,
    )
    try:
        for outcome in watcher.rounds(
            config.round, config.poll_seconds, config.max_rounds, log=_to_stderr
        ):
            _report(outcome)
    except KeyboardInterrupt:
        print("stopped watching", file=sys.stderr)
    return 0


def _report(outcome: RoundOutcome) -> None:
    print(outcome.table())
    verdict = "promoted: now in use" if outcome.promoted else "kept the adapter in use"
    print(
        f"\nround {outcome.round_id} {verdict} ({outcome.reason}); {outcome.seconds:.0f} s; "
        f"adapter {outcome.adapter}"
    )


def cmd_adapters_list(workspace: Path, model: str | None) -> int:
    """List the training rounds of the base model, their outcome, and which adapter is in use.

    Example::

        robolearn adapters list
    """
    from robolearn.learn.adapters import active
    from robolearn.learn.planners import model_dir_for
    from robolearn.planner.identity import model_identity
    from robolearn.store import Store

    base = model_identity(model_dir_for(workspace, model, build=False))
    with Store.open(workspace) as store:
        rounds = store.rounds(base)
        in_use = active(store, workspace, base).round_id
    print(f"base model {base}: {'no rounds yet' if not rounds else f'{len(rounds)} rounds'}")
    if rounds:
        print(
            f"  {'round':>5} {'status':<11} {'new':>5} {'replay':>6} {'mean success':>12}  started"
        )
    for row in rounds:
        data = row.metrics.get("dataset", {})
        candidate = row.metrics.get("candidate", {})
        mean = f"{sum(candidate.values()) / len(candidate):.0%}" if candidate else "-"
        mark = "*" if row.id == in_use else " "
        print(
            f"{mark} {row.id:>5} {row.status:<11} {data.get('new', '-'):>5} "
            f"{data.get('replay', '-'):>6} {mean:>12}  {row.created}  {row.reason}"
        )
    print("* in use" if in_use is not None else "in use: the base model alone")
    return 0


def cmd_adapters_use(workspace: Path, model: str | None, choice: str, why: str) -> int:
    """Plan with another round's adapter from now on (``base``: none), e.g. to roll back.

    Example::

        robolearn adapters use 3
        robolearn adapters use base --why "round 4 breaks stacking"
    """
    from robolearn.learn.adapters import use_round
    from robolearn.learn.planners import model_dir_for
    from robolearn.store import Store

    if choice != "base" and not choice.isdigit():
        raise UsageError(f"adapters use takes a round number or 'base', not {choice!r}")
    round_id = None if choice == "base" else int(choice)
    with Store.open(workspace) as store:
        use_round(
            store,
            workspace,
            model_dir_for(workspace, model, build=False),
            round_id,
            why or f"chosen by hand: {choice}",
        )
    print(
        "now planning with "
        + ("the base model alone" if round_id is None else f"the adapter of round {round_id}")
    )
    return 0


def cmd_bench_learning(
    workspace: Path, model: str | None, out: Path, quick: bool, conditions: list[str], threads: int
) -> int:
    """Run the continual-learning benchmark headless; write report.json, report.md and a plot.

    Example::

        robolearn bench learning --out learning-report
        robolearn bench learning --quick --condition memory --condition naive
    """
    from robolearn.learn.benchmark import LearningBenchConfig, quick_config, run_benchmark
    from robolearn.learn.planners import model_dir_for
    from robolearn.learn.report import bars, write_report

    try:
        config = quick_config() if quick else LearningBenchConfig()
        if conditions:
            config = replace(config, conditions=tuple(dict.fromkeys(conditions)))
        config = replace(
            config, round=replace(config.round, lora=replace(config.round.lora, threads=threads))
        )
    except ValueError as error:
        raise UsageError(str(error)) from None
    report = run_benchmark(
        model_dir_for(workspace, model, log=_to_stderr), out, config, log=_to_stderr
    )
    text, image = write_report(report, out)
    print(text.read_text())
    failed = [bar.name for bar in bars(report) if not bar.passed]
    print(
        f"report: {text}, plot: {image}"
        + (f"; missed: {', '.join(failed)}" if failed else "; every target met")
    )
    return 0


# ----- robolearn skills ---------------------------------------------------------------------
def cmd_skills_list(workspace: Path) -> int:
    """List every skill with its kind, version, origin and record.

    Example::

        robolearn skills list
    """
    from robolearn.skills.library import SkillLibrary

    library = SkillLibrary.open(workspace)
    width = max(len(name) for name in library.names())
    print(f"{'skill':<{width}} {'kind':<9} {'ver':>3} {'origin':<8} {'runs ok':>9}  signature")
    for name in library.names():
        skill = library.get(name)
        composite = library.composites.get(name)
        stats = library.stats(name) if composite else None
        record = f"{stats.successes}/{stats.runs}" if stats and stats.runs else "-"
        print(
            f"{name:<{width}} {'composite' if composite else 'atomic':<9} "
            f"{composite.version if composite else '-':>3} "
            f"{composite.provenance.source if composite else 'code':<8} {record:>9}  "
            f"{skill.signature}"
        )
    return 0


def cmd_skills_show(workspace: Path, name: str) -> int:
    """Show one skill: signature, description, steps, effect, versions, provenance, record.

    Example::

        robolearn skills show build_tower
    """
    from robolearn.skills.library import SkillLibrary

    library = SkillLibrary.open(workspace)
    skill = library.get(name)
    print(f"{skill.signature}\n  {skill.description}")
    if name not in library.composites:
        print("  atomic skill (motion code in robolearn/skills/atomic.py)")
        return 0
    print("steps:\n" + "\n".join(f"  {i + 1}. {step}" for i, step in enumerate(skill.steps)))
    print("effect: " + ", ".join(map(str, skill.effect)))
    print("versions:")
    for version in library.versions(name):
        origin = version.provenance
        extra = "".join(
            f", {key} {value}" for key, value in origin.to_json().items() if key != "source"
        )
        print(f"  v{version.version}  {origin.source}{extra}  [{version.content_hash}]")
    stats = library.stats(name)
    print(
        f"record: evaluations passed {stats.passed}/{stats.evaluations}, "
        f"episodes succeeded {stats.successes}/{stats.runs}"
    )
    return 0


def cmd_skills_search(workspace: Path, query: str, k: int) -> int:
    """Find the skills closest to a sub-goal, and say whether to reuse, adapt or write one.

    Example::

        robolearn skills search "put the red cube into the bowl"
    """
    from robolearn.skills.embeddings import Embedder, EmbeddingCache
    from robolearn.skills.library import SkillLibrary
    from robolearn.skills.searcher import Searcher

    library = SkillLibrary.open(workspace)
    embedder = Embedder()
    searcher = Searcher(library, embedder, cache=EmbeddingCache(workspace / "cache" / "embeddings"))
    result = searcher.search(query, k=k)
    meaning = {
        "reuse": f"call {result.matches[0].name} as it is",
        "adapt": "the closest skills go to the planner to pick or adapt",
        "new": "no skill fits; the planner writes a new one",
    }[result.decision]
    print(
        f"decision: {result.decision}: {meaning}  (reuse >= {searcher.tau_reuse:.2f}, "
        f"new < {searcher.tau_new:.2f})"
    )
    for match in result.matches:
        print(f"  {match.similarity:5.2f}  {match.signature}")
    return 0


def cmd_skills_export(workspace: Path, out: Path) -> int:
    """Write the library as a portable bundle (a folder, or a .zip).

    Example::

        robolearn skills export my-skills.zip
    """
    from robolearn.skills.bundle import export_bundle
    from robolearn.skills.library import SkillLibrary

    library = SkillLibrary.open(workspace)
    path = export_bundle(library, out)
    print(f"exported {len(library.composites)} composite skills to {path}")
    return 0


def cmd_skills_import(workspace: Path, bundle: Path) -> int:
    """Bring a bundle's skills into this workspace; a bad bundle changes nothing.

    Example::

        robolearn skills import my-skills.zip --workspace other-workspace
    """
    from robolearn.skills.bundle import import_bundle
    from robolearn.skills.library import SkillLibrary

    report = import_bundle(SkillLibrary.open(workspace), bundle)
    for label, names in (
        ("added", report.added),
        ("updated", report.updated),
        ("unchanged", report.unchanged),
    ):
        print(f"{label:<10} {', '.join(names) if names else '-'}")
    return 0


def cmd_skills_add(workspace: Path, file: Path, family: str, seed: int, args: list[str]) -> int:
    """Prove a hand-written composite skill in simulation, then add it to the library.

    ``--args`` names the family's roles (or objects) to call it with. Example::

        robolearn skills add my_stack.json --family stack --args top,base
    """
    import json

    from robolearn.calls import Call
    from robolearn.skills.composite import Provenance, skill_from_json
    from robolearn.skills.evaluator import Evaluator
    from robolearn.skills.library import SkillLibrary
    from robolearn.tasks.env import TabletopEnv
    from robolearn.tasks.spec import get_family

    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UsageError(f"cannot read {file} as a JSON skill file: {error}") from None
    skill = skill_from_json(data, str(file))
    library = SkillLibrary.open(workspace)
    env = TabletopEnv(get_family(family))
    try:
        env.reset(seed=seed)
        bound = tuple(env.task.roles.get(arg, arg) for arg in args)
        verdict, stored = Evaluator(library).admit(
            skill, env, bound, Provenance("person", note=f"added from {file.name}")
        )
    finally:
        env.close()
    print(f"{Call(skill.name, bound)}: {verdict}")
    if stored is not None:
        print(f"saved as {stored.name} v{stored.version}")
    return 0 if verdict.passed else 1


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line, not a usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    from robolearn.planner.bootstrap import BootstrapConfig

    parser = _Parser(
        prog="robolearn",
        description="A robotics skill-library learner with correction feedback.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = parser.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    run = verbs.add_parser(
        "run",
        help="run seeded episodes headless",
        epilog=(
            "examples:\n  robolearn run --family stack --episodes 20 --planner oracle --seed 0\n"
            "  robolearn run --family stack --family tower --episodes 5 --json\n"
            "  robolearn run --family stack --episodes 10 --model smollm2\n"
            "  robolearn run --episodes 3 --frames --workspace /tmp/ws\n"
            "  robolearn run --family stack --episodes 200 --workers 2\n"
            "  robolearn run --episodes 20 --workers 8 --backend ray --ray-address auto"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "--family",
        action="append",
        default=[],
        dest="families",
        help="task family (repeatable; default: all)",
    )
    run.add_argument(
        "--episodes",
        type=int,
        default=RunConfig.episodes,
        help="episodes per family (default: %(default)s)",
    )
    run.add_argument(
        "--seed", type=int, default=RunConfig.seed, help="first task seed (default: %(default)s)"
    )
    run.add_argument(
        "--planner",
        default=RunConfig.planner,
        help="lm (default: the language-model planner) or oracle",
    )
    run.add_argument(
        "--model",
        default=None,
        help="the lm planner's model: a preset (smollm2) or a local Hugging Face "
        "causal-LM folder (default: the workspace's own model, built on first use)",
    )
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    run.add_argument(
        "--no-memory",
        action="store_false",
        dest="memory",
        help="do not plan corrected situations from their corrections",
    )
    run.add_argument(
        "--learn-skills",
        action="store_true",
        help="compose new skills from plans no skill covers (Evaluator-proven)",
    )
    run.add_argument("--frames", action="store_true", help="save a camera image after every step")
    run.add_argument(
        "--workers",
        type=int,
        default=RunConfig.workers,
        help="worker processes running episodes side by side (default: "
        "%(default)s; the results do not depend on it)",
    )
    run.add_argument(
        "--backend",
        default=RunConfig.backend,
        help="where workers run: local (default) or ray (pip install 'robolearn[ray]')",
    )
    run.add_argument(
        "--ray-address",
        default=None,
        help="with --backend ray: the cluster to join (default: a local one)",
    )
    run.add_argument(
        "--workspace",
        type=Path,
        default=None,
        help="workspace folder (default: $ROBOLEARN_WORKSPACE or ./robolearn-workspace)",
    )
    boot = verbs.add_parser(
        "bootstrap",
        help="train the default planner model",
        epilog="example:\n  robolearn bootstrap",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    boot.add_argument(
        "--epochs",
        type=int,
        default=BootstrapConfig.epochs,
        help="passes over the demonstrations (default: %(default)s)",
    )
    boot.add_argument(
        "--scenes",
        type=int,
        default=BootstrapConfig.scenes_per_family,
        help="training scenes per family (default: %(default)s)",
    )
    boot.add_argument("--workspace", type=Path, default=None, help="workspace folder")
    plan = verbs.add_parser(
        "plan",
        help="print the plan for an instruction",
        epilog=(
            'examples:\n  robolearn plan "stack the red block on the blue one" --family stack\n'
            '  robolearn plan "put the green block in the bowl" --family place_in_zone --seed 3'
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    plan.add_argument("instruction", help="what the robot should do, in words")
    plan.add_argument(
        "--family", default="stack", help="family whose scene to sample (default: %(default)s)"
    )
    plan.add_argument(
        "--seed",
        type=int,
        default=None,
        help="scene seed (default: the first scene with the colours named)",
    )
    plan.add_argument(
        "--model",
        default=None,
        help="a preset (smollm2) or a local Hugging Face causal-LM folder "
        "(default: the workspace's own model)",
    )
    plan.add_argument("--workspace", type=Path, default=None, help="workspace folder")
    dash = verbs.add_parser(
        "dashboard",
        help="serve the Streamlit dashboard",
        epilog=(
            "examples:\n  robolearn dashboard\n  robolearn dashboard --port 8600 --workspace lab"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    dash.add_argument(
        "--address",
        default="127.0.0.1",
        help="address to listen on (default: %(default)s, this machine only)",
    )
    dash.add_argument("--port", type=int, default=8501, help="port (default: %(default)s)")
    dash.add_argument("--workspace", type=Path, default=None, help="workspace folder")
    _train_parser(verbs)
    adapters = verbs.add_parser(
        "adapters",
        help="list training rounds, choose the adapter",
        epilog=ADAPTERS_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    choices = adapters.add_subparsers(dest="action", required=True, parser_class=_Parser)
    for action, helptext in (
        ("list", "list the rounds and the adapter in use"),
        ("use", "plan with a round's adapter (or 'base')"),
    ):
        sub = choices.add_parser(
            action,
            help=helptext,
            epilog=ADAPTERS_EXAMPLES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.add_argument(
            "--model",
            default=None,
            help="base model: a preset (smollm2) or a folder (default: the workspace's own)",
        )
        sub.add_argument("--workspace", type=Path, default=None, help="workspace folder")
        if action == "use":
            sub.add_argument("round", help="round number, or 'base' for no adapter")
            sub.add_argument("--why", default="", help="why (kept in the adapter log)")
    bench = verbs.add_parser(
        "bench",
        help="measure and compare",
        epilog=BENCH_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    measures = bench.add_subparsers(dest="action", required=True, parser_class=_Parser)
    learning = measures.add_parser(
        "learning",
        help="the continual-learning benchmark",
        epilog=BENCH_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    learning.add_argument(
        "--out",
        type=Path,
        default=Path("learning-report"),
        help="folder for the report and the conditions' workspaces (default: %(default)s)",
    )
    learning.add_argument(
        "--quick", action="store_true", help="two families, small budgets: a minutes-long smoke run"
    )
    learning.add_argument(
        "--condition",
        action="append",
        default=[],
        dest="conditions",
        help="run only this condition (repeatable): none, naive, reservoir, balanced, memory",
    )
    learning.add_argument(
        "--threads",
        type=int,
        default=2,
        help="CPU threads for training (default: %(default)s; 1 when the machine is busy)",
    )
    learning.add_argument(
        "--model",
        default=None,
        help="base model: a preset (smollm2) or a folder (default: the workspace's own)",
    )
    learning.add_argument(
        "--workspace", type=Path, default=None, help="workspace whose default model to use"
    )
    verbs.add_parser(
        "tasks",
        help="list the task families",
        epilog="example:\n  robolearn tasks",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    planners = measures.add_parser(
        "planners",
        help="compare planner models on held-out scenes and paraphrases",
        epilog=BENCH_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    planners.add_argument(
        "--model",
        action="append",
        default=None,
        dest="models",
        help="model to compare (repeatable): default, a preset (smollm2) or "
        "a local folder; without it: default and smollm2",
    )
    planners.add_argument(
        "--per-family",
        type=int,
        default=None,
        help="held-out scenes per family (default: 10; --quick: 2)",
    )
    planners.add_argument(
        "--quick", action="store_true", help="2 held-out scenes and 3 paraphrases per family"
    )
    planners.add_argument(
        "--output",
        type=Path,
        default=None,
        help="JSON results file (default: <workspace>/bench/planners.json)",
    )
    planners.add_argument("--workspace", type=Path, default=None, help="workspace folder")
    skills = verbs.add_parser(
        "skills",
        help="browse, search, add, export and import skills",
        epilog=SKILLS_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = skills.add_subparsers(dest="action", required=True, parser_class=_Parser)
    for action, helptext in (
        ("list", "list every skill"),
        ("show", "show one skill"),
        ("search", "find skills for a sub-goal"),
        ("export", "write the library as a bundle"),
        ("import", "bring a bundle's skills in"),
        ("add", "prove a composite skill file and add it"),
    ):
        sub = actions.add_parser(
            action,
            help=helptext,
            epilog=SKILLS_EXAMPLES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.add_argument("--workspace", type=Path, default=None, help="workspace folder")
        if action == "show":
            sub.add_argument("name", help="skill name")
        elif action == "search":
            sub.add_argument("query", help="the sub-goal, in words")
            sub.add_argument("-k", type=int, default=5, help="matches to show (default: 5)")
        elif action == "export":
            sub.add_argument("out", type=Path, help="bundle folder, or a path ending in .zip")
        elif action == "import":
            sub.add_argument("bundle", type=Path, help="bundle folder or .zip")
        elif action == "add":
            sub.add_argument("file", type=Path, help="composite skill JSON file")
            sub.add_argument("--family", required=True, help="task family to prove it on")
            sub.add_argument("--seed", type=int, default=0, help="task seed (default: 0)")
            sub.add_argument(
                "--args", default="", help="comma-separated roles or object names to call it with"
            )
    return parser


def _train_parser(verbs: argparse._SubParsersAction) -> None:
    from robolearn.learn.dataset import DataConfig
    from robolearn.learn.lora import LoraSettings
    from robolearn.learn.rounds import RoundConfig

    train = verbs.add_parser(
        "train",
        help="run a LoRA round on corrections (or every N)",
        epilog=TRAIN_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_argument(
        "--every",
        type=int,
        default=None,
        help="keep watching; run a round whenever N new corrections arrived",
    )
    train.add_argument(
        "--poll",
        type=float,
        default=5.0,
        help="with --every: seconds between looks (default: %(default)s)",
    )
    train.add_argument(
        "--rounds", type=int, default=None, help="with --every: stop after this many rounds"
    )
    train.add_argument(
        "--model",
        default=None,
        help="base model: a preset (smollm2) or a folder (default: the workspace's own)",
    )
    train.add_argument(
        "--replay",
        default=DataConfig.replay,
        help="balanced (default), reservoir, or none (naive fine-tuning)",
    )
    train.add_argument(
        "--replay-ratio",
        type=float,
        default=DataConfig.replay_ratio,
        help="replayed examples per new one (default: %(default)s)",
    )
    train.add_argument(
        "--replay-size",
        type=int,
        default=DataConfig.replay_size,
        help="most examples replayed in a round (default: %(default)s)",
    )
    train.add_argument(
        "--augment",
        type=int,
        default=DataConfig.augment,
        help="colour-renamed copies of each lesson (default: %(default)s)",
    )
    train.add_argument(
        "--epochs",
        type=int,
        default=LoraSettings.epochs,
        help="passes over the round's data (default: %(default)s)",
    )
    train.add_argument(
        "--rank", type=int, default=LoraSettings.rank, help="LoRA rank (default: %(default)s)"
    )
    train.add_argument(
        "--learning-rate",
        type=float,
        default=LoraSettings.learning_rate,
        help="peak learning rate (default: %(default)s)",
    )
    train.add_argument(
        "--threads",
        type=int,
        default=LoraSettings.threads,
        help="CPU threads (default: %(default)s; 1 beside a busy dashboard)",
    )
    train.add_argument(
        "--max-regression",
        type=float,
        default=RoundConfig.max_regression,
        help="most a family's success may drop for promotion, as a fraction (default: %(default)s)",
    )
    train.add_argument(
        "--eval-scenes",
        type=int,
        default=RoundConfig.eval_scenes,
        help="held-out scenes per family for the gate (default: %(default)s)",
    )
    train.add_argument("--seed", type=int, default=0, help="seed (default: 0)")
    train.add_argument("--workspace", type=Path, default=None, help="workspace folder")


def _train_config(args: argparse.Namespace, workspace: Path) -> TrainConfig:
    from robolearn.learn.dataset import DataConfig
    from robolearn.learn.lora import LoraSettings
    from robolearn.learn.rounds import RoundConfig

    try:
        round_config = RoundConfig(
            data=DataConfig(
                replay=args.replay,
                replay_ratio=args.replay_ratio,
                replay_size=args.replay_size,
                augment=args.augment,
            ),
            lora=LoraSettings(
                rank=args.rank,
                alpha=2 * args.rank,
                epochs=args.epochs,
                learning_rate=args.learning_rate,
                threads=args.threads,
            ),
            max_regression=args.max_regression,
            eval_scenes=args.eval_scenes,
            seed=args.seed,
        )
    except ValueError as error:
        raise UsageError(str(error).replace("_", "-")) from None
    return TrainConfig(
        round=round_config,
        every=args.every,
        poll_seconds=args.poll,
        max_rounds=args.rounds,
        model=args.model,
        workspace=workspace,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``robolearn`` console script."""
    args = _parser().parse_args(argv)
    command = " ".join(filter(None, (args.verb, getattr(args, "action", None))))
    try:
        return _dispatch(args)
    except UserError as error:
        print(f"robolearn {command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # what finished is kept: runs and rounds store as they go
        print(
            f"\nrobolearn {command}: interrupted; what finished before is stored", file=sys.stderr
        )
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    if args.verb == "tasks":
        return cmd_tasks()
    workspace = workspace_dir(args.workspace)
    if args.verb == "run":
        return cmd_run(
            RunConfig(
                families=args.families,
                episodes=args.episodes,
                seed=args.seed,
                planner=args.planner,
                model=args.model,
                json=args.json,
                frames=args.frames,
                learn_skills=args.learn_skills,
                memory=args.memory,
                workers=args.workers,
                backend=args.backend,
                ray_address=args.ray_address,
                workspace=workspace,
            )
        )
    if args.verb == "dashboard":
        return cmd_dashboard(workspace, args.address, args.port)
    if args.verb == "bootstrap":
        return cmd_bootstrap(workspace, args.epochs, args.scenes)
    if args.verb == "plan":
        return cmd_plan(workspace, args.instruction, args.family, args.seed, args.model)
    if args.verb == "train":
        return cmd_train(_train_config(args, workspace))
    if args.verb == "adapters":
        if args.action == "list":
            return cmd_adapters_list(workspace, args.model)
        return cmd_adapters_use(workspace, args.model, args.round, args.why)
    if args.verb == "bench" and args.action == "planners":
        return cmd_bench_planners(
            BenchPlannersConfig(
                models=args.models or list(BENCH_MODELS),
                per_family=args.per_family
                if args.per_family is not None
                else QUICK_PER_FAMILY
                if args.quick
                else BenchPlannersConfig.per_family,
                paraphrases_per_family=QUICK_PARAPHRASES if args.quick else None,
                output=args.output,
                workspace=workspace,
            )
        )
    if args.verb == "bench" and args.action == "learning":
        return cmd_bench_learning(
            workspace, args.model, args.out, args.quick, args.conditions, args.threads
        )
    action = args.action
    if action == "list":
        return cmd_skills_list(workspace)
    if action == "show":
        return cmd_skills_show(workspace, args.name)
    if action == "search":
        return cmd_skills_search(workspace, args.query, args.k)
    if action == "export":
        return cmd_skills_export(workspace, args.out)
    if action == "import":
        return cmd_skills_import(workspace, args.bundle)
    return cmd_skills_add(
        workspace,
        args.file,
        args.family,
        args.seed,
        [a.strip() for a in args.args.split(",") if a.strip()],
    )


if __name__ == "__main__":
    sys.exit(main())
