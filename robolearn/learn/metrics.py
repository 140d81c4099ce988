"""Continual-learning metrics over a success matrix (GEM, LIBERO and Avalanche definitions).

``R[i][j]`` is the held-out success on family ``j`` after stage ``i``: stage 0 is the base
model (which learned the bootstrap families), stage ``k`` ends once the ``k``-th new family has
been taught. A family is *learned at* stage 0 if the base model trained on it, else at the
stage that taught it.

- ACC: mean success over every family after the last stage.
- BWT (backward transfer): mean over families learned before the last stage of
  ``R[last][j] - R[learned_at(j)][j]``; negative means forgetting.
- FWT (forward transfer): mean over new families of ``R[learned_at(j) - 1][j] - R[0][j]``: what
  the earlier stages did for a family before it was taught, against the base model.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SuccessMatrix:
    """Success per family after each stage."""

    families: list[str]
    """Columns: the base model's families, then the new ones in the order they arrived."""
    learned_at: dict[str, int]
    """The stage at which each family was learned (0: by the base model)."""
    stages: list[str] = field(default_factory=list)
    """Row labels: ``base``, then the family each stage taught."""
    rows: list[dict[str, float]] = field(default_factory=list)

    def add(self, stage: str, success: dict[str, float]) -> None:
        """Append the row measured after ``stage``."""
        missing = [f for f in self.families if f not in success]
        if missing:
            raise ValueError(f"the row after {stage!r} has no success for {missing}")
        self.stages.append(stage)
        self.rows.append({f: success[f] for f in self.families})

    @property
    def acc(self) -> float:
        """Average success over every family after the last stage."""
        last = self.rows[-1]
        return sum(last.values()) / len(last)

    @property
    def bwt(self) -> float:
        """Backward transfer: how much success on earlier families changed later (≤ 0 forgets)."""
        last = len(self.rows) - 1
        earlier = [f for f in self.families if self.learned_at[f] < last]
        if not earlier:
            return 0.0
        return sum(self.rows[last][f] - self.rows[self.learned_at[f]][f] for f in earlier) / len(
            earlier
        )

    @property
    def fwt(self) -> float:
        """Forward transfer: success on a new family just before it was taught, minus the base's."""
        new = [f for f in self.families if 0 < self.learned_at[f] < len(self.rows)]
        if not new:
            return 0.0
        return sum(self.rows[self.learned_at[f] - 1][f] - self.rows[0][f] for f in new) / len(new)

    def forgetting_curve(self, family: str) -> list[float | None]:
        """A family's success at every stage (None before the stage that taught it)."""
        return [
            row[family] if i >= self.learned_at[family] else None for i, row in enumerate(self.rows)
        ]

    def to_dict(self) -> dict[str, object]:
        """The JSON-ready matrix with its summary numbers."""
        return {
            "families": self.families,
            "learned_at": self.learned_at,
            "stages": self.stages,
            "rows": self.rows,
            "acc": self.acc,
            "bwt": self.bwt,
            "fwt": self.fwt,
        }


@dataclass
class MistakeLog:
    """Re-plans of situations that were corrected before, and how many went wrong again."""

    replans: int = 0
    mistakes: int = 0

    def count(self, wrong: bool) -> None:
        """Record one re-plan of a corrected situation."""
        self.replans += 1
        self.mistakes += wrong

    @property
    def rate(self) -> float:
        """Fraction of re-plans of corrected situations that were wrong again."""
        return self.mistakes / self.replans if self.replans else 0.0


def corrections_to_reach(curve: list[tuple[int, float]], target: float) -> int | None:
    """The corrections made when success first reached ``target`` (None: never).

    ``curve`` holds (corrections so far, held-out success) after each evaluation, in order.
    """
    return next((n for n, success in curve if success >= target - 1e-9), None)
