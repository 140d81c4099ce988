"""JSON and TOML from files, read as untrusted input: size and nesting bounded before parsing.

Python's parsers recurse once per level of nesting, so ``[[[[...]]]]`` a hundred thousand deep
ends in RecursionError, and a megabyte-long integer costs seconds (or a ValueError) to convert.
Everything robolearn reads back from a file (skill files, bundle manifests, version files,
model and adapter configs, safetensors headers, task files) goes through here first: the text
is measured, its nesting counted by a scan that never recurses, and only then parsed. A problem
is an :class:`UntrustedTextError` whose message says which limit was passed; each reader wraps
it in its own typed error, naming its file.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

MAX_BYTES = 1_000_000
"""Largest document read unless the reader says otherwise (a skill file is a few hundred
bytes, a model's config a few kilobytes)."""
MAX_DEPTH = 32
"""Deepest nesting of arrays and objects (robolearn's own files nest at most 4 deep)."""

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_TOML_SKIPPED = re.compile(
    r'"""(?:[^\\]|\\.)*?"""|\'\'\'.*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*', re.DOTALL
)
"""TOML's strings (multi-line first) and comments: brackets inside them do not nest."""
_BRACKETS = re.compile(r"[\[\]{}]")


class UntrustedTextError(ValueError):
    """Text that is not the data it should be: not decodable, invalid, or past a limit."""


def nesting_depth(text: str, strings: re.Pattern[str] = _JSON_STRING) -> int:
    """How deep arrays and objects nest in ``text``, counted without recursion.

    Brackets inside strings (``strings`` finds them) do not count; an unterminated string
    leaves its brackets counted, which can only overstate the depth of text that is invalid.
    """
    depth = deepest = 0
    for bracket in _BRACKETS.findall(strings.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _measured(text: str | bytes, max_bytes: int, max_depth: int, strings: re.Pattern[str]) -> str:
    size = len(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
    if size > max_bytes:
        raise UntrustedTextError(f"it is {size:,} bytes long; the limit is {max_bytes:,}")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise UntrustedTextError(f"it is not UTF-8 text ({error.reason})") from None
    if (depth := nesting_depth(text, strings)) > max_depth:
        raise UntrustedTextError(f"it nests {depth} levels deep; the limit is {max_depth}")
    return text


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def load_json(text: str | bytes, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value of ``text``, or UntrustedTextError saying why there is none.

    Strict JSON: ``NaN`` and ``Infinity`` are refused like any other invalid text.
    """
    text = _measured(text, max_bytes, max_depth, _JSON_STRING)
    try:
        return json.loads(text, parse_constant=_no_constant)
    except ValueError as error:  # invalid text, NaN, or digits past int's limit
        raise UntrustedTextError(f"it is not valid JSON ({_reason(error)})") from None


def read_json(path: Path, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """:func:`load_json` of a file, reading at most one byte past ``max_bytes``.

    OSError (missing, unreadable) passes through for the caller to name.
    """
    with Path(path).open("rb") as file:
        return load_json(file.read(max_bytes + 1), max_bytes=max_bytes, max_depth=max_depth)


def load_toml(text: str, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> dict:
    """The TOML document ``text`` as a dict, or UntrustedTextError saying why there is none."""
    text = _measured(text, max_bytes, max_depth, _TOML_SKIPPED)
    try:
        return tomllib.loads(text)
    except ValueError as error:  # TOMLDecodeError, or digits past int's limit
        raise UntrustedTextError(f"it is not valid TOML ({_reason(error)})") from None


def _reason(error: ValueError) -> str:
    """The parser's complaint, without Python's advice to raise the integer digit limit."""
    message = str(error)
    return "a number in it has too many digits" if "int_max_str_digits" in message else message
