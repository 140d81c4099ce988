"""Greedy constrained decoding that asks the model as little as it can, and says how sure it was.

Plain greedy decoding runs the model once per token over the whole answer. This loop gives
the same tokens for less:

- **Forced tokens are not asked for.** Where the grammar allows exactly one token (the ``_``
  in ``red_block``, the ``)`` that closes a call) the model's answer is known: the token is
  appended unasked and fed to the model together with the next step's input, in one forward
  pass. On a CPU a pass over a few tokens costs little more than over one (the weights are
  read once either way); SmolLM2's plans are ~40% forced tokens.
- **Only the last position's logits are computed** (``logits_to_keep=1``): a 600-token chat
  prompt otherwise spends a 49k-wide output layer on every position.
- **The prompt's key/value cache is kept** (:class:`CausalSteps`): the next prompt reuses the
  part it shares with the last one (a chat's system turn and skill list), so only the rest is
  run. Reuse starts at :data:`MIN_REUSE` shared tokens; below that a whole prefill costs
  about as much.

Each choice the model does make (two or more tokens allowed) records the probability of the
token taken, among the allowed ones, and its margin over the runner-up: the plan's doubt
(:attr:`Decoded.doubt`) is one minus the lowest such probability, so a plan with one near
coin-flip is doubted even when the rest was certain.

A model plugs in through :class:`Steps` (``start`` a prompt, ``feed`` tokens, each returning
the next token's logits); :class:`CausalSteps` serves any Hugging Face causal LM.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch

MIN_REUSE = 64
"""Shared prompt tokens from which the last prompt's key/value cache is reused."""


@dataclass(frozen=True)
class Decoded:
    """What one constrained greedy decoding produced."""

    ids: tuple[int, ...]
    """The generated token ids, the end token included when the answer ended."""
    probabilities: tuple[float, ...]
    """At every real choice (two or more tokens allowed): the taken token's probability
    among the allowed ones."""
    margins: tuple[float, ...]
    """At every real choice: that probability minus the runner-up's."""
    forward_passes: int
    """Model calls, the prompt's included."""

    @property
    def doubt(self) -> float:
        """One minus the lowest probability of a token taken; 0.0 when nothing was chosen."""
        return 1.0 - min(self.probabilities, default=1.0)


class Steps(Protocol):
    """A model's forward steps with whatever state it keeps between them."""

    def start(self, prompt: Sequence[int]) -> torch.Tensor:
        """Read the prompt; the logits (1-D, over the vocabulary) of the token after it."""
        ...

    def feed(self, ids: Sequence[int]) -> torch.Tensor:
        """Read more tokens after the ones read; the logits of the token after the last."""
        ...


class CausalSteps:
    """A causal LM's steps with its key/value cache, reusing the last prompt's shared prefix.

    One decoding at a time. The cache is of the model's weights as they are: make a new one
    when they change (another adapter).
    """

    def __init__(self, model: Any, min_reuse: int = MIN_REUSE) -> None:
        self.model = model
        self.min_reuse = min_reuse
        self._cache: Any = None
        self._prompt: tuple[int, ...] = ()
        """The last prompt read, and its keys and values per layer (None: not reusable)."""
        self._prompt_kv: list[tuple[torch.Tensor, torch.Tensor]] | None = None

    def start(self, prompt: Sequence[int]) -> torch.Tensor:
        """Read ``prompt``, reusing the keys and values of the part it shares with the last."""
        from transformers import DynamicCache

        prompt = tuple(prompt)
        reused = self._shared(prompt)
        cache = None
        if reused:
            assert self._prompt_kv is not None
            cache = DynamicCache(
                [(k[..., :reused, :], v[..., :reused, :]) for k, v in self._prompt_kv]
            )
        self._cache = cache
        logits = self.feed(prompt[reused:])
        self._prompt, self._prompt_kv = prompt, _layers(self._cache)
        return logits

    def feed(self, ids: Sequence[int]) -> torch.Tensor:
        """Run the model over ``ids`` after everything read; the next token's logits."""
        with torch.inference_mode():
            out = self.model(
                input_ids=torch.tensor([list(ids)]),
                cache=self._cache,
                use_cache=True,
                logits_to_keep=1,
            )
        self._cache = out.cache
        return out.logits[0, -1]

    def _shared(self, prompt: tuple[int, ...]) -> int:
        """How many leading tokens of ``prompt`` to take from the cache (0: none)."""
        if self._prompt_kv is None:
            return 0
        shared = 0
        for a, b in zip(self._prompt, prompt[:-1], strict=False):  # one token is always run
            if a != b:
                break
            shared += 1
        return shared if shared >= self.min_reuse else 0


