"""Showing one episode: the ask, the verdict, the plan's origin, the steps beside the frames.

The Run, Episodes and Correct pages all show episodes (and re-runs) this way, so a person
reads every one alike and sees what went wrong without reading logs. Clicking a step of the
plan shows the frame after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import streamlit as st

from robolearn.dashboard import frames as frame_view
from robolearn.dashboard.frames import stored_frames
from robolearn.dashboard.look import mark, percent
from robolearn.dashboard.plain import escaped

if TYPE_CHECKING:
    from pathlib import Path

    from robolearn.records import EpisodeRecord, StepRecord

_FAILED_ROW = "background-color: rgba(255, 75, 75, 0.16)"


def outcome(step: StepRecord | None) -> str:
    """One word for how a step went: ``ok``, ``failed (reason)`` or ``not run``."""
    if step is None:
        return "not run"
    return "ok" if step.ok else f"failed ({step.reason or 'unknown'})"


def step_rows(plan: Sequence[str], steps: Sequence[StepRecord]) -> list[dict[str, Any]]:
    """One row a plan call: its number, call, outcome, message and control steps.

    A plan stops at its first failed step, so the calls after it show as ``not run``.
    """
    rows = []
    for index, call in enumerate(plan):
        step = steps[index] if index < len(steps) else None
        rows.append(
            {
                "step": index + 1,
                "call": call,
                "outcome": outcome(step),
                "message": step.message if step else "",
                "ticks": step.ticks if step else 0,
            }
        )
    return rows


def episode_title(episode: EpisodeRecord) -> str:
    """A one-line label: ``✗ #12 stack seed 4 (lm)``."""
    where = f"{episode.family} seed {episode.seed}"
    return f"{mark(episode.success)} #{episode.id} {where} ({episode.planner})"


def verdict(episode: EpisodeRecord) -> str:
    """How the episode ended, in a sentence: where it failed and which goal is unmet."""
    if episode.success:
        return "The task succeeded."
    if episode.error:
        return f"The plan could not run: {episode.error}"
    failed = next((i for i, s in enumerate(episode.steps) if not s.ok), None)
    where = (
        f" at step {failed + 1}, {episode.steps[failed].call}: "
        f"{episode.steps[failed].message or episode.steps[failed].reason}"
        if failed is not None
        else (": every step ran" if episode.plan else ": the plan was empty")
    )
    unmet = f" Unmet goal: {', '.join(episode.unmet)}." if episode.unmet else ""
    return f"The task failed{where}.{unmet}"


def origin_line(episode: EpisodeRecord) -> str:
    """Where the plan came from, in full: the correction, or the model, adapter and route."""
    origin = episode.origin
    if origin is None:
        return f"from the {episode.planner} planner (its origin was not recorded)"
    if origin.source == "memory":
        return f"from correction #{origin.correction_id} by {origin.corrected_by or '?'}"
    if origin.source == "scripted":
        return f"from the {episode.planner} planner's script"
    parts = [f"from model {origin.model}"]
    parts.append(f"adapter {origin.adapter}" if origin.adapter else "no adapter")
    if origin.route is not None:
        parts.append(f"router chose {origin.route}")
    return ", ".join(parts)


# ----- Streamlit views ---------------------------------------------------------------------
def render_episode(episode: EpisodeRecord, workspace: Path, key: str) -> None:
    """Show an episode: the ask, the verdict, the plan's origin, the steps beside the frames."""
    colour = "green" if episode.success else "red"
    title = escaped(episode_title(episode)[2:])
    st.subheader(f":{colour}[{mark(episode.success)}] {title}")
    st.text(episode.instruction)
    render_summary(episode)
    left, right = st.columns([2, 3], gap="large")
    with right:  # first: a clicked step chooses the frame shown on the left
        render_steps(episode.plan, episode.steps, key=key)
    with left:
        frame_view.render_frames(stored_frames(episode, workspace), key=key)


def render_summary(episode: EpisodeRecord) -> None:
    """The verdict as a coloured line, and the plan's origin and doubt under it."""
    line = escaped(verdict(episode))
    (st.success if episode.success else st.error)(line, icon=":material/flag:")
    doubt = "" if episode.doubt is None else f" · doubt {percent(episode.doubt)}"
    st.caption(
        escaped(f"Plan {origin_line(episode)}{doubt}")
        + f" · stored {escaped(episode.created or '?')} · run {episode.run_id}"
        + f" · {episode.control_steps} control steps"
    )
    if episode.explanation and episode.origin is not None:
        st.caption(escaped(f"The planner said: {episode.explanation}"))


def render_steps(plan: Sequence[str], steps: Sequence[StepRecord], key: str) -> None:
    """The plan as a table, the failed step's row red; clicking a step shows its frame."""
    if not plan:
        st.info("The plan is empty.")
        return
    import pandas as pd

    table = pd.DataFrame(step_rows(plan, steps))
    styled = table.style.apply(
        lambda row: [_FAILED_ROW if row["outcome"].startswith("failed") else ""] * len(row),
        axis=1,
    )
    picked = f"{key}_steps"
    event = st.dataframe(
        styled,
        hide_index=True,
        key=picked,
        on_select="rerun",
        selection_mode="single-row",
        column_config={
            "step": st.column_config.NumberColumn("step", width=50),
            "call": st.column_config.TextColumn("call", width="large"),
            "outcome": st.column_config.TextColumn("outcome", width="small"),
            "message": st.column_config.TextColumn("message", width="large"),
            "ticks": st.column_config.NumberColumn("ticks", width=60),
        },
    )
    st.caption("Click a step to see the frame after it.")
    rows = list(event.selection.rows)
    applied = f"{picked}_applied"
    if rows != st.session_state.get(applied, []):
        st.session_state[applied] = rows
        if rows and rows[0] < len(steps):  # a step that never ran has no frame
            frame_view.choose(key, rows[0] + 1)
