"""What an instruction's words say stands on what: "cyan on top of purple", "pink under green".

The order in which an instruction names colours says much about which object plays which role
(``binding``), but not everything: "cyan on top of purple on top of blue" names a tower top
first, "make a tower of blue, purple, cyan" bottom first, and sentence embeddings barely tell
the two apart. The words between two colours do: a colour followed by "on", "onto", "on top
of" (or "under", "below") and then the next colour says which of the two stands higher. A
binding whose goal, or whose scene, puts them the other way round contradicts the words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from robolearn.calls import Call
from robolearn.learn.grounding import Grounding

_NOUN = r"\s*(?:(?:block|cube|one|brick)\s+)?"
_ABOVE = re.compile(_NOUN + r"(?:on top of|on|onto|atop|above|over)(?:\s+(?:the|a))?\s*")
_BELOW = re.compile(_NOUN + r"(?:under|underneath|below|beneath)(?:\s+(?:the|a))?\s*")
"""The whole of what stands between two colours that sets one on the other ("block on top of
the", "under")."""


def above_pairs(grounding: Grounding) -> list[tuple[str, str]]:
    """(higher colour, lower colour) for each pair of colours the words set one on the other."""
    text = grounding.instruction.lower()
    pairs = []
    for first, second in zip(grounding.mentions, grounding.mentions[1:], strict=False):
        between = text[first.end : second.start]
        if _ABOVE.fullmatch(between):
            pairs.append((first.colour, second.colour))
        elif _BELOW.fullmatch(between):
            pairs.append((second.colour, first.colour))
    return pairs


def contradictions(pairs: Sequence[tuple[str, str]], stands_on: Iterable[tuple[str, str]]) -> int:
    """How many of ``pairs`` the colours' ``stands_on`` (upper, lower) sets the other way round.

    ``stands_on`` is what stands directly on what (in a binding's goal and its scene); a pair
    the words set is contradicted when its lower colour ends up above its higher one.
    """
    above = _closure(stands_on)
    return sum((low, high) in above and (high, low) not in above for high, low in pairs)


def goal_stands_on(goal: Iterable[Call], colour_of: dict[str, str]) -> list[tuple[str, str]]:
    """The (upper, lower) colours of a goal's ``on`` predicates over named objects."""
    return [
        (colour_of[str(c.args[0])], colour_of[str(c.args[1])])
        for c in goal
        if c.name == "on" and str(c.args[0]) in colour_of and str(c.args[1]) in colour_of
    ]


def _closure(pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Every (upper, lower) that follows from standing directly on (a tower is transitive)."""
    above = set(pairs)
    while True:
        more = {(a, d) for a, b in above for c, d in above if b == c} - above
        if not more:
            return above
        above |= more