def _layers(cache: Any) -> list[tuple[torch.Tensor, torch.Tensor]] | None:
    """A cache's keys and values per layer, if it is one whose tensors later steps leave alone.

    A ``DynamicLayer`` grows by concatenation into new tensors, so the prompt's stay as they
    were; other layer kinds (sliding windows, static buffers) write in place, or drop tokens.
    """
    from transformers.cache_utils import DynamicLayer

    layers = getattr(cache, "layers", None)
    if not layers or any(type(layer) is not DynamicLayer for layer in layers):
        return None
    return [(layer.keys, layer.values) for layer in layers]


def constrained_greedy(
    steps: Steps,
    prompt: Sequence[int],
    allowed: Callable[[Sequence[int]], torch.Tensor],
    budget: int,
    end: int,
    forced: Callable[[Sequence[int]], list[int]] | None = None,
) -> Decoded:
    """Greedy decoding of at most ``budget`` tokens after ``prompt``, each one ``allowed``.

    ``allowed(generated)`` gives the ids allowed after the tokens generated so far (a
    ``ConstrainedPlanProcessor.allowed``). The tokens are the ones plain greedy decoding under
    the same mask takes (the highest logit allowed, the lowest id among equals); decoding stops
    after ``end``.

    ``forced(generated)`` (a ``ConstrainedPlanProcessor.forced``), if given, also writes the
    text the grammar forces (``ed_block)`` after ``pick(r``) without asking, in the tokens the
    tokenizer writes it with, where the model would choose among ways to spell it (``block``
    or ``b`` + ``lock``): the same plan text as plain greedy decoding takes, unless the model
    would have spelled that text in other tokens and then gone on differently. A run stops
    before a piece that an allowed token runs past (``)`` where ``);`` is one token and a call
    may follow), so where the forced text ends the model spells it as it learned to.
    """
    generated: list[int] = []
    pending: list[int] = []
    probabilities: list[float] = []
    margins: list[float] = []
    logits = steps.start(prompt)
    passes = 1
    while len(generated) < budget:
        options = allowed(generated)
        run = forced(generated)[: budget - len(generated)] if forced and len(options) > 1 else []
        if run:
            generated += run
            pending += run
            continue
        if len(options) == 1:
            token = int(options[0])
        else:
            if pending:
                logits, pending, passes = steps.feed(pending), [], passes + 1
            token = _choose(logits, options, probabilities, margins)
        generated.append(token)
        if token == end:
            break
        pending.append(token)  # read by the model with the next choice's input
    return Decoded(tuple(generated), tuple(probabilities), tuple(margins), passes)


def plain_greedy(
    model: Any,
    prompt: Sequence[int],
    allowed: Callable[[Sequence[int]], torch.Tensor],
    budget: int,
    end: int,
) -> Decoded:
    """The reference that :func:`constrained_greedy` is measured against.

    The model runs on every token and gives the whole vocabulary's logits each time; the
    grammar masks them and the highest is taken. It is the loop the planner had before: the
    benchmark's baseline and the tests' yardstick.
    """
    generated: list[int] = []
    probabilities: list[float] = []
    margins: list[float] = []
    cache, step = None, list(prompt)
    while len(generated) < budget:
        with torch.inference_mode():
            out = model(input_ids=torch.tensor([step]), cache=cache, use_cache=True)
        cache, logits = out.cache, out.logits[0, -1]
        options = allowed(generated)
        if len(options) > 1:
            token = _choose(logits, options, probabilities, margins)
        else:
            token = int(options[0])
        generated.append(token)
        if token == end:
            break
        step = [token]
    return Decoded(tuple(generated), tuple(probabilities), tuple(margins), len(generated))


