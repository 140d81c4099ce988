"""What every page shares in one browser session: the workspace, the store, the open episode.

The store is opened for one script run and closed at its end: Streamlit runs each rerun in a
thread of its own, and a SQLite connection belongs to the thread that opened it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit as st

from robolearn.store import Store

_WORKSPACE = "workspace"
_OPEN_EPISODE = "open_episode"
_TO_CORRECT = "episode_to_correct"


def set_workspace(workspace: Path) -> None:
    """Remember the workspace for the pages of this script run (``app.py`` sets it each run)."""
    st.session_state[_WORKSPACE] = str(workspace)


def workspace() -> Path:
    """The workspace that ``app.py`` chose; a page run without it stops with an error."""
    chosen = st.session_state.get(_WORKSPACE)
    if chosen is None:
        st.error("No workspace: start the dashboard with `streamlit run app.py`.")
        st.stop()
    return Path(chosen)


@contextmanager
def open_store() -> Iterator[Store]:
    """The workspace's store for this script run, closed when the block ends."""
    store = Store.open(workspace())
    try:
        yield store
    finally:
        store.close()


def open_episode() -> int | None:
    """The episode a person last opened (on any page), if any."""
    return st.session_state.get(_OPEN_EPISODE)


def set_open_episode(episode_id: int) -> None:
    """Make ``episode_id`` the open episode, the one the Episodes page shows first."""
    st.session_state[_OPEN_EPISODE] = int(episode_id)


def choose_to_correct(episode_id: int) -> None:
    """Open ``episode_id`` on the Correct page (instead of the newest failure) from now on."""
    st.session_state[_TO_CORRECT] = int(episode_id)
    set_open_episode(episode_id)


def to_correct() -> int | None:
    """The episode a person chose to correct on another page, if any."""
    return st.session_state.get(_TO_CORRECT)
