r"""Many ways of saying one task: the families' phrasing patterns and people's general variation.

A family's templates say each task three or four ways; people say it in their own words. The
default model learns to read those from data in ``envs/language/``: ``words.toml`` (the names
of colours and kinds, word classes, polite frames, how often each variation happens) and one
file a family with its ``patterns``. A phrasing is a pattern (or one of the family's own
templates) rendered for a scene, then varied: a request ("could you", before a command only)
or another prefix, a suffix, a filler word, dropped articles, a typo, other capitals, other
end punctuation. Pattern syntax::

    {role}          the role's object as people name it: "crimson cube", "red one", "red"
    {role.colour}   its colour alone           {role.kind}   its kind alone
    <name>          one entry of a word class ([words]; <block> / <blocks>: a kind's names)
    (a|b|c)         one of the alternatives (one may be empty)
    [text]          the text or nothing
    \(              a literal character (any character after a backslash)

In one phrasing a role keeps the colour and kind words it was first given.
"""

from __future__ import annotations

import random
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from robolearn.errors import UserError
from robolearn.paths import data_dir
from robolearn.sim.scene import SceneObject
from robolearn.tasks.spec import TaskFamily

Node = tuple
"""A parsed pattern: ("text", s) | ("slot", role, attribute) | ("word", name) |
("choice", [sequence, ...]) | ("optional", sequence), where a sequence is a list of nodes."""
_SLOT = re.compile(r"\{(\w+)(?:\.(colour|kind))?\}")
_WORD = re.compile(r"<(\w+)>")


class PhrasingError(UserError, ValueError):
    """A phrasing file that cannot be used; says which file, which pattern and why."""


@dataclass(frozen=True)
class Rates:
    """How often each variation is applied to one phrasing (``[rates]`` in words.toml)."""

    synonym_colour: float
    synonym_kind: float
    request: float
    prefix: float
    suffix: float
    filler: float
    drop_articles: float
    typo: float
    upper: float
    capitalised: float
    title: float


@dataclass(frozen=True)
class Language:
    """What ``envs/language/`` says: names, word classes, frames, rates, each family's patterns."""

    colours: dict[str, list[str]]
    kinds: dict[str, list[str]]
    plurals: dict[str, list[str]]
    forms: list[str]
    words: dict[str, list[str]]
    requests: list[str]
    prefixes: list[str]
    suffixes: list[str]
    fillers: list[str]
    endings: list[str]
    verbs: frozenset[str]
    """The commands a request ("could you") may go before."""
    rates: Rates
    patterns: dict[str, list[str]]
    """Family name → its patterns (text)."""
    weights: dict[str, float]
    """Family name → how many phrasings it gets against the others (``weight``, default 1):
    a family whose words must be read in order (a tower) needs more than a push."""

    def phrase(
        self, family: TaskFamily, objects: tuple[SceneObject, ...], rng: random.Random
    ) -> str:
        """One way of asking for ``family``'s task in this scene, drawn at random."""
        pattern = rng.choice(self.patterns.get(family.name, []) + list(family.instructions))
        return self.vary(self.render(pattern, family, objects, rng), rng)

    def render(
        self, pattern: str, family: TaskFamily, objects: tuple[SceneObject, ...], rng: random.Random
    ) -> str:
        """``pattern`` said of this scene's objects (``objects`` in ``family``'s role order)."""
        roles = {role.role: obj for role, obj in zip(family.objects, objects, strict=True)}
        return " ".join(_Renderer(self, roles, rng).sequence(_parse(pattern)).split())

    def count(self, family: str, per_scene: int) -> int:
        """How many phrasings a scene of ``family`` gets when the average is ``per_scene``."""
        return round(per_scene * self.weights.get(family, 1.0))

    def word_class(self, name: str) -> list[str]:
        """The entries of ``<name>``: a word class, or a kind's names (``block``, ``blocks``)."""
        if name in self.words:
            return self.words[name]
        if name in self.kinds:
            return self.kinds[name]
        if name.endswith("s") and name[:-1] in self.plurals:
            return self.plurals[name[:-1]]
        raise KeyError(name)

    def vary(self, text: str, rng: random.Random) -> str:
        """``text`` as people also type it: framed, with a filler or a typo, other capitals."""
        rates = self.rates
        words = text.split()
        command = words[0].lower() in self.verbs
        if rng.random() < rates.drop_articles:
            words = [w for w in words if w.lower() != "the"] or words
        if rng.random() < rates.typo:
            long = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
            if long:
                i = rng.choice(long)
                words[i] = _typo(words[i], rng)
        if rng.random() < rates.filler:
            words.insert(0, rng.choice(self.fillers))
        text = " ".join(words)
        if command and rng.random() < rates.request:
            text = f"{rng.choice(self.requests)} {text}"
        if rng.random() < rates.prefix:
            text = f"{rng.choice(self.prefixes)} {text}"
        if rng.random() < rates.suffix:
            text = f"{text}{rng.choice([' ', ', '])}{rng.choice(self.suffixes)}"
        text += rng.choice(self.endings)
        draw = rng.random()
        if draw < rates.upper:
            return text.upper()
        if draw < rates.upper + rates.title:
            return text.title()
        if draw < rates.upper + rates.title + rates.capitalised:
            return text[:1].upper() + text[1:]
        return text


def _typo(word: str, rng: random.Random) -> str:
    """``word`` with one slip of the fingers: two letters swapped, one dropped or doubled."""
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