def _choose(
    logits: torch.Tensor, options: torch.Tensor, probabilities: list[float], margins: list[float]
) -> int:
    """The allowed token with the highest logit (lowest id among equals); records its odds."""
    masked = torch.full_like(logits, float("-inf"))
    masked[options] = logits[options]
    token = int(masked.argmax())
    odds = torch.softmax(logits[options].double(), dim=0)
    top = torch.topk(odds, 2).values.tolist()
    probabilities.append(float(odds.max()))
    margins.append(top[0] - top[1])
    return token


@dataclass(frozen=True)
class Request:
    """One answer to decode in a batch: its prompt, the grammar's mask, its budget."""

    prompt: Sequence[int]
    allowed: Callable[[Sequence[int]], torch.Tensor]
    budget: int
    forced: Callable[[Sequence[int]], list[int]] | None = None
    """As :func:`constrained_greedy`'s."""


def batched_greedy(model: Any, requests: Sequence[Request], end: int, pad: int) -> list[Decoded]:
    """:func:`constrained_greedy` for many prompts at once, in one batch of a causal LM.

    On a CPU a forward pass over one token of each of a few rows costs about what one row
    does (the weights are read once), so a batch decodes many plans for the price of a few.
    Prompts are padded on the left and masked; each row's positions count its own tokens. A
    row leaves the batch when its answer ends. Every token is run, forced ones too, one a pass
    (rows would otherwise need different numbers of tokens in one pass); the tokens are the ones
    :func:`constrained_greedy` takes.
    """
    if not requests:
        return []
    every = [_Row(r) for r in requests]
    rows = list(every)
    width = max(len(r.prompt) for r in requests)
    mask = torch.tensor([[0] * (width - len(r.prompt)) + [1] * len(r.prompt) for r in requests])
    step = torch.tensor([[pad] * (width - len(r.prompt)) + list(r.prompt) for r in requests])
    positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
    cache = None
    while rows:
        with torch.inference_mode():
            out = model(
                input_ids=step,
                attention_mask=mask,
                position_ids=positions,
                cache=cache,
                use_cache=True,
                logits_to_keep=1,
            )
        cache = out.cache
        tokens = [row.next_token(out.logits[i, -1]) for i, row in enumerate(rows)]
        keep = [i for i, row in enumerate(rows) if row.goes_on(end)]
        if not keep:
            break
        if len(keep) < len(rows):
            index = torch.tensor(keep)
            cache.batch_select_indices(index)
            mask, positions = mask[index], positions[index]
            rows, tokens = [rows[i] for i in keep], [tokens[i] for i in keep]
        step = torch.tensor(tokens).unsqueeze(1)
        positions = positions[:, -1:] + 1
        mask = torch.cat([mask, torch.ones(len(rows), 1, dtype=mask.dtype)], dim=1)
    return [row.decoded() for row in every]


class _Row:
    """One answer being decoded in a batch."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.generated: list[int] = []
        self.probabilities: list[float] = []
        self.margins: list[float] = []
        self.queued: list[int] = []
        """Forced text's tokens still to write."""
        self.passes = 1

    def next_token(self, logits: torch.Tensor) -> int:
        """Take the next token, as :func:`constrained_greedy` would, given the model's logits."""
        request, so_far = self.request, self.generated
        options = request.allowed(so_far) if not self.queued else None
        if options is not None and len(options) > 1 and request.forced:
            self.queued = request.forced(so_far)[: request.budget - len(so_far)]
        if self.queued:
            token = self.queued.pop(0)
        elif options is not None and len(options) == 1:
            token = int(options[0])
        else:
            token = _choose(logits, options, self.probabilities, self.margins)
        so_far.append(token)
        return token

    def goes_on(self, end: int) -> bool:
        """Whether the answer has more to write (the model then reads its last token)."""
        if self.generated[-1] == end or len(self.generated) >= self.request.budget:
            return False
        self.passes += 1
        return True

    def decoded(self) -> Decoded:
        """The answer as :func:`constrained_greedy` gives it."""
        return Decoded(
            tuple(self.generated), tuple(self.probabilities), tuple(self.margins), self.passes
        )
