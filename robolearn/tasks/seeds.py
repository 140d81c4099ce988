"""Which task seeds teach and which judge: even seeds train, odd seeds are held out.

A task seed fixes a scene (objects, colours, places) and its instruction, so splitting seeds
by parity splits scenes, as ravens does: the default model is bootstrapped on even seeds, the
learning benchmark corrects even seeds, and every evaluation (the bootstrap's exact match, the
promotion gate, ``bench planners``, ``bench learning``) plans odd ones that nothing trained on.
"""

from __future__ import annotations

FIRST_HELDOUT = 1
"""The first held-out seed."""


def training_seeds(count: int, start: int = 0) -> list[int]:
    """``count`` training seeds: even, from ``start`` (even) on."""
    if start % 2:
        raise ValueError(f"training seeds are even; {start} is odd")
    return list(range(start, start + 2 * count, 2))


def heldout_seeds(count: int, start: int = FIRST_HELDOUT) -> list[int]:
    """``count`` held-out seeds: odd, from ``start`` (odd) on."""
    if count < 0:
        raise ValueError(f"a count of scenes is 0 or more, not {count}")
    if start % 2 == 0:
        raise ValueError(f"held-out seeds are odd; {start} is even")
    return list(range(start, start + 2 * count, 2))


def is_heldout(seed: int) -> bool:
    """Whether scene ``seed`` is one that nothing trains on."""
    return seed % 2 == 1
