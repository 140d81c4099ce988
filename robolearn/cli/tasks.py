"""``robolearn tasks``: the task families, each with an example instruction."""

from __future__ import annotations

from dataclasses import dataclass

from robolearn.cli.command import Command, say


@dataclass(kw_only=True)
class TasksConfig:
    """List the task families with an example instruction of each."""


def run(config: TasksConfig) -> int:
    """One family a line, its description, and the instruction of its first scene."""
    from robolearn.tasks.sampler import sample_task
    from robolearn.tasks.spec import load_families

    for name, family in sorted(load_families().items()):
        say(f"{name:<18} {family.description}")
        say(f'{"":<18} e.g. "{sample_task(family, 0).instruction}"')
    return 0


COMMAND = Command(
    help="list the task families", config=TasksConfig, run=run, examples=("robolearn tasks",)
)
