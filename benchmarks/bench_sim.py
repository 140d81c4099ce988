"""Simulation benchmarks: env overhead, reset cost, oracle episode throughput, determinism.

Every figure is compared with a baseline measured in the same run (the machine is shared and
noisy, so only ratios within one run mean much). Run from the repository root::

    python -m benchmarks.bench_sim            # full run, about a minute
    python -m benchmarks.bench_sim --quick    # a few episodes, for CI and tests

The results are printed as a table and written to ``benchmarks/results/bench_sim.json``.
"""

from __future__ import annotations

import itertools
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from benchmarks.common import Bar, benchmark_main, format_table
from robolearn.agent import run_episode
from robolearn.planner.oracle import OraclePlanner
from robolearn.records import EpisodeRecord
from robolearn.sim.world import TabletopWorld
from robolearn.skills.library import SkillLibrary
from robolearn.tasks.env import SUBSTEPS, TabletopEnv
from robolearn.tasks.sampler import sample_task
from robolearn.tasks.spec import get_family, load_families

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "bench_sim.json"
OVERHEAD_FAMILY = "place_in_zone"
PICK_PLACE_FAMILY = "place_in_zone"
DETERMINISM_FAMILY = "stack"
DETERMINISM_SEED = 3
DETERMINISM_OTHER_SEEDS = range(6)

MIN_ENV_RATIO = 0.85
MAX_SET_SCENE_MS = 1.0
MIN_EPISODES_PER_MIN = 300.0
MIN_EPISODES_PER_MIN_FRAMES = 200.0


@dataclass(frozen=True)
class Settings:
    """How much work each benchmark does."""

    repeats: int
    """Repeats of the env-vs-raw stepping comparison (the median is reported)."""
    env_steps: int
    """Control steps per repeat (each is ``SUBSTEPS`` physics steps)."""
    set_scene_calls: int
    reset_calls: int
    world_builds: int
    renders: int
    episodes: int
    """Pick-and-place episodes per mode (without and with images)."""
    family_episodes: int
    """Episodes of every family for the per-family throughput."""


FULL = Settings(
    repeats=9,
    env_steps=400,
    set_scene_calls=500,
    reset_calls=300,
    world_builds=5,
    renders=30,
    episodes=60,
    family_episodes=15,
)
QUICK = Settings(
    repeats=3,
    env_steps=100,
    set_scene_calls=50,
    reset_calls=30,
    world_builds=2,
    renders=5,
    episodes=3,
    family_episodes=1,
)


# ----- results ------------------------------------------------------------------------------
@dataclass
class EnvOverhead:
    """Physics steps per second through ``TabletopEnv.step`` and through raw ``stepSimulation``."""

    family: str
    repeats: int
    physics_steps_per_repeat: int
    env_steps_per_s: float
    raw_steps_per_s: float
    """Baseline: ``stepSimulation`` in a plain loop on the same world and scene."""

    @property
    def ratio(self) -> float:
        """Env throughput as a fraction of raw physics throughput."""
        return self.env_steps_per_s / self.raw_steps_per_s


@dataclass
class ResetCost:
    """Median milliseconds to start an episode, against rebuilding the world."""

    set_scene_ms: float
    env_reset_ms: float
    fresh_world_ms: float
    """Baseline: building a new ``TabletopWorld`` (connect, reload every URDF and body)."""


@dataclass
class Throughput:
    """Oracle episodes per minute of wall time in one process, and how many succeeded."""

    family: str
    frames: bool
    episodes: int
    seconds: float
    successes: int
    images: int

    @property
    def per_minute(self) -> float:
        """Episodes per minute."""
        return 60.0 * self.episodes / self.seconds

    @property
    def success_rate(self) -> float:
        """Fraction of episodes that succeeded."""
        return self.successes / self.episodes


@dataclass
class Determinism:
    """Whether an episode replays bitwise after other episodes ran in the same env."""

    family: str
    seed: int
    other_family: str
    other_seeds: list[int]
    poses_equal: bool
    records_equal: bool
    max_position_diff_m: float

    @property
    def equal(self) -> bool:
        """Both the final poses and the episode records match."""
        return self.poses_equal and self.records_equal


