"""Calibrating the Searcher's thresholds on labelled sub-goals (``bench_searcher``).

Each labelled query names the skill that does it (or none); scored once against the library,
any pair of thresholds is judged without embedding again: precision and recall of each
decision, top-1 and top-k accuracy, and held-out figures by cross-validation.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from robolearn.skills.searcher import DECISIONS, DEFAULT_K, Decision, Searcher, decide


@dataclass(frozen=True)
class LabelledQuery:
    """A sub-goal as a person might say it and the skill that does it (None: no skill does)."""

    text: str
    skill: str | None


@dataclass(frozen=True)
class ScoredQuery:
    """A labelled query with what the Searcher found for it."""

    text: str
    label: str | None
    ranked: tuple[str, ...]
    """The top-k skill names, best first."""
    similarity: float
    """The best similarity."""

    @property
    def top_right(self) -> bool:
        """Whether the best match is the labelled skill."""
        return self.label is not None and self.ranked[0] == self.label

    @property
    def in_top_k(self) -> bool:
        """Whether the labelled skill is among the top-k."""
        return self.label is not None and self.label in self.ranked


@dataclass(frozen=True)
class DecisionStats:
    """How often one decision was taken and how often it was right.

    ``reuse`` is right when the top skill is the labelled one; ``adapt`` when the labelled
    skill is among the top-k the planner sees; ``new`` when no skill does the query. Recall is
    over the queries the decision serves: in-library ones for reuse and adapt (so the two add
    up to the share of in-library queries handled), out-of-library ones for new.
    """

    decision: Decision
    count: int
    right: int
    precision: float
    recall: float


@dataclass(frozen=True)
class Calibration:
    """Thresholds and how the decisions fare with them on labelled queries."""

    tau_reuse: float
    tau_new: float
    k: int
    queries: int
    in_library: int
    out_of_library: int
    top1_accuracy: float
    """Share of in-library queries whose best match is right, whatever the thresholds."""
    top_k_recall: float
    """Share of in-library queries whose skill is among the top-k."""
    stats: tuple[DecisionStats, ...]

    def of(self, decision: Decision) -> DecisionStats:
        """The figures of one decision."""
        return next(s for s in self.stats if s.decision == decision)


def read_labelled_queries(path: Path) -> list[LabelledQuery]:
    """The labelled queries of a JSON file ``{"queries": [{"text": ..., "skill": ...}]}``."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    queries = []
    for i, row in enumerate(data.get("queries", []) if isinstance(data, dict) else []):
        if (
            not isinstance(row, dict)
            or not isinstance(row.get("text"), str)
            or not isinstance(row.get("skill"), str | None)
        ):
            raise ValueError(
                f'{path}: queries[{i}] must be {{"text": "...", "skill": "<name>" or null}}'
            )
        queries.append(LabelledQuery(row["text"], row["skill"]))
    if not queries:
        raise ValueError(f"{path}: no labelled queries")
    return queries


def score_queries(
    searcher: Searcher, queries: Sequence[LabelledQuery], k: int = DEFAULT_K
) -> list[ScoredQuery]:
    """Search every labelled query once (batched); labels must name skills of the library."""
    unknown = {q.skill for q in queries if q.skill is not None} - set(searcher.names)
    if unknown:
        raise ValueError(f"labels name skills not in the library: {', '.join(sorted(unknown))}")
    results = searcher.rank([q.text for q in queries], k)
    return [
        ScoredQuery(q.text, q.skill, tuple(m.name for m in r.matches), r.best.similarity)
        for q, r in zip(queries, results, strict=True)
        if r.best is not None
    ]


def evaluate(scored: Sequence[ScoredQuery], tau_reuse: float, tau_new: float) -> Calibration:
    """Precision and recall of each decision at the given thresholds."""
    return _summarise(
        scored, [decide(q.similarity, tau_reuse, tau_new) for q in scored], tau_reuse, tau_new
    )


