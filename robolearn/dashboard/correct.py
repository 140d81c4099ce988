"""The Correct page: edit the open episode's plan, re-run it in simulation, save the correction.

Everything goes through the correction API (``robolearn.correction``), the same one the
simulated corrector uses: invalid input shows its message and writes nothing, a re-run starts
from the episode's initial state, and a saved correction is appended, never changed.

Below the plan, a person can also edit the steps of a composite skill the plan calls: the
Evaluator tries the edit in the episode's scene, and only a passing edit can be saved, as the
skill's next version (``robolearn.dashboard.composite_edit``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import streamlit as st

from robolearn.dashboard import composite_edit, session
from robolearn.dashboard.episode_view import (
    episode_title,
    render_episode,
    render_frames,
    render_steps,
    rerun_frames,
)
from robolearn.dashboard.plain import escaped
from robolearn.errors import UserError
from robolearn.store import MissingRowError

if TYPE_CHECKING:
    from robolearn.correction import Correction, Rerun
    from robolearn.records import EpisodeRecord
    from robolearn.skills.composite import CompositeSkill
    from robolearn.skills.evaluator import Verdict
    from robolearn.skills.library import SkillLibrary
    from robolearn.store import CorrectionRow, Store

PICK_LIMIT = 200  # newest episodes offered to pick from (the open one is always offered)
_PENDING = "correct_pending"
_SAVED = "correct_saved"
_SKILL_PENDING = "correct_skill_pending"
_SKILL_SAVED = "correct_skill_saved"


@dataclass(frozen=True)
class Pending:
    """A re-run correction waiting to be saved, with the input it was made from."""

    inputs: tuple[int, str, str, str]
    """Episode id, plan text, who and why, as typed: saving needs the same input."""
    correction: Correction
    rerun: Rerun


@dataclass(frozen=True)
class SkillPending:
    """An evaluated edit of a composite skill, with the input it was made from."""

    inputs: tuple[int, str, int, str, str]
    """Episode id, skill name, the version edited, steps and why as typed: saving needs them."""
    skill: CompositeSkill
    verdict: Verdict


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


def pickable(store: Store, opened: int | None) -> list[EpisodeRecord]:
    """Episodes to choose from, newest first; the open one is kept even when it is older."""
    episodes = store.episodes(limit=PICK_LIMIT, newest_first=True)
    if opened is not None and all(e.id != opened for e in episodes):
        with contextlib.suppress(MissingRowError):  # another workspace's id: forget it
            episodes.insert(0, store.episode(opened))
    return episodes


# ----- Streamlit view ----------------------------------------------------------------------
def render() -> None:
    """The page."""
    workspace = session.workspace()
    st.title("Correct an episode")
    with session.open_store() as store:
        episodes = pickable(store, session.open_episode())
        if not episodes:
            st.info(
                "No episodes to correct yet. Run one on the Run page, or headless with "
                "`robolearn run --frames`."
            )
            return
        by_id = {e.id: e for e in episodes}
        ids = list(by_id)
        opened = session.open_episode()
        episode_id = st.selectbox(
            "Episode",
            ids,
            index=ids.index(opened) if opened in by_id else 0,
            format_func=lambda i: episode_title(by_id[i]),
            key="correct_episode",
        )
        session.set_open_episode(episode_id)
        episode = by_id[episode_id]
        with st.expander("The episode as it ran", expanded=not episode.success):
            render_episode(episode, workspace, key=f"correct_frame_{episode_id}")
        _render_form(store, episode)
        _render_skill_editor(store, episode)
        st.subheader("Corrections of this episode")
        rows = correction_rows(store.corrections(episode_id=episode_id))
        if rows:
            st.dataframe(rows, hide_index=True)
        else:
            st.caption("None yet.")


def _render_form(store: Store, episode: EpisodeRecord) -> None:
    """The plan editor, the re-run and the save."""
    st.subheader("Corrected plan")
    st.caption(
        "One call a line: change a step's skill or arguments, insert or delete lines. "
        "Example: `pick(red_block)`, `place(red_block, blue_bowl)`."
    )
    plan = st.text_area(
        "Plan", value=plan_text(episode), height=180, key=f"correct_plan_{episode.id}"
    )
    left, right = st.columns(2)
    who = left.text_input("Who", key="correct_who", placeholder="your name")
    why = right.text_input("Why", key=f"correct_why_{episode.id}", placeholder="what was wrong")
    inputs = (episode.id, plan, who, why)
    saved = st.session_state.pop(_SAVED, None)
    if saved:
        st.success(escaped(saved))
    if st.button("Re-run in simulation", type="primary", key="correct_rerun"):
        st.session_state.pop(_PENDING, None)
        try:
            with st.spinner("Re-running from the episode's initial state…"):
                correction, rerun = propose_and_rerun(store, episode.id, plan, who, why)
        except UserError as error:
            st.error(escaped(error))
        else:
            st.session_state[_PENDING] = Pending(inputs, correction, rerun)
    pending: Pending | None = st.session_state.get(_PENDING)
    if pending is None or pending.inputs[0] != episode.id:
        return
    if pending.inputs != inputs:
        st.info("The plan, who or why changed since the re-run: re-run it before saving.")
        return
    _render_rerun(pending)
    if st.button("Save correction", key="correct_save"):
        correction_id = save(store, pending.correction, pending.rerun)
        st.session_state.pop(_PENDING, None)
        st.session_state[_SAVED] = (
            f"Saved correction {correction_id} (from step "
            f"{pending.correction.step_index + 1}, by "
            f"{pending.correction.who})."
        )
        st.rerun()  # show the page without the saved re-run and its Save button


def _render_rerun(pending: Pending) -> None:
    """What the corrected plan did."""
    rerun = pending.rerun
    if rerun.success:
        st.success("Re-run in simulation: the task succeeded with the corrected plan.")
    else:
        st.warning(
            "Re-run in simulation: the task still fails with the corrected plan. "
            "You can still save it, or edit the plan and re-run."
        )
    render_steps([str(c) for c in pending.correction.plan], rerun.steps)
    render_frames(rerun_frames(rerun.steps), key="correct_rerun_frame")


def _render_skill_editor(store: Store, episode: EpisodeRecord) -> None:
    """Edit a composite skill's steps, evaluate the edit in this episode's scene, save it."""
    from robolearn.skills.library import SkillLibrary

    st.subheader("Edit a composite skill")
    library = SkillLibrary.open(store.workspace)
    saved = st.session_state.pop(_SKILL_SAVED, None)
    if saved:
        st.success(escaped(saved))
    names = composite_edit.skills_in_plan(episode.plan, library)
    if not names:
        st.info(
            "This episode's plan calls no composite skill; any can be edited, but one can "
            "be evaluated only on an episode whose plan calls it."
        )
        names = sorted(library.composites)
    if not names:
        st.caption("The library has no composite skills.")
        return
    name = st.selectbox("Composite skill", names, key=f"correct_skill_{episode.id}")
    skill = library.composites[name]
    st.code(f"{skill.signature}  # version {skill.version}", language=None)
    st.text(skill.description)
    st.caption(
        "Its steps, one call a line, over its parameters. The name, parameters and "
        f"effect ({escaped(', '.join(map(str, skill.effect)))}) stay as they are."
    )
    steps = st.text_area(
        "Steps",
        value=composite_edit.steps_text(skill),
        height=140,
        key=f"correct_skill_steps_{episode.id}_{name}_{skill.version}",
    )
    why = st.text_input(
        "Why", key=f"correct_skill_why_{episode.id}_{name}", placeholder="what the skill did wrong"
    )
    inputs = (episode.id, name, skill.version, steps, why)
    if st.button("Evaluate in simulation", key="correct_skill_evaluate"):
        st.session_state.pop(_SKILL_PENDING, None)
        _evaluate_skill(store, library, episode, skill, inputs)
    _render_skill_verdict(library, episode, inputs)


def _render_skill_verdict(
    library: SkillLibrary, episode: EpisodeRecord, inputs: tuple[int, str, int, str, str]
) -> None:
    """The evaluation of the edited steps now shown, and the button that saves a passed one."""
    from robolearn.skills.evaluator import REASONS

    why = inputs[4]
    pending: SkillPending | None = st.session_state.get(_SKILL_PENDING)
    if pending is None or pending.inputs[:3] != inputs[:3]:
        return
    if pending.inputs != inputs:
        st.info("The steps or why changed since the evaluation: evaluate them before saving.")
        return
    verdict = pending.verdict
    if not verdict.passed:
        st.warning(
            escaped(
                f"Refused ({verdict.reason}: {REASONS[verdict.reason]}): {verdict.detail}. "
                "Nothing was saved."
            )
        )
        return
    st.success(escaped(f"Passed: {verdict.detail}."))
    if st.button("Save as new version", type="primary", key="correct_skill_save"):
        stored = composite_edit.save_edit(library, pending.skill, episode.id, why)
        st.session_state.pop(_SKILL_PENDING, None)
        st.session_state[_SKILL_SAVED] = (
            f"Saved {stored.name} version {stored.version} "
            f"(by a person, from episode {episode.id})."
        )
        st.rerun()


def _evaluate_skill(
    store: Store,
    library: SkillLibrary,
    episode: EpisodeRecord,
    skill: CompositeSkill,
    inputs: tuple[int, str, int, str, str],
) -> None:
    """Build the edited skill and evaluate it; errors are shown and nothing is kept."""
    try:
        edited = composite_edit.edited_skill(skill, inputs[3], library)
        with st.spinner("Evaluating from the episode's initial state…"):
            verdict = composite_edit.evaluate_edit(store, library, episode, edited)
    except UserError as error:
        st.error(escaped(error))
    else:
        st.session_state[_SKILL_PENDING] = SkillPending(inputs, edited, verdict)


if __name__ == "__main__":
    render()
