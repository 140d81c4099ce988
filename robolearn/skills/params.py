"""Skill parameters: the types a skill's arguments may have, and checking arguments.

Atomic and composite skills declare parameters alike, so one checker serves both: against the
scene before a call runs, and statically when a composite passes its parameters on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from robolearn.calls import Arg
from robolearn.errors import UserError
from robolearn.sim.scene import WORKSPACE_HIGH, WORKSPACE_LOW

if TYPE_CHECKING:
    from robolearn.sim.world import TabletopWorld

SIDES = {"left": (0.0, -1.0), "right": (0.0, 1.0), "front": (1.0, 0.0), "back": (-1.0, 0.0)}
"""Directions on the table as the camera sees them (it faces the robot)."""

OBJECT_TYPES: dict[str, tuple[str, ...]] = {
    "block": ("block",),
    "zone": ("zone",),
    "container": ("bowl", "bin", "zone"),
    "target": ("block", "bowl", "bin", "zone"),
}
"""Parameter types that name an object, with the object kinds each accepts."""
_AXES = {"x": 0, "y": 1, "z": 2}

PARAM_TYPES: dict[str, str] = {
    "block": "the name of a block in the scene",
    "zone": "the name of a zone in the scene",
    "container": "the name of a bowl, bin or zone in the scene",
    "target": "the name of a block, bowl, bin or zone in the scene",
    "side": f"one of {', '.join(SIDES)}",
    **{
        axis: f"a number in [{WORKSPACE_LOW[i]:g}, {WORKSPACE_HIGH[i]:g}] (metres)"
        for axis, i in _AXES.items()
    },
}
"""What each parameter type accepts, in words an error message can use."""


class SkillArgumentError(UserError, ValueError):
    """A call that cannot run: unknown skill, wrong number of arguments or a bad argument."""


@dataclass(frozen=True)
class Param:
    """One parameter of a skill: its name and type (a key of PARAM_TYPES)."""

    name: str
    type: str

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise ValueError(
                f"parameter {self.name!r} has unknown type {self.type!r}; known: "
                f"{', '.join(PARAM_TYPES)}"
            )


def signature(name: str, params: Sequence[Param]) -> str:
    """A skill's call with typed parameters, e.g. ``place(obj: block, target: target)``."""
    return f"{name}({', '.join(f'{p.name}: {p.type}' for p in params)})"


def accepts(param_type: str, argument_type: str) -> bool:
    """Whether every value of ``argument_type`` is a valid ``param_type`` (block → target)."""
    if param_type in OBJECT_TYPES and argument_type in OBJECT_TYPES:
        return set(OBJECT_TYPES[argument_type]) <= set(OBJECT_TYPES[param_type])
    return param_type == argument_type


def literal_problem(param_type: str, value: Arg) -> str | None:
    """What is wrong with a literal (non-object) argument of ``param_type``, or None."""
    if param_type in _AXES:
        axis = _AXES[param_type]
        if not isinstance(value, float) or not math.isfinite(value):
            return f"must be a number, got {value!r}"
        if not WORKSPACE_LOW[axis] <= value <= WORKSPACE_HIGH[axis]:
            return f"= {value:g} is out of reach; {PARAM_TYPES[param_type]}"
        return None
    if param_type == "side" and value not in SIDES:
        return f"must be one of {', '.join(SIDES)}, got {value!r}"
    return None


def check_args(
    name: str, params: Sequence[Param], args: Sequence[Arg], world: TabletopWorld
) -> None:
    """Raise SkillArgumentError unless ``args`` fit ``params`` in the current scene."""
    call = f"{name}({', '.join(map(str, args))})"
    if len(args) != len(params):
        raise SkillArgumentError(
            f"{call} takes {len(params)} arguments ({signature(name, params)}), got {len(args)}"
        )
    objects = world.objects
    for param, value in zip(params, args, strict=True):
        where = f"{name}: argument {param.name!r}"
        if param.type not in OBJECT_TYPES:
            problem = literal_problem(param.type, value)
            if problem:
                raise SkillArgumentError(f"{where} {problem}")
            continue
        if not isinstance(value, str):
            raise SkillArgumentError(f"{where} must be {PARAM_TYPES[param.type]}, got {value!r}")
        if value not in objects:
            raise SkillArgumentError(
                f"{where}: no object named {value!r} in this scene; "
                f"objects: {', '.join(sorted(objects))}"
            )
        allowed = OBJECT_TYPES[param.type]
        if objects[value].kind not in allowed:
            raise SkillArgumentError(
                f"{where}: {value!r} is a {objects[value].kind}, expected {' or '.join(allowed)}"
            )
    named = [a for a in args if isinstance(a, str) and a in objects]
    if len(set(named)) != len(named):
        raise SkillArgumentError(f"{call} names the same object twice")
