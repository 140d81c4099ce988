"""Editing a composite skill's steps from the Correct page: build, evaluate, save a version.

A person edits the steps of a composite skill that an episode's plan calls. The edited skill
keeps its name, parameters and effect; the Evaluator tries it in the episode's scene (reset to
its initial state) with the objects the plan passed to it, and only a passing skill is saved,
as a new version with the person's provenance. Nothing here touches Streamlit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from robolearn.calls import Arg, CallSyntaxError, parse_call, parse_calls
from robolearn.errors import UserError
from robolearn.skills.composite import CompositeSkill, Provenance, skill_from_json

if TYPE_CHECKING:
    from robolearn.records import EpisodeRecord
    from robolearn.skills.evaluator import Verdict
    from robolearn.skills.library import SkillLibrary
    from robolearn.store import Store


class CompositeEditError(UserError, ValueError):
    """An edit of a composite skill that cannot be evaluated; says what to change."""


def steps_text(skill: CompositeSkill) -> str:
    """The skill's steps for editing, one call a line."""
    return "\n".join(str(step) for step in skill.steps)


def skills_in_plan(plan: Sequence[str], library: SkillLibrary) -> list[str]:
    """The library's composite skills that ``plan`` calls, in order of their first call."""
    names: list[str] = []
    for text in plan:
        try:
            name = parse_call(text).name
        except CallSyntaxError:
            continue
        if name in library.composites and name not in names:
            names.append(name)
    return names


def arguments_in_plan(skill_name: str, plan: Sequence[str]) -> tuple[Arg, ...] | None:
    """The arguments of the plan's first call of ``skill_name``; None when it is not called."""
    for text in plan:
        try:
            call = parse_call(text)
        except CallSyntaxError:
            continue
        if call.name == skill_name:
            return call.args
    return None


def edited_skill(
    skill: CompositeSkill, text: str, library: SkillLibrary | None = None
) -> CompositeSkill:
    """``skill`` with the steps in ``text`` (one call a line); same name, params and effect.

    Raises a UserError that says what to change: steps that do not parse
    (CompositeEditError), a definition skill_from_json refuses (SkillFileError), or, given
    ``library``, one the library could not take (SkillDefinitionError), e.g. an unknown skill
    or an object that is not a parameter.
    """
    try:
        steps = parse_calls(text)
    except CallSyntaxError as error:
        raise CompositeEditError(f"the steps of {skill.name} do not parse: {error}") from None
    if not steps:
        raise CompositeEditError(f"{skill.name} needs at least one step")
    data = {**skill.to_json(), "steps": [str(step) for step in steps]}
    edited = skill_from_json(data, f"the edited {skill.name}")
    if library is not None:
        from robolearn.skills.library import SkillLibrary

        # As the library would be after a save, so a skill that calls it is checked too.
        SkillLibrary([*(s for s in library.composites.values() if s.name != skill.name), edited])
    return edited


def evaluate_edit(
    store: Store, library: SkillLibrary, episode: EpisodeRecord, skill: CompositeSkill
) -> Verdict:
    """Evaluate the edited ``skill`` in ``episode``'s scene, from its initial state.

    It is called with the objects the episode's plan passed to it in its first call; a plan
    that does not call it raises CompositeEditError. Nothing is stored.
    """
    from robolearn.correction import CorrectionAPI
    from robolearn.skills.evaluator import Evaluator

    args = arguments_in_plan(skill.name, episode.plan)
    if args is None:
        raise CompositeEditError(
            f"episode {episode.id}'s plan does not call {skill.name}, so there are no objects "
            f"to evaluate it with here; open an episode whose plan calls {skill.name}"
        )
    api = CorrectionAPI(store, library)
    try:
        return Evaluator(library).evaluate(skill, api.scene(episode), args)
    finally:
        api.close()


def save_edit(
    library: SkillLibrary, skill: CompositeSkill, episode_id: int, why: str
) -> CompositeSkill:
    """Save a passed edit as the skill's next version, made by a person; the stored version."""
    return library.save(skill, Provenance("person", episode=episode_id, note=why.strip()))
