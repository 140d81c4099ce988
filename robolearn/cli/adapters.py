"""``robolearn adapters``: a base model's training rounds, and its adapter or experts in use."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from robolearn.cli.command import Command, InWorkspace, WithModel, say
from robolearn.cli.flags import flag
from robolearn.cli.values import MAX_WHOLE
from robolearn.errors import ConfigError

EXAMPLES = """examples:
  robolearn adapters list
  robolearn adapters use 3
  robolearn adapters use base --why "round 4 breaks stacking"
"""


@dataclass(kw_only=True)
class ListConfig(WithModel, InWorkspace):
    """List the training rounds of the base model, their outcome, and the adapter in use."""


@dataclass(kw_only=True)
class UseConfig(WithModel, InWorkspace):
    """Plan with another round's adapter from now on (base: none), e.g. to roll back."""

    round: str = flag(positional=True)
    """A round number, or base for no adapter."""
    why: str = ""
    """Why (kept in the adapter log)."""

    def __post_init__(self) -> None:
        number = self.round.isascii() and self.round.isdigit() and int(self.round) <= MAX_WHOLE
        if self.round != "base" and not number:
            raise ConfigError(
                "round", f"adapters use takes a round number or 'base', not {self.round!r}"
            )

    @property
    def round_id(self) -> int | None:
        """The round chosen; None for the base model alone."""
        return None if self.round == "base" else int(self.round)


def list_rounds(config: ListConfig) -> int:
    """Print the rounds, newest last, with a star at the adapter in use."""
    from robolearn.learn.adapters import active
    from robolearn.planner.identity import model_identity
    from robolearn.workspace import Workspace

    workspace = Workspace.open(config.folder, writing=False)
    base = model_identity(workspace.model_dir(config.model, build=False))
    with workspace.store() as store:
        rounds = store.rounds(base)
        chosen = active(store, workspace.root, base)
    in_use = chosen.round_id
    say(f"base model {base}: {'no rounds yet' if not rounds else f'{len(rounds)} rounds'}")
    if rounds:
        say(f"  {'round':>5} {'status':<11} {'new':>5} {'replay':>6} {'mean success':>12}  started")
    for row in rounds:
        data = row.metrics.get("dataset", {})
        candidate = row.metrics.get("candidate", {})
        mean = f"{sum(candidate.values()) / len(candidate):.0%}" if candidate else "-"
        mark = "*" if row.id == in_use else " "
        say(
            f"{mark} {row.id:>5} {row.status:<11} {data.get('new', '-'):>5} "
            f"{data.get('replay', '-'):>6} {mean:>12}  {row.created}  {row.reason}"
        )
    say("* in use" if in_use is not None else "in use: the base model alone")
    if chosen.router is not None:
        say_router(chosen.router)
    return 0


def say_router(folder: Path) -> None:
    """The router in use: its threshold, and each expert with where it came from."""
    from robolearn.learn.router import Router

    router = Router.load(folder)
    say(
        f"router: {len(router.experts)} experts; an instruction goes to the nearest expert "
        f"at similarity >= {router.threshold:.2f}, else to the base model"
    )
    for expert in router.experts.values():
        came = expert.provenance
        say(
            f"  expert {expert.name}: {came.get('cluster', '?')}, round {came.get('round', '?')}, "
            f"{came.get('examples', '?')} examples ({came.get('lessons', '')})"
        )


def use(config: UseConfig) -> int:
    """Log the chosen adapter as the one in use (one more entry of the append-only log)."""
    from robolearn.learn.adapters import active, use_round
    from robolearn.planner.identity import model_identity
    from robolearn.workspace import Workspace

    workspace = Workspace.open(config.folder)
    model = workspace.model_dir(config.model, build=False)
    with workspace.store() as store:
        why = config.why or f"chosen by hand: {config.round}"
        use_round(store, workspace.root, model, config.round_id, why)
        chosen = active(store, workspace.root, model_identity(model))
    if chosen.round_id is None:
        say("now planning with the base model alone")
    elif chosen.router is None:
        say(f"now planning with the adapter of round {chosen.round_id}")
    else:
        say(f"now planning with the experts and router of round {chosen.round_id}")
        say_router(chosen.router)
    return 0


ACTIONS = {
    "list": Command(
        help="list the rounds and the adapter in use",
        config=ListConfig,
        run=list_rounds,
        examples=("robolearn adapters list",),
    ),
    "use": Command(
        help="plan with a round's adapter (or 'base')",
        config=UseConfig,
        run=use,
        examples=(
            "robolearn adapters use 3",
            'robolearn adapters use base --why "round 4 breaks stacking"',
        ),
    ),
}
