"""Training examples from the store: corrected plans and plans that worked, per situation.

A *situation* is what the planner saw: the instruction and the scene's objects. A correction
teaches its situation the corrected plan (when its re-run succeeded); a successful episode
teaches its own plan. Where a situation has both, the latest correction wins.

Corrections are few, so each can be copied with its colours renamed (red ↔ pink, ...):
renaming every colour consistently in the instruction, the objects and the plan gives another
situation with the same answer, and a tiny model learns the task rather than the colours.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Protocol

from robolearn.calls import Call, parse_calls
from robolearn.planner.phrasing import Language, load_language
from robolearn.planner.prompt import build_prompt, plan_text
from robolearn.planner.training import Example
from robolearn.records import EpisodeRecord
from robolearn.sim.scene import COLOURS, SceneObject
from robolearn.store import CorrectionRow, Store
from robolearn.tasks.sampler import SceneChangedError, rebuild_task, sample_task
from robolearn.tasks.spec import get_family


class PromptStyle(Protocol):
    """How a planner writes a prompt and its answer (``PlainFormat``, ``ChatFormat``)."""

    def prompt(self, instruction: str, object_names: Sequence[str]) -> str:
        """The text the model continues with a plan."""
        ...

    def answer(self, plan: Sequence[Call]) -> str:
        """What the model writes after the prompt."""
        ...


_COLOUR_WORD = re.compile(r"(?<![a-z])(" + "|".join(COLOURS) + r")(?![a-z])")
"""A colour name as a word of an instruction or the first part of an object's name."""


