"""How well the planner's doubt predicts failure: the AUROC over episodes that recorded it.

KnowNo's idea: a planner that knows when it is unsure can ask for help there. The Review
page lists episodes by doubt, most doubted first; that is worth doing only as far as doubt
ranks failures above successes, which the AUROC measures: the chance that a failed episode,
drawn at random, was doubted more than a successful one (ties count a half). 0.5 is a coin;
1.0 ranks every failure first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from robolearn.records import EpisodeRecord


FEW = 50
"""Below this many episodes the AUROC is called rough: a few more episodes can move it a lot."""


@dataclass(frozen=True)
class DoubtReport:
    """The AUROC of doubt for failure, and the episodes it was measured on."""

    auroc: float | None
    """None when the episodes hold no failure or no success (or no doubt at all)."""
    failures: int
    successes: int

    @property
    def episodes(self) -> int:
        """Episodes with a doubt."""
        return self.failures + self.successes

    def line(self) -> str:
        """One sentence a person reads."""
        if self.auroc is None:
            return (
                f"Too few episodes to say how well doubt predicts failure ({self.failures} "
                f"failed and {self.successes} succeeded with a doubt recorded; it needs both)."
            )
        rough = " Few episodes yet: a rough figure." if self.episodes < FEW else ""
        return (
            f"Doubt ranks a failure above a success {self.auroc:.0%} of the time (AUROC "
            f"{self.auroc:.2f} over {self.episodes} episodes: {self.failures} failed).{rough}"
        )


def auroc(scores: Sequence[float], positive: Sequence[bool]) -> float | None:
    """The area under the ROC curve of ``scores`` for ``positive`` (Mann-Whitney, ties a half).

    None when there is no positive or no negative.
    """
    if len(scores) != len(positive):
        raise ValueError(f"{len(scores)} scores for {len(positive)} labels")
    ranked = sorted(zip(scores, positive, strict=True))
    positives = sum(positive)
    negatives = len(ranked) - positives
    if positives == 0 or negatives == 0:
        return None
    rank_sum, index = 0.0, 0
    while index < len(ranked):
        end = index
        while end < len(ranked) and ranked[end][0] == ranked[index][0]:
            end += 1
        mean_rank = (index + 1 + end) / 2  # ranks from 1; tied scores share their mean rank
        rank_sum += mean_rank * sum(label for _, label in ranked[index:end])
        index = end
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def doubt_report(episodes: Iterable[EpisodeRecord]) -> DoubtReport:
    """How well the doubt of ``episodes`` predicts their failure (those without doubt skipped)."""
    pairs = [(e.doubt, not e.success) for e in episodes if e.doubt is not None]
    failed = [f for _, f in pairs]
    return DoubtReport(
        auroc([float(d) for d, _ in pairs], failed), sum(failed), len(failed) - sum(failed)
    )
