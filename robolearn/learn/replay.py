"""Replay: a sample of older examples mixed into every round, so the planner keeps what it knew.

Two ways to choose the sample from the pool of everything learned before (the default model's
own demonstrations, then each earlier round's new examples, in that order):

- ``reservoir``: a uniform sample of the whole stream (Algorithm R); families with more data
  get more of the sample, so a family learned from 20 corrections is rarely replayed beside
  thousands of demonstrations.
- ``balanced``: the same number from every family, uniform within each.

The continual-learning benchmark measures which forgets less.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

from robolearn.planner.training import Example

REPLAY_STRATEGIES = ("balanced", "reservoir")


def replay_sample(
    pool: Sequence[Example], size: int, strategy: str, rng: random.Random
) -> list[Example]:
    """``size`` examples of ``pool`` (all of it if it is smaller), chosen by ``strategy``."""
    if strategy not in REPLAY_STRATEGIES:
        raise ValueError(
            f"unknown replay strategy {strategy!r}; known: {', '.join(REPLAY_STRATEGIES)}"
        )
    if size <= 0:
        return []
    if size >= len(pool):
        return list(pool)
    if strategy == "reservoir":
        return _reservoir(pool, size, rng)
    return _balanced(pool, size, rng)


def _reservoir(stream: Sequence[Example], size: int, rng: random.Random) -> list[Example]:
    """Algorithm R: after item i, every item so far is in the reservoir with chance size/i."""
    reservoir = list(stream[:size])
    for i in range(size, len(stream)):
        j = rng.randrange(i + 1)
        if j < size:
            reservoir[j] = stream[i]
    return reservoir


def _balanced(pool: Sequence[Example], size: int, rng: random.Random) -> list[Example]:
    """An equal share for every family; a family with too few gives all it has to the rest."""
    by_family: dict[str, list[Example]] = defaultdict(list)
    for example in pool:
        by_family[example.family].append(example)
    for examples in by_family.values():
        rng.shuffle(examples)
    chosen: list[Example] = []
    queues = [by_family[name] for name in sorted(by_family)]
    while len(chosen) < size:  # round robin: one from each family in turn
        for queue in queues:
            if queue and len(chosen) < size:
                chosen.append(queue.pop())
    return chosen
