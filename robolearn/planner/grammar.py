"""Constrained decoding: a language model may only write plans that parse and fit the scene.

Three parts, each usable alone:

- :func:`call_vocabulary` lists every call that is valid in a scene (``pick(red_block)``, ...).
- :class:`PlanGrammar` is the language of plans over those calls, ``call; call; ...``, with a
  cheap test of "can this text still become a plan?" and "is it one?".
- :class:`ConstrainedPlanProcessor` is a ``transformers`` logits processor: at every generation
  step it lets through only the tokens that keep the text a valid plan prefix, and the EOS token
  only once the plan is complete. So every plan the model writes parses and validates.

Usage::

    grammar = PlanGrammar(call_vocabulary(library, task.objects))
    processor = ConstrainedPlanProcessor(grammar, tokenizer, inputs.input_ids.shape[1],
                                         tokenizer.eos_token_id, lead=" ")
    out = model.generate(**inputs, logits_processor=LogitsProcessorList([processor]),
                         max_new_tokens=1 + grammar.longest_plan + 1)

``lead`` is what the answer starts with before the plan (the space in ``plan: pick(a)``).
``max_new_tokens=len(lead) + grammar.longest_plan + 1`` guarantees that the plan ends with EOS:
every token the processor allows adds at least one character.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import LogitsProcessor

from robolearn.calls import Call
from robolearn.planner.prompt import SEPARATOR, plannable_skills
from robolearn.sim.scene import SceneObject
from robolearn.skills.executor import MAX_PLAN_STEPS
from robolearn.skills.library import SkillLibrary
from robolearn.skills.params import OBJECT_TYPES, SIDES, Param


def call_vocabulary(
    library: SkillLibrary, objects: Iterable[SceneObject] | Mapping[str, SceneObject]
) -> list[str]:
    """Every call that is valid in a scene of ``objects``, sorted, formatted as ``str(Call)``.

    For every skill (atomic and composite) whose parameters all name objects (``OBJECT_TYPES``)
    or a ``side``: each object parameter takes every scene object of a kind it accepts, a side
    takes each of ``SIDES``; a call that names the same object twice is left out, as the
    library would refuse it. Skills with numeric parameters (``move_to(x, y, z)``) are left out:
    the planner reaches them through composite skills.

    The list grows with the product of each skill's choices: ``sort_into_bowls`` (three blocks,
    three containers) gives 14,400 calls for a scene of six blocks and six containers.
    """
    scene = list(objects.values()) if isinstance(objects, Mapping) else list(objects)
    calls: set[str] = set()
    for name in plannable_skills(library):
        params = library.get(name).params
        calls.update(str(Call(name, args)) for args in _arguments(params, scene, frozenset()))
    return sorted(calls)


def _arguments(
    params: Sequence[Param], scene: Sequence[SceneObject], used: frozenset[str]
) -> Iterator[tuple[str, ...]]:
    """Every argument tuple for ``params`` that names no object twice (nor one in ``used``)."""
    if not params:
        yield ()
        return
    first, rest = params[0], params[1:]
    if first.type == "side":
        for side in SIDES:
            for tail in _arguments(rest, scene, used):
                yield (side, *tail)
        return
    kinds = OBJECT_TYPES[first.type]
    for obj in scene:
        if obj.kind in kinds and obj.name not in used:
            for tail in _arguments(rest, scene, used | {obj.name}):
                yield (obj.name, *tail)


class PlanGrammar:
    """The plans ``call; call; ...`` of one to ``max_calls`` calls, each one of ``calls``.

    Calls are separated by exactly ``"; "``; there is no other whitespace before, between or
    after them. Checks take time linear in the text, through a precomputed set of every prefix
    of every call.
    """

    def __init__(self, calls: Iterable[str], max_calls: int = MAX_PLAN_STEPS) -> None:
        self.calls = frozenset(calls)
        """The calls a plan may use, as text (``call_vocabulary`` gives them for a scene)."""
        self.max_calls = max_calls
        """The most calls in one plan."""
        if not self.calls or "" in self.calls:
            raise ValueError("a plan grammar needs at least one call, and no empty one")
        if max_calls < 1:
            raise ValueError(f"max_calls must be at least 1, got {max_calls}")
        clashing = sorted(c for c in self.calls if ";" in c or "\n" in c)
        if clashing:
            raise ValueError(f"a call may not contain ';' or a newline: {clashing[:3]}")
        self._prefixes = _prefixes(self.calls)
        self._sorted = sorted(self.calls)

    @property
    def longest_plan(self) -> int:
        """Characters in the longest plan; a bound on the tokens a constrained plan takes."""
        return self.max_calls * max(map(len, self.calls)) + (self.max_calls - 1) * len(SEPARATOR)

    def is_prefix(self, text: str) -> bool:
        """Whether ``text`` can still be extended to a complete plan (``""`` can)."""
        return self.read(text) is not None

    def is_complete(self, text: str) -> bool:
        """Whether ``text`` is a whole plan: complete calls, with nothing dangling."""
        state = self.read(text)
        return state is not None and self.completes(*state)

    def read(self, text: str, rest: str = "", done: int = 0) -> tuple[str, int] | None:
        """The state after reading ``text`` from state ``(rest, done)``; None if it is no prefix.

        A state is the text after the last ``;`` (the call being written, with the separator's
        space in front of it) and how many calls came before it. ``("", 0)`` is the start.
        """
        chunks = (rest + text).split(";")
        for chunk in chunks[:-1]:
            if _call_text(chunk, done) not in self.calls or done + 1 >= self.max_calls:
                return None
            done += 1
        last = chunks[-1]
        body = _call_text(last, done) if last else ""
        return (last, done) if body in self._prefixes else None

    def completes(self, rest: str, done: int) -> bool:
        """Whether the plan may end in state ``(rest, done)``: its last call is complete."""
        return _call_text(rest, done) in self.calls

    def forced(self, rest: str, done: int) -> str:
        """The text every plan that goes on from state ``(rest, done)`` writes next ("" if none).

        After ``pick(r`` in a scene whose only red object is ``red_block``, that is
        ``ed_block)``; where the plan may end or go on, nothing is forced.
        """
        space = " " if done > 0 and not rest else ""
        body = _call_text(rest, done) or ""
        if body in self.calls:
            return ""
        # Calls are ASCII, so every call that starts with `body` sorts before body + DEL.
        first = bisect.bisect_left(self._sorted, body)
        last = bisect.bisect_left(self._sorted, body + "\x7f") - 1
        if last < first:
            return ""
        shared = _shared(self._sorted[first], self._sorted[last])
        return space + self._sorted[first][len(body) : shared]


def _call_text(chunk: str, done: int) -> str | None:
    """The call in ``chunk``: after the separator's space unless it is the plan's first."""
    if done == 0:
        return chunk
    return chunk[1:] if chunk.startswith(" ") else None


def _prefixes(calls: Iterable[str]) -> frozenset[str]:
    """Every prefix of every call, ``""`` included; each one made once (a trie's nodes)."""
    prefixes = {""}
    previous = ""
    for call in sorted(calls):
        prefixes.update(call[:i] for i in range(_shared(previous, call) + 1, len(call) + 1))
        previous = call
    return frozenset(prefixes)


def _shared(a: str, b: str) -> int:
    """How many leading characters ``a`` and ``b`` share."""
    shared = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        shared += 1
    return shared


class ConstrainedPlanProcessor(LogitsProcessor):
    """Masks every token that would take the generated text out of ``grammar``.

    At each step the generated part of each row (its ids after ``prompt_length``) is turned back
    into text; a token is allowed when ``text + token_text`` is still a plan prefix, EOS only
    when the text is a complete plan. A row with no allowed token (the text already left the
    grammar, say because ``prompt_length`` was wrong) gets EOS, so generation ends and the parser
    reports the text. Tokens may cross call boundaries (``"); pick("``): the check runs on the
    concatenated text, not on per-token grammar states.

    ``vocabulary`` is :func:`decode_vocabulary` of the tokenizer; a caller that builds many
    processors for one tokenizer passes it to skip decoding (0.6 s for a 49k vocabulary).

    ``lead`` is text the answer must start with before the plan. A model trained on
    ``plan: pick(a)`` writes ``" pick(a)"``: its first token carries the space (``Ġpick``), so
    the grammar, which allows no leading space, would refuse it; pass ``lead=" "``.

    Each token's text is decoded once, alone. The tokenizer must decode a sequence as the
    concatenation of its tokens' texts (byte-level BPE does; sentencepiece's Metaspace does not,
    and is refused). A byte-level token that is not valid UTF-8 alone (part of a multi-byte
    character) is never allowed: that is exact, not an approximation, because every call is
    ASCII, so no valid plan contains such a byte. Special tokens and tokens that decode to
    nothing are never allowed either (they would not advance the text).

    Allowed tokens are cached per grammar state: the text after the last ``;`` and the count of
    calls before it (clamped where it cannot matter), so a state seen once costs a dict look-up.
    """

    def __init__(
        self,
        grammar: PlanGrammar,
        tokenizer: Any,
        prompt_length: int,
        eos_token_id: int,
        lead: str = "",
        vocabulary: Sequence[str] | None = None,
    ) -> None:
        self.grammar = grammar
        self._tokenizer = tokenizer
        self.prompt_length = prompt_length
        self.eos_token_id = eos_token_id
        self.lead = lead
        """Text the answer starts with before the plan: ``" "`` for ``plan: pick(...)``."""
        if not all(c.isascii() for c in [*grammar.calls, lead]):
            raise ValueError(
                "constrained decoding needs ASCII calls and lead, as the call language is"
            )
        alphabet = {ch for call in grammar.calls for ch in call} | {";"} | set(lead)
        special = set(tokenizer.all_special_ids) | {eos_token_id}
        if not isinstance(vocabulary, Vocabulary):
            vocabulary = Vocabulary(
                decode_vocabulary(tokenizer) if vocabulary is None else vocabulary
            )
        usable = vocabulary.usable(frozenset(alphabet), frozenset(special))
        self._texts = usable.texts
        _require_concatenation(tokenizer, self._texts, lead, min(grammar.calls))
        self._by_first = usable.by_first
        # A token with k separators needs k more calls to be allowed; from max_calls - 1 - k
        # calls down the count makes no difference, so states there share one cache entry.
        self._floor = max(grammar.max_calls - 1 - usable.most_separators, 1)
        self._eos = torch.tensor([eos_token_id])
        self._cache: dict[tuple[str, int], torch.Tensor] = {}
        """Allowed ids by state: ``(rest, done)`` in the plan, ``(text, -1)`` in the lead."""

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        """Scores with every token the grammar forbids set to ``-inf``."""
        masked = torch.full_like(scores, float("-inf"))
        for row, ids in enumerate(input_ids[:, self.prompt_length :].tolist()):
            allowed = self.allowed(ids)
            masked[row, allowed] = scores[row, allowed]
        # Another processor may have pushed every allowed token to -inf: end the plan there.
        stuck = torch.isneginf(masked.max(dim=-1).values)
        masked[stuck, self.eos_token_id] = 0.0
        return masked

    def allowed(self, generated: Sequence[int]) -> torch.Tensor:
        """The ids allowed after ``generated`` (token ids after the prompt); EOS if none is."""
        pieces = []
        for i in generated:
            text = self._texts[i] if 0 <= i < len(self._texts) else None
            if text is None:  # EOS (the row has finished) or a token the grammar never allows
                return self._eos
            pieces.append(text)
        key = self._state("".join(pieces))
        if key is None:
            return self._eos
        if key not in self._cache:
            self._cache[key] = self._compute(*key)
        return self._cache[key]

    def forced(self, generated: Sequence[int]) -> list[int]:
        """Tokens for the text the grammar forces after ``generated`` ([] if none is).

        The text is written in the tokenizer's own tokens, as it would tokenize it alone, and
        stops before a trailing space: a word's leading space belongs to the word's token
        (`` orange``), which the model then chooses. [] where those tokens would not read as
        the text, or the answer has left the grammar.
        """
        pieces = []
        for i in generated:
            piece = self._texts[i] if 0 <= i < len(self._texts) else None
            if piece is None:
                return []
            pieces.append(piece)
        text = "".join(pieces)
        if len(text) < len(self.lead) or not text.startswith(self.lead):
            return []
        state = self.grammar.read(text[len(self.lead) :])
        forced = self.grammar.forced(*state).rstrip(" ") if state is not None else ""
        if not forced:
            return []
        ids = self._tokenizer.encode(forced, add_special_tokens=False)
        if "".join(self._texts[i] or "\0" for i in ids) != forced:
            return []
        while ids and self._runs_past(list(generated) + ids[:-1], self._texts[ids[-1]] or ""):
            ids.pop()
        return ids

    def _runs_past(self, generated: list[int], last: str) -> bool:
        """Whether a token allowed after ``generated`` runs past the forced text's ``last`` piece.

        Where the forced text ends the model chooses, and a token may span that end (``);``
        where ``)`` is forced and a call follows): a model that learned the plan in such tokens
        reads the forced ``)`` as a plan that ends. The run then stops before that piece and
        the model chooses how to write it.
        """
        texts = self._texts
        return any(len(texts[i] or "") > len(last) for i in self.allowed(generated).tolist())

    def _state(self, text: str) -> tuple[str, int] | None:
        """The cache key of ``text``'s state; None if the text has left the grammar."""
        if len(text) < len(self.lead):
            return (text, -1) if self.lead.startswith(text) else None
        if not text.startswith(self.lead):
            return None
        state = self.grammar.read(text[len(self.lead) :])
        if state is None:
            return None
        rest, done = state
        return rest, done if done == 0 else max(done, self._floor)

    def _compute(self, rest: str, done: int) -> torch.Tensor:
        """The ids allowed in state ``(rest, done)``, EOS among them if the plan may end."""
        if done >= 0:
            read = self.grammar.read

            def fits(piece: str) -> bool:
                return read(piece, rest, done) is not None
        else:  # still in the lead; rest is the part of it written so far

            def fits(piece: str) -> bool:
                text = rest + piece
                if len(text) <= len(self.lead):
                    return self.lead.startswith(text)
                return (
                    text.startswith(self.lead)
                    and self.grammar.read(text[len(self.lead) :]) is not None
                )

        ids = [
            i
            for first, tokens in self._by_first.items()
            if fits(first)
            for i, text in tokens
            if fits(text)
        ]
        if (done >= 0 and self.grammar.completes(rest, done)) or not ids:
            ids.append(self.eos_token_id)
        return torch.tensor(ids, dtype=torch.long)


def decode_vocabulary(tokenizer: Any) -> Vocabulary:
    """The text of every token id of ``tokenizer``, each decoded alone."""
    return Vocabulary(
        tokenizer.batch_decode(
            [[i] for i in range(len(tokenizer))],
            skip_special_tokens=False,
            clean_up_tokenization_spaces=False,
        )
    )


@dataclass(frozen=True)
class Usable:
    """The tokens a processor may ever allow, for one alphabet of calls."""

    texts: list[str | None]
    """Each id's text, None for a token that can never be allowed."""
    by_first: dict[str, list[tuple[int, str]]]
    """The usable (id, text) pairs by their first character."""
    most_separators: int
    """The most ``;`` in one usable token."""


class Vocabulary(list[str]):
    """Every token's text (:func:`decode_vocabulary`), and the usable ones per alphabet, kept.

    Sifting a 49k vocabulary for the tokens made of a scene's characters took ~0.1 s a plan;
    scenes mostly share their characters, so each alphabet is sifted once.
    """

    def __init__(self, texts: Iterable[str]) -> None:
        super().__init__(texts)
        self._usable: dict[tuple[frozenset[str], frozenset[int]], Usable] = {}

    def usable(self, alphabet: frozenset[str], special: frozenset[int]) -> Usable:
        """The tokens of characters in ``alphabet`` alone, not special, not empty."""
        key = (alphabet, special)
        if key not in self._usable:
            texts = [
                text if i not in special and text and set(text) <= alphabet else None
                for i, text in enumerate(self)
            ]
            by_first: dict[str, list[tuple[int, str]]] = {}
            for i, text in enumerate(texts):
                if text is not None:
                    by_first.setdefault(text[0], []).append((i, text))
            most = max((t.count(";") for t in texts if t is not None), default=0)
            if len(self._usable) >= 64:  # a bound, should scenes' characters vary widely
                self._usable.clear()
            self._usable[key] = Usable(texts, by_first, most)
        return self._usable[key]


def _require_concatenation(
    tokenizer: Any, texts: Sequence[str | None], lead: str, call: str
) -> None:
    """Refuse a tokenizer that decodes a sequence other than as its tokens' texts joined."""
    sample = lead + SEPARATOR.join([call, call])
    ids = tokenizer.encode(sample, add_special_tokens=False)
    joined = "".join(texts[i] or "\0" for i in ids)
    if joined != sample:
        raise ValueError(
            f"tokenizer {type(tokenizer).__name__} does not decode {sample!r} as the "
            f"concatenation of its tokens ({joined!r}); constrained decoding needs a "
            "byte-level BPE tokenizer"
        )
