"""The workspace: its folders, and everything a workspace builds from them, in one place.

The CLI, the dashboard and the rollout workers all ask a :class:`Workspace` for the planner,
the skill library, the Searcher and the rollout setup; nothing else assembles them, so a
plan made on the Run page is the plan ``robolearn run`` makes in the same scene.

    workspace = Workspace.open("robolearn-workspace")        # refused at once if unusable
    with workspace.store() as store:
        planner = workspace.planner(PlannerChoice("lm"), workspace.library(), store)

The folder names themselves are :class:`robolearn.paths.WorkspaceLayout`'s (one property a
folder), which the layers below (the store, the library, the adapters) read too.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from robolearn.errors import UserError
from robolearn.paths import WorkspaceLayout
from robolearn.planner import DEFAULT_MODEL

if TYPE_CHECKING:
    from robolearn.agent import Planner, SkillLearner
    from robolearn.learn.adapters import ActiveAdapter
    from robolearn.learn.meaning import Meaning
    from robolearn.rollout import Rollout
    from robolearn.skills.embeddings import TextEmbedder
    from robolearn.skills.library import SkillLibrary
    from robolearn.skills.searcher import Searcher
    from robolearn.store import Store

PLANNERS = ("lm", "oracle")
"""Who writes plans: the language-model planner, or the family's scripted expert."""
SHIPPED_MODEL = ".shipped-model"
"""Where a Ray worker's unpacked workspace keeps the model folder it was sent."""

Log = Callable[[str], None]


class WorkspaceError(UserError, ValueError):
    """A workspace folder that cannot be used as asked (a file, read-only, a folder in the way)."""


class UnknownPlannerError(UserError, ValueError):
    """A planner name that is not one of ``PLANNERS``."""


@dataclass(frozen=True)
class PlannerChoice:
    """Which planner plans: ``--planner``, ``--model`` and ``--no-memory``, or the Run page's.

    Plain data, so a rollout worker receives it and builds the same planner.
    """

    name: str = "lm"
    model: str | None = None
    """The lm planner's model: a preset, a folder, or None for the workspace's own."""
    memory: bool = True
    """Plan a corrected situation with its correction (the lm planner only)."""

    def __post_init__(self) -> None:
        if self.name not in PLANNERS:
            raise UnknownPlannerError(
                f"unknown planner {self.name!r}; known: {', '.join(PLANNERS)}"
            )


