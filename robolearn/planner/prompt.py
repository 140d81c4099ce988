"""The planner's prompt: a template file filled with the instruction and the scene.

Prompts live as files in ``robolearn/planner/prompts/`` so they can be read and changed
without touching code. The model's answer follows the prompt: calls separated by "; ", then the
end-of-text token.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from robolearn.calls import Call, format_calls
from robolearn.tasks.sampler import TaskInstance

PROMPTS = Path(__file__).resolve().parent / "prompts"
SEPARATOR = "; "
"""Between two calls of a plan, in the model's answer."""


@cache
def template(name: str = "plan") -> str:
    """The prompt template ``prompts/<name>.txt``."""
    return (PROMPTS / f"{name}.txt").read_text(encoding="utf-8")


def build_prompt(instruction: str, object_names: list[str]) -> str:
    """The prompt for an instruction in a scene with these objects.

    The objects are listed alphabetically: in scene order each role sits in the same place
    every time, and a model learns to read the roles off the order instead of the instruction.
    """
    return template().format(instruction=" ".join(instruction.split()),
                             objects=" ".join(sorted(object_names)))


def task_prompt(task: TaskInstance) -> str:
    """The prompt for a task instance."""
    return build_prompt(task.instruction, [o.name for o in task.objects])


def plan_text(plan: list[Call]) -> str:
    """A plan as the model writes it (after the prompt): `` pick(a); place(a, b)``."""
    return " " + format_calls(plan).replace("\n", SEPARATOR)
