"""Correction memory: a fix applies the next time its situation comes up, before any training.

As DROC does, corrections are kept where the planner looks at plan time. The memory holds each
corrected situation (the instruction and the scene's objects) with the corrected plan whose
re-run succeeded; :class:`MemoryPlanner` plans a remembered situation with its correction and
says so in the plan's explanation, and asks its own planner otherwise. New corrections are read
from the store before every plan, so one saved in the dashboard counts at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from robolearn.agent import Planner
from robolearn.calls import Call, parse_calls
from robolearn.learn.examples import Situation, episode_situation
from robolearn.store import Store
from robolearn.tasks.sampler import TaskInstance


@dataclass(frozen=True)
class Remembered:
    """A corrected plan, and who corrected it and why."""

    plan: tuple[Call, ...]
    correction_id: int
    who: str
    why: str

    def explain(self) -> str:
        """The line shown beside a plan taken from memory."""
        return (f"correction #{self.correction_id} by {self.who} of this instruction in this "
                "scene" + (f" ({self.why})" if self.why else ""))


class CorrectionMemory:
    """The store's working corrections, by situation; the latest correction of one wins."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._by_situation: dict[tuple[str, tuple[str, ...]], Remembered] = {}
        self._last_id = 0

    def refresh(self) -> int:
        """Read corrections saved since the last refresh; how many were new."""
        fresh = self.store.corrections(since_id=self._last_id)
        for correction in fresh:
            self._last_id = max(self._last_id, int(correction.id or 0))
            corrected = correction.corrected
            if not correction.rerun_success or not isinstance(corrected, list):
                continue
            situation = episode_situation(self.store.episode(correction.episode_id))
            if situation is not None:
                self._by_situation[situation.key] = Remembered(
                    tuple(parse_calls("\n".join(map(str, corrected)))), int(correction.id or 0),
                    correction.who, correction.why)
        return len(fresh)

    def recall(self, situation: Situation) -> Remembered | None:
        """The correction of exactly this situation, if there is one."""
        return self._by_situation.get(situation.key)

    def __len__(self) -> int:
        return len(self._by_situation)


class MemoryPlanner:
    """A planner that first looks for a correction of the situation, then asks ``inner``."""

    def __init__(self, inner: Planner, memory: CorrectionMemory) -> None:
        self.inner = inner
        self.memory = memory
        self.name = inner.name
        self.explanation = ""

    def plan(self, task: TaskInstance) -> list[Call]:
        """The remembered correction of ``task``'s situation, else ``inner``'s plan."""
        self.memory.refresh()
        hit = self.memory.recall(Situation(task.instruction, tuple(o.name for o in task.objects)))
        if hit is not None:
            self.explanation = hit.explain()
            return list(hit.plan)
        plan = self.inner.plan(task)
        self.explanation = f"{self.inner.explanation}; no correction of this situation yet"
        return plan
