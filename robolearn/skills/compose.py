"""Turning a concrete plan into a reusable composite skill (RoboCoder's "write a new action").

A plan names objects (``pick(red_block); place(red_block, blue_block)``); a skill takes
parameters. Each object becomes a parameter of the narrowest type its kind allows, in order of
first use, and the task's success condition becomes the skill's effect, so the Evaluator can
prove it before the library takes it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from robolearn.calls import Call
from robolearn.sim.scene import COLOURS, SceneObject
from robolearn.skills.composite import MAX_NAME_CHARS, CompositeSkill, Provenance
from robolearn.skills.params import Param

_KIND_TO_TYPE = {"block": "block", "zone": "zone", "bowl": "container", "bin": "container"}
_FILLER = {"the", "a", "an", "one", "it", "of", "then", "and", "please", *COLOURS}
MAX_NAME_WORDS = 4


def skill_name(instruction: str, taken: Sequence[str]) -> str:
    """A snake_case name from the instruction's words, without colours or filler words.

    "stack the red block on the blue one" → ``stack_block_on``; a name already
    ``taken`` gets a number. It is cut short to leave the number room within MAX_NAME_CHARS.
    """
    words = [w for w in re.findall(r"[a-z]+", instruction.lower()) if w not in _FILLER]
    base = "_".join(words[:MAX_NAME_WORDS])[: MAX_NAME_CHARS - 8].rstrip("_") or "skill"
    if not base[0].isalpha():
        base = f"skill_{base}"
    name, number = base, 2
    while name in taken:
        name, number = f"{base}_{number}", number + 1
    return name


def compose_skill(
    name: str,
    instruction: str,
    plan: Sequence[Call],
    effect: Sequence[Call],
    objects: Mapping[str, SceneObject],
    provenance: Provenance,
) -> tuple[CompositeSkill, tuple[str, ...]]:
    """The composite that ``plan`` is an instance of, and the objects to call it with.

    Arguments that are not objects (a side, a number) stay literal.
    """
    params: dict[str, Param] = {}
    counts: dict[str, int] = {}
    for call in [*plan, *effect]:
        for arg in call.args:
            if isinstance(arg, str) and arg in objects and arg not in params:
                kind = objects[arg].kind
                counts[kind] = counts.get(kind, 0) + 1
                params[arg] = Param(f"{kind}{counts[kind]}", _KIND_TO_TYPE[kind])
    bindings = {obj: param.name for obj, param in params.items()}
    generic = " ".join(w for w in instruction.split() if w.lower() not in COLOURS)
    skill = CompositeSkill(
        name=name,
        description=f'{generic} (learned from "{instruction}")',
        params=tuple(params.values()),
        steps=tuple(c.bind(bindings) for c in plan),
        effect=tuple(c.bind(bindings) for c in effect),
        provenance=provenance,
    )
    return skill, tuple(params)
