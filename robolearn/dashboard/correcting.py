"""What the Correct page shows beside its editor: the change, the objects, the signatures.

Plain functions: nothing here touches Streamlit. A person writes a plan in the call
language; these answer the questions they have while writing it (what did I change, what is
this object called, what does ``place`` take) without an error message to provoke first.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

from robolearn.calls import first_difference

if TYPE_CHECKING:
    from robolearn.records import EpisodeRecord
    from robolearn.skills.library import SkillLibrary


def plan_lines(text: str) -> list[str]:
    """The calls of an edited plan, one a line, blank lines dropped and spaces trimmed."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def plan_diff(robot: list[str], corrected: list[str]) -> str:
    """The change from the robot's plan to the corrected one, a line a step, as a diff reads.

    ``  1 pick(a)`` kept, ``- 2 place(a, b)`` the robot's step removed, ``+ 2 place(b, a)`` the
    corrected step in its place; numbers are each plan's own step numbers.
    """
    lines = []
    matcher = difflib.SequenceMatcher(a=robot, b=corrected, autojunk=False)
    for kind, a0, a1, b0, b1 in matcher.get_opcodes():
        if kind == "equal":
            lines += [f"  {b0 + i + 1} {call}" for i, call in enumerate(corrected[b0:b1])]
            continue
        lines += [f"- {a0 + i + 1} {call}" for i, call in enumerate(robot[a0:a1])]
        lines += [f"+ {b0 + i + 1} {call}" for i, call in enumerate(corrected[b0:b1])]
    return "\n".join(lines)


def change_summary(robot: list[str], corrected: list[str]) -> str:
    """One line: how many steps change, and from which step on."""
    if robot == corrected:
        return "No change yet: edit a step, insert one or delete one."
    first = first_difference(robot, corrected)
    matcher = difflib.SequenceMatcher(a=robot, b=corrected, autojunk=False)
    removed = sum(a1 - a0 for k, a0, a1, _, _ in matcher.get_opcodes() if k != "equal")
    added = sum(b1 - b0 for k, _, _, b0, b1 in matcher.get_opcodes() if k != "equal")
    return (
        f"Changes from step {first + 1}: {removed} step{'s' * (removed != 1)} of the robot's "
        f"plan out, {added} in."
    )


def scene_rows(episode: EpisodeRecord) -> list[dict[str, Any]]:
    """The episode's scene: each object's name (as a plan calls it), kind, colour, support."""
    from robolearn.tasks.sampler import rebuild_task

    return [
        {"object": o.name, "kind": o.kind, "colour": o.colour, "on": o.on or "table"}
        for o in rebuild_task(episode).objects
    ]


def goal_rows(episode: EpisodeRecord) -> list[dict[str, Any]]:
    """The task's success predicates, each marked met or unmet at the episode's end.

    ``met`` is None when the episode did not record its unmet goals (stored before v5).
    """
    from robolearn.tasks.sampler import rebuild_task

    unmet = None if episode.unmet is None else set(episode.unmet)
    return [
        {"goal": str(goal), "met": None if unmet is None else str(goal) not in unmet}
        for goal in rebuild_task(episode).success
    ]


def skill_rows(library: SkillLibrary) -> list[dict[str, Any]]:
    """Every skill a plan may call: its signature, kind and what it does."""
    return [
        {
            "signature": library.get(name).signature,
            "kind": "composite" if name in library.composites else "atomic",
            "does": library.get(name).description,
        }
        for name in library.names()
    ]
