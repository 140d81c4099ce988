"""The planner a workspace plans with: what the CLI and the dashboard both ask for.

The lm planner is the workspace's base model (or ``--model``) with the adapter the store says
is in use, behind the correction memory; the oracle is the family's scripted expert.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from robolearn.agent import Planner
from robolearn.errors import UserError
from robolearn.learn.adapters import plan_with_active_adapter
from robolearn.learn.memory import CorrectionMemory, MemoryPlanner
from robolearn.planner import DEFAULT_MODEL
from robolearn.skills.library import SkillLibrary
from robolearn.store import Store

PLANNERS = ("lm", "oracle")


def model_dir_for(workspace: Path, model: str | Path | None, build: bool = True,
                  log: Callable[[str], None] = print) -> Path:
    """The folder of a model named on the command line.

    None or ``default``: the workspace's own model (built first if ``build`` and missing); a
    preset name (``smollm2``): the converted pretrained model (converted on first use);
    anything else: a local folder.
    """
    from robolearn.planner.bootstrap import default_model_dir, ensure_default_model
    from robolearn.planner.pretrained import resolve_model

    if model is None or str(model) == DEFAULT_MODEL:
        return ensure_default_model(workspace, log=log) if build else default_model_dir(workspace)
    return resolve_model(str(model), log=log)


def workspace_planner(name: str, workspace: Path, library: SkillLibrary, store: Store, *,
                      model: str | Path | None = None, memory: bool = True,
                      build_model: bool = True,
                      log: Callable[[str], None] = print) -> Planner:
    """The planner called ``name`` as this workspace has taught it so far."""
    if name == "oracle":
        from robolearn.planner.oracle import OraclePlanner

        return OraclePlanner()
    if name != "lm":
        raise UserError(f"unknown planner {name!r}; known: {', '.join(PLANNERS)}")
    from robolearn.planner.lm import LMPlanner

    planner = LMPlanner(model_dir_for(workspace, model, build_model, log), library)
    adapter = plan_with_active_adapter(planner, store, workspace)
    if adapter.round_id is not None:
        log(f"planning with the LoRA adapter of round {adapter.round_id}")
    return MemoryPlanner(planner, CorrectionMemory(store)) if memory else planner
