"""A round's training set: what is new since the adapter it continues from, plus replay.

*New* is every lesson (a working correction, a successful episode) that no round in the
current adapter's lineage has learned yet, with colour-renamed copies. *Replay* is a sample of
what that lineage learned before, the default model's own demonstrations included. Both are
deduplicated, and every example keeps its source row, so an adapter traces to its data.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from robolearn.errors import ConfigError
from robolearn.learn.compress import compress
from robolearn.learn.examples import Lesson, PromptStyle, lessons
from robolearn.learn.replay import REPLAY_STRATEGIES, replay_sample
from robolearn.planner.training import Example
from robolearn.skills.library import SkillLibrary
from robolearn.store import RoundExampleRow, Store

MAX_EXAMPLES = 1_000_000
"""The most examples a round may replay or take new: a round of more would train for days."""
MAX_AUGMENT = 1_000
"""The most colour-renamed copies of one lesson."""
MAX_REPLAY_RATIO = 100.0
"""The most replayed examples per new one."""


@dataclass(frozen=True)
class DataConfig:
    """What a round trains on."""

    replay: str = "balanced"
    """How older examples are replayed: ``balanced`` (per family), ``reservoir`` (uniform), or
    ``none`` (naive fine-tuning on the new data alone)."""
    replay_ratio: float = 3.0
    """Replayed examples per new example. Teaching put_between, clear_table and flip_stack in
    turn (10 corrections each, balanced): at 1, put_between fell from 90% to 10% held-out
    success two rounds later; at 3 it kept 80%, and line_up 80-90%."""
    replay_size: int = 1000
    """The most examples replayed in one round."""
    augment: int = 15
    """Colour-renamed copies of every lesson (0: none). From 10 corrections of swap_blocks,
    15 copies reached 20-30% held-out success and 31 copies 50%; 7 copies 0%."""
    rephrase: float = 0.0
    """The share of those copies that ask for the task in other words (the family's phrasings
    of the scene, as people vary them: ``envs/language/``). Off by default: on the development
    set (six new families, isolation, 20 corrections each) 0.25 and 0.5 left other-words
    success where it was (39-42% of the dev phrasings) and kept the two longest families
    (move_stack, two_towers) under 90%, where 0 took every family to 90%."""
    max_new: int = 1000
    """The most new examples in one round (corrections come first)."""
    composites: bool = True
    """Teach each lesson's plan in the fewest calls the library's composite skills allow
    (``compress``): from 10 corrections of clear_table, an expert reached 10-20% held-out
    success on its six atomic calls (15 or 31 renamed copies, with or without replay)."""

    def __post_init__(self) -> None:
        if self.replay not in (*REPLAY_STRATEGIES, "none"):
            raise ConfigError(
                "replay",
                f"{{}} must be one of {', '.join(REPLAY_STRATEGIES)} or none, not {self.replay!r}",
            )
        if not 0 <= self.rephrase <= 1:
            raise ConfigError("rephrase", f"{{}} must be between 0 and 1, got {self.rephrase}")
        for name, most in (
            ("replay_ratio", MAX_REPLAY_RATIO),
            ("replay_size", MAX_EXAMPLES),
            ("augment", MAX_AUGMENT),
            ("max_new", MAX_EXAMPLES),
        ):
            if not 0 <= getattr(self, name) <= most:
                raise ConfigError(
                    name, f"{{}} must be between 0 and {most}, got {getattr(self, name)}"
                )


@dataclass
class RoundDataset:
    """The examples of one round, by role."""

    new: list[Example]
    replay: list[Example]
    lessons: list[Lesson] = field(default_factory=list)
    last_correction_id: int = 0
    """The newest correction the round's data was drawn from (0: none yet)."""

    @property
    def examples(self) -> list[Example]:
        """Everything the round trains on."""
        return self.new + self.replay

    def rows(self) -> list[RoundExampleRow]:
        """The examples as the store records them."""
        return [
            RoundExampleRow(role, e.source, e.source_id, e.family, e.prompt, e.answer, e.augmented)
            for role, examples in (("new", self.new), ("replay", self.replay))
            for e in examples
        ]

    def lesson_counts(self) -> dict[str, int]:
        """Lessons by source (``correction``, ``episode``)."""
        return dict(Counter(lesson.source for lesson in self.lessons))

    def summary(self) -> dict[str, object]:
        """Counts a person reads: lessons by source, examples by role and family."""
        return {
            "lessons": self.lesson_counts(),
            "new": len(self.new),
            "replay": len(self.replay),
            "new_by_family": dict(sorted(Counter(e.family for e in self.new).items())),
            "replay_by_family": dict(sorted(Counter(e.family for e in self.replay).items())),
        }


def learned_examples(store: Store, lineage: list[int]) -> list[Example]:
    """The new examples of the rounds in ``lineage`` (oldest first), as they were trained."""
    return [
        Example(row.prompt, row.answer, row.family, row.source, row.source_id, row.augmented)
        for row in store.round_examples(lineage, role="new")
    ]


def build_dataset(
    store: Store,
    base_pool: list[Example],
    lineage: list[int],
    config: DataConfig,
    rng: random.Random,
    style: PromptStyle | None = None,
    library: SkillLibrary | None = None,
) -> RoundDataset:
    """The next round's data, given the base model's demonstrations and the adapter lineage.

    New examples are written in ``style``, the prompt format of the model being trained, and
    (``config.composites``) with ``library``'s composite skills.
    """
    learned = learned_examples(store, lineage)
    done: dict[str, set[int]] = {}
    for example in learned:
        if example.source_id is not None:
            done.setdefault(example.source, set()).add(example.source_id)
    corrections = store.corrections()  # read once: a correction saved meanwhile waits its turn
    todo = lessons(store, done, corrections)
    if config.composites and library is not None:
        todo = [replace(lesson, plan=compress(lesson.plan, library)) for lesson in todo]
    last_id = max((int(c.id or 0) for c in corrections), default=0)
    new = _dedupe(
        e for lesson in todo for e in lesson.examples(config.augment, rng, style, config.rephrase)
    )
    new = new[: config.max_new]
    if config.replay == "none":
        return RoundDataset(new, [], todo, last_id)
    prompts = {e.prompt for e in new}
    pool = _dedupe(e for e in base_pool + learned if e.prompt not in prompts)
    size = min(config.replay_size, round(config.replay_ratio * len(new)))
    return RoundDataset(new, replay_sample(pool, size, config.replay, rng), todo, last_id)


def _dedupe(examples: Iterable[Example]) -> list[Example]:
    """The examples in order, each (prompt, answer) once."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for example in examples:
        if (example.prompt, example.answer) not in seen:
            seen.add((example.prompt, example.answer))
            kept.append(example)
    return kept
