"""Correction memory: a fix applies the next time its situation comes up, before any training.

As DROC does, corrections are kept where the planner looks at plan time. The memory holds each
corrected situation (the instruction and the scene's objects) with the corrected plan whose
re-run succeeded, and recalls one in three ways, first match wins:

1. *exact*: the very situation corrected;
2. *recoloured*: the same words with other colours ("red" where the correction said "blue",
   objects of the same kinds), the plan's colours renamed, when the words fix every object the
   plan needs;
3. *by meaning*: the same task in other words, in another scene. The instruction's colour words
   are read against the scene (``grounding``: "crimson" is the scene's red), and what it asks,
   colours aside, is compared with every known family's own words (``meaning``): when the
   nearest is a corrected family, near enough and clearly nearer than the next (thresholds
   calibrated on labelled pairs, ``calibration``), the correction's plan, lifted to its
   family's roles, is bound to this scene's objects by the scene and the words (``binding``).

When none of these recalls a correction and the memory's planner reads the task in other
words (``RoutedPlanner`` asks an expert in its family's own words, ``restate``), the memory is
asked again in those words: a person's correction of that family then answers rather than the
expert's guess (an expert taught by a single correction plans only some of its family's own
words right; the memory, every one it can bind).

Every recalled plan's explanation says which correction it came from (``correction #id by
who``) and how it was recalled; otherwise the memory's own planner is asked. New corrections
are read from the store before every plan, so one saved in the dashboard counts at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

from robolearn.agent import Planner
from robolearn.calls import Call
from robolearn.learn.binding import bind, lift_plan
from robolearn.learn.examples import (
    Lesson,
    Situation,
    correction_lesson,
    plan_objects,
    recolour_plan,
)
from robolearn.learn.grounding import ground
from robolearn.learn.meaning import SCENE_BONUS, Meaning, Nearness, Prototypes, decide
from robolearn.sim.scene import SceneObject
from robolearn.store import Store
from robolearn.tasks.sampler import TaskInstance, sample_task
from robolearn.tasks.spec import TaskFamily, load_families

RECALL_THRESHOLD = 0.8
"""How near in meaning (cosine of lifted instructions) a corrected family's own words must come
to recall its correction. Calibrated (``python -m robolearn.learn.calibration``) with
``RECALL_MARGIN`` and ``meaning.SCENE_BONUS`` on 110 hand-written instructions: 57 of 96 pairs
of the same task in other words recalled, 1 of 97 pairs of a different task in similar words."""
RECALL_MARGIN = 0.02
"""How much nearer the corrected family must come than the next family."""


@dataclass(frozen=True)
class Remembered:
    """A correction's lesson (situation and plan), and who corrected it and why."""

    lesson: Lesson
    who: str
    why: str
    lifted: tuple[Call, ...] | None = None
    """The plan over its family's roles, to bind in other scenes (None: it cannot be)."""


@dataclass(frozen=True)
class Recall:
    """What the memory offers for a situation: a plan, and the correction it comes from."""

    plan: list[Call]
    source: Remembered
    renamed: dict[str, str]
    """The colours renamed to fit this situation; empty for the very situation corrected."""
    meaning: Nearness | None = None
    """How near the corrected family came, when recalled by meaning (else None)."""
    read_as: str = ""
    """The words recalled for, when the planner read the task in other words (else "")."""

    @property
    def how(self) -> str:
        """``exact``, ``recoloured`` or ``meaning``."""
        if self.meaning is not None:
            return "meaning"
        return "recoloured" if self.renamed else "exact"

    def explain(self) -> str:
        """The line shown beside the plan."""
        source = self.source
        who = f"correction #{source.lesson.source_id} by {source.who}"
        why = f" ({source.why})" if source.why else ""
        if self.read_as:
            why += f"; read as {self.read_as!r}"
        if self.meaning is not None:
            return (
                f"{who} of a like task in other words ({source.lesson.family}, meaning "
                f"{self.meaning.similarity:.2f}), objects bound by the scene and the words{why}"
            )
        if not self.renamed:
            what = "the words it was read as" if self.read_as else "this instruction"
            return f"{who} of {what} in this scene{why}"
        renames = ", ".join(f"{a}->{b}" for a, b in sorted(self.renamed.items()) if a != b)
        return f"{who} of a like instruction, colours renamed ({renames or 'none'}){why}"


