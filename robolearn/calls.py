"""The call language: ``name(arg, arg, ...)``, one call per line or separated by ``;``.

Plans, oracle plans, composite skills and success predicates are all written in it, so one
parser serves them all. It is data: a call is parsed and validated, never evaluated.

Grammar::

    plan  := call ((";" | newline) call)*
    call  := NAME "(" [arg ("," arg)*] ")"
    arg   := NAME | NUMBER
    NAME  := [A-Za-z_][A-Za-z0-9_]*
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from robolearn.errors import UserError
from robolearn.text import quote

Arg = str | float

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_CALL = re.compile(rf"\s*({_NAME})\s*\((.*?)\)\s*$", re.DOTALL)
_NAME_RE = re.compile(rf"{_NAME}$")
_NUMBER_RE = re.compile(rf"{_NUMBER}$")


class CallSyntaxError(UserError, ValueError):
    """Text that is not a well-formed call; the message quotes the offending text (cut short)."""


@dataclass(frozen=True)
class Call:
    """One call of a skill (or predicate) by name with positional arguments."""

    name: str
    args: tuple[Arg, ...] = ()

    def __str__(self) -> str:
        return f"{self.name}({', '.join(_format_arg(a) for a in self.args)})"

    def bind(self, bindings: Mapping[str, Arg]) -> Call:
        """Replace arguments that are keys of ``bindings`` (roles, parameters) with values."""
        return Call(
            self.name, tuple(bindings.get(a, a) if isinstance(a, str) else a for a in self.args)
        )


def _format_arg(arg: Arg) -> str:
    """A name as it is; a number short (``0.5``, ``0``) where that is exact, else every digit.

    ``:g`` alone keeps six significant digits, so 0.1234567 came back as 0.123457.
    """
    if isinstance(arg, str):
        return arg
    short = f"{arg:g}"
    return short if float(short) == arg else repr(float(arg))


def _parse_arg(text: str, call_text: str) -> Arg:
    text = text.strip()
    if _NAME_RE.match(text):
        return text
    if _NUMBER_RE.match(text):
        value = float(text)
        if math.isfinite(value):
            return value
    raise CallSyntaxError(
        f"bad argument {quote(text)} in {quote(call_text)}: an argument is a name (red_block) "
        "or a finite number (0.45)"
    )


def parse_call(text: str) -> Call:
    """Parse one call such as ``place(red_block, blue_bowl)``."""
    match = _CALL.match(text)
    if match is None:
        raise CallSyntaxError(
            f"not a call: {quote(text)}; expected name(arg, ...), e.g. pick(red_block)"
        )
    name, inner = match.groups()
    if "(" in inner or ")" in inner:
        raise CallSyntaxError(f"nested or unbalanced parentheses in {quote(text)}")
    args = () if not inner.strip() else tuple(_parse_arg(a, text) for a in inner.split(","))
    return Call(name, args)


def parse_calls(text: str) -> list[Call]:
    """Parse a plan: calls separated by newlines or semicolons; blank parts are skipped."""
    parts = [part for part in re.split(r"[;\n]", text) if part.strip()]
    return [parse_call(part) for part in parts]


def format_calls(calls: list[Call]) -> str:
    """The inverse of :func:`parse_calls`, one call per line."""
    return "\n".join(str(call) for call in calls)


def first_difference(a: Sequence[str], b: Sequence[str]) -> int:
    """The index of the first step where plans ``a`` and ``b`` differ.

    When one plan starts with the other, it is the shorter one's length (where the longer
    one goes on); for equal plans, their length.
    """
    for index, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return index
    return min(len(a), len(b))
