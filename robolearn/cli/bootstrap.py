"""``robolearn bootstrap``: train the workspace's default planner model (a few minutes)."""

from __future__ import annotations

from dataclasses import dataclass

from robolearn.cli.command import Command, InWorkspace, say
from robolearn.cli.flags import flag
from robolearn.planner.bootstrap import BootstrapConfig


@dataclass(kw_only=True)
class BootstrapFlags(InWorkspace):
    """Train the default planner model from the oracle's demonstrations."""

    epochs: int = BootstrapConfig.epochs
    """Passes over the demonstrations."""
    scenes: int = flag(BootstrapConfig.scenes_per_family, sets="scenes_per_family")
    """Training scenes per family (even task seeds)."""

    def __post_init__(self) -> None:
        self.settings  # noqa: B018 (the library's config checks the ranges, before any work)

    @property
    def settings(self) -> BootstrapConfig:
        """The library's settings these flags make."""
        return BootstrapConfig(epochs=self.epochs, scenes_per_family=self.scenes)


def run(config: BootstrapFlags) -> int:
    """Build the model into the workspace, then say how well it plans held-out tasks."""
    from robolearn.planner.bootstrap import build_default_model
    from robolearn.workspace import Workspace

    out = Workspace.open(config.folder).default_model  # refused before minutes of training
    report = build_default_model(out, config.settings)
    say(
        f"saved {out}: {report.parameters:,} parameters, {report.examples} demonstrations, "
        f"{report.train_seconds:.0f} s of training; held-out exact match "
        f"{report.exact_match:.0%} of {report.heldout} tasks"
    )
    return 0


COMMAND = Command(
    help="train the default planner model",
    config=BootstrapFlags,
    run=run,
    examples=("robolearn bootstrap", "robolearn bootstrap --epochs 8 --workspace lab"),
)
