"""Where robolearn finds its shipped data and the user's workspace (DESIGN.md, "Decisions")."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from robolearn.errors import UserError

DEFAULT_WORKSPACE = Path("robolearn-workspace")
WORKSPACE_ENV = "ROBOLEARN_WORKSPACE"
CACHE_ENV = "ROBOLEARN_CACHE"
DB_NAME = "robolearn.db"
"""The database's file name inside the workspace."""


@dataclass(frozen=True)
class WorkspaceLayout:
    """Where each part of a workspace lives: the one place its folder names are written.

    ::

        <root>/
            robolearn.db            the store (runs, episodes, corrections, rounds)
            skills/<name>/v0001.json  the skill library, every version
            models/default/         the workspace's own planner model (``robolearn bootstrap``)
            adapters/round-0001/    one LoRA adapter a training round
            frames/run1/...png      camera images of runs with ``--frames``
            cache/embeddings/       skill vectors, derived from the library
            bench/                  results of ``robolearn bench``

    It only names paths; :class:`robolearn.workspace.Workspace` adds what is built from them.
    Every reader below that layer (the store, the library, the adapters) asks it too.
    """

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root).expanduser())

    @property
    def db(self) -> Path:
        """The store's SQLite file."""
        return self.root / DB_NAME

    @property
    def skills(self) -> Path:
        """The skill library's folder."""
        return self.root / "skills"

    @property
    def models(self) -> Path:
        """The workspace's own models."""
        return self.root / "models"

    @property
    def default_model(self) -> Path:
        """The default planner model that ``robolearn bootstrap`` builds."""
        return self.models / "default"

    @property
    def adapters(self) -> Path:
        """The training rounds' LoRA adapters."""
        return self.root / "adapters"

    def round_adapter(self, round_id: int) -> Path:
        """The adapter folder of training round ``round_id``."""
        return self.adapters / f"round-{round_id:04d}"

    @property
    def frames(self) -> Path:
        """Camera images of runs, one folder a run."""
        return self.root / "frames"

    def run_frames(self, run_id: int) -> Path:
        """The camera images of run ``run_id``."""
        return self.frames / f"run{run_id}"

    @property
    def cache(self) -> Path:
        """What is derived from the rest and rebuilt when stale."""
        return self.root / "cache"

    @property
    def embeddings(self) -> Path:
        """The Searcher's cached skill vectors."""
        return self.cache / "embeddings"

    @property
    def bench(self) -> Path:
        """Results that ``robolearn bench`` writes."""
        return self.root / "bench"

    def relative(self, path: Path) -> str:
        """``path`` (inside the workspace) as the store keeps it: relative, with ``/``."""
        return Path(path).relative_to(self.root).as_posix()


class OutsideWorkspaceError(UserError, ValueError):
    """A path stored in the workspace (a frame, an adapter) that leads outside it."""


def data_dir(name: str) -> Path:
    """The shipped data folder ``name`` (``envs`` or ``skills``)."""
    return _shipped(name, name, f"data folder {name!r}")


def app_path() -> Path:
    """The Streamlit dashboard's entry script (``app.py``), in a checkout or a wheel."""
    return _shipped("app.py", "app.py", "app.py")


PARAPHRASE_FILES = ("paraphrases.json", "paraphrases_new_families.json")
"""The hand-written test phrasings planners are compared on (``robolearn bench planners``): the
bootstrap families', and the four families learned from corrections'."""


def paraphrases_path(name: str = PARAPHRASE_FILES[0]) -> Path:
    """A shipped file of hand-written paraphrases (``PARAPHRASE_FILES``; a checkout's dev set)."""
    return _shipped(name, f"tests/fixtures/{name}", name)


def _shipped(in_wheel: str, in_checkout: str, what: str) -> Path:
    """A file or folder robolearn ships.

    A wheel carries it inside the package as ``robolearn/_data/<in_wheel>``; a checkout keeps
    it at ``<in_checkout>`` beside the package.
    """
    package = Path(__file__).resolve().parent
    for candidate in (package / "_data" / in_wheel, package.parent / in_checkout):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(
        f"robolearn's {what} is missing from {package.parent}; reinstall robolearn"
    )


def workspace_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The workspace: ``explicit`` if given, else ``$ROBOLEARN_WORKSPACE``, else the default."""
    chosen = explicit or os.environ.get(WORKSPACE_ENV) or DEFAULT_WORKSPACE
    return Path(chosen).expanduser()


def cache_dir() -> Path:
    """The model cache that workspaces share: ``$ROBOLEARN_CACHE``, else ``~/.cache/robolearn``.

    Large converted pretrained models live here, not in a workspace, so each is built once.
    """
    chosen = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "robolearn"
    return Path(chosen).expanduser()


def in_workspace(workspace: str | os.PathLike[str], stored: str) -> Path:
    """The file that ``stored``, a path relative to the workspace, names; it must stay inside.

    The database keeps frames and adapters as paths relative to the workspace. One that is
    absolute, climbs out with ``..`` or passes through a link to elsewhere is refused, so an
    edited or foreign database cannot make robolearn show or load any other file.
    """
    root = Path(workspace).expanduser().resolve()
    path = None if "\0" in stored or Path(stored).is_absolute() else (root / stored).resolve()
    if path is None or not path.is_relative_to(root):
        raise OutsideWorkspaceError(
            f"the stored path {stored!r} leads outside the workspace {root}; robolearn only "
            "reads files it wrote there (was the database edited or copied from elsewhere?)"
        )
    return path
