"""The Skills page's editor of a composite skill: edit its steps, try them, save a version.

An edit is tried in the scene of a stored episode whose plan calls the skill (from that
episode's initial state, with the objects the plan passed to it): the Evaluator must pass it
before it can be saved, as the skill's next version with the person's provenance
(``robolearn.dashboard.composite_edit``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import streamlit as st

from robolearn.dashboard import composite_edit, session
from robolearn.dashboard.episode_view import episode_title
from robolearn.dashboard.plain import escaped
from robolearn.errors import UserError
from robolearn.store.episodes import EpisodeQuery

if TYPE_CHECKING:
    from robolearn.records import EpisodeRecord
    from robolearn.skills.composite import CompositeSkill
    from robolearn.skills.evaluator import Verdict
    from robolearn.skills.library import SkillLibrary
    from robolearn.store import Store

EPISODE_LIMIT = 50  # newest episodes calling the skill offered to try an edit in
_PENDING = "skill_edit_pending"
_SAVED = "skill_edit_saved"


@dataclass(frozen=True)
class Pending:
    """An evaluated edit, with the input it was made from."""

    inputs: tuple[int, str, int, str, str]
    """Episode id, skill name, the version edited, steps and why as typed: saving needs them."""
    skill: CompositeSkill
    verdict: Verdict


def episodes_calling(store: Store, name: str) -> list[EpisodeRecord]:
    """Stored episodes whose plan calls skill ``name``, newest first."""
    found, _ = store.search_episodes(EpisodeQuery(text=f"{name}("), limit=EPISODE_LIMIT)
    return [e for e in found if composite_edit.arguments_in_plan(name, e.plan) is not None]


# ----- Streamlit view ----------------------------------------------------------------------
def render_editor(library: SkillLibrary) -> None:
    """Choose a composite skill and an episode to try it in; edit, evaluate, save."""
    st.subheader("Edit a composite skill")
    saved = st.session_state.pop(_SAVED, None)
    if saved:
        st.success(escaped(saved))
    if not library.composites:
        st.caption("The library has no composite skills.")
        return
    left, right = st.columns(2)
    name = left.selectbox("Composite skill", sorted(library.composites), key="skill_edit_name")
    skill = library.composites[name]
    with session.open_store() as store:
        episodes = episodes_calling(store, name)
        if not episodes:
            right.info(
                escaped(
                    f"No stored episode calls {name}, so there are no objects to try an edit "
                    f"with; run an episode whose plan calls {name} first."
                )
            )
            return
        by_id = {e.id: e for e in episodes}
        episode_id = right.selectbox(
            "Try it in the scene of",
            list(by_id),
            format_func=lambda i: episode_title(by_id[i]),
            key=f"skill_edit_episode_{name}",
        )
        _render_form(store, library, skill, by_id[episode_id])


def _render_form(
    store: Store, library: SkillLibrary, skill: CompositeSkill, episode: EpisodeRecord
) -> None:
    st.code(f"{skill.signature}  # version {skill.version}", language=None)
    st.text(skill.description)
    st.caption(
        "Its steps, one call a line, over its parameters. The name, parameters and effect "
        f"({escaped(', '.join(map(str, skill.effect)))}) stay as they are."
    )
    name = skill.name
    steps = st.text_area(
        "Steps",
        value=composite_edit.steps_text(skill),
        height=140,
        key=f"skill_edit_steps_{name}_{skill.version}",
    )
    why = st.text_input("Why", key=f"skill_edit_why_{name}", placeholder="what the skill did wrong")
    inputs = (episode.id, name, skill.version, steps, why)
    if st.button("Evaluate in simulation", key="skill_edit_evaluate"):
        st.session_state.pop(_PENDING, None)
        _evaluate(store, library, episode, skill, inputs)
    _render_verdict(library, episode, inputs)


def _render_verdict(
    library: SkillLibrary, episode: EpisodeRecord, inputs: tuple[int, str, int, str, str]
) -> None:
    """The evaluation of the edited steps now shown, and the button that saves a passed one."""
    from robolearn.skills.evaluator import REASONS

    pending: Pending | None = st.session_state.get(_PENDING)
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
    if st.button("Save as new version", type="primary", key="skill_edit_save"):
        stored = composite_edit.save_edit(library, pending.skill, episode.id, inputs[4])
        st.session_state.pop(_PENDING, None)
        st.session_state[_SAVED] = (
            f"Saved {stored.name} version {stored.version} "
            f"(by a person, from episode {episode.id})."
        )
        st.rerun()


def _evaluate(
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
        st.session_state[_PENDING] = Pending(inputs, edited, verdict)
