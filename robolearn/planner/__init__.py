"""Planners turn a task instance into a plan of skill calls.

Kept import-light: the language-model planner loads torch only when it is used.
"""

from robolearn.errors import UserError


class PlanningError(UserError):
    """A planner that could not write a plan for a task; the message says why."""


DEFAULT_MODEL = "default"
"""The model name (``--model default``) that means the workspace's own default model."""
