"""Showing one episode: its instruction, each plan step's outcome, and its camera frames.

The Run, Episodes and Correct pages all show episodes (and re-runs) this way, so a person
reads every one alike and sees what went wrong without reading logs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from robolearn.dashboard.plain import escaped
from robolearn.paths import OutsideWorkspaceError, in_workspace

if TYPE_CHECKING:
    import numpy as np

    from robolearn.records import EpisodeRecord, StepRecord

FRAME_WIDTH = 384
"""Pixels a frame is shown at (the camera's images are 128 x 128)."""


@dataclass(frozen=True)
class Frame:
    """The camera image after one step, or why there is none to show."""

    step: int
    """The step it follows, counted from 1."""
    caption: str
    image: Path | np.ndarray | None
    """A PNG file, an RGB array (a re-run's), or None when the stored file is missing."""


def outcome(step: StepRecord | None) -> str:
    """One word for how a step went: ``ok``, ``failed (reason)`` or ``not run``."""
    if step is None:
        return "not run"
    return "ok" if step.ok else f"failed ({step.reason or 'unknown'})"


def step_rows(plan: Sequence[str], steps: Sequence[StepRecord]) -> list[dict[str, Any]]:
    """One row a plan call: its number, call, outcome, reason, message and control steps.

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
                "reason": (step.reason or "") if step else "",
                "message": step.message if step else "",
                "ticks": step.ticks if step else 0,
            }
        )
    return rows


def stored_frames(episode: EpisodeRecord, workspace: Path) -> list[Frame]:
    """The frames of a stored episode's steps (files relative to the workspace).

    A frame whose stored path leads outside the workspace is not read: its caption says why.
    """
    frames = []
    for index, step in enumerate(episode.steps):
        if step.frame_path is None:
            continue
        caption = f"after step {index + 1}: {step.call} — {outcome(step)}"
        try:
            path: Path | None = in_workspace(workspace, step.frame_path)
        except OutsideWorkspaceError as error:
            path, caption = None, f"{caption} (not shown: {error})"
        else:
            if not path.is_file():
                path, caption = None, f"{caption} (the file {step.frame_path} is missing)"
        frames.append(Frame(index + 1, caption, path))
    return frames


def rerun_frames(steps: Sequence[Any]) -> list[Frame]:
    """The frames of a re-run's steps (``StepRecord`` with images in memory)."""
    return [
        Frame(index + 1, f"after step {index + 1}: {step.call} — {outcome(step)}", step.frame)
        for index, step in enumerate(steps)
        if step.frame is not None
    ]


def episode_title(episode: EpisodeRecord) -> str:
    """A one-line label: ``#12 stack seed 4 (oracle): succeeded``."""
    result = "succeeded" if episode.success else "failed"
    return f"#{episode.id} {episode.family} seed {episode.seed} ({episode.planner}): {result}"


# ----- Streamlit views ---------------------------------------------------------------------
def render_episode(episode: EpisodeRecord, workspace: Path, key: str) -> None:
    """Show an episode: instruction, outcome, plan step by step, and its frames."""
    st.subheader(escaped(episode_title(episode)))
    st.markdown("**Instruction:**")
    st.text(episode.instruction)
    st.caption(
        f"stored {episode.created} · run {episode.run_id} · {episode.control_steps} control steps"
    )
    if episode.success:
        st.success("The task succeeded.")
    elif episode.error:
        st.error(escaped(f"The plan could not run: {episode.error}"))
    else:
        failed = next((i for i, s in enumerate(episode.steps) if not s.ok), None)
        where = (
            f" at step {failed + 1} ({episode.steps[failed].call}: "
            f"{episode.steps[failed].message or episode.steps[failed].reason})"
            if failed is not None
            else "; every step ran, but the goal does not hold"
        )
        st.warning(escaped(f"The task failed{where}."))
    render_steps(episode.plan, episode.steps)
    render_frames(stored_frames(episode, workspace), key=key)


def render_steps(plan: Sequence[str], steps: Sequence[StepRecord]) -> None:
    """The plan as a table, one row a step with its outcome."""
    if not plan:
        st.info("The plan is empty.")
        return
    st.dataframe(step_rows(plan, steps), hide_index=True)


def render_frames(frames: Sequence[Frame], key: str) -> None:
    """The frames with a slider to step through them; says so when there are none."""
    if not frames:
        st.info(
            "No camera frames for this episode (it ran without frames: "
            "`robolearn run --frames` or the Run page records them)."
        )
        return
    index = 0
    if len(frames) > 1:
        # The count is in the key: a re-run with fewer frames gets a fresh slider.
        index = (
            st.slider("Frame after step", 1, len(frames), len(frames), key=f"{key}_{len(frames)}")
            - 1
        )
    frame = frames[index]
    if frame.image is None:
        st.warning(escaped(frame.caption))
    else:
        st.image(
            frame.image if not isinstance(frame.image, Path) else str(frame.image),
            caption=frame.caption,
            width=FRAME_WIDTH,
        )
