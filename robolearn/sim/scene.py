"""What a scene is made of: object kinds, sizes, colours and the reachable workspace.

Plain data with no physics, so task files can be checked without starting pybullet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PHYSICS_HZ = 240
"""Physics steps per simulated second."""

COLOURS: dict[str, tuple[float, float, float, float]] = {
    "red": (0.85, 0.15, 0.15, 1.0),
    "green": (0.15, 0.7, 0.2, 1.0),
    "blue": (0.15, 0.3, 0.9, 1.0),
    "yellow": (0.95, 0.85, 0.1, 1.0),
    "purple": (0.55, 0.2, 0.75, 1.0),
    "orange": (1.0, 0.5, 0.05, 1.0),
    "cyan": (0.1, 0.8, 0.85, 1.0),
    "pink": (1.0, 0.45, 0.7, 1.0),
}
"""The colours objects can take, by the name instructions use."""

BLOCK_SIZE = 0.04
"""Edge of a block (a cube), metres."""
BOWL_INNER = 0.10
"""Inner width of a bowl (a square tray with low walls), metres."""
BOWL_WALL_HEIGHT = 0.025
BIN_INNER = 0.18
"""Inner width of a bin: a tray like a bowl but big enough for four blocks (2 x 2)."""
BIN_WALL_HEIGHT = 0.02
TRAY_FLOOR = 0.006
"""Floor thickness of an open tray (a bowl or a bin), metres."""
TRAY_WALL = 0.008
"""Wall thickness of an open tray, metres."""
TRAYS = {"bowl": (BOWL_INNER, BOWL_WALL_HEIGHT), "bin": (BIN_INNER, BIN_WALL_HEIGHT)}
"""The kinds that are open trays (a floor and four low walls): inner width and wall height."""
ZONE_SIZE = 0.12
"""Edge of a flat square target zone, metres."""

FOOTPRINTS = {"block": BLOCK_SIZE, "bowl": BOWL_INNER, "zone": ZONE_SIZE, "bin": BIN_INNER}
"""Footprint edge of each object kind (a tray's inside), metres."""
OBJECT_KINDS = tuple(FOOTPRINTS)
WORKSPACE_LOW = np.array([0.25, -0.35, 0.0])
WORKSPACE_HIGH = np.array([0.75, 0.35, 0.45])
"""The box the gripper may be sent to; targets outside it are refused before anything moves."""


@dataclass(frozen=True)
class SceneObject:
    """One object of a scene: its name, kind, colour and resting place on the table."""

    name: str
    kind: str
    colour: str
    x: float
    y: float
    on: str | None = None
    """The object it starts resting on (on top of a block, inside a tray or zone); its x and y
    are that object's. None: it stands on the table."""

    @property
    def size(self) -> float:
        """Footprint edge in metres: what predicates and skills need to know of its shape."""
        return FOOTPRINTS[self.kind]
