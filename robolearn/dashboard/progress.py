"""The Progress page: success per family, over each family's own episodes, corrections.

Rates show as percentages (14%, not 0.1429). A family's rolling success is drawn over that
family's episodes counted from 1, so a family run rarely is not stretched across the ids of
everything else.
"""

from __future__ import annotations

from collections import defaultdict, deque
from typing import TYPE_CHECKING, Any

import streamlit as st

from robolearn.dashboard import session
from robolearn.dashboard.look import header

if TYPE_CHECKING:
    from robolearn.records import EpisodeRecord
    from robolearn.store import CorrectionRow, Store

WINDOW = 10  # episodes of a family averaged in its rolling success rate


def success_rows(store: Store) -> list[dict[str, Any]]:
    """Each family's episodes, successes and success rate (a fraction; shown as a percent)."""
    return [
        {
            "family": c.family,
            "episodes": c.episodes,
            "successes": c.successes,
            "success": c.success_rate,
        }
        for c in store.success_by_family()
    ]


def rolling_success(episodes: list[EpisodeRecord], window: int = WINDOW) -> list[dict[str, Any]]:
    """Each family's success rate over its last ``window`` episodes, after each of its episodes.

    ``episodes`` oldest first; one row an episode: the family, its episode number within the
    family (from 1), the episode's id and time, and the rate then.
    """
    if window < 1:
        raise ValueError(f"window must be at least 1, not {window}")
    recent: dict[str, deque[bool]] = defaultdict(lambda: deque(maxlen=window))
    counts: dict[str, int] = defaultdict(int)
    rows = []
    for episode in episodes:
        outcomes = recent[episode.family]
        outcomes.append(episode.success)
        counts[episode.family] += 1
        rows.append(
            {
                "family": episode.family,
                "episode of the family": counts[episode.family],
                "episode": episode.id,
                "created": episode.created,
                "success": sum(outcomes) / len(outcomes),
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


def corrections_over_time(
    corrections: list[CorrectionRow], since: str | None = None
) -> list[dict[str, Any]]:
    """The running count of corrections at each correction's time, oldest first.

    Starts from none at ``since`` (the first episode's time), so even one correction draws a
    step over the time the workspace has been used, not a lone point.
    """
    start = [] if since is None else [{"time": since, "corrections so far": 0}]
    return start + [
        {"time": c.created, "corrections so far": index}
        for index, c in enumerate(corrections, start=1)
    ]


# ----- Streamlit view ----------------------------------------------------------------------
def render() -> None:
    """The page."""
    header("Progress", "How often each task family succeeds, and how much teaching it took.")
    with session.open_store() as store:
        families = success_rows(store)
        if not families:
            st.info("No episodes yet: run some on the Run page or with `robolearn run`.")
            return
        episodes = store.episodes(limit=None)
        corrections = store.corrections()
    _render_totals(families, corrections)
    left, right = st.columns(2, gap="large")
    with left:
        _render_success(families)
    with right:
        _render_rolling(episodes)
    _render_corrections(episodes, corrections)
    st.caption("Training rounds, their success matrix and forgetting curves: the Learning page.")


def _render_totals(families: list[dict[str, Any]], corrections: list[CorrectionRow]) -> None:
    episodes = sum(f["episodes"] for f in families)
    successes = sum(f["successes"] for f in families)
    first, second, third = st.columns(3)
    first.metric("Episodes", f"{episodes:,}", border=True)
    second.metric("Succeeded", f"{successes / episodes:.0%}", border=True)
    third.metric("Corrections", f"{len(corrections):,}", border=True)


def _render_success(families: list[dict[str, Any]]) -> None:
    st.subheader("Success per family")
    st.dataframe(
        families,
        hide_index=True,
        column_config={
            "success": st.column_config.ProgressColumn(
                "success", min_value=0.0, max_value=1.0, format="percent"
            )
        },
    )


def _render_rolling(episodes: list[EpisodeRecord]) -> None:
    import altair as alt
    import pandas as pd

    st.subheader(f"Success over each family's episodes (last {WINDOW})")
    chart = (
        alt.Chart(pd.DataFrame(rolling_success(episodes)))
        .mark_line(point=alt.OverlayMarkDef(size=18))
        .encode(
            x=alt.X(
                "episode of the family:Q",
                axis=alt.Axis(format="d", tickMinStep=1),
                title="episode of the family",
            ),
            y=alt.Y("success:Q", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
            color="family:N",
            tooltip=[
                "family",
                "episode of the family",
                "episode",
                alt.Tooltip("success", format=".0%"),
            ],
        )
    )
    st.altair_chart(chart, width="stretch")


def _render_corrections(episodes: list[EpisodeRecord], corrections: list[CorrectionRow]) -> None:
    import pandas as pd

    st.subheader("Corrections")
    if not corrections:
        st.caption("No corrections yet.")
        return
    import altair as alt

    left, right = st.columns(2, gap="large")
    since = min((e.created for e in episodes if e.created), default=None)
    over_time = pd.DataFrame(corrections_over_time(corrections, since))
    over_time["time"] = pd.to_datetime(over_time["time"], format="ISO8601")
    chart = (
        alt.Chart(over_time)
        .mark_line(interpolate="step-after", point=True)
        .encode(
            x=alt.X("time:T", title="when", axis=alt.Axis(format="%b %d %H:%M")),
            y=alt.Y("corrections so far:Q", axis=alt.Axis(format="d", tickMinStep=1)),
            tooltip=[alt.Tooltip("time:T", format="%Y-%m-%d %H:%M"), "corrections so far"],
        )
    )
    left.altair_chart(chart, width="stretch")
    right.dataframe(correction_counts(episodes, corrections), hide_index=True)


if __name__ == "__main__":
    render()
