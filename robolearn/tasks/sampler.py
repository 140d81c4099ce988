"""Seeded task instances: a family plus a seed gives one instruction, scene and ground truth."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from robolearn.calls import Call
from robolearn.errors import UserError
from robolearn.records import EpisodeRecord
from robolearn.sim.scene import TRAY_WALL, TRAYS, SceneObject

if TYPE_CHECKING:
    from robolearn.sim.world import TabletopWorld
from robolearn.tasks.predicates import PREDICATES
from robolearn.tasks.spec import ObjectRole, TaskFamily, UnknownFamilyError, get_family

CLEARANCE = 0.03
"""Free space kept between the footprints of any two objects, metres."""
_PLACEMENT_TRIES = 200


class SceneSamplingError(UserError, RuntimeError):
    """A family whose objects cannot be placed without overlap (its ranges are too tight)."""


@dataclass(frozen=True)
class TaskInstance:
    """One task: what to say, what the scene holds, what success means, what the expert does."""

    family: str
    seed: int
    instruction: str
    objects: tuple[SceneObject, ...]
    roles: dict[str, str]
    success: tuple[Call, ...]
    oracle: tuple[Call, ...]
    max_steps: int

    def succeeded(self, world: TabletopWorld) -> bool:
        """Whether every success predicate holds in the world now."""
        return all(PREDICATES[c.name](world, *c.args) for c in self.success)


class _Phrase:
    """How a role reads in an instruction: ``{top}`` → "red block", ``{top.colour}`` → "red"."""

    def __init__(self, colour: str, kind: str) -> None:
        self.colour, self.kind = colour, kind

    def __format__(self, spec: str) -> str:
        return format(f"{self.colour} {self.kind}", spec)


def _colours(family: TaskFamily, rng: np.random.Generator) -> dict[str, str]:
    chosen: dict[str, str] = {}
    for role in family.objects:
        if role.same_colour_as is not None:
            continue
        taken = {c for r, c in chosen.items() if _kind(family, r) == role.kind}
        free = [c for c in role.colours if c not in taken]
        if not free:
            raise SceneSamplingError(f"family {family.name!r}: no colour left for {role.role!r}")
        chosen[role.role] = free[rng.integers(len(free))]
    for role in family.objects:
        if role.same_colour_as is not None:
            chosen[role.role] = chosen[role.same_colour_as]
    return chosen


def _kind(family: TaskFamily, role_name: str) -> str:
    return next(r.kind for r in family.objects if r.role == role_name)


def _positions(family: TaskFamily, rng: np.random.Generator) -> dict[str, tuple[float, float]]:
    placed: list[tuple[float, float, float]] = []
    positions: dict[str, tuple[float, float]] = {}
    # Big footprints first: they are the hardest to fit. An object that starts on another lies
    # within its support's footprint, so only the support is placed and kept clear of the rest.
    order = sorted((r for r in family.objects if r.on is None), key=lambda r: -_footprint(r))
    for role in order:
        radius = _footprint(role)
        for _ in range(_PLACEMENT_TRIES):
            x, y = rng.uniform(*role.x), rng.uniform(*role.y)
            if all(np.hypot(x - px, y - py) > radius + pr + CLEARANCE for px, py, pr in placed):
                break
        else:
            raise SceneSamplingError(
                f"family {family.name!r}: could not place {role.role!r} clear of the other "
                f"objects in {_PLACEMENT_TRIES} tries; widen its x/y ranges"
            )
        placed.append((x, y, radius))
        positions[role.role] = (float(x), float(y))
    supports = {r.role: r.on for r in family.objects}
    for role in family.objects:
        root = role.role
        while supports[root] is not None:  # the file's check refused loops
            root = supports[root]
        positions[role.role] = positions[root]
    return positions


def _footprint(role: ObjectRole) -> float:
    """Radius of the circle around the object's footprint."""
    size = SceneObject("", role.kind, "red", 0, 0).size
    return size / np.sqrt(2) + (TRAY_WALL if role.kind in TRAYS else 0.0)


def phrasings(family: TaskFamily, objects: tuple[SceneObject, ...]) -> list[str]:
    """Every instruction template of ``family`` rendered for a scene's objects (role order)."""
    colours = {role.role: obj.colour for role, obj in zip(family.objects, objects, strict=True)}
    return [render(family, template, colours) for template in family.instructions]


def render(family: TaskFamily, template: str, colours: dict[str, str]) -> str:
    """One of ``family``'s templates with each role in the colour ``colours`` gives it.

    Any word stands for a colour: ``{"top": "x"}`` renders ``{top}`` as "x block", which is how
    a phrasing reads whatever the colours.
    """
    return template.format_map({r.role: _Phrase(colours[r.role], r.kind) for r in family.objects})


def sample_task(family: TaskFamily, seed: int) -> TaskInstance:
    """The task instance of ``family`` for ``seed``: the same seed gives the same instance."""
    # crc32, unlike hash(), is the same in every process.
    rng = np.random.default_rng([seed, zlib.crc32(family.name.encode())])
    colours = _colours(family, rng)
    positions = _positions(family, rng)
    names = {r.role: f"{colours[r.role]}_{r.kind}" for r in family.objects}
    objects = tuple(
        SceneObject(
            names[r.role],
            r.kind,
            colours[r.role],
            *positions[r.role],
            on=names[r.on] if r.on is not None else None,
        )
        for r in family.objects
    )
    template = int(rng.integers(len(family.instructions)))
    return TaskInstance(
        family=family.name,
        seed=seed,
        instruction=phrasings(family, objects)[template],
        objects=objects,
        roles=names,
        success=tuple(c.bind(names) for c in family.success),
        oracle=tuple(c.bind(names) for c in family.oracle),
        max_steps=family.max_steps,
    )


class SceneChangedError(UserError, LookupError):
    """A stored episode whose scene cannot be rebuilt: its family is gone or was edited."""


def rebuild_task(episode: EpisodeRecord) -> TaskInstance:
    """The task instance a stored episode ran, rebuilt from its family and seed.

    Scenes come from the seed alone, so the rebuilt task is the one that ran, unless the
    family's file changed since; then (or if the family is gone) SceneChangedError.
    """
    try:
        task = sample_task(get_family(episode.family), episode.seed)
    except UnknownFamilyError:
        raise SceneChangedError(
            f"episode {episode.id}: its family {episode.family!r} is gone, so its scene cannot "
            "be rebuilt"
        ) from None
    if task.instruction != episode.instruction:
        raise SceneChangedError(
            f"episode {episode.id}: the {episode.family!r} family file has changed since it "
            "ran, so its scene cannot be rebuilt"
        )
    return task
