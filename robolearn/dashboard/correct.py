"""The Correct page, built around a failure: what went wrong beside the editor that fixes it.

It opens the newest failed episode (or the one a person chose to correct on another page):
the verdict with the failing step and the unmet goal, the frames and steps on the left; on the
right, the plan to edit, Save (the primary action: validate, re-run in simulation from the
episode's initial state, store), the change against the robot's plan, and the scene's objects
and the skills' signatures to write it with.

Everything goes through the correction API (``robolearn.correction``), the same one the
simulated corrector and the tests use: invalid input, or a repeat of the situation's latest
correction, shows one line and writes nothing; a saved correction is appended, never changed.
Composite skills are edited on the Skills page.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import streamlit as st

from robolearn.dashboard import correcting, session
from robolearn.dashboard import frames as frame_view
from robolearn.dashboard.episode_view import episode_title, render_steps, render_summary
from robolearn.dashboard.look import header
from robolearn.dashboard.plain import escaped
from robolearn.errors import UserError
from robolearn.store import MissingRowError

if TYPE_CHECKING:
    from robolearn.correction import Correction, Rerun
    from robolearn.records import EpisodeRecord
    from robolearn.store import CorrectionRow, Store

PICK_LIMIT = 200  # newest episodes offered to pick from (the chosen one is always offered)
_RESULT = "correct_result"


@dataclass(frozen=True)
class Result:
    """The last corrected plan tried or saved, and what it did in simulation."""

    episode_id: int
    correction: Correction
    rerun: Rerun
    saved: int | None
    """The stored correction's id; None when it was only tried."""


def plan_text(episode: EpisodeRecord) -> str:
    """The episode's plan for editing, one call a line."""
    return "\n".join(episode.plan)


def propose_and_rerun(
    store: Store, episode_id: int, plan: str, who: str, why: str
) -> tuple[Correction, Rerun]:
    """Validate a corrected plan and re-run it with frames; nothing is stored.

    Raises CorrectionError (a UserError) with what to change when the input cannot be used.
    """
    from robolearn.correction import CorrectionAPI
    from robolearn.skills.library import SkillLibrary

    api = CorrectionAPI(store, SkillLibrary.open(store.workspace))
    try:
        correction = api.propose(episode_id, plan, who, why)
        return correction, api.rerun(correction, frames=True)
    finally:
        api.close()


def save(store: Store, correction: Correction, rerun: Rerun) -> int:
    """Append a re-run correction to the store; its id."""
    from robolearn.correction import CorrectionAPI
    from robolearn.skills.library import SkillLibrary

    api = CorrectionAPI(store, SkillLibrary.open(store.workspace))
    try:
        return api.save(correction, rerun)
    finally:
        api.close()


def correction_rows(corrections: list[CorrectionRow]) -> list[dict[str, Any]]:
    """The episode's corrections, oldest first: who, when, why, the change and the outcome."""
    outcomes = {True: "succeeded", False: "failed", None: "not re-run"}
    return [
        {
            "id": c.id,
            "created": c.created,
            "who": c.who,
            "why": c.why,
            "from step": c.step_index + 1,
            "re-run": outcomes[c.rerun_success],
            "corrected plan": "; ".join(c.corrected),
        }
        for c in corrections
    ]


def pickable(store: Store, chosen: int | None, failed_only: bool = True) -> list[EpisodeRecord]:
    """Episodes to choose from, newest first: failed ones only, unless asked.

    The one a person chose on another page is offered first, even when older or a success.
    """
    episodes = store.episodes(
        limit=PICK_LIMIT, newest_first=True, success=False if failed_only else None
    )
    if chosen is not None and all(e.id != chosen for e in episodes):
        with contextlib.suppress(MissingRowError):  # another workspace's id: forget it
            episodes.insert(0, store.episode(chosen))
    return episodes


# ----- Streamlit view ----------------------------------------------------------------------
def render() -> None:
    """The page."""
    header("Correct", "Fix the plan of a failed episode; the robot uses the fix the next time.")
    with session.open_store() as store:
        episode = _pick(store)
        if episode is None:
            return
        render_summary(episode)
        left, right = st.columns([1, 1], gap="large")
        with left:
            _render_failure(episode)
        with right:
            _render_editor(store, episode)
        _render_result(episode)
        st.subheader("Corrections of this episode")
        rows = correction_rows(store.corrections(episode_id=episode.id))
        if rows:
            st.dataframe(rows, hide_index=True)
        else:
            st.caption("None yet.")


def _pick(store: Store) -> EpisodeRecord | None:
    """The episode to correct: the one chosen on another page, else the newest failure."""
    chosen = session.to_correct()
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    every = right.toggle("Successes too", key="correct_every", help="Offer every episode")
    episodes = pickable(store, chosen, failed_only=not every)
    if not episodes:
        st.info(
            "No failed episodes to correct. Run one on the Run page, or headless with "
            "`robolearn run --frames`; turn on 'Successes too' to change a plan that worked."
        )
        return None
    by_id = {e.id: e for e in episodes}
    ids = list(by_id)
    episode_id = left.selectbox(
        "Episode",
        ids,
        index=ids.index(chosen) if chosen in by_id else 0,
        format_func=lambda i: episode_title(by_id[i]),
        key="correct_episode",
    )
    session.set_open_episode(episode_id)
    st.text(by_id[episode_id].instruction)
    return by_id[episode_id]


