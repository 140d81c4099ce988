"""Free text from a person: an instruction, a search query, a correction's who and why.

Such text reaches tokenizers, prompts, the store and error messages, so each reader checks it
the same way before it goes further: not empty, not past a size limit, and not binary (NUL and
other control characters, or the lone surrogates that undecodable command-line bytes become,
which a tokenizer rejects with a TypeError). Any script and language is fine.
"""

from __future__ import annotations

import unicodedata

MAX_TEXT_CHARS = 10_000
"""Longest free text accepted. An instruction or a note is a sentence or a paragraph; models
read the first few hundred tokens at most, and a megabyte took a second to tokenize."""
QUOTE_CHARS = 60
"""How much of a bad text an error message quotes."""
_WHITESPACE = frozenset("\t\n\r")


def text_problem(text: str, what: str, max_chars: int = MAX_TEXT_CHARS) -> str | None:
    """What is wrong with ``text`` as ``what`` ("the instruction"), or None if it can be used."""
    if not text.strip():
        return f"{what} is empty"
    if len(text) > max_chars:
        return f"{what} is {len(text):,} characters long; the limit is {max_chars:,}"
    for index, char in enumerate(text):
        if char not in _WHITESPACE and unicodedata.category(char) in ("Cc", "Cs"):
            return (
                f"{what} holds the binary character {char!r} at position {index}; give plain text"
            )
    return None


def quote(text: str, limit: int = QUOTE_CHARS) -> str:
    """``repr(text)``, cut to about ``limit`` characters, for an error message."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"
