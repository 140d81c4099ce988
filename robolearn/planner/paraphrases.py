"""Hand-written paraphrase files: instructions for seeded scenes, each with its right plan.

The format (``tests/fixtures/paraphrases*.json``)::

    {"format": 1, "about": "...", "paraphrases": [
        {"family": "stack", "seed": 1, "instruction": "...", "plan": ["pick(red_block)", ...]}]}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from robolearn.calls import parse_call
from robolearn.errors import UserError


class ParaphraseFileError(UserError, ValueError):
    """A paraphrase file that cannot be used; says which entry and why."""


@dataclass(frozen=True)
class Scene:
    """One scene to plan: a family's seeded scene with an instruction and the right plan."""

    family: str
    seed: int
    instruction: str | None
    """What to ask; None: the family's own instruction for the seed."""
    plan: tuple[str, ...] | None = None
    """The right plan; None: the oracle's."""


def read_paraphrases(path: Path) -> list[Scene]:
    """The paraphrase file's entries, each checked for the fields a scene needs."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        entries = data["paraphrases"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as error:
        raise ParaphraseFileError(f"cannot read paraphrases from {path}: {error}") from None
    scenes = []
    for i, entry in enumerate(entries):
        try:
            scene = Scene(
                str(entry["family"]),
                int(entry["seed"]),
                str(entry["instruction"]),
                tuple(str(parse_call(c)) for c in entry["plan"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ParaphraseFileError(
                f"{path}: entry {i} is not a paraphrase (family, seed, instruction, plan): {error}"
            ) from None
        scenes.append(scene)
    return scenes
