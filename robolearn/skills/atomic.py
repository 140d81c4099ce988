"""The atomic skills, each declared once: signature, description and controller.

The planner, the Searcher and the docs all read these declarations; nothing restates them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from robolearn.sim.scene import BIN_INNER, BLOCK_SIZE, TRAY_FLOOR, ZONE_SIZE
from robolearn.skills.motion import Motion, SkillFailure
from robolearn.skills.params import SIDES, Param, signature
from robolearn.tasks.env import CONTROL_HZ

BESIDE_SPACING = 0.075
"""Centre-to-centre distance of a block placed beside another, metres."""
BIN_SPOT = BIN_INNER / 4
"""Offset of each of a bin's four spots from its centre along x and y, metres."""
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
        return signature(self.name, self.params)


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
        raise SkillFailure(
            "not_holding", f"cannot place {obj}: it is not in the gripper; pick({obj}) first"
        )
    offset = m.world.ee_position() - m.world.position(obj)
    m.move_to(point + offset + [0, 0, APPROACH_HEIGHT])
    if not m.world.held(obj):
        raise SkillFailure("dropped", f"{obj} slipped out of the gripper while carrying")
    m.move_to(point + offset + [0, 0, 0.004])
    m.set_gripper(open_=True)
    m.move_to(m.world.ee_position() + [0, 0, APPROACH_HEIGHT])


def _place(m: Motion, obj: str, target: str) -> None:
    rest = {
        "block": BLOCK_SIZE,
        "bowl": TRAY_FLOOR + BLOCK_SIZE / 2,
        "zone": BLOCK_SIZE / 2,
        "bin": TRAY_FLOOR + BLOCK_SIZE / 2,
    }
    kind = m.world.objects[target].kind
    point = _bin_spot(m, obj, target) if kind == "bin" else m.world.position(target)
    point[2] += rest[kind]
    _place_at(m, obj, point)


def _bin_spot(m: Motion, obj: str, bin_: str) -> np.ndarray:
    """The first of a bin's four spots (2 x 2) with no other block within a block's width.

    A bin holds several blocks, so its centre, where ``place`` puts a block in a bowl, would
    be taken after the first.
    """
    centre = m.world.position(bin_)
    others = [
        m.world.position(name)[:2]
        for name, o in m.world.objects.items()
        if o.kind == "block" and name != obj
    ]
    for dx, dy in itertools.product((-BIN_SPOT, BIN_SPOT), repeat=2):
        spot = centre + [dx, dy, 0.0]
        if all(np.hypot(*(spot[:2] - other)) >= BLOCK_SIZE for other in others):
            return spot
    raise SkillFailure("full", f"{bin_} has no free spot left for {obj}")


def _place_beside(m: Motion, obj: str, anchor: str, side: str) -> None:
    base = m.world.position(anchor)
    dx, dy = SIDES[side]
    _place_at(
        m,
        obj,
        np.array([base[0] + dx * BESIDE_SPACING, base[1] + dy * BESIDE_SPACING, BLOCK_SIZE / 2]),
    )


def _place_between(m: Motion, obj: str, left: str, right: str) -> None:
    midpoint = (m.world.position(left) + m.world.position(right)) / 2
    _place_at(m, obj, np.array([midpoint[0], midpoint[1], BLOCK_SIZE / 2]))


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
            raise SkillFailure(
                "unreachable", f"{obj} did not reach {zone} in {PUSH_STROKES} pushes"
            )


ATOMIC_SKILLS: dict[str, AtomicSkill] = {
    s.name: s
    for s in (
        AtomicSkill(
            "move_to",
            (Param("x", "x"), Param("y", "y"), Param("z", "z")),
            "move the open or closed gripper in a straight line to a point above the table",
            _move_to,
        ),
        AtomicSkill(
            "open_gripper", (), "open the gripper's fingers, releasing what it holds", _open_gripper
        ),
        AtomicSkill("close_gripper", (), "close the gripper's fingers", _close_gripper),
        AtomicSkill(
            "pick",
            (Param("obj", "block"),),
            "grasp a block from above and lift it off the table",
            _pick,
        ),
        AtomicSkill(
            "place",
            (Param("obj", "block"), Param("target", "target")),
            "put the held block down on top of a block, or into a bowl, bin or zone",
            _place,
        ),
        AtomicSkill(
            "place_beside",
            (Param("obj", "block"), Param("anchor", "block"), Param("side", "side")),
            "put the held block down on the table next to another block, on the given side",
            _place_beside,
        ),
        AtomicSkill(
            "place_between",
            (Param("obj", "block"), Param("left", "block"), Param("right", "block")),
            "put the held block down on the table midway between two blocks",
            _place_between,
        ),
        AtomicSkill(
            "push",
            (Param("obj", "block"), Param("zone", "zone")),
            "slide a block along the table into a zone without lifting it",
            _push,
        ),
    )
}
"""Every atomic skill by name: the one place their signatures and descriptions are declared."""