def _summarise(
    scored: Sequence[ScoredQuery], decisions: Sequence[Decision], tau_reuse: float, tau_new: float
) -> Calibration:
    """The figures of one decision per scored query."""
    if not scored:
        raise ValueError("no scored queries to evaluate")
    inside = [q for q in scored if q.label is not None]
    outside = len(scored) - len(inside)
    rules = {
        "reuse": (lambda q: q.top_right, len(inside)),
        "adapt": (lambda q: q.in_top_k, len(inside)),
        "new": (lambda q: q.label is None, outside),
    }
    stats = []
    for name in DECISIONS:
        is_right, served = rules[name]
        taken = [q for q, d in zip(scored, decisions, strict=True) if d == name]
        right = sum(map(is_right, taken))
        stats.append(
            DecisionStats(name, len(taken), right, _ratio(right, len(taken)), _ratio(right, served))
        )
    return Calibration(
        tau_reuse=tau_reuse,
        tau_new=tau_new,
        k=len(scored[0].ranked),
        queries=len(scored),
        in_library=len(inside),
        out_of_library=outside,
        top1_accuracy=_ratio(sum(q.top_right for q in inside), len(inside)),
        top_k_recall=_ratio(sum(q.in_top_k for q in inside), len(inside)),
        stats=tuple(stats),
    )


def calibrate(
    scored: Sequence[ScoredQuery], target_precision: float = 0.9, min_reuse: int = 5
) -> Calibration:
    """Choose the thresholds from labelled queries, by a fixed procedure.

    Candidate thresholds are the midpoints between consecutive distinct best similarities
    (plus one below all and one above all).

    1. ``tau_reuse``: the lowest candidate at which at least ``min_reuse`` queries are decided
       ``reuse`` and at least ``target_precision`` of them have the right top skill (an
       out-of-library query decided reuse counts as wrong). None qualifies: above all (no
       query is reused).
    2. ``tau_new``: the candidate at or below ``tau_reuse`` that maximises F1 of detecting the
       out-of-library queries (``similarity < tau_new``); ties go to the lowest, since a wrong
       ``adapt`` still lets the planner write a new skill but a wrong ``new`` duplicates one.
    """
    if not scored:
        raise ValueError("no scored queries to calibrate on")
    levels = sorted({q.similarity for q in scored})
    candidates = [
        levels[0] - 1e-3,
        *((a + b) / 2 for a, b in itertools.pairwise(levels)),
        levels[-1] + 1e-3,
    ]
    tau_reuse = candidates[-1]
    for threshold in candidates:
        reused = [q for q in scored if q.similarity >= threshold]
        if len(reused) >= min_reuse and sum(q.top_right for q in reused) >= target_precision * len(
            reused
        ):
            tau_reuse = threshold
            break
    outside = sum(q.label is None for q in scored)
    best_f1, tau_new = -1.0, candidates[0]
    for threshold in (t for t in candidates if t <= tau_reuse):
        flagged = [q for q in scored if q.similarity < threshold]
        hits = sum(q.label is None for q in flagged)
        f1 = _ratio(2 * hits, len(flagged) + outside)
        if f1 > best_f1:
            best_f1, tau_new = f1, threshold
    return evaluate(scored, tau_reuse, tau_new)


def cross_validate(
    scored: Sequence[ScoredQuery], folds: int = 5, target_precision: float = 0.9, min_reuse: int = 5
) -> Calibration:
    """Held-out figures of :func:`calibrate`: how its thresholds fare on queries it did not see.

    Query ``i`` falls in fold ``i % folds``; each fold is decided with thresholds calibrated on
    the others, and the decisions are pooled. The thresholds reported are the folds' means.
    In-sample figures of a threshold fitted to ~100 queries are optimistic; these are not.
    """
    if not 2 <= folds <= len(scored):
        raise ValueError(f"folds must be between 2 and the number of queries, got {folds}")
    decisions: list[Decision] = ["new"] * len(scored)
    taus = []
    for fold in range(folds):
        held = [i for i in range(len(scored)) if i % folds == fold]
        fitted = calibrate(
            [q for i, q in enumerate(scored) if i % folds != fold], target_precision, min_reuse
        )
        taus.append((fitted.tau_reuse, fitted.tau_new))
        for i in held:
            decisions[i] = decide(scored[i].similarity, fitted.tau_reuse, fitted.tau_new)
    return _summarise(
        scored,
        decisions,
        float(np.mean([t[0] for t in taus])),
        float(np.mean([t[1] for t in taus])),
    )


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0
