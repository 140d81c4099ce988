"""The scripted expert: the plan its family file declares, bound to the instance's objects."""

from __future__ import annotations

from robolearn.calls import Call
from robolearn.tasks.sampler import TaskInstance


class OraclePlanner:
    """Plans with the ground truth; the baseline, the demo and the source of training data."""

    name = "oracle"
    explanation = "the family's scripted expert (it knows the ground truth)"

    def plan(self, task: TaskInstance) -> list[Call]:
        """The family's oracle plan for ``task``."""
        return list(task.oracle)
