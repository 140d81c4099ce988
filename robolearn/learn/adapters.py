"""What a base model plans with: the workspace's ``adapters/`` and the store's adapter log.

Each round leaves a folder ``WorkspaceLayout.round_adapter(round)``: one LoRA adapter (a round
that continues the adapter in use), or a router over expert adapters (a round that trains new
experts: ``experts``). The store's append-only adapter log says which round's folder each base
model plans with now; rolling back is one more log entry. :func:`planner_in_use` puts it on a
language-model planner.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from robolearn.agent import Planner
from robolearn.errors import UserError
from robolearn.learn.meaning import Meaning
from robolearn.learn.router import ROUTER_FILE, RoutedPlanner, Router, expert_adapters
from robolearn.paths import OutsideWorkspaceError, in_workspace
from robolearn.planner.adapter_check import check_adapter_folder
from robolearn.planner.identity import model_identity
from robolearn.planner.lm import LMPlanner
from robolearn.store import AdapterRow, RoundRow, Store

ROUTER_FOLDER = "router"
"""Inside a round's folder: the router a round of experts puts in use."""


class AdapterChoiceError(UserError, ValueError):
    """An adapter that cannot be used: an unknown round, another base model, a missing folder."""


@dataclass(frozen=True)
class ActiveAdapter:
    """What a base model plans with now."""

    base_model: str
    round_id: int | None
    """None: the base model alone."""
    path: Path | None
    """The round's folder: one adapter, or a router over experts (:attr:`router`)."""

    @property
    def router(self) -> Path | None:
        """The router's folder when the round trained experts, else None."""
        return None if self.path is None else routed(self.path)


def routed(folder: Path) -> Path | None:
    """The router in a round's ``folder``, or None if the round trained one adapter."""
    router = Path(folder) / ROUTER_FOLDER
    return router if (router / ROUTER_FILE).is_file() else None


def active(store: Store, workspace: Path, base_model: str) -> ActiveAdapter:
    """The adapter ``base_model`` plans with now (the base alone if the log has none)."""
    row = store.active_adapter(base_model)
    if row is None or row.round_id is None or row.path is None:
        return ActiveAdapter(base_model, None, None)
    path = _adapter_path(workspace, row.path, row.round_id)
    if not (path / "adapter_config.json").is_file() and routed(path) is None:
        raise AdapterChoiceError(
            f"the adapter in use, round {row.round_id}, is missing from {path}; choose another "
            "with 'robolearn adapters use ROUND' (or 'base')"
        )
    return ActiveAdapter(base_model, row.round_id, path)


def lineage(store: Store, round_id: int | None) -> list[int]:
    """Round ``round_id`` and the rounds it continued from, oldest first."""
    chain: list[int] = []
    while round_id is not None:
        chain.append(round_id)
        round_id = store.training_round(round_id).parent_round
    return chain[::-1]


def use_round(
    store: Store, workspace: Path, model_dir: Path, round_id: int | None, why: str
) -> AdapterRow:
    """Make the model in ``model_dir`` plan with round ``round_id``'s adapter (None: alone)."""
    base = model_identity(model_dir)
    if round_id is None:
        row = AdapterRow(base, None, None, why)
    else:
        chosen: RoundRow = store.training_round(round_id)
        if chosen.base_model != base:
            raise AdapterChoiceError(
                f"round {round_id} trained an adapter for {chosen.base_model}, not for "
                f"{base}; pass the --model it was trained on"
            )
        if chosen.path is None or not _adapter_path(workspace, chosen.path, round_id).is_dir():
            ended = (
                "never ended (it is running, or its process was stopped)"
                if chosen.status == "running"
                else f"ended {chosen.status}"
            )
            raise AdapterChoiceError(
                f"round {round_id} {ended} without an adapter to use; "
                "'robolearn adapters list' shows those that have one"
            )
        check_round_folder(_adapter_path(workspace, chosen.path, round_id), workspace)
        row = AdapterRow(base, round_id, chosen.path, why)
    store.use_adapter(row)
    return row


def check_round_folder(folder: Path, workspace: Path) -> None:
    """Refuse a round's folder unless its adapter passes ``check_adapter_folder``.

    A round of experts has no adapter of its own: each expert its router names is checked.
    """
    router = routed(folder)
    if router is None:
        check_adapter_folder(folder)
        return
    for expert in expert_adapters(Router.load(router), workspace).values():
        check_adapter_folder(expert)


def _adapter_path(workspace: Path, stored: str, round_id: int) -> Path:
    """Round ``round_id``'s adapter folder as the store records it, inside the workspace."""
    try:
        return in_workspace(workspace, stored)
    except OutsideWorkspaceError as error:
        raise AdapterChoiceError(
            f"round {round_id}'s adapter: {error}; choose another with "
            "'robolearn adapters use ROUND' (or 'base')"
        ) from None


def in_use_folders(chosen: ActiveAdapter, workspace: Path) -> list[Path]:
    """Every folder ``chosen`` plans from: its adapter, or its router and every expert's."""
    if chosen.path is None:
        return []
    if chosen.router is None:
        return [chosen.path]
    return [chosen.router, *expert_adapters(Router.load(chosen.router), workspace).values()]


def plan_with_active_adapter(planner: LMPlanner, store: Store, workspace: Path) -> ActiveAdapter:
    """Put the one adapter the store says is in use on ``planner``; what it is now using.

    For a round of experts, use :func:`planner_in_use`: one adapter cannot stand for them.
    """
    chosen = active(store, workspace, planner.identity)
    if chosen.router is not None:
        raise AdapterChoiceError(
            f"round {chosen.round_id} routes among experts; plan with planner_in_use"
        )
    planner.use_adapter(chosen.path)
    return chosen


def planner_in_use(
    model: LMPlanner, store: Store, workspace: Path, meaning: Meaning
) -> tuple[Planner, ActiveAdapter]:
    """``model`` as the store says it plans now, and what that is.

    With one adapter, ``model`` itself with the adapter on; with a router over experts, a
    :class:`RoutedPlanner` that puts each task's expert on ``model`` (the base model where the
    router chooses none).
    """
    chosen = active(store, workspace, model.identity)
    return planner_for(model, chosen, workspace, meaning), chosen


def planner_for(
    model: LMPlanner, chosen: ActiveAdapter, workspace: Path, meaning: Meaning
) -> Planner:
    """``model`` planning with ``chosen`` (see :func:`planner_in_use`)."""
    if chosen.router is None:
        model.use_adapter(chosen.path)
        return model
    model.use_adapter(None)
    router = Router.load(chosen.router)
    return RoutedPlanner(model, router, expert_adapters(router, workspace), meaning)
