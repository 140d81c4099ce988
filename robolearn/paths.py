"""Where robolearn finds its shipped data and the user's workspace (DESIGN.md, "Decisions")."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_WORKSPACE = Path("robolearn-workspace")
WORKSPACE_ENV = "ROBOLEARN_WORKSPACE"


def data_dir(name: str) -> Path:
    """The shipped data folder ``name`` (``envs`` or ``skills``).

    A checkout keeps them at the top level beside the package; a wheel carries them inside the
    package as ``robolearn/_data/<name>``.
    """
    package = Path(__file__).resolve().parent
    for candidate in (package / "_data" / name, package.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"robolearn's data folder {name!r} is missing from {package.parent}; reinstall robolearn"
    )


def app_path() -> Path:
    """The Streamlit dashboard's entry script (``app.py``), in a checkout or a wheel."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "_data" / "app.py", package.parent / "app.py"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"robolearn's app.py is missing from {package.parent}; reinstall "
                            "robolearn")


def workspace_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The workspace: ``explicit`` if given, else ``$ROBOLEARN_WORKSPACE``, else the default."""
    chosen = explicit or os.environ.get(WORKSPACE_ENV) or DEFAULT_WORKSPACE
    return Path(chosen).expanduser()