@dataclass(frozen=True)
class Workspace(WorkspaceLayout):
    """A workspace folder checked for use, and the factories of what plans and runs in it."""

    read_only: bool = False
    """Opened for a verb that only reads, on a folder it may not write: nothing is written."""

    @classmethod
    def open(cls, root: str | os.PathLike[str], *, writing: bool = True) -> Workspace:
        """The workspace at ``root``, refused at once (WorkspaceError) if it cannot be used.

        A writing verb needs a folder it can write (created if missing); a reading verb on
        a folder it cannot write gets a read-only workspace.
        """
        layout = WorkspaceLayout(Path(root))
        _check_shape(layout)
        problem = _write_problem(layout)
        if problem is None:
            return cls(layout.root)
        if writing:
            raise WorkspaceError(
                f"the workspace {layout.root} cannot be written ({problem}); make it writable, "
                "or pass --workspace with another folder"
            )
        return cls(layout.root, read_only=True)

    # ----- what is stored -------------------------------------------------------------------
    def store(self) -> Store:
        """The workspace's store (close it, or use ``with``)."""
        from robolearn.store import Store

        return Store.open(self.root, read_only=self.read_only)

    def library(self) -> SkillLibrary:
        """The workspace's skill library, seeded on first use."""
        from robolearn.skills.library import SkillLibrary

        return SkillLibrary.open(self.root, read_only=self.read_only)

    def meaning(self) -> Meaning:
        """The sentence embeddings the memory, the router and the Searcher share.

        One all-MiniLM-L6-v2 a process (it loads on the first text not cached: ~7 s, ~700 MB)
        and one vector cache a workspace, on disk under ``cache/embeddings`` (in memory when
        the workspace is read-only), so an instruction is embedded once for all three.
        """
        return _meaning(self.root, self.read_only)

    def searcher(
        self, library: SkillLibrary | None = None, embedder: TextEmbedder | None = None
    ) -> Searcher:
        """The Searcher over ``library`` (default: the workspace's), with the shared vectors.

        ``embedder`` lets a caller that holds its own embedding model (the dashboard's, loaded
        once a server) use it instead of the workspace's :meth:`meaning`.
        """
        from robolearn.skills.searcher import Searcher

        meaning = self.meaning()
        return Searcher(
            library or self.library(), embedder or meaning.embedder, cache=meaning.cache
        )

    def skill_learner(self, library: SkillLibrary, store: Store) -> SkillLearner:
        """What composes new skills from uncovered plans and proves them before keeping them.

        Each verdict is recorded in ``store``.
        """
        from robolearn.agent import SkillLearner
        from robolearn.skills.evaluator import Evaluator

        return SkillLearner(library, self.searcher(library), Evaluator(library, store=store))

    # ----- the planner ----------------------------------------------------------------------
    def model_dir(
        self, model: str | Path | None = None, *, build: bool = True, log: Log = print
    ) -> Path:
        """The folder of a model named on the command line.

        None or ``default``: the workspace's own model (built first if ``build`` and missing);
        a preset name (``smollm2``): the converted pretrained model (converted on first use);
        anything else: a local folder.
        """
        from robolearn.planner.pretrained import resolve_model

        if model is not None and str(model) != DEFAULT_MODEL:
            return resolve_model(str(model), log=log)
        if (self.default_model / "config.json").is_file() or not build:
            return self.default_model
        if self.read_only:
            raise WorkspaceError(
                f"the workspace {self.root} is read-only and has no planner model yet "
                f"({self.default_model}); build one where it is writable ('robolearn "
                "bootstrap'), or pass --model"
            )
        from robolearn.planner.bootstrap import ensure_default_model

        return ensure_default_model(self.root, log=log)

    def planner(
        self,
        choice: PlannerChoice,
        library: SkillLibrary,
        store: Store,
        *,
        build_model: bool = True,
        log: Log = print,
    ) -> Planner:
        """The planner ``choice`` names, as this workspace has taught it so far.

        The lm planner is the model with what the store says it plans with (the adapter in
        use), behind the correction memory unless ``choice.memory`` is off.
        """
        if choice.name == "oracle":
            from robolearn.planner.oracle import OraclePlanner

            return OraclePlanner()
        from robolearn.learn.memory import CorrectionMemory, MemoryPlanner

        model = self.model_dir(choice.model, build=build_model, log=log)
        planner = self.language_model(model, library, store, log=log)
        if not choice.memory:
            return planner
        return MemoryPlanner(planner, CorrectionMemory(store, self.meaning()))

    def language_model(
        self, model_dir: Path, library: SkillLibrary, store: Store, *, log: Log = print
    ) -> Planner:
        """The base model in ``model_dir`` with what the store says it plans with now.

        The one place a workspace's language-model planner is assembled: the base model
        alone, with the one adapter in use, or, after rounds of experts, a router that picks
        the base model or one expert adapter for each task (every expert loaded once into the
        one model). Its explanation names the model, the expert and the router's similarity.
        """
        from robolearn.learn.adapters import planner_in_use
        from robolearn.planner.lm import LMPlanner

        planner, chosen = planner_in_use(
            LMPlanner(model_dir, library), store, self.root, self.meaning()
        )
        _say_in_use(chosen, log)
        return planner

    def rollout(self, choice: PlannerChoice, learn_skills: bool = False) -> WorkspaceRollout:
        """How this workspace's episodes are run, as data a worker process builds from."""
        return WorkspaceRollout(self.root, choice, learn_skills, read_only=self.read_only)


