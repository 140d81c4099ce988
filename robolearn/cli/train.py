"""``robolearn train``: a LoRA round on the corrections now, or one every N new corrections."""

from __future__ import annotations

from dataclasses import dataclass

from robolearn.cli.command import Command, InWorkspace, WithModel, note, say
from robolearn.errors import ConfigError
from robolearn.learn.dataset import DataConfig
from robolearn.learn.lora import LoraSettings
from robolearn.learn.rounds import RoundConfig, RoundOutcome
from robolearn.learn.watch import POLL_SECONDS

MAX_POLL_SECONDS = 86_400.0
"""The longest wait between two looks for new corrections: a day."""


@dataclass(kw_only=True)
class TrainConfig(WithModel, InWorkspace):
    """Run a LoRA round now, or (--every N) whenever N new corrections have arrived."""

    method: str = RoundConfig.method
    """experts: a new LoRA expert for each family the new lessons teach, earlier experts
    frozen, and the router over them; adapter: one adapter continuing the one in use."""
    every: int | None = None
    """Keep watching the store and run a round whenever this many new corrections arrived;
    none given: run one round now."""
    poll: float = POLL_SECONDS
    """With --every: seconds between looks for new corrections."""
    rounds: int | None = None
    """With --every: stop after this many rounds (default: run until interrupted)."""
    replay: str = DataConfig.replay
    """With --method adapter: how older examples are replayed: balanced (per family),
    reservoir (uniform) or none (naive fine-tuning)."""
    expert_replay: float = RoundConfig.expert_replay
    """With --method experts: the base model's demonstrations trained into each expert, per
    example of its own."""
    replay_ratio: float = DataConfig.replay_ratio
    """Replayed examples per new one."""
    replay_size: int = DataConfig.replay_size
    """The most examples replayed in one round."""
    augment: int = DataConfig.augment
    """Colour-renamed copies of each lesson."""
    rephrase: float = DataConfig.rephrase
    """The share of those copies asked in other words (the family's phrasings, varied; 0:
    none)."""
    epochs: int = LoraSettings.epochs
    """Passes over the round's data."""
    max_steps: int = LoraSettings.max_steps
    """The most optimizer steps a round takes (a round of more data makes fewer passes)."""
    rank: int = LoraSettings.rank
    """LoRA rank (its alpha is twice the rank)."""
    learning_rate: float = LoraSettings.learning_rate
    """Peak learning rate."""
    threads: int = LoraSettings.threads
    """CPU threads for training (1 beside a busy dashboard)."""
    max_regression: float = RoundConfig.max_regression
    """The most a family's held-out success may drop for the new adapter to be promoted, as
    a fraction."""
    eval_scenes: int = RoundConfig.eval_scenes
    """Held-out scenes per family that the promotion gate evaluates on."""
    seed: int = RoundConfig.seed
    """Seed of the round's data sampling and training."""

    def __post_init__(self) -> None:
        if self.every is not None and self.every < 1:
            raise ConfigError("every", f"{{}} must be at least 1 correction, got {self.every}")
        if not 0 < self.poll <= MAX_POLL_SECONDS:
            raise ConfigError(
                "poll", f"{{}} must be more than 0 seconds (at most a day), got {self.poll}"
            )
        if self.rounds is not None and self.rounds < 1:
            raise ConfigError("rounds", f"{{}} must be at least 1, got {self.rounds}")
        self.round  # noqa: B018 (the library's configs check the rest, before any work)

    @property
    def round(self) -> RoundConfig:
        """The round these flags describe."""
        data = DataConfig(
            replay=self.replay,
            replay_ratio=self.replay_ratio,
            replay_size=self.replay_size,
            augment=self.augment,
            rephrase=self.rephrase,
        )
        lora = LoraSettings(
            rank=self.rank,
            alpha=2 * self.rank,
            epochs=self.epochs,
            max_steps=self.max_steps,
            learning_rate=self.learning_rate,
            threads=self.threads,
        )
        return RoundConfig(
            method=self.method,
            expert_replay=self.expert_replay,
            data=data,
            lora=lora,
            max_regression=self.max_regression,
            eval_scenes=self.eval_scenes,
            seed=self.seed,
        )


def run(config: TrainConfig) -> int:
    """One round now, or a round whenever ``--every`` corrections have arrived."""
    from robolearn.learn.rounds import run_round
    from robolearn.learn.watch import CorrectionWatcher
    from robolearn.workspace import Workspace

    workspace = Workspace.open(config.folder)
    model = workspace.model_dir(config.model, log=note)
    if config.every is None:
        report(run_round(workspace.root, model, config.round, log=note))
        return 0
    watcher = CorrectionWatcher(workspace.root, model, config.every)
    note(f"watching {workspace.root} for corrections: a round every {config.every} (Ctrl-C stops)")
    try:
        for outcome in watcher.rounds(config.round, config.poll, config.rounds, log=note):
            report(outcome)
    except KeyboardInterrupt:
        note("stopped watching")
    return 0


def report(outcome: RoundOutcome) -> None:
    """How a round went: success per family before and after, and the verdict."""
    say(outcome.table())
    verdict = "promoted: now in use" if outcome.promoted else "kept what was in use"
    if outcome.experts:
        say(f"experts trained: {', '.join(outcome.experts)} (the router now knows them)")
    say(
        f"\nround {outcome.round_id} {verdict} ({outcome.reason}); {outcome.seconds:.0f} s; "
        f"in {outcome.adapter}"
    )


COMMAND = Command(
    help="run a LoRA round on corrections (or every N)",
    config=TrainConfig,
    run=run,
    examples=(
        "robolearn train",
        "robolearn train --every 20",
        "robolearn train --replay reservoir --replay-ratio 2 --epochs 10",
        "robolearn train --max-regression 0.1 --eval-scenes 30",
    ),
)
