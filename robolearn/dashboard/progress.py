"""The Progress page: success per family, success over time, corrections per family."""

from __future__ import annotations

from collections import defaultdict, deque
from typing import TYPE_CHECKING, Any

import streamlit as st

from robolearn.dashboard import session

if TYPE_CHECKING:
    from robolearn.records import EpisodeRecord
    from robolearn.store import CorrectionRow, Store

WINDOW = 10  # episodes of a family averaged in its rolling success rate


def success_rows(store: Store) -> list[dict[str, Any]]:
    """Each family's episodes, successes and success rate (``store.success_by_family``)."""
    return [
        {
            "family": c.family,
            "episodes": c.episodes,
            "successes": c.successes,
            "success rate": round(c.success_rate, 4),
        }
        for c in store.success_by_family()
    ]


def rolling_success(episodes: list[EpisodeRecord], window: int = WINDOW) -> list[dict[str, Any]]:
    """Each family's success rate over its last ``window`` episodes, after every episode.

    ``episodes`` oldest first; one row an episode: its id, time, family and the rate then.
    """
    if window < 1:
        raise ValueError(f"window must be at least 1, not {window}")
    recent: dict[str, deque[bool]] = defaultdict(lambda: deque(maxlen=window))
    rows = []
    for episode in episodes:
        outcomes = recent[episode.family]
        outcomes.append(episode.success)
        rows.append(
            {
                "episode": episode.id,
                "created": episode.created,
                "family": episode.family,
                "success rate": round(sum(outcomes) / len(outcomes), 4),
            }
        )
    return rows


def correction_counts(
    episodes: list[EpisodeRecord], corrections: list[CorrectionRow]
) -> list[dict[str, Any]]:
    """Per family: corrections made, and how many of their re-runs succeeded."""
    family_of = {e.id: e.family for e in episodes}
    counts: dict[str, dict[str, Any]] = {}
    for correction in corrections:
        family = family_of.get(correction.episode_id, "?")
        row = counts.setdefault(
            family, {"family": family, "corrections": 0, "re-runs succeeded": 0}
        )
        row["corrections"] += 1
        row["re-runs succeeded"] += bool(correction.rerun_success)
    return [counts[family] for family in sorted(counts)]


# ----- Streamlit view ----------------------------------------------------------------------
def render() -> None:
    """The page."""
    st.title("Progress")
    with session.open_store() as store:
        families = success_rows(store)
        if not families:
            st.info("No episodes yet: run some on the Run page or with `robolearn run`.")
        else:
            episodes = store.episodes(limit=None)
            corrections = store.corrections()
            _render_success(families, episodes)
            _render_corrections(correction_counts(episodes, corrections))
    st.caption("Training rounds, their success matrix and forgetting curves: the Learning page.")


def _render_success(families: list[dict[str, Any]], episodes: list[EpisodeRecord]) -> None:
    import pandas as pd

    st.subheader("Success per family")
    frame = pd.DataFrame(families)
    st.bar_chart(frame, x="family", y="success rate")
    st.dataframe(frame, hide_index=True)
    st.subheader(f"Success over time (rolling, last {WINDOW} episodes of each family)")
    st.line_chart(
        pd.DataFrame(rolling_success(episodes)), x="episode", y="success rate", color="family"
    )


def _render_corrections(rows: list[dict[str, Any]]) -> None:
    import pandas as pd

    st.subheader("Corrections per family")
    if not rows:
        st.caption("No corrections yet.")
        return
    frame = pd.DataFrame(rows)
    st.bar_chart(frame, x="family", y="corrections")
    st.dataframe(frame, hide_index=True)


if __name__ == "__main__":
    render()
