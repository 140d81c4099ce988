"""Free text from a person: an instruction, a search query, a correction's who and why.

Such text reaches tokenizers, prompts, the store, error messages and the terminal, so each
reader checks it the same way before it goes further: not empty, not past a size limit, and
not binary (NUL and other control characters, or the lone surrogates that undecodable
command-line bytes become, which a tokenizer rejects with a TypeError). Any script and
language is fine, right-to-left marks included.

Text that is shown on a terminal goes through :func:`for_terminal`, which escapes whatever
could move the cursor, recolour or reorder the screen (bidi overrides, the "Trojan Source"
characters, among them), so data never drives the terminal.
"""

from __future__ import annotations

import unicodedata

MAX_TEXT_CHARS = 10_000
"""Longest free text accepted. An instruction or a note is a sentence or a paragraph; models
read the first few hundred tokens at most, and a megabyte took a second to tokenize."""
QUOTE_CHARS = 60
"""How much of a bad text an error message quotes."""
_WHITESPACE = frozenset("\t\n\r")
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
"""Marks that reorder the text after them on screen (the "Trojan Source" characters)."""


def _binary(char: str) -> bool:
    return char not in _WHITESPACE and unicodedata.category(char) in ("Cc", "Cs")


def text_problem(text: str, what: str, max_chars: int = MAX_TEXT_CHARS) -> str | None:
    """What is wrong with ``text`` as ``what`` ("the instruction"), or None if it can be used."""
    if not text.strip():
        return f"{what} is empty"
    if len(text) > max_chars:
        return f"{what} is {len(text):,} characters long; the limit is {max_chars:,}"
    for index, char in enumerate(text):
        if _binary(char):
            return (
                f"{what} holds the binary character {char!r} at position {index}; give plain text"
            )
    return None


def quote(text: str, limit: int = QUOTE_CHARS) -> str:
    """``repr(text)``, cut to about ``limit`` characters, for an error message."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"


def for_terminal(text: str, *, one_line: bool = False) -> str:
    r"""``text`` with control characters, terminal escapes and bidi marks escaped (``\x1b``).

    Tabs and line breaks stay unless ``one_line``, where they are escaped too, so an error
    stays one line whatever a name or an instruction in it holds.
    """
    kept = frozenset() if one_line else _WHITESPACE
    if all(char.isprintable() or char in kept for char in text):
        return text  # the common case, at no cost
    return "".join(_escaped(char) if _unsafe(char, kept) else char for char in text)


def _unsafe(char: str, kept: frozenset[str]) -> bool:
    if char in kept:
        return False
    return char in BIDI_CONTROLS or unicodedata.category(char) in ("Cc", "Cs")


def _escaped(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
