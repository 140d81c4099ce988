"""Success predicates over the world's state, named so task files can use them.

Each predicate takes the world and object names and says whether a relation holds now. An
object counts only once it rests: the robot no longer touches it. The env checks success after
every step, so predicates use plain float arithmetic (numpy costs more on three numbers) and
test the cheap geometry before the contact query.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from itertools import pairwise
from typing import TYPE_CHECKING

from robolearn.calls import Call
from robolearn.sim.scene import BLOCK_SIZE

if TYPE_CHECKING:
    from robolearn.sim.world import TabletopWorld

ROW_SPACING = (0.055, 0.095)
"""Centre-to-centre distance of neighbours in a row, metres (gaps leave room for fingers)."""
BETWEEN_TOLERANCE = 0.02
"""How far from the midpoint of two blocks a block may stand and still be between them, metres."""


def on(world: TabletopWorld, top: str, base: str) -> bool:
    """``top`` rests on ``base``: centred within half a block and one block higher."""
    (ax, ay, az), (bx, by, bz) = world.xyz(top), world.xyz(base)
    return (
        (ax - bx) ** 2 + (ay - by) ** 2 < (BLOCK_SIZE / 2) ** 2
        and abs(az - bz - BLOCK_SIZE) < 0.01
        and not world.touching_robot(top)
    )


def inside(world: TabletopWorld, item: str, container: str) -> bool:
    """``item`` lies within the footprint of a bowl, bin or zone, low on the table."""
    (ax, ay, az), (cx, cy, _) = world.xyz(item), world.xyz(container)
    half = world.objects[container].size / 2
    return (
        abs(ax - cx) < half
        and abs(ay - cy) < half
        and az < BLOCK_SIZE
        and not world.touching_robot(item)
    )


def between(world: TabletopWorld, item: str, left: str, right: str) -> bool:
    """``item`` stands on the table within ``BETWEEN_TOLERANCE`` of the midpoint of two others."""
    (x, y, z), (lx, ly, _), (rx, ry, _) = world.xyz(item), world.xyz(left), world.xyz(right)
    return (
        (x - (lx + rx) / 2) ** 2 + (y - (ly + ry) / 2) ** 2 < BETWEEN_TOLERANCE**2
        and abs(z - BLOCK_SIZE / 2) < 0.005
        and not world.touching_robot(item)
    )


def row(world: TabletopWorld, *names: str) -> bool:
    """The blocks stand on the table in a left-to-right row (increasing y), evenly spaced."""
    points = [world.xyz(name) for name in names]
    xs = [p[0] for p in points]
    return (
        all(ROW_SPACING[0] < b[1] - a[1] < ROW_SPACING[1] for a, b in pairwise(points))
        and max(xs) - min(xs) < 0.02
        and all(abs(p[2] - BLOCK_SIZE / 2) < 0.005 for p in points)
        and not any(world.touching_robot(name) for name in names)
    )


PREDICATES: dict[str, Callable[..., bool]] = {
    "on": on,
    "inside": inside,
    "row": row,
    "between": between,
}
"""Predicates by the name task files use."""


def predicate_problem(call: Call) -> str | None:
    """What is wrong with ``call`` as a condition (a family's success, a skill's effect), or None.

    Checked when a file is read, so a condition that could never be evaluated (an unknown
    predicate, a number for an object, a wrong number of names) fails there, not mid-episode.
    """
    predicate = PREDICATES.get(call.name)
    if predicate is None:
        return f"unknown predicate {call.name!r}; known: {', '.join(sorted(PREDICATES))}"
    numbers = [a for a in call.args if not isinstance(a, str)]
    if numbers:
        return f"{call} passes the numbers {numbers}; a predicate takes object names"
    signature = inspect.signature(predicate)
    try:
        signature.bind(None, *call.args)
    except TypeError:
        names = [
            ("*" if p.kind is p.VAR_POSITIONAL else "") + p.name
            for p in list(signature.parameters.values())[1:]
        ]
        return f"{call} does not fit {call.name}({', '.join(names)})"
    return None
