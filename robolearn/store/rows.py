"""The plain records of the store's other tables: corrections, training rounds, adapters.

Episodes and their steps are :mod:`robolearn.records`' types, which the agent writes too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class CorrectionRow:
    """A person's (or the simulated corrector's) fix of an episode's plan; never changed.

    The correction is the whole corrected plan, with the first step it changes.
    """

    episode_id: int
    step_index: int
    """The first plan step the correction changes, counted from 0."""
    proposed: list[str]
    """The plan the robot proposed (and ran), one call as text a step."""
    corrected: list[str]
    """The plan the corrector says it should have been, one call as text a step."""
    who: str
    """Who corrected it: a person's name, or ``simulated`` for the simulated corrector."""
    why: str = ""
    rerun_success: bool | None = None
    """Whether re-running the corrected plan in simulation succeeded; None if not re-run."""
    id: int | None = None
    """Set by the store; None before the row is added."""
    created: str | None = None
    """When the store added it (ISO 8601, UTC); set by the store."""


@dataclass
class SkillStats:
    """How a skill has fared: Evaluator verdicts, and its runs in stored episodes."""

    evaluations: int = 0
    passed: int = 0
    runs: int = 0
    successes: int = 0

    def add(self, **counts: int) -> None:
        """Add ``counts`` (by field name) to these."""
        for name, count in counts.items():
            setattr(self, name, getattr(self, name) + int(count or 0))


@dataclass(frozen=True)
class FamilyCounts:
    """How many episodes of one task family the store holds, and how many succeeded."""

    family: str
    episodes: int
    successes: int

    @property
    def success_rate(self) -> float:
        """Fraction of episodes that succeeded."""
        return self.successes / self.episodes if self.episodes else 0.0


ROUND_STATUSES = ("running", "promoted", "refused", "failed", "interrupted")
"""A round is ``running`` until it ends; ``interrupted`` if its process died before that."""


@dataclass
class RoundRow:
    """One LoRA training round: what it started from, how it was configured, how it ended."""

    base_model: str
    """The identity of the base model the adapter belongs to."""
    config: dict[str, Any]
    """The round's training settings, as JSON."""
    last_correction_id: int = 0
    """The newest correction that existed when the round began (for ``train --every``)."""
    parent_round: int | None = None
    """The round whose adapter this one continued from; None for the base model alone."""
    status: str = "running"
    reason: str = ""
    """Why it ended as it did (the promotion gate's verdict, or the error)."""
    metrics: dict[str, Any] = field(default_factory=dict)
    path: str | None = None
    """The adapter folder, relative to the workspace, once it is saved."""
    id: int | None = None
    created: str | None = None
    finished: str | None = None


@dataclass(frozen=True)
class RoundExampleRow:
    """One training example a round used, and where it came from."""

    role: str
    """``new`` (data the round learns) or ``replay`` (older data mixed in)."""
    source: str
    """``correction``, ``episode`` or ``bootstrap`` (the default model's demonstrations)."""
    source_id: int | None
    """The correction's or episode's id; the task seed for bootstrap demonstrations."""
    family: str
    prompt: str
    answer: str
    augmented: bool = False
    """A copy of its source with the colours renamed, not the source itself."""


@dataclass(frozen=True)
class AdapterRow:
    """An entry of the adapter log: from ``created`` on, ``base_model`` plans with this adapter.

    ``round_id`` and ``path`` are None when the base model is to plan alone.
    """

    base_model: str
    round_id: int | None
    path: str | None
    why: str
    id: int | None = None
    created: str | None = None
