"""The dashboard's pages and navigation; ``app.py`` calls :func:`main` on every script run.

Each page is a module of this package that Streamlit runs as a script (``st.Page`` with the
module's file), so ``AppTest.switch_page`` and ``st.switch_page`` reach every page by path, and
each page has a URL of its own (``/episodes``) that opens it directly; ``/`` opens Episodes.
The pages sit in a bar along the top, in the order a day's work goes: run, look, review,
correct, then learn.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from robolearn.dashboard import session

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class PageSpec:
    """One page: its module (file) name, title, icon and URL path."""

    module: str
    title: str
    icon: str
    url_path: str


PAGES = (
    PageSpec("run", "Run", ":material/play_arrow:", "run"),
    PageSpec("episodes", "Episodes", ":material/movie:", "episodes"),
    PageSpec("review", "Review", ":material/priority_high:", "review"),
    PageSpec("correct", "Correct", ":material/edit:", "correct"),
    PageSpec("skills", "Skills", ":material/extension:", "skills"),
    PageSpec("progress", "Progress", ":material/monitoring:", "progress"),
    PageSpec("learning", "Learning", ":material/school:", "learning"),
)
DEFAULT_PAGE = "episodes"
"""The page the bare address (``/``) opens."""


def page_file(module: str) -> Path:
    """The file Streamlit runs for the page ``module``."""
    if module not in {page.module for page in PAGES}:
        raise ValueError(f"unknown page {module!r}; known: {', '.join(p.module for p in PAGES)}")
    return HERE / f"{module}.py"


def main(workspace: Path) -> None:
    """Show the dashboard of ``workspace``: the navigation, then the chosen page."""
    st.set_page_config(
        page_title="robolearn",
        page_icon=":material/precision_manufacturing:",
        layout="wide",
        menu_items={"About": "robolearn: teach a robot's planner by correcting its episodes."},
    )
    session.set_workspace(workspace)
    pages = [
        st.Page(page_file(page.module), title=page.title, icon=page.icon, url_path=page.url_path)
        for page in PAGES
    ]
    # Streamlit serves its default page at "/" only, so a default Episodes page would leave
    # /episodes "not found": the default is a hidden page that opens Episodes instead.
    home = st.Page(_home, title="robolearn", url_path="home", default=True, visibility="hidden")
    st.navigation([home, *pages], position="top").run()


def _home() -> None:
    """The bare address: open the default page (at its own URL)."""
    st.switch_page(page_file(DEFAULT_PAGE))
