"""How every page looks: one header, outcome marks, percentages, the table columns they share.

The pages use these instead of each choosing its own words and formats, so a success reads ✓
and 14% everywhere, and every table of episodes has the same columns in the same order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from robolearn.dashboard.plain import escaped

if TYPE_CHECKING:
    from robolearn.records import EpisodeRecord

SUCCEEDED, FAILED = "✓", "✗"


def header(title: str, caption: str | None = None) -> None:
    """The page's title and, under it, one line that says what the page is for."""
    st.title(title)
    if caption:
        st.caption(caption)


def mark(success: bool) -> str:
    """✓ for a success, ✗ for a failure."""
    return SUCCEEDED if success else FAILED


def percent(fraction: float | None) -> str:
    """``0.1429`` as ``14%``; None as a dash."""
    return "-" if fraction is None else f"{fraction:.0%}"


def failed_at(episode: EpisodeRecord) -> str:
    """Where and why an episode failed, in a table cell; empty for a success."""
    if episode.success:
        return ""
    if episode.error:
        return f"plan refused: {episode.error}"
    failed = next((i for i, step in enumerate(episode.steps) if not step.ok), None)
    if failed is not None:
        step = episode.steps[failed]
        why = step.message or step.reason or "failed"
        return f"step {failed + 1} {step.call}: {why}"
    if not episode.plan:
        return "empty plan"
    unmet = ", ".join(episode.unmet or []) or "the goal"
    return f"every step ran; unmet: {unmet}"


def plan_from(episode: EpisodeRecord) -> str:
    """Where the episode's plan came from, in a few words (``correction #3 by ada``)."""
    if episode.origin is None:
        return episode.planner
    return episode.origin.summary()


def episode_rows(episodes: list[EpisodeRecord]) -> list[dict[str, Any]]:
    """One row an episode, the columns every table of episodes shows."""
    return [
        {
            "": mark(e.success),
            "id": e.id,
            "family": e.family,
            "seed": e.seed,
            "instruction": e.instruction,
            "failed at / why": failed_at(e),
            "plan from": plan_from(e),
            "doubt": None if e.doubt is None else round(100 * e.doubt),
            "steps": f"{sum(s.ok for s in e.steps)}/{len(e.plan)}",
            "created": (e.created or "")[:19].replace("T", " "),
        }
        for e in episodes
    ]


def episode_table(episodes: list[EpisodeRecord]) -> Any:
    """:func:`episode_rows` as a table whose ✓ is green and ✗ red."""
    import pandas as pd

    colours = {
        SUCCEEDED: "color: #1f883d; font-weight: 700",
        FAILED: "color: #cf222e; font-weight: 700",
    }
    table = pd.DataFrame(episode_rows(episodes), columns=list(episode_columns()))
    return table.style.map(lambda value: colours.get(value, ""), subset=[""])


def episode_columns() -> dict[str, Any]:
    """The column settings of :func:`episode_rows`' table: widths, formats, help.

    The widths add up to the page's width up to the doubt (1,600-px window), so provenance
    and doubt are seen without scrolling sideways.
    """
    column = st.column_config
    return {
        "": column.TextColumn("", width=32, help="✓ succeeded, ✗ failed"),
        "id": column.NumberColumn("id", width=60, format="%d"),
        "family": column.TextColumn("family", width=130),
        "seed": column.NumberColumn("seed", width=60, format="%d"),
        "instruction": column.TextColumn("instruction", width=330),
        "failed at / why": column.TextColumn("failed at / why", width=330),
        "plan from": column.TextColumn(
            "plan from", width=170, help="the correction memory, a model, or a script"
        ),
        "doubt": column.ProgressColumn(
            "doubt",
            width=90,
            min_value=0,
            max_value=100,
            format="%d%%",  # 58%, not the percent preset's 58.21%
            help="how unsure the planner was of its plan (blank: it did not say)",
        ),
        "steps": column.TextColumn("steps ok", width=70),
        "created": column.TextColumn("stored (UTC)", width="medium"),
    }


def note(text: object) -> None:
    """A caption of text that may come from data, shown as written."""
    st.caption(escaped(text))