class _Renderer:
    """Renders parsed patterns for one scene, keeping each role's words within one phrasing."""

    def __init__(
        self, language: Language, roles: dict[str, SceneObject], rng: random.Random
    ) -> None:
        self.language, self.roles, self.rng = language, roles, rng
        self.names: dict[str, tuple[str, str]] = {}

    def sequence(self, nodes: list[Node]) -> str:
        return "".join(self.node(node) for node in nodes)

    def node(self, node: Node) -> str:
        kind = node[0]
        if kind == "text":
            return node[1]
        if kind == "choice":
            return self.sequence(self.rng.choice(node[1]))
        if kind == "optional":
            return self.sequence(node[1]) if self.rng.random() < 0.5 else ""
        if kind == "word":
            return self.sequence(_parse(self.rng.choice(self.language.word_class(node[1]))))
        colour, kind_name = self._names(node[1])
        if node[2] == "colour":
            return colour
        if node[2] == "kind":
            return kind_name
        form = self.rng.choice(self.language.forms)
        return form.replace("{colour}", colour).replace("{kind}", kind_name)

    def _names(self, role: str) -> tuple[str, str]:
        if role not in self.names:
            obj, rates, rng = self.roles[role], self.language.rates, self.rng
            colours, kinds = self.language.colours[obj.colour], self.language.kinds[obj.kind]
            colour = rng.choice(colours[1:]) if rng.random() < rates.synonym_colour else obj.colour
            kind = rng.choice(kinds[1:]) if rng.random() < rates.synonym_kind else obj.kind
            self.names[role] = (colour, kind)
        return self.names[role]


@cache
def _parse(pattern: str) -> list[Node]:
    """The pattern as a sequence of nodes; ValueError says where it is malformed."""
    nodes, end = _sequence(pattern, 0, "")
    if end != len(pattern):
        raise ValueError(f"unexpected {pattern[end]!r} at character {end}")
    return nodes


def _sequence(pattern: str, i: int, stops: str) -> tuple[list[Node], int]:
    nodes: list[Node] = []
    text = ""
    while i < len(pattern) and pattern[i] not in stops:
        char = pattern[i]
        if char in "([":
            if text:
                nodes.append(("text", text))
                text = ""
            if char == "(":
                options, i = [], i + 1
                while True:
                    option, i = _sequence(pattern, i, "|)")
                    options.append(option)
                    if i >= len(pattern):
                        raise ValueError("a '(' is never closed")
                    i += 1
                    if pattern[i - 1] == ")":
                        break
                nodes.append(("choice", options))
            else:
                inner, i = _sequence(pattern, i + 1, "]")
                if i >= len(pattern):
                    raise ValueError("a '[' is never closed")
                nodes.append(("optional", inner))
                i += 1
            continue
        if char in ")]|":
            raise ValueError(f"unexpected {char!r} at character {i}")
        if char == "\\" and i + 1 < len(pattern):
            text, i = text + pattern[i + 1], i + 2
            continue
        match = _SLOT.match(pattern, i) or _WORD.match(pattern, i)
        if match:
            if text:
                nodes.append(("text", text))
                text = ""
            if match.re is _SLOT:
                nodes.append(("slot", match.group(1), match.group(2)))
            else:
                nodes.append(("word", match.group(1)))
            i = match.end()
            continue
        text, i = text + char, i + 1
    if text:
        nodes.append(("text", text))
    return nodes, i


def load_language(directory: Path | None = None) -> Language:
    """Read ``envs/language/`` (or ``directory``); PhrasingError names any bad file or pattern."""
    directory = directory or data_dir("envs") / "language"
    try:
        words = tomllib.loads((directory / "words.toml").read_text(encoding="utf-8"))
        files = {
            path.stem: tomllib.loads(path.read_text(encoding="utf-8"))
            for path in sorted(directory.glob("*.toml"))
            if path.name != "words.toml"
        }
        patterns = {family: list(data["patterns"]) for family, data in files.items()}
        weights = {family: float(data.get("weight", 1.0)) for family, data in files.items()}
        frame = words["frame"]
        language = Language(
            colours=words["colours"],
            kinds=words["kinds"],
            plurals=words["plurals"],
            forms=words["forms"]["object"],
            words=words["words"],
            requests=frame["requests"],
            prefixes=frame["prefixes"],
            suffixes=frame["suffixes"],
            fillers=frame["fillers"],
            endings=frame["endings"],
            verbs=frozenset(frame["verbs"]),
            rates=Rates(**words["rates"]),
            patterns=patterns,
            weights=weights,
        )
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as error:
        raise PhrasingError(f"cannot read the phrasing data in {directory}: {error}") from None
    for family, texts in patterns.items():
        for text in texts:
            _check(language, text, f"{directory / family}.toml")
    return language


def _check(language: Language, pattern: str, where: str) -> None:
    """Raise PhrasingError unless ``pattern`` parses and every word class in it exists."""
    try:
        nodes = _parse(pattern)
    except ValueError as error:
        raise PhrasingError(f"{where}: pattern {pattern!r}: {error}") from None
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if node[0] == "word":
            try:
                for entry in language.word_class(node[1]):
                    stack.extend(_parse(entry))
            except KeyError:
                raise PhrasingError(
                    f"{where}: pattern {pattern!r} names <{node[1]}>, which no word class is"
                ) from None
        elif node[0] == "choice":
            stack.extend(n for option in node[1] for n in option)
        elif node[0] == "optional":
            stack.extend(node[1])
