"""Gymnasium ids for the tabletop: ``robolearn/Tabletop-v0`` (any family) and one per family.

Registration only globs the family files: nothing is parsed or simulated until ``make``.
"""

from __future__ import annotations

import gymnasium as gym

from robolearn.paths import data_dir

ENTRY_POINT = "robolearn.tasks.env:TabletopEnv"
GENERIC_ID = "robolearn/Tabletop-v0"


def family_env_id(family: str) -> str:
    """The id of one family's environment: ``place_in_zone`` → ``robolearn/PlaceInZone-v0``."""
    return "robolearn/" + "".join(part.title() for part in family.split("_")) + "-v0"


def env_kwargs_by_id() -> dict[str, dict[str, str]]:
    """Every robolearn id with the keyword arguments it makes the env with."""
    families = sorted(path.stem for path in data_dir("envs").glob("*.toml"))
    return {GENERIC_ID: {}} | {family_env_id(f): {"task": f} for f in families}


def register_envs() -> None:
    """Register every id once (importing robolearn twice must not warn)."""
    for env_id, kwargs in env_kwargs_by_id().items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=ENTRY_POINT, kwargs=kwargs)
