"""The promotion gate's rule: a new adapter replaces the one in use unless a family regressed.

A pure function of two success tables, so the rule is tested on its own, without training.
"""

from __future__ import annotations

from dataclasses import dataclass

TOLERANCE = 1e-9
"""Rates are fractions of a few scenes; a drop of exactly the bound is not past it."""


@dataclass(frozen=True)
class GateVerdict:
    """Whether the candidate is promoted, why, and the families that held it back."""

    promoted: bool
    reason: str
    regressed: dict[str, tuple[float, float]]
    """Each family that fell past the bound: (incumbent's success, candidate's success)."""


def promotion_verdict(
    incumbent: dict[str, float], candidate: dict[str, float], max_regression: float
) -> GateVerdict:
    """Promote ``candidate`` unless a family's held-out success fell by more than the bound.

    ``incumbent`` and ``candidate`` are held-out success per family (0 to 1) of the adapter in
    use and of the new one; a family the candidate was not judged on counts as 0 for it.
    """
    if not 0 <= max_regression <= 1:
        raise ValueError(f"max_regression is a fraction between 0 and 1, not {max_regression}")
    regressed = {
        family: (before, candidate.get(family, 0.0))
        for family, before in sorted(incumbent.items())
        if candidate.get(family, 0.0) < before - max_regression - TOLERANCE
    }
    if not regressed:
        return GateVerdict(True, f"no family regressed by more than {max_regression:.0%}", {})
    falls = ", ".join(f"{f} fell from {a:.0%} to {b:.0%}" for f, (a, b) in regressed.items())
    return GateVerdict(False, f"refused: {falls}", regressed)
