"""``robolearn plan``: the plan for an instruction in a sampled scene, without running it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from robolearn.cli.command import Command, InWorkspace, WithModel, note, say
from robolearn.cli.flags import flag
from robolearn.errors import ConfigError

SCENES_TRIED = 500
"""Scenes of the family looked through for one with every colour the instruction names."""


@dataclass(kw_only=True)
class PlanConfig(WithModel, InWorkspace):
    """Print the plan for an instruction in a sampled scene, without running it."""

    instruction: str = flag(positional=True)
    """What the robot should do, in words."""
    family: str = "stack"
    """The task family whose scene is sampled."""
    seed: int | None = None
    """The scene's seed (default: the first scene with every colour the instruction names)."""

    def __post_init__(self) -> None:
        if self.seed is not None and self.seed < 0:
            raise ConfigError("seed", f"{{}} must be 0 or more, got {self.seed}")


def run(config: PlanConfig) -> int:
    """Plan with the workspace's planner (the adapter in use, the correction memory)."""
    from robolearn.planner.lm import check_instruction
    from robolearn.sim.scene import COLOURS
    from robolearn.tasks.sampler import sample_task
    from robolearn.tasks.spec import get_family
    from robolearn.workspace import PlannerChoice, Workspace

    check_instruction(config.instruction)  # before a model is loaded, or built
    workspace = Workspace.open(config.folder, writing=False)
    named = {word for word in config.instruction.lower().split() if word in COLOURS}
    seeds = [config.seed] if config.seed is not None else range(SCENES_TRIED)
    for seed in seeds:  # the last seed tried is the one used
        task = sample_task(get_family(config.family), seed)
        if named <= {o.colour for o in task.objects}:
            break
    missing = named - {o.colour for o in task.objects}
    if missing:
        note(
            f"note: this scene has no {', '.join(sorted(missing))} object; the plan can only "
            "use the objects it has"
        )
    with workspace.store() as store:
        choice = PlannerChoice("lm", config.model)
        planner = workspace.planner(choice, workspace.library(), store, log=note)
        plan = planner.plan(replace(task, instruction=config.instruction))
    say(f"scene ({config.family}, seed {seed}): {', '.join(o.name for o in task.objects)}")
    say("\n".join(f"  {i + 1}. {call}" for i, call in enumerate(plan)))
    say(f"from: {planner.explanation}")
    return 0


COMMAND = Command(
    help="print the plan for an instruction",
    config=PlanConfig,
    run=run,
    examples=(
        'robolearn plan "stack the red block on the blue one" --family stack',
        'robolearn plan "put the green block in the bowl" --family place_in_zone --seed 3',
    ),
)
