"""Where robolearn finds its shipped data and the user's workspace (DESIGN.md, "Decisions")."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_WORKSPACE = Path("robolearn-workspace")
WORKSPACE_ENV = "ROBOLEARN_WORKSPACE"
CACHE_ENV = "ROBOLEARN_CACHE"


def data_dir(name: str) -> Path:
    """The shipped data folder ``name`` (``envs`` or ``skills``)."""
    return _shipped(name, name, f"data folder {name!r}")


def app_path() -> Path:
    """The Streamlit dashboard's entry script (``app.py``), in a checkout or a wheel."""
    return _shipped("app.py", "app.py", "app.py")


def paraphrases_path() -> Path:
    """The hand-written paraphrases that planners are compared on (``robolearn bench``)."""
    return _shipped("paraphrases.json", "tests/fixtures/paraphrases.json", "paraphrases.json")


def _shipped(in_wheel: str, in_checkout: str, what: str) -> Path:
    """A file or folder robolearn ships.

    A wheel carries it inside the package as ``robolearn/_data/<in_wheel>``; a checkout keeps
    it at ``<in_checkout>`` beside the package.
    """
    package = Path(__file__).resolve().parent
    for candidate in (package / "_data" / in_wheel, package.parent / in_checkout):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"robolearn's {what} is missing from {package.parent}; reinstall "
                            "robolearn")


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
