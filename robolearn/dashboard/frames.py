"""An episode's camera frames: the scene before the first step, then after every step.

One frame is shown large; a filmstrip of all of them sits under it; a slider (or a click on a
step of the plan) picks one; Play shows them in turn as an animation the browser plays, so no
script reruns while it plays.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from robolearn.dashboard.plain import escaped
from robolearn.paths import OutsideWorkspaceError, in_workspace

if TYPE_CHECKING:
    import numpy as np

    from robolearn.records import EpisodeRecord

FRAME_WIDTH = 448
"""Pixels the chosen frame is shown at (the camera's images are 256 x 256)."""
THUMB_WIDTH = 96
"""Pixels a filmstrip frame is shown at."""
PLAY_MS = 700
"""How long each frame stays when playing (the last one stays three times as long)."""


@dataclass(frozen=True)
class Frame:
    """The camera image before the first step (``step`` 0) or after one, or why there is none."""

    step: int
    label: str
    """``start`` or ``3 place(red_block, blue_block)``."""
    image: Path | np.ndarray | None
    """A PNG file, an RGB array (a re-run's), or None when the stored file cannot be shown."""
    failed: bool = False
    problem: str = ""
    """Why the stored file is not shown."""

    @property
    def caption(self) -> str:
        """What the frame shows, and why it is not shown when it is not."""
        where = "before the first step" if self.step == 0 else f"after step {self.label}"
        failed = " (failed)" if self.failed else ""
        return where + failed + (f": {self.problem}" if self.problem else "")


def stored_frames(episode: EpisodeRecord, workspace: Path) -> list[Frame]:
    """The frames of a stored episode (files relative to the workspace), the start first.

    A frame whose stored path leads outside the workspace, or is missing, is not read: the
    frame says why.
    """
    paths = [(0, "start", episode.start_frame_path, False)]
    paths += [
        (i + 1, f"{i + 1} {step.call}", step.frame_path, not step.ok)
        for i, step in enumerate(episode.steps)
    ]
    frames = []
    for step, label, stored, failed in paths:
        if stored is None:
            continue
        try:
            path: Path | None = in_workspace(workspace, stored)
        except OutsideWorkspaceError as error:
            frames.append(Frame(step, label, None, failed, f"not shown: {error}"))
            continue
        if not path.is_file():
            frames.append(Frame(step, label, None, failed, f"the file {stored} is missing"))
            continue
        frames.append(Frame(step, label, path, failed))
    return frames


def rerun_frames(steps: Sequence[Any], start: np.ndarray | None = None) -> list[Frame]:
    """The frames of a re-run (``StepRecord`` with images in memory), the start first if given."""
    frames = [] if start is None else [Frame(0, "start", start)]
    frames += [
        Frame(i + 1, f"{i + 1} {step.call}", step.frame, not step.ok)
        for i, step in enumerate(steps)
        if step.frame is not None
    ]
    return frames


def animation(frames: Sequence[Frame]) -> bytes | None:
    """The frames as an animated GIF that loops, or None when fewer than two can be shown."""
    from PIL import Image

    images = []
    for frame in frames:
        if frame.image is None:
            continue
        if isinstance(frame.image, Path):
            images.append(Image.open(frame.image).convert("RGB"))
        else:
            images.append(Image.fromarray(frame.image))
    if len(images) < 2:
        return None
    out = io.BytesIO()
    durations = [PLAY_MS] * (len(images) - 1) + [3 * PLAY_MS]
    images[0].save(
        out, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0
    )
    return out.getvalue()


def chosen_key(key: str) -> str:
    """The session key of the frame chosen in the viewer ``key``."""
    return f"{key}_chosen"


def choose(key: str, step: int) -> None:
    """Show the frame of ``step`` (0: the start) in the viewer ``key`` on the next run."""
    st.session_state[chosen_key(key)] = step


# ----- Streamlit view ----------------------------------------------------------------------
def render_frames(frames: Sequence[Frame], key: str) -> None:
    """The chosen frame large, a slider and Play, and the filmstrip; says so when none."""
    if not frames:
        st.info(
            "No camera frames for this episode (it ran without frames: "
            "`robolearn run --frames` or the Run page records them)."
        )
        return
    steps = [frame.step for frame in frames]
    by_step = {frame.step: frame for frame in frames}
    chosen = chosen_key(key)
    if st.session_state.get(chosen) not in by_step:
        failed = next((f.step for f in frames if f.failed), None)
        st.session_state[chosen] = steps[-1] if failed is None else failed
    stage = st.empty()
    left, right = st.columns([5, 1], vertical_alignment="bottom")
    if len(frames) > 1:
        left.select_slider(
            "Frame",
            options=steps,
            format_func=lambda step: by_step[step].label,
            key=chosen,
        )
    play = right.button(
        "Play", icon=":material/play_arrow:", key=f"{key}_play", disabled=len(frames) < 2
    )
    with stage.container():
        movie = animation(frames) if play else None
        if movie is not None:
            st.image(movie, width=FRAME_WIDTH, caption="playing every frame in turn")
        else:
            _show(by_step[st.session_state[chosen]])
    _filmstrip(frames)


def _show(frame: Frame) -> None:
    if frame.image is None:
        st.warning(escaped(frame.caption))
        return
    image = str(frame.image) if isinstance(frame.image, Path) else frame.image
    st.image(image, width=FRAME_WIDTH, caption=escaped(frame.caption))  # Markdown, too


def _filmstrip(frames: Sequence[Frame]) -> None:
    shown = [f for f in frames if f.image is not None]
    if len(shown) < 2:
        return
    st.image(
        [str(f.image) if isinstance(f.image, Path) else f.image for f in shown],
        width=THUMB_WIDTH,
        caption=[("✗ " if f.failed else "") + (str(f.step) if f.step else "start") for f in shown],
    )
