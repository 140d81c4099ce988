"""Editing a composite skill on the Correct page: build the edit, evaluate it, save a version.

The episode's plan calls ``stack_on``; the edits are tried in its scene from its initial state.
"""

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from robolearn.agent import run_episode
from robolearn.calls import Call
from robolearn.dashboard import composite_edit
from robolearn.errors import UserError
from robolearn.rollout import RunRecorder
from robolearn.skills.library import SkillLibrary
from robolearn.store import Store
from robolearn.tasks.env import TabletopEnv
from robolearn.tasks.sampler import sample_task
from robolearn.tasks.spec import get_family
from tests.conftest import shown

APP = Path(__file__).resolve().parents[1] / "app.py"
WORKS = "open_gripper()\npick(top)\nplace(top, base)"  # still stacks (and is no put_in twin)


class StackOnPlanner:
    """Solves a stack task with one call of the composite ``stack_on``."""

    name = "stack_on"

    def plan(self, task):
        return [Call("stack_on", (task.roles["top"], task.roles["base"]))]


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A workspace with one stored stack episode whose plan calls stack_on (made once)."""
    workspace = tmp_path_factory.mktemp("stored")
    with Store.open(workspace) as store:
        recorder = RunRecorder(store, store.start_run("stack_on", 4), workspace)
        env = TabletopEnv("stack")
        try:
            record = run_episode(env, StackOnPlanner(), 4, library=SkillLibrary.open(workspace))
        finally:
            env.close()
        recorder.save(record)
    return workspace


@pytest.fixture
def workspace(stored, tmp_path, monkeypatch):
    """A fresh copy of the stored workspace, which the dashboard opens."""
    copy = tmp_path / "workspace"
    shutil.copytree(stored, copy)
    monkeypatch.setenv("ROBOLEARN_WORKSPACE", str(copy))
    return copy


def episode_of(workspace):
    with Store.open(workspace) as store:
        return store.episode(1)


def test_the_stored_episode_calls_stack_on(workspace):
    episode = episode_of(workspace)
    assert episode.plan[0].startswith("stack_on(") and episode.success
    library = SkillLibrary.open(workspace)
    assert composite_edit.skills_in_plan(episode.plan, library) == ["stack_on"]
    roles = sample_task(get_family("stack"), 4).roles
    assert composite_edit.arguments_in_plan("stack_on", ["open_gripper()", *episode.plan]) == (
        roles["top"],
        roles["base"],
    )
    assert composite_edit.arguments_in_plan("put_in", episode.plan) is None
    assert (
        composite_edit.steps_text(library.composites["stack_on"]) == "pick(top)\nplace(top, base)"
    )


def test_an_edit_that_still_works_passes_and_saves_as_a_person_version(workspace):
    library, episode = SkillLibrary.open(workspace), episode_of(workspace)
    skill = composite_edit.edited_skill(library.composites["stack_on"], WORKS, library)
    assert [str(s) for s in skill.steps] == WORKS.split("\n")
    assert skill.params == library.composites["stack_on"].params
    assert skill.effect == library.composites["stack_on"].effect
    with Store.open(workspace) as store:
        verdict = composite_edit.evaluate_edit(store, library, episode, skill)
    assert verdict.passed and verdict.reason == "ok", verdict
    stored = composite_edit.save_edit(library, skill, episode.id, " open first ")
    assert stored.version == 2
    [_, v2] = SkillLibrary.open(workspace).versions("stack_on")
    assert v2.version == 2 and [str(s) for s in v2.steps] == WORKS.split("\n")
    assert (v2.provenance.source, v2.provenance.episode, v2.provenance.note) == (
        "person",
        1,
        "open first",
    )


def test_an_edit_that_misses_the_effect_is_refused_and_nothing_is_saved(workspace):
    library, episode = SkillLibrary.open(workspace), episode_of(workspace)
    skill = composite_edit.edited_skill(library.composites["stack_on"], "pick(top)", library)
    with Store.open(workspace) as store:
        verdict = composite_edit.evaluate_edit(store, library, episode, skill)
    assert not verdict.passed and verdict.reason == "predicate_false", verdict
    assert len(SkillLibrary.open(workspace).versions("stack_on")) == 1


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ("pick(top", "do not parse"),
        ("  \n ", "at least one step"),
        ("pick(top)\nplace(top, red_block)", "'red_block' is not a parameter of stack_on"),
        ("fly(top)", "unknown skill 'fly'"),
    ],
)
def test_a_malformed_edit_says_what_is_wrong(workspace, steps, message):
    library = SkillLibrary.open(workspace)
    with pytest.raises(UserError, match=message.replace("(", r"\(")):
        composite_edit.edited_skill(library.composites["stack_on"], steps, library)


def test_a_skill_the_plan_does_not_call_cannot_be_evaluated_on_it(workspace):
    library, episode = SkillLibrary.open(workspace), episode_of(workspace)
    skill = composite_edit.edited_skill(
        library.composites["put_in"], "open_gripper()\npick(obj)\nplace(obj, container)"
    )
    with Store.open(workspace) as store, pytest.raises(UserError, match="does not call put_in"):
        composite_edit.evaluate_edit(store, library, episode, skill)


def test_edit_evaluate_and_save_stack_on_on_the_correct_page(workspace):
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    app.switch_page("robolearn/dashboard/correct.py").run()
    assert not app.exception and not app.error
    assert app.selectbox(key="correct_skill_1").value == "stack_on"
    steps = app.text_area(key="correct_skill_steps_1_stack_on_1")
    assert steps.value == "pick(top)\nplace(top, base)"
    assert not [b for b in app.button if b.key == "correct_skill_save"]

    steps.input("pick(top")
    app.button(key="correct_skill_evaluate").click().run()
    assert any("do not parse" in shown(e.value) for e in app.error)
    assert not [b for b in app.button if b.key == "correct_skill_save"]

    app.text_area(key="correct_skill_steps_1_stack_on_1").input(WORKS)
    app.text_input(key="correct_skill_why_1_stack_on").input("open the gripper first")
    app.button(key="correct_skill_evaluate").click().run()
    assert not app.exception and not app.error
    assert any(shown(s.value).startswith("Passed: stack_on(") for s in app.success)
    app.button(key="correct_skill_save").click().run()
    assert not app.exception
    assert any("Saved stack_on version 2" in shown(s.value) for s in app.success)
    assert not [b for b in app.button if b.key == "correct_skill_save"]
    # The editor now shows the new version's steps.
    assert app.text_area(key="correct_skill_steps_1_stack_on_2").value == WORKS
    [_, v2] = SkillLibrary.open(workspace).versions("stack_on")
    assert v2.provenance.source == "person" and v2.provenance.note == "open the gripper first"


class AtomicPlanner:
    """Stacks with atomic calls only: its plan calls no composite skill."""

    name = "atomic"

    def plan(self, task):
        top, base = task.roles["top"], task.roles["base"]
        return [Call("pick", (top,)), Call("place", (top, base))]


def test_a_plan_without_composites_offers_every_skill_but_evaluates_none(workspace):
    with Store.open(workspace) as store:
        recorder = RunRecorder(store, store.start_run("atomic", 4), workspace)
        env = TabletopEnv("stack")
        try:
            episode_id = recorder.save(run_episode(env, AtomicPlanner(), 4))
        finally:
            env.close()
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    app.switch_page("robolearn/dashboard/correct.py").run()
    assert app.selectbox(key="correct_episode").value == episode_id  # the newest
    assert any("calls no composite skill" in shown(i.value) for i in app.info)
    offered = app.selectbox(key=f"correct_skill_{episode_id}").options
    assert set(offered) == set(SkillLibrary.open(workspace).composites)
    app.selectbox(key=f"correct_skill_{episode_id}").select("stack_on").run()
    app.text_area(key=f"correct_skill_steps_{episode_id}_stack_on_1").input(WORKS)
    app.button(key="correct_skill_evaluate").click().run()
    assert not app.exception
    assert any("does not call stack_on" in shown(e.value) for e in app.error)
    assert not [b for b in app.button if b.key == "correct_skill_save"]
    assert len(SkillLibrary.open(workspace).versions("stack_on")) == 1
