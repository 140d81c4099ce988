"""Success predicates over the world's state, named so task files can use them.

Each predicate takes the world and object names and says whether a relation holds now. An
object counts only once it rests: the robot no longer touches it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from robolearn.sim.scene import BLOCK_SIZE

if TYPE_CHECKING:
    from robolearn.sim.world import TabletopWorld

ROW_SPACING = (0.055, 0.095)
"""Centre-to-centre distance of neighbours in a row, metres (gaps leave room for fingers)."""


def _resting(world: TabletopWorld, name: str) -> bool:
    return not world.touching_robot(name)


def on(world: TabletopWorld, top: str, base: str) -> bool:
    """``top`` rests on ``base``: centred within half a block and one block higher."""
    a, b = world.position(top), world.position(base)
    return (bool(np.linalg.norm(a[:2] - b[:2]) < BLOCK_SIZE / 2)
            and abs(a[2] - b[2] - BLOCK_SIZE) < 0.01 and _resting(world, top))


def inside(world: TabletopWorld, item: str, container: str) -> bool:
    """``item`` lies within the footprint of a bowl or zone, low on the table."""
    a, c = world.position(item), world.position(container)
    half = world.objects[container].size / 2
    return (bool(np.all(np.abs(a[:2] - c[:2]) < half)) and a[2] < BLOCK_SIZE
            and _resting(world, item))


def row(world: TabletopWorld, *names: str) -> bool:
    """The blocks stand on the table in a left-to-right row (increasing y), evenly spaced."""
    points = np.array([world.position(name) for name in names])
    gaps = np.diff(points[:, 1])
    return (bool(np.all((gaps > ROW_SPACING[0]) & (gaps < ROW_SPACING[1])))
            and bool(np.ptp(points[:, 0]) < 0.02)
            and bool(np.all(np.abs(points[:, 2] - BLOCK_SIZE / 2) < 0.005))
            and all(_resting(world, name) for name in names))


PREDICATES: dict[str, Callable[..., bool]] = {"on": on, "inside": inside, "row": row}
"""Predicates by the name task files use."""
