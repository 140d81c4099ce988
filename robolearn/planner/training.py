"""Teaching a causal LM to answer prompts with plans: one loop for the bootstrap and LoRA rounds.

Examples are (prompt, answer) text pairs; the loss is on the answer and its EOS only, so the
model learns to write plans, not to repeat prompts. Only parameters that require gradients
train, so the same loop fits a whole small model or just a LoRA adapter's matrices.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from tqdm import tqdm

Row = tuple[list[int], int]
"""An encoded example: prompt + answer + EOS token ids, and the prompt's length."""


@dataclass(frozen=True)
class Example:
    """One thing to learn: a prompt, the plan that answers it, and where it came from."""

    prompt: str
    answer: str
    """The plan as the model writes it after the prompt (``prompt.plan_text``)."""
    family: str
    source: str = "bootstrap"
    """``bootstrap`` (an oracle demonstration), ``correction`` or ``episode``."""
    source_id: int | None = None
    """The task seed of a demonstration; the correction's or episode's id."""
    augmented: bool = False
    """A copy of its source with the colours renamed."""


@dataclass(frozen=True)
class Schedule:
    """How to train: passes, batch size and the one-cycle learning rate's peak."""

    epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float = 0.01
    warmup: float = 0.1
    """Fraction of the steps over which the learning rate rises to its peak."""
    max_steps: int | None = None
    """The most optimizer steps (None: every batch of every epoch); a schedule past it makes
    fewer passes over its data."""

    def steps(self, rows: int) -> int:
        """Optimizer steps over ``rows`` examples."""
        every = self.epochs * math.ceil(rows / self.batch_size)
        return every if self.max_steps is None else min(every, self.max_steps)


@dataclass(frozen=True)
class TrainingResult:
    """What a training loop did."""

    steps: int
    seconds: float
    final_loss: float
    examples: int


def encode(
    tokenizer: Any,
    examples: Sequence[Example],
    end_token_id: int | None = None,
    add_special_tokens: bool = True,
) -> list[Row]:
    """Token ids of each example's prompt and answer, the answer closed by ``end_token_id``.

    The end token defaults to EOS; a chat model's answer ends at its end-of-turn token, and
    its rendered prompt already holds its special tokens (``add_special_tokens=False``).
    """
    end = tokenizer.eos_token_id if end_token_id is None else end_token_id
    rows = []
    for prompt, answer in ((e.prompt, e.answer) for e in examples):
        prompt_ids = tokenizer(prompt, add_special_tokens=add_special_tokens)["input_ids"]
        answer_ids = tokenizer(answer, add_special_tokens=False)["input_ids"]
        rows.append((prompt_ids + answer_ids + [end], len(prompt_ids)))
    return rows


def padded_batch(rows: Sequence[Row], pad: int) -> tuple[list, list, list]:
    """Right-padded ids, labels (-100 on prompt and padding) and attention masks."""
    width = max(len(ids) for ids, _ in rows)
    input_ids, labels, mask = [], [], []
    for ids, prompt_length in rows:
        padding = width - len(ids)
        input_ids.append(ids + [pad] * padding)
        labels.append([-100] * prompt_length + ids[prompt_length:] + [-100] * padding)
        mask.append([1] * len(ids) + [0] * padding)
    return input_ids, labels, mask


def _shuffled_starts(rows: list[Row], batch_size: int, rng: random.Random) -> Iterator[int]:
    """One pass: ``rows`` shuffled in place, then where each batch of them starts."""
    rng.shuffle(rows)
    yield from range(0, len(rows), batch_size)


def train(
    model: Any,
    rows: list[Row],
    pad: int,
    schedule: Schedule,
    rng: random.Random,
    description: str,
    progress: bool = True,
    penalty: Callable[[], Any] | None = None,
) -> TrainingResult:
    """Train ``model`` on ``rows`` (shuffled by ``rng`` each epoch); leaves it in eval mode.

    ``penalty`` (a scalar tensor of the trainable weights, e.g. L2 toward earlier ones) is
    added to every batch's loss.
    """
    import torch

    if not rows:
        raise ValueError("there is nothing to train on: no examples")
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        trainable, lr=schedule.learning_rate, weight_decay=schedule.weight_decay
    )
    steps = schedule.steps(len(rows))
    # OneCycleLR divides by (warmup steps - 1): a warmup of exactly one step (10 steps at 0.1)
    # raised ZeroDivisionError and failed the round, so such a warmup takes two steps.
    warmup = schedule.warmup if schedule.warmup * steps != 1 else 2 / steps
    lr_schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, schedule.learning_rate, total_steps=steps, pct_start=warmup
    )
    rows = list(rows)
    model.train()
    start, loss_value = time.perf_counter(), float("nan")
    batches = (
        i for _ in range(schedule.epochs) for i in _shuffled_starts(rows, schedule.batch_size, rng)
    )
    with tqdm(total=steps, desc=description, unit="batch", disable=not progress) as bar:
        for i in itertools.islice(batches, steps):
            input_ids, labels, mask = padded_batch(rows[i : i + schedule.batch_size], pad)
            loss = model(
                input_ids=torch.tensor(input_ids),
                attention_mask=torch.tensor(mask),
                labels=torch.tensor(labels),
            ).loss
            (loss if penalty is None else loss + penalty()).backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            lr_schedule.step()
            optimizer.zero_grad()
            loss_value = loss.item()
            bar.set_postfix(loss=f"{loss_value:.3f}")
            bar.update()
    model.eval()
    return TrainingResult(
        steps=steps, seconds=time.perf_counter() - start, final_loss=loss_value, examples=len(rows)
    )