@dataclass
class Results:
    """Everything one run measured."""

    quick: bool
    env: EnvOverhead
    reset: ResetCost
    render_ms: float
    pick_place: Throughput
    pick_place_frames: Throughput
    families: list[Throughput]
    determinism: Determinism
    bars: list[Bar] = field(default_factory=list)
    wall_seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        """The JSON-ready results, derived figures included."""
        data = asdict(self)
        data["env"]["ratio"] = self.env.ratio
        data["reset"]["set_scene_vs_fresh_world"] = (
            self.reset.set_scene_ms / self.reset.fresh_world_ms
        )
        data["reset"]["env_reset_vs_fresh_world"] = (
            self.reset.env_reset_ms / self.reset.fresh_world_ms
        )
        for key, run in (
            ("pick_place", self.pick_place),
            ("pick_place_frames", self.pick_place_frames),
        ):
            data[key].update(per_minute=run.per_minute, success_rate=run.success_rate)
        for row, run in zip(data["families"], self.families, strict=True):
            row.update(per_minute=run.per_minute, success_rate=run.success_rate)
        data["determinism"]["equal"] = self.determinism.equal
        for row, bar in zip(data["bars"], self.bars, strict=True):
            row["passed"] = bar.passed
        data["python"] = platform.python_version()
        data["machine"] = platform.machine()
        return data


# ----- measuring ----------------------------------------------------------------------------
def _seconds(function: Callable[[], object]) -> float:
    """Wall seconds one call of ``function`` takes."""
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def _env_loop(env: TabletopEnv, steps: int) -> None:
    """Step ``env`` with a fixed action: arm targets unchanged, gripper open."""
    action = np.zeros(8, dtype=np.float32)
    action[7] = 1.0
    for _ in range(steps):
        env.step(action)


def _raw_loop(env: TabletopEnv, steps: int) -> None:
    """Call pybullet's ``stepSimulation`` on the env's own physics server, nothing else."""
    client = env.world._client
    for _ in range(steps):
        client.stepSimulation()


