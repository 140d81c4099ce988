"""What an instruction's words say stands on what: "cyan on top of purple", "pink at the bottom".

The order in which an instruction names colours says much about which object plays which role
(``binding``), but not everything: "cyan on top of purple on top of blue" names a tower top
first, "make a tower of blue, purple, cyan" bottom first, and sentence embeddings barely tell
the two apart. The words around the colours do, in a few ways people say it:

- a connector between two colours: "cyan on (top of) purple", "red resting on blue", "pink
  under green", "blue carries red", "orange-over-red";
- a sequence stacked onto a support: "purple then blue on orange", "on blue put purple then
  green", "cyan gets red then green", "the pink block with red and then cyan on it";
- a colour's place in its tower: "pink at the bottom", "blue (top)", "orange and pink as the
  bases", "the bases are red and blue", "cyan highest";
- the direction a list is read in: "top to bottom: yellow, cyan, pink", "orange-red-cyan, bottom
  first"; without one, a list whose first colour is put at a bottom reads bottom first.

A binding whose goal, or whose scene, turns any of these upside down contradicts the words.
Written from development sentences (``paraphrases_dev_new_families.json``); three batches of
12 two_towers sentences, each bound once before any change it led to, were bound right 6, 4
and 4 times before these readings and 8, 8 and 8 with them (the rest: words not yet read, such
as "red and cyan are the foundations, green and purple the middle blocks, in that order").
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from robolearn.calls import Call
from robolearn.learn.grounding import Grounding, Mention

_NOUN = r"[\s-]*+(?:(?:block|cube|one|brick)s?\b\s*+)?"
_THE = r"(?:\s+(?:the|a))?[\s-]*+"
# Possessive (*+): a gap of many spaces would otherwise be tried every way it can be split.
_VERB = (
    r"(?:,?\s*(?:which|that)\s+)?(?:(?:is|are|sits?|sitting|rests?|resting|stands?|standing"
    r"|goes|go|going|stacked|placed|piled|lies|lying|belongs?)\s+)?"
)
_ABOVE = re.compile(
    _NOUN
    + _VERB
    + r"(?:on (?:the )?top of|at the top of|on|onto|upon|atop|above|over|tops|topping|caps"
    + r"|capping)"
    + _THE
)
_BELOW = re.compile(
    _NOUN + _VERB + r"(?:under|underneath|below|beneath|supports|supporting|carries|carrying"
    r"|holds|holding)" + _THE
)
"""The whole of what stands between two colours that sets one on the other ("block on top of
the", "which rests on", "under", "carries")."""
_THEN = re.compile(
    _NOUN + r"(?:,?\s*(?:and\s+)?then|,?\s*followed by|\s*and(?:\s+after that)?)" + _THE
)
"""Between two colours of a sequence stacked in that order ("red and then blue", "red and
blue" onto a support)."""
_SUPPORT_FIRST = re.compile(
    _NOUN + r"(?::|,?\s*(?:gets|takes|(?:put|stack|place|set|add)(?:\s+on)?))" + _THE
)
"""Between a support and the first colour stacked on it ("blue: red", "blue gets red", "blue
block put the red"); the support must be introduced by "on" or followed by "gets" or "takes"."""
_ON_BEFORE = re.compile(r"\b(?:on|onto|on top of)\s+(?:the\s+)?$")
_WITH_BEFORE = re.compile(r"\bwith\s+(?:the\s+)?$")
_ON_IT_AFTER = re.compile(_NOUN + r"(?:(?:on|onto|on top of|atop)\s+(?:it|top)|capping|topping)\b")
_LIST = re.compile(r"(?:\s|[,/<>+→-]|\band\b|\bthen\b|\bthe\b|\b(?:block|cube|one)s?\b)+")
"""What joins the colours of a list ("orange, red and cyan", "yellow-cyan-green")."""
_JOINED = re.compile(_NOUN + r"\s*(?:and|&)" + _THE)
"""What joins colours that share a place ("orange and pink as the bases")."""
_BOTTOM = r"bottoms?|bases?|foot|foundations?|lowest"
_TOP = r"tops?|highest|topmost|uppermost"
_PLACE_AFTER = re.compile(
    _NOUN + r"[,(:-]?\s*+(?:(?:is|are|as|at|on|in|sits|stands|goes|the|its|very)\s+)*"
    rf"(?:(?P<where>{_BOTTOM}|{_TOP})\b|(?P<under>underneath|beneath|below)(?=\s*(?:[.;,)]|$)))"
)
"""A colour's place said after it ("pink at the bottom", "blue (top)", "green underneath.")."""
_PLACE_BEFORE = re.compile(
    rf"\b(?P<where>{_BOTTOM}|{_TOP})(?:\s+(?:block|one)s?)?\s*(?:are|is|:|=)\s*(?:the\s+)?$"
    rf"|(?:^|[,;:.(]|\band)\s*(?P<bare>bottom|top)\s+$"
)
"""A place said before the colours it is of ("the bases are red and blue", "lowest: red",
"bottom blue, middle red, top orange")."""
_TOP_FIRST = re.compile(
    r"\btop\s*(?:to|-to-|down to)\s*(?:the\s+)?bottom\b|\bfrom\s+(?:the\s+)?top\b"
    r"|\btop[\s-]down\b|\b(?:top|highest)(?:\s+(?:block|one))?\s+first\b|\bdownwards?\b"
)
_BOTTOM_FIRST = re.compile(
    r"\bbottom\s*(?:to|-to-|up to)\s*(?:the\s+)?top\b|\bfrom\s+(?:the\s+)?(?:bottom|base)\b"
    r"|\b(?:bottoms?|ground)[\s-]up\b|\b(?:bottoms?|lowest)(?:\s+(?:block|one)s?)?\s+first\b"
    r"|\bgoing up\b"
    r"|\bupwards?\b|\bstarting\s+(?:from|at|with)\s+(?:the\s+)?(?:bottom|base)\b"
    r"|\bfrom\s+the\s+(?:table|ground|floor)\s+up\b"
)


@dataclass(frozen=True)
class Said:
    """What the words set on what: pairs of colours, and colours at a tower's foot or top."""

    above: tuple[tuple[str, str], ...] = ()
    """(higher colour, lower colour): the higher stands in the lower's stack, above it."""
    ordered: tuple[tuple[str, str], ...] = ()
    """(higher colour, lower colour) read off a list: the higher is above if in one stack."""
    bottoms: frozenset[str] = frozenset()
    """Colours that stand on no other."""
    tops: frozenset[str] = frozenset()
    """Colours that no other stands on."""

    def __bool__(self) -> bool:
        return bool(self.above or self.ordered or self.bottoms or self.tops)


def read(grounding: Grounding) -> Said:
    """What ``grounding``'s words set on what (nothing, when they say none of it)."""
    words = grounding.instruction.lower()
    text = _masked(words)
    mentions = grounding.mentions
    gaps = [text[a.end : b.start] for a, b in itertools.pairwise(mentions)]
    after = [*gaps, text[mentions[-1].end :]] if mentions else []
    before = [text[: mentions[0].start], *gaps] if mentions else []
    places = _places(mentions, before, after)
    above = _connected(mentions, gaps) + _stacked(mentions, gaps, before, after)
    return Said(
        tuple(dict.fromkeys(above)),
        tuple(_listed(mentions, gaps, words, places)),
        frozenset(c for c, where in places.items() if where == "bottom"),
        frozenset(c for c, where in places.items() if where == "top"),
    )


def contradictions(said: Said, stands_on: Iterable[tuple[str, str]]) -> int:
    """How much of ``said`` the colours' ``stands_on`` (upper, lower) turns upside down.

    ``stands_on`` is what stands directly on what (in a binding's goal and its scene). A pair
    the words set one on the other is contradicted when both colours stand in some stack but
    the higher not above the lower; a pair read off a list, when its lower colour ends up above
    its higher one; a bottom, when it ends up on another colour; a top, when another ends up on
    it. Colours that ``stands_on`` leaves alone contradict nothing.
    """
    above = _closure(stands_on)
    stacked = {colour for pair in above for colour in pair}
    pairs = sum(
        high in stacked and low in stacked and (high, low) not in above for high, low in said.above
    )
    pairs += sum((low, high) in above and (high, low) not in above for high, low in said.ordered)
    bottoms = sum(any(upper == c for upper, _ in above) for c in said.bottoms)
    tops = sum(any(lower == c for _, lower in above) for c in said.tops)
    return pairs + bottoms + tops


def goal_stands_on(goal: Iterable[Call], colour_of: dict[str, str]) -> list[tuple[str, str]]:
    """The (upper, lower) colours of a goal's ``on`` predicates over named objects."""
    return [
        (colour_of[str(c.args[0])], colour_of[str(c.args[1])])
        for c in goal
        if c.name == "on" and str(c.args[0]) in colour_of and str(c.args[1]) in colour_of
    ]


def _joins(gap: str) -> bool:
    """Whether ``gap`` sets the colours either side of it one on the other."""
    return bool(_ABOVE.fullmatch(gap) or _BELOW.fullmatch(gap))


def _masked(text: str) -> str:
    """``text`` with its list directions blanked, so that "bottom to top" places no colour."""
    for cue in (_TOP_FIRST, _BOTTOM_FIRST):
        text = cue.sub(lambda m: " " * len(m.group()), text)
    return text


def _connected(mentions: Sequence[Mention], gaps: Sequence[str]) -> list[tuple[str, str]]:
    """Pairs set by a connector between two colours ("cyan on top of purple")."""
    pairs = []
    for i, gap in enumerate(gaps):
        if _ABOVE.fullmatch(gap):
            pairs.append((mentions[i].colour, mentions[i + 1].colour))
        elif _BELOW.fullmatch(gap):
            pairs.append((mentions[i + 1].colour, mentions[i].colour))
    return pairs


def _stacked(
    mentions: Sequence[Mention], gaps: Sequence[str], before: Sequence[str], after: Sequence[str]
) -> list[tuple[str, str]]:
    """Pairs set by a sequence stacked in order onto a support.

    "purple then blue on orange" (the support last), "on blue put purple then green" and "cyan
    gets red then green" (the support first), "the pink block with red and then cyan on it".
    """
    pairs = []
    for start in range(len(mentions)):
        if start and _joins(gaps[start - 1]):
            continue  # a colour something was just set on begins no sequence
        end = start
        while end < len(gaps) and _THEN.fullmatch(gaps[end]):
            end += 1
        sequence = [m.colour for m in mentions[start : end + 1]]
        support = None
        if end > start and end < len(gaps) and _ABOVE.fullmatch(gaps[end]):
            support = mentions[end + 1].colour
        elif start and _WITH_BEFORE.search(gaps[start - 1]) and _ON_IT_AFTER.match(after[end]):
            support = mentions[start - 1].colour
        elif start and _SUPPORT_FIRST.fullmatch(gaps[start - 1]) and not _joins(after[end]):
            gets = re.search(r"\b(?:gets|takes)\b", gaps[start - 1])
            if gets or _ON_BEFORE.search(before[start - 1]):
                support = mentions[start - 1].colour
        if support is not None:
            pairs += list(zip(sequence, [support, *sequence], strict=False))
    return pairs


def _places(
    mentions: Sequence[Mention], before: Sequence[str], after: Sequence[str]
) -> dict[str, str]:
    """Colour → ``bottom`` or ``top``, for the colours put at a tower's foot or top.

    A place said of one colour of an "and" group is said of all ("red and blue as the bases").
    """
    places: dict[str, str] = {}
    read_after: set[int] = set()
    """Mentions whose place was read in the gap after them (the next one's before it)."""

    def group(i: int, step: int) -> Iterable[int]:
        yield i
        while 0 <= i + step < len(mentions) and _JOINED.fullmatch(after[min(i, i + step)]):
            i += step
            yield i

    for i in range(len(mentions)):
        between = i + 1 < len(mentions)
        # "on top of" joins two colours, placing neither
        said_after = None if between and _joins(after[i]) else _PLACE_AFTER.match(after[i])
        if said_after and between:
            if _places_next(after[i], said_after):
                said_after = None
            else:
                read_after.add(i)
        said_before = None if i - 1 in read_after else _PLACE_BEFORE.search(before[i])
        for said, members in ((said_after, group(i, -1)), (said_before, group(i, +1))):
            if said is not None:
                place = said["where"] or said.groupdict().get("bare")  # "underneath": none
                top = place is not None and re.fullmatch(_TOP, place)
                where = "top" if top else "bottom"
                places |= {mentions[j].colour: where for j in members}
    return places


def _places_next(gap: str, said: re.Match[str]) -> bool:
    """Whether the place read after a colour is the next one's ("red, top orange").

    It is when said after a comma with no "at", "on", "in" or "as" ("red, the top is blue"), or
    right before the next colour.
    """
    lead = gap[: said.start(said.lastgroup or 0)]
    forward = re.search(r"[,;]", lead) and not re.search(r"\b(?:at|on|in|as)\b", lead)
    return bool(forward) or not gap[said.end() :].strip()


def _listed(
    mentions: Sequence[Mention], gaps: Sequence[str], words: str, places: dict[str, str]
) -> list[tuple[str, str]]:
    """Pairs set by reading lists of colours in the direction the words give.

    One direction for every list when the words name one ("bottom to top"), else each list's own
    when its first colour is put at a bottom or a top. A list ends where a connector begins.
    """
    top_first, bottom_first = bool(_TOP_FIRST.search(words)), bool(_BOTTOM_FIRST.search(words))
    pairs: list[tuple[str, str]] = []
    for run in _runs(mentions, gaps):
        first, last = places.get(run[0]), places.get(run[-1])
        if top_first != bottom_first:
            upward = bottom_first
        elif first is not None and last != first:  # "red and blue as the bases" lists no tower
            upward = first == "bottom"
        else:
            continue
        pairs += [(b, a) if upward else (a, b) for a, b in itertools.pairwise(run)]
    return pairs


def _runs(mentions: Sequence[Mention], gaps: Sequence[str]) -> Iterable[list[str]]:
    """The lists of two colours or more that the words name, each in the order named.

    A colour that a connector set something on begins no list.
    """
    start = 0
    for end in range(len(mentions)):
        if end < len(gaps) and _LIST.fullmatch(gaps[end]):
            continue
        if start and _joins(gaps[start - 1]):
            start += 1
        if end > start:
            yield [m.colour for m in mentions[start : end + 1]]
        start = end + 1


def _closure(pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Every (upper, lower) that follows from standing directly on (a tower is transitive)."""
    above = set(pairs)
    while True:
        more = {(a, d) for a, b in above for c, d in above if b == c} - above
        if not more:
            return above
        above |= more
