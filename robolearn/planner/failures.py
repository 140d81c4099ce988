"""What kind of mistake a wrong plan is, so a benchmark can say what still fails, not how often.

A plan is compared with the right one call by call, both as atomic calls (composites expanded).
The kinds, from the first that fits:

- ``no plan``: the planner wrote nothing usable (a parse failure or a planning error);
- ``invalid plan``: it parsed but the library or the scene refused it;
- ``too short`` / ``too long``: fewer or more calls than the right plan;
- ``wrong skill``: the same number of calls, another skill in some (``place for push``);
- ``wrong order``: the right skills on the right objects, in other places (a tower built
  upside down, a row in reverse);
- ``wrong object``: the right skills, another object in some argument (``wrong block``);
- ``right plan, failed in sim``: the plan was right and the skills did not bring it off.

A plan that differs from the right one and still succeeds (sorting in another order) is no
failure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from robolearn.calls import Call, parse_call
from robolearn.skills.params import SIDES


def failure_kind(
    right: Sequence[str], planned: Sequence[str] | None, error: str | None = None
) -> str:
    """The kind of mistake ``planned`` makes against ``right`` (atomic calls, as text).

    ``planned`` is None when no plan could be written or validated; ``error`` then says
    which (a validation error names the plan ``invalid``).
    """
    if planned is None:
        return "invalid plan" if error and "invalid" in error else "no plan"
    want, got = [parse_call(c) for c in right], [parse_call(c) for c in planned]
    if list(map(str, want)) == list(map(str, got)):
        return "right plan, failed in sim"
    if len(got) < len(want):
        return "too short"
    if len(got) > len(want):
        return "too long"
    swaps = Counter((w.name, g.name) for w, g in zip(want, got, strict=True) if w.name != g.name)
    if swaps:
        (expected, used), _ = swaps.most_common(1)[0]
        return f"wrong skill: {used} for {expected}"
    if _objects(want) == _objects(got):
        return "wrong order"
    return f"wrong object: {_wrong_kind(want, got)}"


def _objects(plan: Sequence[Call]) -> set[str]:
    """The objects (and sides) a plan names anywhere."""
    return {str(a) for call in plan for a in call.args}


def _wrong_kind(want: Sequence[Call], got: Sequence[Call]) -> str:
    """What the first wrong argument is: ``block``, ``zone``... (from ``red_block``), ``side``."""
    for w, g in zip(want, got, strict=True):
        for a, b in zip(w.args, g.args, strict=True):
            if a != b:
                return "side" if a in SIDES else str(a).rsplit("_", 1)[-1]
    return "argument"


def most_common(kinds: Iterable[tuple[str, str]], n: int = 10) -> list[tuple[str, int]]:
    """The ``n`` most common ``family: kind`` of failure, with their counts."""
    counts = Counter(f"{family}: {kind}" for family, kind in kinds)
    return counts.most_common(n)
