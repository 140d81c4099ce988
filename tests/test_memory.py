"""The correction memory: one correction, and the same situation is planned right at once."""

from robolearn.agent import run_episode
from robolearn.calls import parse_calls
from robolearn.correction import CorrectionAPI
from robolearn.learn.corrector import SimulatedCorrector
from robolearn.learn.memory import CorrectionMemory, MemoryPlanner
from robolearn.rollout import RunRecorder
from robolearn.skills.library import SkillLibrary
from robolearn.store import Store
from robolearn.tasks.env import TabletopEnv


class SwappedPlanner:
    """Always stacks the base on the top: a mistake a person corrects."""

    name = "swapped"
    explanation = "the swapped test planner"

    def plan(self, task):
        top, base = task.roles["top"], task.roles["base"]
        return parse_calls(f"pick({base}); place({base}, {top})")


def test_after_one_correction_the_same_situation_is_planned_right_with_no_training(tmp_path):
    library = SkillLibrary.seed()
    env = TabletopEnv("stack")
    with Store.open(tmp_path) as store:
        planner = MemoryPlanner(SwappedPlanner(), CorrectionMemory(store))
        recorder = RunRecorder(store, store.start_run("swapped", 4), tmp_path)
        first = run_episode(env, planner, 4, library=library)
        assert not first.success and "no correction of this situation" in first.explanation
        correction_id, rerun = SimulatedCorrector(CorrectionAPI(store, library)).correct(
            recorder.save(first))
        assert rerun.success

        again = run_episode(env, planner, 4, library=library)
        elsewhere = run_episode(env, planner, 5, library=library)
        saved = store.episode(recorder.save(again))
    env.close()

    assert again.success
    assert again.explanation.startswith(f"correction #{correction_id} by simulated")
    assert saved.explanation == again.explanation  # the store keeps where the plan came from
    assert not elsewhere.success and "swapped test planner" in elsewhere.explanation


def test_a_correction_whose_rerun_failed_is_not_remembered(tmp_path):
    from robolearn.store import CorrectionRow, EpisodeRow
    from robolearn.tasks.sampler import sample_task
    from robolearn.tasks.spec import get_family

    task = sample_task(get_family("stack"), 2)
    with Store.open(tmp_path) as store:
        episode = store.add_episode(store.start_run("lm", 2), EpisodeRow(
            family="stack", seed=2, instruction=task.instruction, planner="lm", plan=["x()"]))
        store.add_correction(CorrectionRow(episode, 0, "x()", ["pick(a)"], who="bo",
                                           rerun_success=False))
        memory = CorrectionMemory(store)
        assert memory.refresh() == 1 and len(memory) == 0