@dataclass(frozen=True)
class Situation:
    """What a planner sees: an instruction in a scene of named objects."""

    instruction: str
    objects: tuple[str, ...]

    @property
    def key(self) -> tuple[str, tuple[str, ...]]:
        """Equal for the same words (case and spacing aside) in a scene of the same objects."""
        return " ".join(self.instruction.lower().split()), tuple(sorted(self.objects))

    def example(
        self,
        plan: list[Call],
        family: str,
        source: str,
        source_id: int | None,
        augmented: bool = False,
        style: PromptStyle | None = None,
    ) -> Example:
        """The training example that answers this situation with ``plan``.

        ``style`` is the planner's prompt format (``LMPlanner.format``); default: the plain
        format of robolearn's own default model.
        """
        if style is None:
            prompt, answer = build_prompt(self.instruction, list(self.objects)), plan_text(plan)
        else:
            prompt, answer = style.prompt(self.instruction, self.objects), style.answer(plan)
        return Example(prompt, answer, family, source, source_id, augmented)

    def recoloured(self, mapping: dict[str, str]) -> Situation:
        """The same situation with every colour renamed by ``mapping`` (a permutation)."""
        return Situation(
            _recolour(self.instruction, mapping),
            tuple(_recolour(name, mapping) for name in self.objects),
        )

    @property
    def template(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The instruction's words with colours blanked, and the scene's object kinds."""
        return (
            tuple("<colour>" if w in COLOURS else w for w in _words(self.instruction)),
            tuple(sorted(_kind(name) for name in self.objects)),
        )

    def colours_to(self, other: Situation, needed: Iterable[str]) -> dict[str, str] | None:
        """The renaming of colours that turns this situation into ``other``, if there is one.

        The instructions must be the same words but for their colours, which fixes how each
        named colour maps; an object of ``needed`` (what a plan uses) whose colour the words do
        not fix maps to the one unnamed object of its kind in ``other``. None when any of this
        is ambiguous or contradictory: the analogy is refused rather than guessed.
        """
        if self.template != other.template:
            return None
        mapping: dict[str, str] = {}
        for old, new in zip(_words(self.instruction), _words(other.instruction), strict=True):
            if old in COLOURS and not _bind(mapping, old, new):
                return None
        for name in needed:
            colour, kind = _colour(name), _kind(name)
            if colour in mapping:
                continue
            free = [
                o for o in other.objects if _kind(o) == kind and _colour(o) not in mapping.values()
            ]
            mine = [o for o in self.objects if _kind(o) == kind and _colour(o) not in mapping]
            if len(free) != 1 or len(mine) != 1 or not _bind(mapping, colour, _colour(free[0])):
                return None
        mapped = {_recolour(name, mapping) for name in needed}
        return mapping if mapped <= set(other.objects) else None


def episode_situation(episode: EpisodeRecord) -> Situation | None:
    """The situation an episode ran in, rebuilt from its family and seed.

    None when the family is gone or its file has changed since (the scene cannot be rebuilt).
    """
    try:
        task = rebuild_task(episode)
    except SceneChangedError:
        return None
    return Situation(episode.instruction, tuple(o.name for o in task.objects))


@dataclass(frozen=True)
class Lesson:
    """A situation and the plan it should get, from one correction or one episode."""

    situation: Situation
    plan: tuple[Call, ...]
    family: str
    source: str
    source_id: int
    seed: int | None = None
    """The seed of the family's scene it was learned in (None: not known)."""

    def examples(
        self,
        copies: int,
        rng: random.Random,
        style: PromptStyle | None = None,
        rephrase: float = 0.0,
    ) -> list[Example]:
        """The lesson as an example, plus ``copies`` with the colours renamed at random.

        A ``rephrase`` share of the copies asks for the task in other words: one of the
        family's phrasings of the recoloured scene, as people vary them (``planner.phrasing``),
        so that what one correction teaches is not tied to the words it was given in. A lesson
        whose scene cannot be rebuilt keeps its own words.
        """
        examples = [
            self.situation.example(
                list(self.plan), self.family, self.source, self.source_id, style=style
            )
        ]
        seen = {examples[0].prompt}
        scene = self.scene() if rephrase > 0 else None
        for _ in range(copies):
            mapping = _colour_permutation(rng)
            situation = self.situation.recoloured(mapping)
            if scene is not None and rng.random() < rephrase:
                words = _phrase(self.family, _recolour_scene(scene, mapping), rng)
                situation = Situation(words, situation.objects)
            example = situation.example(
                recolour_plan(self.plan, mapping),
                self.family,
                self.source,
                self.source_id,
                True,
                style,
            )
            if example.prompt not in seen:
                seen.add(example.prompt)
                examples.append(example)
        return examples

    def scene(self) -> tuple[SceneObject, ...] | None:
        """The objects of the lesson's scene, in its family's role order (None: not rebuilt).

        Rebuilt from the family and seed; None when the seed is not known or the scene is not
        the one the lesson was learned in (the family's file changed since).
        """
        if self.seed is None:
            return None
        objects = sample_task(get_family(self.family), self.seed).objects
        return objects if tuple(o.name for o in objects) == tuple(self.situation.objects) else None


def lessons(
    store: Store,
    since: dict[str, set[int]] | None = None,
    corrections: list[CorrectionRow] | None = None,
) -> list[Lesson]:
    """What the store can teach: corrected plans that worked, then plans of successful episodes.

    ``since`` maps a source (``correction``, ``episode``) to row ids already learned; those are
    left out. One lesson a situation: its latest correction, else its first successful episode.
    ``corrections`` are the store's corrections when the caller has read them already.
    """
    done = since or {}
    by_situation: dict[tuple[str, tuple[str, ...]], Lesson] = {}
    episodes: dict[int, EpisodeRecord] = {}
    for correction in store.corrections() if corrections is None else corrections:
        if not correction.rerun_success or correction.id in done.get("correction", set()):
            continue
        episode = episodes.get(correction.episode_id) or store.episode(correction.episode_id)
        episodes[correction.episode_id] = episode
        lesson = correction_lesson(correction, episode)
        if lesson is not None:
            by_situation[lesson.situation.key] = lesson  # later corrections replace earlier
    for episode in store.episodes(success=True, limit=None):
        if episode.id in done.get("episode", set()) or not episode.plan:
            continue
        situation = episode_situation(episode)
        if situation is not None and situation.key not in by_situation:
            by_situation[situation.key] = Lesson(
                situation,
                tuple(parse_calls("\n".join(episode.plan))),
                episode.family,
                "episode",
                int(episode.id),
                episode.seed,
            )
    return list(by_situation.values())


def correction_lesson(correction: CorrectionRow, episode: EpisodeRecord) -> Lesson | None:
    """What a correction of ``episode`` teaches (None unless its re-run succeeded).

    None too when the episode's scene cannot be rebuilt or the correction holds no plan.
    """
    situation = episode_situation(episode)
    if not correction.rerun_success or situation is None or not correction.corrected:
        return None
    return Lesson(
        situation,
        tuple(parse_calls("\n".join(correction.corrected))),
        episode.family,
        "correction",
        int(correction.id),
        episode.seed,
    )


def _colour_permutation(rng: random.Random) -> dict[str, str]:
    names = list(COLOURS)
    shuffled = names[:]
    rng.shuffle(shuffled)
    return dict(zip(names, shuffled, strict=True))


def recolour_plan(plan: Iterable[Call], mapping: dict[str, str]) -> list[Call]:
    """``plan`` with the colours of its objects renamed by ``mapping``."""
    return [
        Call(c.name, tuple(_recolour(a, mapping) if isinstance(a, str) else a for a in c.args))
        for c in plan
    ]


def plan_objects(plan: Iterable[Call], situation: Situation) -> set[str]:
    """The scene objects a plan names."""
    return {a for c in plan for a in c.args if isinstance(a, str) and a in situation.objects}


def _recolour_scene(
    objects: tuple[SceneObject, ...], mapping: dict[str, str]
) -> tuple[SceneObject, ...]:
    return tuple(
        replace(o, name=_recolour(o.name, mapping), colour=mapping.get(o.colour, o.colour))
        for o in objects
    )


@cache
def _language() -> Language:
    return load_language()


def _phrase(family: str, objects: tuple[SceneObject, ...], rng: random.Random) -> str:
    return _language().phrase(get_family(family), objects, rng)


def _recolour(text: str, mapping: dict[str, str]) -> str:
    return _COLOUR_WORD.sub(lambda match: mapping.get(match.group(1), match.group(1)), text)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z_]+|[^\sa-z_]", text.lower())


def _colour(name: str) -> str:
    return name.split("_", 1)[0]


def _kind(name: str) -> str:
    return name.split("_", 1)[-1]


def _bind(mapping: dict[str, str], old: str, new: str) -> bool:
    """Add ``old -> new`` unless it contradicts the mapping or makes it many-to-one."""
    if new not in COLOURS:
        return False
    if old in mapping:
        return mapping[old] == new
    if new in mapping.values():
        return False
    mapping[old] = new
    return True