def _render_failure(episode: EpisodeRecord) -> None:
    """The frames (the failing one first), the steps and the goals."""
    key = f"correct_frame_{episode.id}"
    frames = st.container()  # filled after the steps: a clicked step chooses the frame
    render_steps(episode.plan, episode.steps, key=key)
    with frames:
        frame_view.render_frames(frame_view.stored_frames(episode, session.workspace()), key=key)
    try:
        goals = correcting.goal_rows(episode)
    except UserError as error:
        st.warning(escaped(error))
        return
    marks = {True: "✓ met", False: "✗ unmet", None: "not recorded"}
    st.dataframe(
        [{"goal": g["goal"], "at the end": marks[g["met"]]} for g in goals],
        hide_index=True,
        column_config={"goal": st.column_config.TextColumn("goal (success predicate)")},
    )


def _render_editor(store: Store, episode: EpisodeRecord) -> None:
    """The plan to edit, Save and Try, the change, and what to write the plan with."""
    plan = st.text_area(
        "Corrected plan, one call a line",
        value=plan_text(episode),
        height=200,
        key=f"correct_plan_{episode.id}",
        help="Change a step's skill or arguments, insert or delete lines.",
    )
    left, right = st.columns(2)
    who = left.text_input("Who", key="correct_who", placeholder="your name")
    why = right.text_input("Why", key=f"correct_why_{episode.id}", placeholder="what was wrong")
    save_col, try_col = st.columns(2)
    saving = save_col.button(
        "Save correction",
        type="primary",
        key="correct_save",
        width="stretch",
        help="Re-run in simulation from the episode's start, then store it",
    )
    trying = try_col.button(
        "Try in simulation",
        key="correct_rerun",
        width="stretch",
        help="Re-run in simulation from the episode's start; nothing is stored",
    )
    if saving or trying:
        _attempt(store, episode, plan, who, why, saving)
    corrected = correcting.plan_lines(plan)
    st.caption(escaped(correcting.change_summary(episode.plan, corrected)))
    st.code(correcting.plan_diff(episode.plan, corrected) or " ", language="diff")
    _render_reference(episode)


def _attempt(
    store: Store, episode: EpisodeRecord, plan: str, who: str, why: str, keep: bool
) -> None:
    """Re-run the corrected plan and, if ``keep``, store it; an error is one line, nothing kept."""
    st.session_state.pop(_RESULT, None)
    try:
        with st.spinner("Re-running from the episode's initial state…"):
            correction, rerun = propose_and_rerun(store, episode.id, plan, who, why)
            saved = save(store, correction, rerun) if keep else None
    except UserError as error:
        st.error(escaped(error))
        return
    st.session_state[_RESULT] = Result(episode.id, correction, rerun, saved)


def _render_reference(episode: EpisodeRecord) -> None:
    """The scene's objects and the skills' signatures, to write the plan with."""
    from robolearn.skills.library import SkillLibrary

    objects, skills = st.tabs(["Objects in this scene", "Skills"])
    with objects:
        try:
            st.dataframe(correcting.scene_rows(episode), hide_index=True)
        except UserError as error:
            st.warning(escaped(error))
    with skills:
        library = SkillLibrary.open(session.workspace())
        st.dataframe(
            correcting.skill_rows(library),
            hide_index=True,
            column_config={"does": st.column_config.TextColumn("does", width="large")},
        )


def _render_result(episode: EpisodeRecord) -> None:
    """What the last corrected plan did in simulation, and whether it was saved."""
    result: Result | None = st.session_state.get(_RESULT)
    if result is None or result.episode_id != episode.id:
        return
    rerun, correction = result.rerun, result.correction
    st.subheader("The corrected plan in simulation")
    outcome = "succeeded" if rerun.success else f"still fails (unmet: {', '.join(rerun.unmet)})"
    if result.saved is not None:
        line = (
            f"Saved correction #{result.saved} by {correction.who} (from step "
            f"{correction.step_index + 1}): the task {outcome}."
        )
    else:
        line = f"Not saved: with the corrected plan the task {outcome}."
    (st.success if rerun.success else st.warning)(escaped(line))
    left, right = st.columns([1, 1], gap="large")
    with right:  # first: a clicked step chooses the frame shown on the left
        render_steps([str(c) for c in correction.plan], rerun.steps, key="correct_rerun_frame")
    with left:
        frame_view.render_frames(
            frame_view.rerun_frames(rerun.steps, rerun.start_frame), key="correct_rerun_frame"
        )


if __name__ == "__main__":
    render()
