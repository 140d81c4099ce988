"""``robolearn run``: seeded episodes headless, stored in the workspace, a success table."""

from __future__ import annotations

import json
from dataclasses import dataclass

from robolearn.cli.command import Command, InWorkspace, WithModel, note, say
from robolearn.cli.flags import flag
from robolearn.errors import ConfigError
from robolearn.rollout import BACKENDS
from robolearn.workspace import PLANNERS, PlannerChoice

MAX_EPISODES = 1_000_000
"""The most episodes per family one run takes (each is a stored row)."""
MAX_WORKERS = 1_024


@dataclass(kw_only=True)
class RunConfig(WithModel, InWorkspace):
    """Run seeded episodes headless and print the per-family success table."""

    families: list[str] = flag(default_factory=list, name="--family")
    """Task families to run (robolearn tasks lists them; repeatable); none given: all of them."""
    episodes: int = 10
    """Episodes per family; task seeds are seed, seed+1, ..."""
    seed: int = 0
    """First task seed: the same seed gives the same scenes and results."""
    planner: str = PlannerChoice.name
    """Who writes the plans: lm (the language-model planner) or oracle (the family's scripted
    expert)."""
    json: bool = False
    """Print the summary as JSON (for scripts) instead of a table."""
    frames: bool = False
    """Save a camera image after every step under <workspace>/frames/."""
    learn_skills: bool = False
    """Compose new skills from plans the Searcher finds no skill for; the Evaluator proves
    each before the library keeps it (loads the embedding model)."""
    memory: bool = PlannerChoice.memory
    """Plan a situation someone corrected with its correction (the lm planner only)."""
    workers: int = 1
    """Worker processes that run episodes side by side (one env each; the results do not
    depend on it); 1 runs them here."""
    backend: str = BACKENDS[0]
    """Where the workers run: local (processes on this machine) or ray (a Ray cluster; pip
    install 'robolearn[ray]')."""
    ray_address: str | None = None
    """With --backend ray: the cluster to join (default: start a local one)."""

    def __post_init__(self) -> None:
        from robolearn.tasks.spec import load_families

        if not 1 <= self.workers <= MAX_WORKERS:
            raise ConfigError(
                "workers", f"{{}} must be at least 1 (at most {MAX_WORKERS}), got {self.workers}"
            )
        if self.backend not in BACKENDS:
            raise ConfigError(
                "backend", f"unknown {{}} {self.backend!r}; known: {', '.join(BACKENDS)}"
            )
        if self.ray_address is not None and self.backend != "ray":
            raise ConfigError("ray_address", "{} is for --backend ray")
        if self.learn_skills and (self.workers > 1 or self.backend == "ray"):
            raise ConfigError(
                "learn_skills",
                "{} grows one library episode after episode; run it with --workers 1 (the "
                "local backend)",
            )
        if not 1 <= self.episodes <= MAX_EPISODES:
            raise ConfigError(
                "episodes",
                f"{{}} must be at least 1 (at most {MAX_EPISODES:,}), got {self.episodes}",
            )
        if self.seed < 0:
            raise ConfigError("seed", f"{{}} must be 0 or more, got {self.seed}")
        known = load_families()
        unknown = [f for f in self.families if f not in known]
        if unknown:
            raise ConfigError(
                "families", f"unknown {{}} {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        self.families = list(dict.fromkeys(self.families)) or sorted(known)
        if self.planner not in PLANNERS:
            raise ConfigError(
                "planner", f"unknown {{}} {self.planner!r}; known: {', '.join(PLANNERS)}"
            )
        if self.model is not None and self.planner != "lm":
            raise ConfigError("model", "{} is for the lm planner; drop --planner oracle")

    @property
    def choice(self) -> PlannerChoice:
        """The planner these flags choose."""
        return PlannerChoice(self.planner, self.model, self.memory)


def run(config: RunConfig) -> int:
    """Run the episodes, store each as it ends, and print how each family went."""
    from robolearn.rollout import RolloutSetup, RunRecorder, run_episodes
    from robolearn.workspace import Workspace

    workspace = Workspace.open(config.folder)
    if config.backend == "ray":  # a wrong address fails before any work or any write
        from robolearn.rollout.ray_pool import check_ray_installed, connect

        check_ray_installed()
        connect(config.ray_address, config.workers)
    prepared = workspace.rollout(config.choice, config.learn_skills).prepare(log=note)
    setup: RolloutSetup = prepared
    if config.backend == "ray":  # Ray workers may have no access to this disk
        from robolearn.rollout.shipped import ShippedRollout

        setup = ShippedRollout.pack(prepared)
    with workspace.store() as store:
        run_id = store.start_run(setup.name, config.seed, _run_record(config))
        recorder = RunRecorder(store, run_id, workspace.root, frames=config.frames)
        summary, records = run_episodes(
            config.families,
            config.episodes,
            config.seed,
            setup,
            recorder=recorder,
            workers=config.workers,
            backend=config.backend,
            ray_address=config.ray_address,
            log=note,
        )
    for lost in summary.lost:
        note(f"error: {lost.job} was not run: {lost.reason}")
    if config.json:
        say(json.dumps(summary.to_dict(), indent=2))
        return 1 if summary.lost else 0
    say(summary.table())
    rate = summary.episodes / summary.wall_seconds * 60 if summary.wall_seconds else 0.0
    spread = f" on {config.workers} {config.backend} workers" if config.workers > 1 else ""
    say(
        f"\n{summary.episodes} episodes in {summary.wall_seconds:.1f} s "
        f"({rate:.0f} episodes/min){spread}; stored as run {run_id} in {store.path}"
    )
    if summary.crashes:
        note(f"{summary.crashes} worker(s) died during the run; their episodes ran again")
    if config.frames:
        say(f"frames in {workspace.run_frames(run_id)}")
    for record in records:
        if record.proposal is not None:
            say(f"new skill from {record.family} seed {record.seed}: {record.proposal}")
    return 1 if summary.lost else 0


def _run_record(config: RunConfig) -> dict[str, object]:
    """What the store keeps of the run's settings."""
    return {
        "families": config.families,
        "episodes": config.episodes,
        "model": str(config.model) if config.model else None,
        "learn_skills": config.learn_skills,
        "memory": config.memory,
        "workers": config.workers,
        "backend": config.backend,
    }


COMMAND = Command(
    help="run seeded episodes headless",
    config=RunConfig,
    run=run,
    examples=(
        "robolearn run --family stack --episodes 20 --planner oracle --seed 0",
        "robolearn run --family stack --family tower --episodes 5 --json",
        "robolearn run --family stack --episodes 10 --model smollm2",
        "robolearn run --episodes 3 --frames --workspace /tmp/ws",
        "robolearn run --family stack --episodes 200 --workers 2",
        "robolearn run --episodes 20 --workers 8 --backend ray --ray-address auto",
    ),
)
