"""The planner a workspace plans with: what the CLI and the dashboard both ask for.

The lm planner is the workspace's base model (or ``--model``) with the adapter the store says
is in use, behind the correction memory; the oracle is the family's scripted expert.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from robolearn.agent import Planner, SkillLearner
from robolearn.errors import UserError
from robolearn.learn.adapters import active, plan_with_active_adapter
from robolearn.learn.memory import CorrectionMemory, MemoryPlanner
from robolearn.planner import DEFAULT_MODEL
from robolearn.rollout import Rollout
from robolearn.skills.library import SkillLibrary
from robolearn.store import Store

PLANNERS = ("lm", "oracle")


def model_dir_for(
    workspace: Path,
    model: str | Path | None,
    build: bool = True,
    log: Callable[[str], None] = print,
) -> Path:
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


def workspace_planner(
    name: str,
    workspace: Path,
    library: SkillLibrary,
    store: Store,
    *,
    model: str | Path | None = None,
    memory: bool = True,
    build_model: bool = True,
    log: Callable[[str], None] = print,
) -> Planner:
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


def skill_learner(library: SkillLibrary, workspace: Path) -> SkillLearner:
    """A SkillLearner over the workspace's library, with its embedding cache."""
    from robolearn.skills.embeddings import Embedder, EmbeddingCache
    from robolearn.skills.evaluator import Evaluator
    from robolearn.skills.searcher import Searcher

    searcher = Searcher(
        library, Embedder(), cache=EmbeddingCache(workspace / "cache" / "embeddings")
    )
    return SkillLearner(library, searcher, Evaluator(library))


@dataclass(frozen=True)
class WorkspaceRollout:
    """How a workspace's episodes are run, as plain data each worker process builds from.

    Call :meth:`prepare` once in the driver: it builds or converts the model, so workers
    only load it.
    """

    workspace: Path
    planner: str = "lm"
    """``lm`` or ``oracle``."""
    model: str | None = None
    """The lm planner's model: a preset, a folder, or None for the workspace's own."""
    memory: bool = True
    """Plan a corrected situation with its correction."""
    learn_skills: bool = False
    """Compose and prove new skills from uncovered plans (needs one worker)."""

    @property
    def name(self) -> str:
        """The planner's name, as its episodes record it."""
        return self.planner

    def prepare(self, log: Callable[[str], None] = print) -> WorkspaceRollout:
        """The same setup, its model folder built or converted first and named by its path."""
        if self.planner != "lm":
            return self
        model_dir = model_dir_for(self.workspace, self.model, build=True, log=log)
        from robolearn.planner.identity import model_identity

        with Store.open(self.workspace) as store:
            adapter = active(store, self.workspace, model_identity(model_dir))
        if adapter.round_id is not None:
            log(f"planning with the LoRA adapter of round {adapter.round_id}")
        from robolearn.planner.pretrained import is_preset

        # A preset stays a name: a worker on another machine converts its own copy.
        return replace(self, model=self.model if is_preset(self.model) else str(model_dir))

    def build(self) -> Rollout:
        """The planner, library and learner the workspace has taught so far."""
        library = SkillLibrary.open(self.workspace)
        store = Store.open(self.workspace)
        try:
            planner = workspace_planner(
                self.planner,
                self.workspace,
                library,
                store,
                model=self.model,
                memory=self.memory,
                build_model=False,
                log=lambda _: None,
            )
        except BaseException:
            store.close()
            raise
        learner = skill_learner(library, self.workspace) if self.learn_skills else None
        return Rollout(planner, library, learner, close=store.close)