@dataclass(frozen=True)
class WorkspaceRollout:
    """A workspace's rollout as plain data: every worker process builds the same planner.

    Call :meth:`prepare` once in the driver: it builds or converts the model, so workers
    only load it.
    """

    workspace: Path
    choice: PlannerChoice = field(default_factory=PlannerChoice)
    learn_skills: bool = False
    """Compose and prove new skills from uncovered plans (needs one worker)."""
    read_only: bool = False

    @property
    def name(self) -> str:
        """The planner's name, as its episodes record it."""
        return self.choice.name

    @property
    def _workspace(self) -> Workspace:
        return Workspace(self.workspace, read_only=self.read_only)

    def prepare(self, log: Log = print) -> WorkspaceRollout:
        """The same setup, its model folder built or converted first and named by its path."""
        if self.choice.name != "lm":
            return self
        from robolearn.learn.adapters import active
        from robolearn.planner.identity import model_identity
        from robolearn.planner.pretrained import is_preset

        workspace = self._workspace
        model_dir = workspace.model_dir(self.choice.model, log=log)
        with workspace.store() as store:
            _say_in_use(active(store, self.workspace, model_identity(model_dir)), log)
        # A preset stays a name: a worker on another machine converts its own copy.
        model = self.choice.model if is_preset(self.choice.model) else str(model_dir)
        return replace(self, choice=replace(self.choice, model=model))

    def build(self) -> Rollout:
        """The planner, library and learner the workspace has taught so far."""
        from robolearn.rollout import Rollout

        workspace = self._workspace
        library = workspace.library()
        store = workspace.store()
        try:
            planner = workspace.planner(
                self.choice, library, store, build_model=False, log=lambda _: None
            )
        except BaseException:
            store.close()
            raise
        learner = workspace.skill_learner(library, store) if self.learn_skills else None
        return Rollout(planner, library, learner, close=store.close)

    def shipped_files(self) -> dict[str, bytes]:
        """What a worker without this disk plans from; call after :meth:`prepare`.

        The store, the library, the model (not a preset: each machine converts its own) and
        the adapter in use.
        """
        from robolearn.rollout.shipped import folder_files

        workspace = self._workspace
        files = folder_files(workspace.skills, workspace.relative(workspace.skills))
        with workspace.store() as store:
            files[workspace.relative(workspace.db)] = store.snapshot()
            if self.choice.name == "lm" and self.choice.model is not None:
                files.update(self._model_files(workspace, store))
        return files

    def _model_files(self, workspace: Workspace, store: Store) -> dict[str, bytes]:
        from robolearn.learn.adapters import active, in_use_folders
        from robolearn.planner.identity import model_identity
        from robolearn.planner.pretrained import is_preset, resolve_model
        from robolearn.rollout.shipped import folder_files

        model = resolve_model(str(self.choice.model))  # a prepared preset is converted already
        files = {} if is_preset(self.choice.model) else folder_files(model, SHIPPED_MODEL)
        adapter = active(store, self.workspace, model_identity(model))
        for folder in in_use_folders(adapter, workspace.root):
            relative = folder.resolve().relative_to(workspace.root.resolve())
            files.update(folder_files(folder, relative))
        return files

    def relocated(self, root: Path) -> WorkspaceRollout:
        """The same setup over the files :meth:`shipped_files` gave, unpacked under ``root``."""
        from robolearn.planner.pretrained import is_preset

        model = self.choice.model
        if model is not None and not is_preset(model):
            model = str(root / SHIPPED_MODEL)
        return replace(self, workspace=root, choice=replace(self.choice, model=model))


def _say_in_use(chosen: ActiveAdapter, log: Log) -> None:
    """Say what the language model plans with, unless it is the base model alone."""
    if chosen.round_id is None:
        return
    if chosen.router is None:
        log(f"planning with the LoRA adapter of round {chosen.round_id}")
    else:
        log(f"planning with the experts and router of round {chosen.round_id}")


@functools.cache
def _meaning(root: Path, read_only: bool) -> Meaning:
    """A workspace's shared :class:`Meaning`: the process's embedder, the workspace's cache."""
    from robolearn.learn.meaning import Meaning
    from robolearn.skills.embeddings import EmbeddingCache

    return Meaning(cache=EmbeddingCache() if read_only else EmbeddingCache.for_workspace(root))


# ----- refusing an unusable folder at once ----------------------------------------------------
_FOLDERS = ("skills", "models", "adapters", "frames", "cache")


def _check_shape(layout: WorkspaceLayout) -> None:
    """Raise WorkspaceError if something of the wrong kind sits where the workspace's parts go."""
    root = layout.root
    if root.exists() and not root.is_dir():
        raise WorkspaceError(
            f"the workspace {root} is a file, not a folder; pass --workspace with a folder "
            "(or a path that does not exist yet)"
        )
    if layout.db.exists() and not layout.db.is_file():
        raise WorkspaceError(
            f"{layout.db} is a {_kind(layout.db)} where the workspace's database goes; "
            "move it aside and robolearn will start a new database there"
        )
    for name in _FOLDERS:
        folder = getattr(layout, name)
        if folder.exists() and not folder.is_dir():
            raise WorkspaceError(
                f"{folder} is a {_kind(folder)} where the workspace keeps its {name} folder; "
                "move it aside"
            )


def _kind(path: Path) -> str:
    return "folder" if path.is_dir() else "file" if path.is_file() else "special file"


def _write_problem(layout: WorkspaceLayout) -> str | None:
    """Why the workspace cannot be written (created if missing), or None if it can."""
    try:
        layout.root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=layout.root):
            pass
        if layout.db.exists():
            with layout.db.open("ab"):
                pass
    except OSError as error:
        return error.strerror or type(error).__name__
    return None
