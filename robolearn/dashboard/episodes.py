"""The Episodes page: every stored episode, searched and paged; click a row to open it.

The store is read afresh on every rerun, so episodes that a headless run adds appear when the
page reruns (any widget, or Refresh) without restarting the dashboard. The episodes can also
leave as a Hugging Face dataset (``robolearn.export``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from robolearn.dashboard import session
from robolearn.dashboard.episode_view import render_episode
from robolearn.dashboard.look import episode_columns, episode_table, header
from robolearn.store.episodes import OUTCOMES, EpisodeQuery

if TYPE_CHECKING:
    from robolearn.records import EpisodeRecord
    from robolearn.store import Store

PAGE_SIZE = 50  # episodes a page of the table shows
ALL_FAMILIES = "all families"
_PAGE = "episodes_page"
_TABLE = "episodes_table"


def list_episodes(
    store: Store,
    family: str | None = None,
    outcome: str = "all",
    text: str = "",
    page: int = 0,
) -> tuple[list[EpisodeRecord], int]:
    """Page ``page`` (from 0) of the episodes found, newest first, and how many were found."""
    return store.search_episodes(
        EpisodeQuery(family, outcome, text), offset=page * PAGE_SIZE, limit=PAGE_SIZE
    )


def family_options(store: Store) -> list[str]:
    """Every family the store holds episodes of, or the task files declare."""
    from robolearn.tasks.spec import load_families

    return sorted({*load_families(), *(row.family for row in store.success_by_family())})


def pages(found: int) -> int:
    """How many pages ``found`` episodes fill (at least one)."""
    return max(1, -(-found // PAGE_SIZE))


# ----- Streamlit view ----------------------------------------------------------------------
def render() -> None:
    """The page."""
    workspace = session.workspace()
    header("Episodes", "Every stored episode, newest first. Click a row to open it.")
    with session.open_store() as store:
        query = _render_filters(store)
        shown_for, page = st.session_state.get(_PAGE, (query, 0))
        if shown_for != query:  # another search starts at its first page
            page = 0
        st.session_state[_PAGE] = (query, page)
        episodes, found = list_episodes(store, query.family, query.outcome, query.text, page)
        if not episodes:
            st.info(
                "No episodes here yet. Run one on the Run page, or headless with "
                "`robolearn run --frames`; it appears on the next refresh."
            )
            _render_export(workspace)
            return
        chosen = _render_table(episodes, found, page)
        if st.button("Correct this episode", key="episodes_correct", icon=":material/edit:"):
            from robolearn.dashboard.navigation import page_file

            session.choose_to_correct(chosen.id)
            st.switch_page(page_file("correct"))
        render_episode(chosen, workspace, key=f"episodes_frame_{chosen.id}")
    _render_export(workspace)


def _render_filters(store: Store) -> EpisodeQuery:
    family_col, outcome_col, text_col, refresh_col = st.columns(
        [2, 2, 3, 1], vertical_alignment="bottom"
    )
    family = family_col.selectbox(
        "Family", [ALL_FAMILIES, *family_options(store)], key="episodes_family"
    )
    outcome = outcome_col.segmented_control(
        "Outcome", OUTCOMES, default="all", required=True, key="episodes_outcome"
    )
    text = text_col.text_input(
        "Search", key="episodes_search", placeholder="words of the instruction or plan"
    )
    refresh_col.button("Refresh", key="episodes_refresh", help="Read the store again")
    return EpisodeQuery(None if family == ALL_FAMILIES else family, outcome or "all", text)


def _render_table(episodes: list[EpisodeRecord], found: int, page: int) -> EpisodeRecord:
    """The page of episodes as a table; the clicked (else the open, else newest) one."""
    by_id = {e.id: e for e in episodes}
    event = st.dataframe(
        episode_table(episodes),
        hide_index=True,
        key=f"{_TABLE}_{page}",  # a page of its own selection
        on_select="rerun",
        selection_mode="single-row",
        column_config=episode_columns(),
        height=min(38 + 35 * len(episodes), 400),
    )
    rows = event.selection.rows
    if rows:
        session.set_open_episode(episodes[rows[0]].id)
    first = page * PAGE_SIZE
    left, middle, right = st.columns([4, 1, 1], vertical_alignment="center")
    left.caption(f"Episodes {first + 1}-{first + len(episodes)} of {found}")
    middle.button(
        "Newer",
        key="episodes_newer",
        disabled=page == 0,
        on_click=_turn,
        args=(-1,),
        icon=":material/chevron_left:",
        width="stretch",
    )
    right.button(
        "Older",
        key="episodes_older",
        disabled=page + 1 >= pages(found),
        on_click=_turn,
        args=(1,),
        icon=":material/chevron_right:",
        width="stretch",
    )
    opened = session.open_episode()
    return by_id.get(opened, episodes[0]) if opened is not None else episodes[0]


def _turn(by: int) -> None:
    """Show the next (1) or previous (-1) page of the same search."""
    query, page = st.session_state[_PAGE]
    st.session_state[_PAGE] = (query, max(0, page + by))


def _render_export(workspace: Path) -> None:
    """Every episode, correction and frame as a Hugging Face dataset, zipped, to download."""
    from robolearn.dashboard.export import render_export

    render_export(workspace)


if __name__ == "__main__":
    render()
