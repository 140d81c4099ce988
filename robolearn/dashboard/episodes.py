"""The Episodes page: stored episodes, newest first, filtered by family and outcome; open one.

The store is read afresh on every rerun, so episodes that a headless run adds appear when the
page reruns (any widget, or the Refresh button) without restarting the dashboard.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from robolearn.dashboard import session
from robolearn.dashboard.episode_view import episode_title, render_episode

if TYPE_CHECKING:
    from robolearn.records import EpisodeRecord
    from robolearn.store import Store

OUTCOMES = ("all", "succeeded", "failed")
SCAN_LIMIT = 1000  # newest episodes read per family filter; the outcome filter applies to these
SHOW_LIMIT = 200  # most episodes listed
ALL_FAMILIES = "all families"


def list_episodes(
    store: Store, family: str | None = None, outcome: str = "all", limit: int = SHOW_LIMIT
) -> list[EpisodeRecord]:
    """Episodes newest first, of one family (or all) and one outcome (or all), at most ``limit``."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
    episodes = store.episodes(family, limit=max(limit, SCAN_LIMIT), newest_first=True)
    if outcome != "all":
        episodes = [e for e in episodes if e.success == (outcome == "succeeded")]
    return episodes[:limit]


def episode_rows(episodes: list[EpisodeRecord]) -> list[dict[str, Any]]:
    """The table of episodes a person scans: one row each."""
    return [
        {
            "id": e.id,
            "created": e.created,
            "family": e.family,
            "seed": e.seed,
            "planner": e.planner,
            "success": e.success,
            "steps run": f"{sum(s.ok for s in e.steps)}/{len(e.plan)}",
            "frames": sum(s.frame_path is not None for s in e.steps),
            "instruction": e.instruction,
        }
        for e in episodes
    ]


def family_options(store: Store) -> list[str]:
    """Every family the store holds episodes of, or the task files declare."""
    from robolearn.tasks.spec import load_families

    return sorted({*load_families(), *(row.family for row in store.success_by_family())})


# ----- Streamlit view ----------------------------------------------------------------------
def render() -> None:
    """The page."""
    workspace = session.workspace()
    st.title("Episodes")
    with session.open_store() as store:
        left, middle, right = st.columns([2, 2, 1])
        family = left.selectbox(
            "Family", [ALL_FAMILIES, *family_options(store)], key="episodes_family"
        )
        outcome = middle.radio("Outcome", OUTCOMES, horizontal=True, key="episodes_outcome")
        right.button("Refresh", key="episodes_refresh", help="Read the store again")
        episodes = list_episodes(store, None if family == ALL_FAMILIES else family, outcome)
        if not episodes:
            st.info(
                "No episodes here yet. Run one on the Run page, or headless with "
                "`robolearn run --frames`; it appears on the next refresh."
            )
            return
        st.caption(
            f"{len(episodes)} episode{'s' if len(episodes) != 1 else ''}, newest first"
            + (f" (the newest {SHOW_LIMIT})" if len(episodes) == SHOW_LIMIT else "")
        )
        st.dataframe(episode_rows(episodes), hide_index=True)
        by_id = {e.id: e for e in episodes}
        ids = list(by_id)
        opened = session.open_episode()
        chosen = st.selectbox(
            "Open episode",
            ids,
            index=ids.index(opened) if opened in by_id else 0,
            format_func=lambda i: f"{episode_title(by_id[i])} — {by_id[i].instruction}",
            key="episodes_open",
        )
        session.set_open_episode(chosen)
        if st.button("Correct this episode", key="episodes_correct"):
            from robolearn.dashboard.navigation import page_file

            st.switch_page(page_file("correct"))
        render_episode(by_id[chosen], workspace, key=f"episodes_frame_{chosen}")


if __name__ == "__main__":
    render()