def measure_env_overhead(settings: Settings) -> EnvOverhead:
    """Physics steps/s through ``env.step`` vs raw ``stepSimulation``, interleaved repeats."""
    env = TabletopEnv(OVERHEAD_FAMILY)
    physics_steps = settings.env_steps * SUBSTEPS
    env_times, raw_times = [], []
    try:
        env.reset(seed=0)
        _env_loop(env, 20)  # warm-up: first calls bind pybullet functions
        _raw_loop(env, 20 * SUBSTEPS)
        # Alternate short chunks of each, so load from other processes on this shared machine
        # falls on both alike; a repeat's figure is the sum over its chunks.
        chunk = 10
        for _ in range(settings.repeats):
            env.reset(seed=0)
            env_seconds = raw_seconds = 0.0
            for _ in range(settings.env_steps // chunk):
                env_seconds += _seconds(lambda: _env_loop(env, chunk))
                raw_seconds += _seconds(lambda: _raw_loop(env, chunk * SUBSTEPS))
            env_times.append(env_seconds)
            raw_times.append(raw_seconds)
    finally:
        env.close()
    return EnvOverhead(
        family=OVERHEAD_FAMILY,
        repeats=settings.repeats,
        physics_steps_per_repeat=physics_steps,
        env_steps_per_s=physics_steps / statistics.median(env_times),
        raw_steps_per_s=physics_steps / statistics.median(raw_times),
    )


def _build_seconds(slot_kinds: Sequence[str]) -> float:
    """Wall seconds to build a fresh ``TabletopWorld`` (closing it is not timed)."""
    start = time.perf_counter()
    world = TabletopWorld(slot_kinds)
    seconds = time.perf_counter() - start
    world.close()
    return seconds


def measure_reset(settings: Settings) -> ResetCost:
    """Median ms of ``set_scene`` and ``env.reset`` against building a fresh world."""
    family = get_family(PICK_PLACE_FAMILY)
    env = TabletopEnv(family)
    tasks = [sample_task(family, seed) for seed in range(50)]  # sampled outside the timing
    try:
        env.reset(seed=0)
        set_scene = [
            _seconds(partial(env.world.set_scene, task.objects))
            for task in itertools.islice(itertools.cycle(tasks), settings.set_scene_calls)
        ]
        resets = [_seconds(partial(env.reset, seed=k)) for k in range(settings.reset_calls)]
    finally:
        env.close()
    builds = [_build_seconds(family.slot_kinds) for _ in range(settings.world_builds)]
    return ResetCost(
        set_scene_ms=1000 * statistics.median(set_scene),
        env_reset_ms=1000 * statistics.median(resets),
        fresh_world_ms=1000 * statistics.median(builds),
    )


def measure_render(settings: Settings) -> float:
    """Median ms of one camera image at the env's default size (128 x 128)."""
    env = TabletopEnv(PICK_PLACE_FAMILY)
    try:
        env.reset(seed=0)
        env.world.render()
        return 1000 * statistics.median(_seconds(env.world.render) for _ in range(settings.renders))
    finally:
        env.close()


def measure_throughput(family: str, episodes: int, frames: bool = False) -> Throughput:
    """Oracle episodes (seeds ``0 .. episodes-1``) per minute in one env, one process."""
    env = TabletopEnv(family)
    planner = OraclePlanner()
    library = SkillLibrary.seed()  # some experts call the seed library's composites
    records: list[EpisodeRecord] = []
    try:
        run_episode(env, planner, episodes, frames=frames, library=library)  # warm-up
        seconds = _seconds(
            lambda: records.extend(
                run_episode(env, planner, seed, frames=frames, library=library)
                for seed in range(episodes)
            )
        )
    finally:
        env.close()
    images = sum(step.frame is not None for record in records for step in record.steps)
    return Throughput(
        family=family,
        frames=frames,
        episodes=episodes,
        seconds=seconds,
        successes=sum(r.success for r in records),
        images=images,
    )


def _final_poses(env: TabletopEnv) -> list[tuple[np.ndarray, np.ndarray]]:
    return [env.world.pose(obj.name) for obj in env.task.objects]


def _other_family(family: str) -> str:
    """Another family whose scenes fit the same world slots, or ``family`` when none does."""
    kinds = get_family(family).slot_kinds
    others = [
        name for name, f in load_families().items() if name != family and f.slot_kinds == kinds
    ]
    return others[0] if others else family


def measure_determinism() -> Determinism:
    """Run a seed in a fresh env, other episodes in the same env, then the seed again.

    The other episodes are of another family with the same object slots (``line_up`` for
    ``stack``), run by pointing the env at that family for a while: the physics server, bodies
    and saved state are the same throughout.
    """
    env = TabletopEnv(DETERMINISM_FAMILY)
    planner = OraclePlanner()
    other = _other_family(DETERMINISM_FAMILY)
    try:
        first = run_episode(env, planner, DETERMINISM_SEED)
        first_poses = _final_poses(env)
        own_family = env.family
        env.family = get_family(other)
        try:
            for seed in DETERMINISM_OTHER_SEEDS:
                run_episode(env, planner, seed)
        finally:
            env.family = own_family
        again = run_episode(env, planner, DETERMINISM_SEED)
        again_poses = _final_poses(env)
    finally:
        env.close()
    poses_equal = all(
        a.tobytes() == b.tobytes()
        for pose_a, pose_b in zip(first_poses, again_poses, strict=True)
        for a, b in zip(pose_a, pose_b, strict=True)
    )
    diff = max(
        float(np.max(np.abs(a[0] - b[0]))) for a, b in zip(first_poses, again_poses, strict=True)
    )
    return Determinism(
        family=DETERMINISM_FAMILY,
        seed=DETERMINISM_SEED,
        other_family=other,
        other_seeds=list(DETERMINISM_OTHER_SEEDS),
        poses_equal=poses_equal,
        records_equal=first.to_dict() == again.to_dict(),
        max_position_diff_m=diff,
    )


def bars_for(results: Results) -> list[Bar]:
    """The pass/fail thresholds this benchmark holds the simulation to."""
    return [
        Bar("env.step / raw stepSimulation", results.env.ratio, MIN_ENV_RATIO, at_least=True),
        Bar("set_scene", results.reset.set_scene_ms, MAX_SET_SCENE_MS, at_least=False, unit="ms"),
        Bar(
            "pick-and-place, no images",
            results.pick_place.per_minute,
            MIN_EPISODES_PER_MIN,
            at_least=True,
            unit="/min",
        ),
        Bar(
            "pick-and-place, 1 image/skill",
            results.pick_place_frames.per_minute,
            MIN_EPISODES_PER_MIN_FRAMES,
            at_least=True,
            unit="/min",
        ),
        Bar(
            "determinism (bitwise equal)",
            float(results.determinism.equal),
            1.0,
            at_least=True,
            yes_no=True,
        ),
    ]


def run(settings: Settings, quick: bool, log: Callable[[str], None] = print) -> Results:
    """Run every benchmark once and collect the results."""
    start = time.perf_counter()
    log("env overhead ...")
    env = measure_env_overhead(settings)
    log("reset ...")
    reset = measure_reset(settings)
    render_ms = measure_render(settings)
    log(f"{PICK_PLACE_FAMILY} episodes ...")
    plain = measure_throughput(PICK_PLACE_FAMILY, settings.episodes)
    with_frames = measure_throughput(PICK_PLACE_FAMILY, settings.episodes, frames=True)
    families = []
    for name in load_families():
        log(f"family {name} ...")
        families.append(measure_throughput(name, settings.family_episodes))
    log("determinism ...")
    determinism = measure_determinism()
    results = Results(
        quick=quick,
        env=env,
        reset=reset,
        render_ms=render_ms,
        pick_place=plain,
        pick_place_frames=with_frames,
        families=families,
        determinism=determinism,
    )
    results.bars = bars_for(results)
    results.wall_seconds = time.perf_counter() - start
    return results


# ----- reporting ----------------------------------------------------------------------------
def _throughput_row(
    label: str, run: Throughput, baseline: Throughput | None, baseline_label: str
) -> list[str]:
    ratio = f"{run.per_minute / baseline.per_minute:.2f}" if baseline else ""
    base = f"{baseline_label} {baseline.per_minute:,.0f}" if baseline else ""
    return [label, f"{run.per_minute:,.0f} ep/min", base, ratio, f"{run.successes}/{run.episodes}"]


def _fraction(ratio: float) -> str:
    """A small ratio both as a number and as one-in-N: ``0.0025 (1/400)``."""
    return f"{ratio:.4f} (1/{1 / ratio:,.0f})"


def report(results: Results) -> str:
    """The table a person reads: figures, baselines from this run, ratios, then the bars."""
    env, reset = results.env, results.reset
    rows = [
        [
            f"env.step ({env.family}, median of {env.repeats})",
            f"{env.env_steps_per_s:,.0f} phys/s",
            f"raw stepSimulation {env.raw_steps_per_s:,.0f}",
            f"{env.ratio:.3f}",
            "",
        ],
        [
            "world.set_scene(task.objects)",
            f"{reset.set_scene_ms:.3f} ms",
            f"fresh TabletopWorld {reset.fresh_world_ms:.1f} ms",
            _fraction(reset.set_scene_ms / reset.fresh_world_ms),
            "",
        ],
        [
            "env.reset(seed=k)",
            f"{reset.env_reset_ms:.3f} ms",
            f"fresh TabletopWorld {reset.fresh_world_ms:.1f} ms",
            _fraction(reset.env_reset_ms / reset.fresh_world_ms),
            "",
        ],
        _throughput_row(f"oracle {PICK_PLACE_FAMILY}, no images", results.pick_place, None, ""),
        _throughput_row(
            f"oracle {PICK_PLACE_FAMILY}, 128x128 image/skill",
            results.pick_place_frames,
            results.pick_place,
            "no images",
        ),
        ["world.render() 128x128, one image", f"{results.render_ms:.1f} ms", "", "", ""],
    ]
    rows += [
        _throughput_row(
            f"family {run.family}, no images", run, results.pick_place, PICK_PLACE_FAMILY
        )
        for run in results.families
    ]
    det = results.determinism
    rows.append(
        [
            f"determinism: {det.family} seed {det.seed}, {det.other_family} seeds "
            f"{det.other_seeds[0]}..{det.other_seeds[-1]}, seed {det.seed} again",
            "bitwise equal: " + ("yes" if det.equal else "no"),
            f"max drift {1000 * det.max_position_diff_m:.3g} mm",
            "",
            f"poses {'=' if det.poses_equal else '!='}, records "
            f"{'=' if det.records_equal else '!='}",
        ]
    )
    table = format_table(
        ["benchmark", "measured", "baseline (this run)", "ratio", "success / detail"], rows
    )
    note = "ratio = measured / baseline; episodes timed in one process, wall clock"
    bars = format_table(
        ["bar", "measured", "required", "result"], [bar.row() for bar in results.bars]
    )
    mode = "quick" if results.quick else "full"
    return (
        f"{table}\n{note}\n\n{bars}\n\n{mode} run, {results.wall_seconds:.1f} s wall, "
        f"one process, Python {platform.python_version()}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks, print the table, write the JSON; 1 on a failed bar with --strict."""
    return benchmark_main(
        argv,
        prog="python -m benchmarks.bench_sim",
        doc=__doc__,
        quick_help="a short run (a few episodes) for CI and tests",
        run=run,
        report=report,
        full=FULL,
        quick=QUICK,
        results_path=RESULTS_PATH,
    )


if __name__ == "__main__":
    sys.exit(main())
