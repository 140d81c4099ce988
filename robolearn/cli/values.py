"""The one validator every command-line value goes through, and the error it raises.

argparse converts numbers with these (``flags.py`` picks one by the field's annotation): whole
numbers must fit 64 bits and numbers must be finite. Text and paths are checked once parsed,
under the flag's name: any language (right-to-left marks too), but no control characters or
terminal escapes. A bad value is one line and exit 2; the configs' own ``__post_init__`` then
check each value's sane range.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from robolearn.errors import UserError
from robolearn.text import QUOTE_CHARS, quote, text_problem

MAX_WHOLE = 2**63 - 1
"""The largest whole number a flag takes: what SQLite, numpy and seeds hold."""


class UsageError(UserError, ValueError):
    """A command line that cannot run; the message says what to change."""


def whole_number(text: str) -> int:
    """An integer flag's value; ValueError (argparse: "invalid int value") if it is none."""
    if not text.isascii():  # int() would take other scripts' digits: '²' is not a count
        raise ValueError(text)
    value = int(text)
    if abs(value) > MAX_WHOLE:
        raise argparse.ArgumentTypeError(
            f"{quote(text, QUOTE_CHARS)} is too large: whole numbers go up to {MAX_WHOLE:,}"
        )
    return value


whole_number.__name__ = "int"


def finite_number(text: str) -> float:
    """A number flag's value; nan and inf are refused (they would never compare or end)."""
    value = float(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


finite_number.__name__ = "float"


def check_text(value: object, label: str) -> None:
    """Refuse a text or path value with control characters or past the size limit.

    ``label`` names it ("the instruction", "--why"). Any language is fine; whether an empty
    value will do is for the command to say.
    """
    text = str(value)
    problem = text_problem(text, label) if text.strip() else None
    if problem is not None:
        raise UsageError(problem)


def path(text: str) -> Path:
    """A path flag's value, ``~`` expanded (``check_text`` checks it once parsed)."""
    return Path(text).expanduser()
