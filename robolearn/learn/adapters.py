"""Which LoRA adapter a base model plans with: the workspace's ``adapters/`` and the store's log.

Each round's adapter is a folder ``WorkspaceLayout.round_adapter(round)``; the store's append-only
adapter log says which one each base model uses now. Rolling back is one more log entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from robolearn.errors import UserError
from robolearn.paths import OutsideWorkspaceError, in_workspace
from robolearn.planner.adapter_check import check_adapter_folder
from robolearn.planner.identity import model_identity
from robolearn.planner.lm import LMPlanner
from robolearn.store import AdapterRow, RoundRow, Store


class AdapterChoiceError(UserError, ValueError):
    """An adapter that cannot be used: an unknown round, another base model, a missing folder."""


@dataclass(frozen=True)
class ActiveAdapter:
    """What a base model plans with now."""

    base_model: str
    round_id: int | None
    """None: the base model alone."""
    path: Path | None


def active(store: Store, workspace: Path, base_model: str) -> ActiveAdapter:
    """The adapter ``base_model`` plans with now (the base alone if the log has none)."""
    row = store.active_adapter(base_model)
    if row is None or row.round_id is None or row.path is None:
        return ActiveAdapter(base_model, None, None)
    path = _adapter_path(workspace, row.path, row.round_id)
    if not (path / "adapter_config.json").is_file():
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
        check_adapter_folder(_adapter_path(workspace, chosen.path, round_id))
        row = AdapterRow(base, round_id, chosen.path, why)
    store.use_adapter(row)
    return row


def _adapter_path(workspace: Path, stored: str, round_id: int) -> Path:
    """Round ``round_id``'s adapter folder as the store records it, inside the workspace."""
    try:
        return in_workspace(workspace, stored)
    except OutsideWorkspaceError as error:
        raise AdapterChoiceError(
            f"round {round_id}'s adapter: {error}; choose another with "
            "'robolearn adapters use ROUND' (or 'base')"
        ) from None


def plan_with_active_adapter(planner: LMPlanner, store: Store, workspace: Path) -> ActiveAdapter:
    """Put the adapter the store says is in use on ``planner``; what it is now using."""
    chosen = active(store, workspace, planner.identity)
    planner.use_adapter(chosen.path)
    return chosen
