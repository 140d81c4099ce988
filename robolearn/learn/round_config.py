"""A training round's settings and its outcome (``robolearn train``; ``rounds.run_round``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from robolearn.errors import ConfigError
from robolearn.learn.dataset import DataConfig
from robolearn.learn.evaluation import GATE_FIRST_SEED
from robolearn.learn.lora import LoraSettings

MAX_EVAL_SCENES = 10_000
"""The most held-out scenes per family a gate evaluates on."""
METHODS = ("experts", "adapter")
"""How a round learns: new experts and the router over them, or one adapter continued."""


@dataclass(frozen=True)
class RoundConfig:
    """Settings of one training round (``robolearn train``)."""

    method: str = "experts"
    """``experts``: a new expert a cluster of lessons, earlier experts frozen, and the router;
    ``adapter``: one adapter continuing the one in use, with replay (and ``lora.l2``)."""
    data: DataConfig = field(default_factory=DataConfig)
    lora: LoraSettings = field(default_factory=LoraSettings)
    expert_replay: float = 0.0
    """Experts: demonstrations of the base model's families (balanced) trained into each expert,
    this many per example of its own; 0: an expert learns its lessons alone."""
    max_regression: float = 0.05
    """The most a family's held-out success may drop (0.05 = 5 points) for the new adapter to
    be promoted."""
    eval_scenes: int = 20
    """Held-out scenes per family that the gate evaluates on."""
    eval_seed_start: int = GATE_FIRST_SEED
    """The first held-out scene's task seed (every other seed from there)."""
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(
                "method", f"{{}} must be one of {', '.join(METHODS)}, not {self.method!r}"
            )
        if not 0 <= self.max_regression <= 1:
            raise ConfigError(
                "max_regression", f"{{}} is a fraction between 0 and 1, got {self.max_regression}"
            )
        if not 1 <= self.eval_scenes <= MAX_EVAL_SCENES:
            raise ConfigError(
                "eval_scenes",
                f"{{}} must be between 1 and {MAX_EVAL_SCENES}, got {self.eval_scenes}",
            )
        if not 0 <= self.expert_replay <= 100:
            raise ConfigError(
                "expert_replay", f"{{}} must be between 0 and 100, got {self.expert_replay}"
            )


@dataclass
class RoundOutcome:
    """How a round ended, with the numbers behind the verdict."""

    round_id: int
    promoted: bool
    reason: str
    adapter: Path
    """The round's folder: its adapter, or its experts and router."""
    incumbent: dict[str, float]
    """Held-out success per family of what was in use before the round."""
    candidate: dict[str, float]
    """The same for what the round made."""
    dataset: dict[str, object]
    seconds: float
    timing: dict[str, float] = field(default_factory=dict)
    """Seconds of each step (data, training, gate) and scenes the gate planned."""
    experts: list[str] = field(default_factory=list)
    """The experts the round trained (none for one adapter)."""

    def table(self) -> str:
        """Success per family before and after, as a person reads it."""
        lines = [f"{'family':<18} {'in use':>7} {'new':>7}"]
        for family in sorted(self.candidate):
            before, after = self.incumbent[family], self.candidate[family]
            lines.append(
                f"{family:<18} {before:>7.0%} {after:>7.0%}"
                + (f"  {after - before:+.0%}" if after != before else "")
            )
        return "\n".join(lines)
