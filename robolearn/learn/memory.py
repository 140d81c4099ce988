"""Correction memory: a fix applies the next time its situation comes up, before any training.

As DROC does, corrections are kept where the planner looks at plan time. The memory holds each
corrected situation (the instruction and the scene's objects) with the corrected plan whose
re-run succeeded. :class:`MemoryPlanner` plans a remembered situation with its correction; a
situation that differs from a remembered one only by its colours (the same words, "red" where
that one said "blue", objects of the same kinds) gets the correction with its colours renamed,
when the words fix every object the plan needs. Either way the plan's explanation says so;
otherwise its own planner is asked. New corrections are read from the store before every plan,
so one saved in the dashboard counts at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from robolearn.agent import Planner
from robolearn.calls import Call
from robolearn.learn.examples import (
    Lesson,
    Situation,
    correction_lesson,
    plan_objects,
    recolour_plan,
)
from robolearn.store import Store
from robolearn.tasks.sampler import TaskInstance


@dataclass(frozen=True)
class Remembered:
    """A correction's lesson (situation and plan), and who corrected it and why."""

    lesson: Lesson
    who: str
    why: str


@dataclass(frozen=True)
class Recall:
    """What the memory offers for a situation: a plan, and the correction it comes from."""

    plan: list[Call]
    source: Remembered
    renamed: dict[str, str]
    """The colours renamed to fit this situation; empty for the very situation corrected."""

    def explain(self) -> str:
        """The line shown beside the plan."""
        source = self.source
        who = f"correction #{source.lesson.source_id} by {source.who}"
        why = f" ({source.why})" if source.why else ""
        if not self.renamed:
            return f"{who} of this instruction in this scene{why}"
        renames = ", ".join(f"{a}->{b}" for a, b in sorted(self.renamed.items()) if a != b)
        return f"{who} of a like instruction, colours renamed ({renames or 'none'}){why}"


class CorrectionMemory:
    """The store's working corrections, by situation; the latest correction of one wins."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._by_situation: dict[tuple[str, tuple[str, ...]], Remembered] = {}
        self._by_template: dict[tuple[tuple[str, ...], tuple[str, ...]], list[Remembered]] = {}
        self._last_id = 0

    def refresh(self) -> int:
        """Read corrections saved since the last refresh; how many were new."""
        fresh = self.store.corrections(since_id=self._last_id)
        for correction in fresh:
            self._last_id = max(self._last_id, int(correction.id or 0))
            if not correction.rerun_success:
                continue
            lesson = correction_lesson(correction, self.store.episode(correction.episode_id))
            if lesson is not None:
                remembered = Remembered(lesson, correction.who, correction.why)
                self._by_situation[lesson.situation.key] = remembered
                self._by_template.setdefault(lesson.situation.template, []).insert(0, remembered)
        return len(fresh)

    def recall(self, situation: Situation) -> Recall | None:
        """The correction of this situation, else the newest like one with colours renamed."""
        exact = self._by_situation.get(situation.key)
        if exact is not None:
            return Recall(list(exact.lesson.plan), exact, {})
        for remembered in self._by_template.get(situation.template, []):
            lesson = remembered.lesson
            mapping = lesson.situation.colours_to(
                situation, plan_objects(lesson.plan, lesson.situation)
            )
            if mapping is not None:
                return Recall(recolour_plan(lesson.plan, mapping), remembered, mapping)
        return None

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
            return hit.plan
        plan = self.inner.plan(task)
        inner = getattr(self.inner, "explanation", "") or self.inner.name
        self.explanation = f"{inner}; no correction of this situation yet"
        return plan
