"""Which of a scene's colours an instruction's words name, whatever words it uses.

People say "the crimson cube" for ``red_block`` and "the teal one" for ``cyan_block``. A colour
word means a colour, so a word is grounded by what it looks like: its colour in matplotlib's
tables of colour names (the 949 names of the xkcd colour survey, where people named colours,
then the 148 CSS names), compared in CIELAB with the colours the scene's objects are drawn in
(``sim.scene.COLOURS``). The word names the nearest scene colour when that one is near
(``MAX_COLOUR_DISTANCE``) and clearly nearer than the next (``AMBIGUITY``). all-MiniLM-L6-v2 was
measured for this first: it put 41% of 32 colour synonyms nearest their colour among the eight
(crimson nearer purple than red, teal barely nearer cyan than blue), so sentence embeddings judge
what is asked, and colour names are judged by colour.

A :class:`Grounding` also gives the instruction *lifted* (every colour word replaced by
"coloured"): what is asked whatever the colours, the text that recall and routing embed. Of
the placeholders tried ("x", "coloured", "it", "thing", none), "coloured" recalled the most
same-task calibration pairs at the same false-recall budget.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from robolearn.sim.scene import COLOURS

PLACEHOLDER = "coloured"
"""What a colour word becomes in a lifted instruction."""
MAX_COLOUR_DISTANCE = 40.0
"""The farthest (CIELAB ΔE, 1976) a colour word may lie from the scene colour it names; crimson
lies 26 from the scene's red, teal 26 from its cyan, violet 29 from its purple; grey (42) and
brown (53) name none of the eight."""
AMBIGUITY = 0.8
"""A colour word names its nearest scene colour only when that one is nearer than this share of
the distance to the next nearest; else the word is left unread rather than guessed."""
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class Mention:
    """A colour word of an instruction and the scene colour it names."""

    start: int
    end: int
    """Where the word lies in the instruction (characters, end exclusive)."""
    word: str
    colour: str


@dataclass(frozen=True)
class Grounding:
    """An instruction with its colour words read against one scene."""

    instruction: str
    mentions: tuple[Mention, ...]

    @property
    def colours(self) -> tuple[str, ...]:
        """The colours named, in the order the words name them (repeats kept)."""
        return tuple(m.colour for m in self.mentions)

    @property
    def lifted(self) -> str:
        """The instruction with every colour word replaced by "coloured": what is asked."""
        return " ".join(self._replaced(lambda _: PLACEHOLDER).split())

    @property
    def canonical(self) -> str:
        """The instruction in the scene's colour names ("crimson" becomes "red")."""
        return " ".join(self._replaced(lambda m: m.colour).split())

    def _replaced(self, by: object) -> str:
        text, last, parts = self.instruction.lower(), 0, []
        for mention in self.mentions:
            parts += [text[last : mention.start], by(mention)]  # type: ignore[operator]
            last = mention.end
        return "".join([*parts, text[last:]])


def ground(instruction: str, scene_colours: Iterable[str]) -> Grounding:
    """Read the colour words of ``instruction`` against the colours a scene's objects have.

    A scene colour's own name always counts (even if no object has it: then it names nothing
    here). Another colour name (one word or two, "sky blue") counts when it lies near one scene
    colour; one that directly follows a colour word is taken for a noun ("the red brick").
    """
    scene = sorted(set(scene_colours))
    text = instruction.lower()
    words = list(_WORD.finditer(text))
    mentions: list[Mention] = []
    i = 0
    while i < len(words):
        found = None
        for span in (2, 1):
            if i + span > len(words):
                continue
            first, last = words[i], words[i + span - 1]
            if span == 2 and (
                first.group() in COLOURS
                or not re.fullmatch(r"[\s-]+", text[first.end() : last.start()])
            ):
                continue  # "red-pink" is two colours; "sky blue" and "light blue" one
            name = " ".join(w.group() for w in words[i : i + span])
            colour = _names_colour(name, scene)
            follows = bool(mentions) and text[mentions[-1].end : first.start()].isspace()
            if colour is not None and (name in COLOURS or not follows):
                found = Mention(first.start(), last.end(), name, colour)
                i += span
                break
        if found is None:
            i += 1
        else:
            mentions.append(found)
    return Grounding(instruction, tuple(mentions))


def _names_colour(name: str, scene: list[str]) -> str | None:
    """The scene colour that the colour name ``name`` names, or None."""
    if name in COLOURS:
        return name
    rgb = colour_names().get(name)
    if rgb is None or not scene:
        return None
    target = _lab(rgb)
    distances = sorted((float(np.linalg.norm(target - _scene_lab(c))), c) for c in scene)
    nearest, colour = distances[0]
    if nearest > MAX_COLOUR_DISTANCE:
        return None
    if len(distances) > 1 and nearest > AMBIGUITY * distances[1][0]:
        return None
    return colour


@functools.cache
def colour_names() -> dict[str, tuple[float, float, float]]:
    """Colour names (lower case, one or two words) and their RGB in [0, 1]: xkcd's, then CSS's."""
    from matplotlib.colors import CSS4_COLORS, XKCD_COLORS, to_rgb

    names: dict[str, tuple[float, float, float]] = {}
    for name, value in [*((k.removeprefix("xkcd:"), v) for k, v in XKCD_COLORS.items())] + [
        *CSS4_COLORS.items()
    ]:
        if re.fullmatch(r"[a-z]+( [a-z]+)?", name) and name not in names:
            names[name] = to_rgb(value)
    return names


@functools.cache
def _scene_lab(colour: str) -> np.ndarray:
    return _lab(COLOURS[colour][:3])


def _lab(rgb: Iterable[float]) -> np.ndarray:
    """CIELAB (D65) of an sRGB colour in [0, 1]."""
    srgb = np.asarray(list(rgb), dtype=float)
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    xyz = _SRGB_TO_XYZ @ linear / _WHITE
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


_SRGB_TO_XYZ = np.array(
    [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
)
_WHITE = np.array([0.95047, 1.0, 1.08883])
