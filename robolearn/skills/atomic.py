"""The atomic skills, each declared once: signature, description and controller.

The planner, the Searcher and the docs all read these declarations; nothing restates them.

Arguments are checked against the scene before anything moves (:func:`validate_call`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from robolearn.calls import Arg, Call
from robolearn.sim.scene import BLOCK_SIZE, WORKSPACE_HIGH, WORKSPACE_LOW, ZONE_SIZE
from robolearn.sim.world import TabletopWorld
from robolearn.skills.motion import Motion, SkillFailure
from robolearn.tasks.env import CONTROL_HZ

SIDES = {"left": (0.0, -1.0), "right": (0.0, 1.0), "front": (1.0, 0.0), "back": (-1.0, 0.0)}
"""Directions on the table as the camera sees them (it faces the robot)."""
BESIDE_SPACING = 0.075
"""Centre-to-centre distance of a block placed beside another, metres."""
APPROACH_HEIGHT = 0.10
"""How far above its goal the gripper comes in and leaves, metres."""
PUSH_STEP = 0.36 / CONTROL_HZ
"""Gripper advance per tick while pushing, metres."""
PUSH_STROKES = 3
"""Straight pushes tried before a push counts as stuck."""
PUSH_HEIGHT = 0.016
"""Gripper height while pushing: below the block's centre of mass, so it slides, not tips."""
PUSH_STANDOFF = 0.012
"""Distance from the gripper point to the block's face it pushes, metres."""
PUSH_TOLERANCE = 0.02
"""How close to the zone's centre pushing aims to bring the block, metres."""

PARAM_TYPES: dict[str, str] = {
    "block": "the name of a block in the scene",
    "target": "the name of a block, bowl or zone in the scene",
    "zone": "the name of a zone in the scene",
    "side": "one of left, right, front, back",
    "x": f"a number in [{WORKSPACE_LOW[0]}, {WORKSPACE_HIGH[0]}] (metres)",
    "y": f"a number in [{WORKSPACE_LOW[1]}, {WORKSPACE_HIGH[1]}] (metres)",
    "z": f"a number in [{WORKSPACE_LOW[2]}, {WORKSPACE_HIGH[2]}] (metres)",
}
"""What each parameter type accepts."""


class SkillArgumentError(ValueError):
    """A call that cannot run: unknown skill, wrong number of arguments or a bad argument."""


@dataclass(frozen=True)
class Param:
    """One parameter of a skill: its name and type (a key of PARAM_TYPES)."""

    name: str
    type: str


@dataclass(frozen=True)
class AtomicSkill:
    """A motion primitive: what it is called, what it takes, what it does, how it runs."""

    name: str
    params: tuple[Param, ...]
    description: str
    run: Callable[..., None]

    @property
    def signature(self) -> str:
        """The call with typed parameters, e.g. ``place(obj: block, target: target)``."""
        return f"{self.name}({', '.join(f'{p.name}: {p.type}' for p in self.params)})"


def _check_arg(skill: AtomicSkill, param: Param, value: Arg, world: TabletopWorld) -> None:
    where = f"{skill.name}: argument {param.name!r}"
    if param.type in ("x", "y", "z"):
        axis = "xyz".index(param.type)
        if not isinstance(value, float) or not np.isfinite(value):
            raise SkillArgumentError(f"{where} must be a number, got {value!r}")
        if not WORKSPACE_LOW[axis] <= value <= WORKSPACE_HIGH[axis]:
            raise SkillArgumentError(f"{where} = {value:g} is out of reach; "
                                     f"{PARAM_TYPES[param.type]}")
        return
    if not isinstance(value, str):
        raise SkillArgumentError(f"{where} must be {PARAM_TYPES[param.type]}, got {value!r}")
    if param.type == "side":
        if value not in SIDES:
            raise SkillArgumentError(f"{where} must be one of {', '.join(SIDES)}, got {value!r}")
        return
    kinds = {"block": ("block",), "target": ("block", "bowl", "zone"), "zone": ("zone",)}
    allowed = kinds[param.type]
    objects = world.objects
    if value not in objects:
        raise SkillArgumentError(f"{where}: no object named {value!r} in this scene; objects: "
                                 f"{', '.join(sorted(objects))}")
    if objects[value].kind not in allowed:
        raise SkillArgumentError(f"{where}: {value!r} is a {objects[value].kind}, expected "
                                 f"{' or '.join(allowed)}")


def validate_call(call: Call, world: TabletopWorld) -> AtomicSkill:
    """The skill ``call`` names, once its arguments fit the skill and the scene."""
    skill = ATOMIC_SKILLS.get(call.name)
    if skill is None:
        raise SkillArgumentError(f"unknown skill {call.name!r}; known: "
                                 f"{', '.join(sorted(ATOMIC_SKILLS))}")
    if len(call.args) != len(skill.params):
        raise SkillArgumentError(f"{call} takes {len(skill.params)} arguments "
                                 f"({skill.signature}), got {len(call.args)}")
    for param, value in zip(skill.params, call.args, strict=True):
        _check_arg(skill, param, value, world)
    names = [a for a in call.args if isinstance(a, str) and a in world.objects]
    if len(set(names)) != len(names):
        raise SkillArgumentError(f"{call} names the same object twice")
    return skill


