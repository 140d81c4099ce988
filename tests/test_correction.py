"""Correcting a stored episode: validate, re-run from its initial state, record append-only."""

import pytest

from robolearn.agent import run_episode
from robolearn.correction import CorrectionAPI, CorrectionError
from robolearn.learn.corrector import SimulatedCorrector
from robolearn.rollout import RunRecorder
from robolearn.skills.library import SkillLibrary
from robolearn.store import Store
from robolearn.store.errors import MissingRowError
from robolearn.tasks.env import TabletopEnv
from tests.conftest import SwappedPlanner


@pytest.fixture
def workspace(tmp_path):
    """A workspace holding one wrong episode (id 1) of the stack family, seed 4."""
    library = SkillLibrary.seed()
    with Store.open(tmp_path) as store:
        recorder = RunRecorder(store, store.start_run("swapped", 4), tmp_path)
        env = TabletopEnv("stack")
        try:
            recorder.save(run_episode(env, SwappedPlanner(), 4, library=library))
        finally:
            env.close()
    return tmp_path


@pytest.fixture
def api(workspace):
    store = Store.open(workspace)
    api = CorrectionAPI(store, SkillLibrary.seed())
    yield api
    api.close()
    store.close()


def test_a_person_fixes_a_step_re_runs_it_and_saves_it(api):
    episode = api.store.episode(1)
    roles = api.task_of(episode).roles
    top, base = roles["top"], roles["base"]
    correction = api.propose(
        1, f"pick({top}); place({top}, {base})", who="ada", why="the small one goes on top"
    )
    assert correction.step_index == 0
    rerun = api.rerun(correction)
    assert rerun.success and all(step.ok for step in rerun.steps)
    correction_id = api.save(correction, rerun)
    [saved] = api.store.corrections(episode_id=1)
    assert saved.id == correction_id and saved.who == "ada" and saved.rerun_success
    assert saved.proposed == episode.plan and saved.corrected[0] == f"pick({top})"


def test_a_re_run_starts_from_the_episodes_initial_state_every_time(api):
    episode = api.store.episode(1)
    api.rerun(api.propose(1, "\n".join(reversed(episode.plan)), who="ada"))  # moves things
    first = api.rerun(api.propose(1, "open_gripper()", who="ada")).steps
    second = api.rerun(api.propose(1, "open_gripper()", who="ada")).steps
    assert [s.to_dict() for s in first] == [s.to_dict() for s in second]


@pytest.mark.parametrize(
    ("plan", "who", "message"),
    [
        ("pick(green_cube)", "ada", "no object named 'green_cube'"),
        ("teleport(x)", "ada", "unknown skill 'teleport'"),
        ("pick(", "ada", "does not parse"),
        ("open_gripper()", " ", "say who"),
    ],
)
def test_a_bad_correction_is_refused_and_nothing_is_written(api, plan, who, message):
    with pytest.raises(CorrectionError, match=message):
        api.propose(1, plan, who=who)
    assert api.store.corrections() == []


def test_the_same_plan_is_not_a_correction_and_unknown_episodes_are_named(api):
    episode = api.store.episode(1)
    with pytest.raises(CorrectionError, match="already ran"):
        api.propose(1, "\n".join(episode.plan), who="ada")
    with pytest.raises(MissingRowError, match="no episode 99"):
        api.propose(99, "open_gripper()", who="ada")


def test_the_simulated_corrector_fixes_the_first_wrong_step_through_the_same_api(api):
    correction_id, rerun = SimulatedCorrector(api).correct(1)
    assert rerun.success
    [saved] = api.store.corrections()
    assert saved.id == correction_id and saved.who == "simulated" and saved.step_index == 0
    assert saved.why.startswith("step 1 should be pick(")