class CorrectionMemory:
    """The store's working corrections, by situation and by family; the latest one wins.

    ``meaning`` embeds instructions for recall by meaning (default: all-MiniLM-L6-v2, loaded
    the first time a situation is neither corrected nor a recolouring of one). ``by_meaning``
    False keeps to exact and recoloured recall.
    """

    def __init__(
        self, store: Store, meaning: Meaning | None = None, by_meaning: bool = True
    ) -> None:
        self.store = store
        self.by_meaning = by_meaning
        self._meaning = meaning
        self._by_situation: dict[tuple[str, tuple[str, ...]], Remembered] = {}
        self._by_template: dict[tuple[tuple[str, ...], tuple[str, ...]], list[Remembered]] = {}
        self._by_family: dict[str, list[Remembered]] = {}
        self._families: dict[str, TaskFamily] | None = None
        self._prototypes: Prototypes | None = None
        self._last_id = 0

    @property
    def meaning(self) -> Meaning:
        """The sentence embeddings recall by meaning compares instructions with."""
        if self._meaning is None:
            self._meaning = Meaning()
        return self._meaning

    @property
    def families(self) -> dict[str, TaskFamily]:
        """The known task families, whose own words recall by meaning compares with."""
        if self._families is None:
            self._families = load_families()
        return self._families

    def refresh(self) -> int:
        """Read corrections saved since the last refresh; how many were new."""
        fresh = self.store.corrections(since_id=self._last_id)
        for correction in fresh:
            self._last_id = max(self._last_id, int(correction.id or 0))
            if not correction.rerun_success:
                continue
            lesson = correction_lesson(correction, self.store.episode(correction.episode_id))
            if lesson is not None:
                remembered = Remembered(
                    lesson, correction.who, correction.why, self._lifted(lesson)
                )
                self._by_situation[lesson.situation.key] = remembered
                self._by_template.setdefault(lesson.situation.template, []).insert(0, remembered)
                if remembered.lifted is not None:
                    self._by_family.setdefault(lesson.family, []).insert(0, remembered)
        return len(fresh)

    def recall(self, instruction: str, objects: Sequence[SceneObject]) -> Recall | None:
        """The correction of this situation, else a like one renamed, else one by meaning."""
        situation = Situation(instruction, tuple(o.name for o in objects))
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
        if self.by_meaning and self._by_family:
            return self._recall_by_meaning(instruction, objects)
        return None

    def _recall_by_meaning(self, instruction: str, objects: Sequence[SceneObject]) -> Recall | None:
        """A correction of the family nearest in meaning, bound to this scene, or None."""
        grounding = ground(instruction, {o.colour for o in objects})
        if self._prototypes is None:
            from robolearn.learn.meaning import family_prototypes

            self._prototypes = family_prototypes(self.families.values(), self.meaning)
        ranked = self._prototypes.rank(grounding.lifted, objects, self.meaning, SCENE_BONUS)
        nearest = decide(ranked, RECALL_THRESHOLD, RECALL_MARGIN)
        if nearest is None or nearest.label not in self._by_family:
            return None
        family = self.families[nearest.label]
        tried: set[tuple[Call, ...]] = set()
        for remembered in self._by_family[nearest.label]:
            lifted = remembered.lifted
            if lifted is None or lifted in tried:
                continue
            tried.add(lifted)
            binding = bind(family, lifted, grounding, objects, self.meaning)
            if binding is not None:
                return Recall(binding.plan(lifted), remembered, {}, nearest)
        return None

    def _lifted(self, lesson: Lesson) -> tuple[Call, ...] | None:
        """The lesson's plan over its family's roles (None when its scene cannot be rebuilt)."""
        family = self.families.get(lesson.family)
        if family is None or lesson.seed is None:
            return None
        return lift_plan(lesson.plan, sample_task(family, lesson.seed).roles)

    def __len__(self) -> int:
        return len(self._by_situation)


@runtime_checkable
class Restating(Protocol):
    """A planner whose model may be asked a task in other words (``RoutedPlanner``)."""

    def asked(self, task: TaskInstance) -> TaskInstance:
        """``task`` as the model is asked it (``task`` itself when in its own words)."""
        ...


class MemoryPlanner:
    """A planner that first looks for a correction of the situation, then asks ``inner``."""

    def __init__(self, inner: Planner, memory: CorrectionMemory) -> None:
        self.inner = inner
        self.memory = memory
        self.name = inner.name
        self.explanation = ""
        self.last_recall: Recall | None = None
        """The recall behind the last plan (None: the inner planner planned it)."""

    def source(self, task: TaskInstance) -> str | None:
        """The inner planner's source when the memory has nothing for ``task``, else None.

        A recall depends on the corrections of the moment, so its plans are not remembered.
        """
        from robolearn.learn.sources import plan_source

        if self.recall(task) is not None:
            return None
        return plan_source(self.inner, task)

    def recall(self, task: TaskInstance) -> Recall | None:
        """The memory's recall for ``task``'s words, else for the words ``inner`` reads it as."""
        self.memory.refresh()
        hit = self.memory.recall(task.instruction, task.objects)
        if hit is not None or not isinstance(self.inner, Restating):
            return hit
        asked = self.inner.asked(task)
        if asked.instruction == task.instruction:
            return None
        hit = self.memory.recall(asked.instruction, asked.objects)
        return None if hit is None else replace(hit, read_as=asked.instruction)

    def plan(self, task: TaskInstance) -> list[Call]:
        """The remembered correction of ``task``'s situation, else ``inner``'s plan."""
        hit = self.recall(task)
        self.last_recall = hit
        if hit is not None:
            self.explanation = hit.explain()
            return hit.plan
        plan = self.inner.plan(task)
        inner = getattr(self.inner, "explanation", "") or self.inner.name
        self.explanation = f"{inner}; no correction of this situation yet"
        return plan