# ----- the controllers ------------------------------------------------------------------------
def _move_to(m: Motion, x: float, y: float, z: float) -> None:
    m.move_to(np.array([x, y, z]))


def _open_gripper(m: Motion) -> None:
    m.set_gripper(open_=True)


def _close_gripper(m: Motion) -> None:
    m.set_gripper(open_=False)


def _pick(m: Motion, obj: str) -> None:
    centre = m.world.position(obj)
    m.set_gripper(open_=True)
    m.move_to(centre + [0, 0, APPROACH_HEIGHT])
    m.move_to(centre + [0, 0, 0.002])
    m.set_gripper(open_=False)
    if not m.world.held(obj):
        raise SkillFailure("grasp", f"closed the gripper on {obj} but is not holding it")
    m.move_to(m.world.ee_position() + [0, 0, APPROACH_HEIGHT + 0.02])
    if not m.world.held(obj):
        raise SkillFailure("dropped", f"{obj} slipped out of the gripper while lifting")


def _place_at(m: Motion, obj: str, point: np.ndarray) -> None:
    """Carry the held ``obj`` so its centre sits at ``point``, release it and back off."""
    if not m.world.held(obj):
        raise SkillFailure("not_holding", f"cannot place {obj}: it is not in the gripper; "
                           f"pick({obj}) first")
    offset = m.world.ee_position() - m.world.position(obj)
    m.move_to(point + offset + [0, 0, APPROACH_HEIGHT])
    if not m.world.held(obj):
        raise SkillFailure("dropped", f"{obj} slipped out of the gripper while carrying")
    m.move_to(point + offset + [0, 0, 0.004])
    m.set_gripper(open_=True)
    m.move_to(m.world.ee_position() + [0, 0, APPROACH_HEIGHT])


def _place(m: Motion, obj: str, target: str) -> None:
    rest = {"block": BLOCK_SIZE, "bowl": 0.006 + BLOCK_SIZE / 2, "zone": BLOCK_SIZE / 2}
    point = m.world.position(target)
    point[2] += rest[m.world.objects[target].kind]
    _place_at(m, obj, point)


def _place_beside(m: Motion, obj: str, anchor: str, side: str) -> None:
    base = m.world.position(anchor)
    dx, dy = SIDES[side]
    _place_at(m, obj, np.array([base[0] + dx * BESIDE_SPACING, base[1] + dy * BESIDE_SPACING,
                                BLOCK_SIZE / 2]))


def _push(m: Motion, obj: str, zone: str) -> None:
    """Slide ``obj`` in straight strokes, each aimed anew from where the block lies."""
    goal = m.world.position(zone)[:2]
    reach = BLOCK_SIZE / 2 + PUSH_STANDOFF
    m.set_gripper(open_=False)
    for _ in range(PUSH_STROKES):
        item = m.world.position(obj)[:2]
        to_go = goal - item
        distance = float(np.linalg.norm(to_go))
        if distance < PUSH_TOLERANCE:
            break
        direction = to_go / distance
        start = item - direction * (reach + 0.015)
        m.move_to(np.array([*start, PUSH_HEIGHT + APPROACH_HEIGHT / 2]))
        m.move_to(np.array([*start, PUSH_HEIGHT]))
        try:
            m.move_to(np.array([*(goal - direction * reach), PUSH_HEIGHT]), step=PUSH_STEP)
        except SkillFailure as stalled:  # the block jammed; back off and aim again
            if stalled.reason != "unreachable":
                raise
        m.move_to(m.world.ee_position() + [0, 0, APPROACH_HEIGHT / 2])
    else:
        # Out of strokes: good enough if the block lies wholly inside the zone.
        offset = np.abs(goal - m.world.position(obj)[:2])
        if np.any(offset >= (ZONE_SIZE - BLOCK_SIZE) / 2):
            raise SkillFailure("unreachable", f"{obj} did not reach {zone} in "
                               f"{PUSH_STROKES} pushes")


ATOMIC_SKILLS: dict[str, AtomicSkill] = {s.name: s for s in (
    AtomicSkill("move_to", (Param("x", "x"), Param("y", "y"), Param("z", "z")),
                "move the open or closed gripper in a straight line to a point above the table",
                _move_to),
    AtomicSkill("open_gripper", (), "open the gripper's fingers, releasing what it holds",
                _open_gripper),
    AtomicSkill("close_gripper", (), "close the gripper's fingers", _close_gripper),
    AtomicSkill("pick", (Param("obj", "block"),),
                "grasp a block from above and lift it off the table", _pick),
    AtomicSkill("place", (Param("obj", "block"), Param("target", "target")),
                "put the held block down on top of a block, or into a bowl or zone", _place),
    AtomicSkill("place_beside", (Param("obj", "block"), Param("anchor", "block"),
                                 Param("side", "side")),
                "put the held block down on the table next to another block, on the given side",
                _place_beside),
    AtomicSkill("push", (Param("obj", "block"), Param("zone", "zone")),
                "slide a block along the table into a zone without lifting it", _push),
)}
"""Every atomic skill by name: the one place their signatures and descriptions are declared."""
