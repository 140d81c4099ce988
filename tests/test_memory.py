"""The correction memory: one correction, and the same situation is planned right at once."""

from dataclasses import replace

import pytest

from robolearn.agent import run_episode
from robolearn.correction import CorrectionAPI
from robolearn.learn.corrector import SimulatedCorrector
from robolearn.learn.memory import CorrectionMemory, MemoryPlanner
from robolearn.rollout import RunRecorder
from robolearn.skills.library import SkillLibrary
from robolearn.store import Store
from robolearn.tasks.env import TabletopEnv
from robolearn.tasks.sampler import sample_task
from robolearn.tasks.spec import get_family
from tests.conftest import SwappedPlanner


@pytest.fixture
def corrected(tmp_path):
    """Stack seed 4 planned wrong behind the memory, then corrected by the simulated corrector:
    (library, env, store, recorder, planner, the first episode, the correction's id)."""
    library = SkillLibrary.seed()
    env = TabletopEnv("stack")
    with Store.open(tmp_path) as store:
        planner = MemoryPlanner(SwappedPlanner(), CorrectionMemory(store))
        recorder = RunRecorder(store, store.start_run("swapped", 4), tmp_path)
        first = run_episode(env, planner, 4, library=library)
        correction_id, rerun = SimulatedCorrector(CorrectionAPI(store, library)).correct(
            recorder.save(first)
        )
        assert rerun.success
        yield library, env, store, recorder, planner, first, correction_id
    env.close()


def test_after_one_correction_the_same_situation_is_planned_right_with_no_training(corrected):
    library, env, store, recorder, planner, first, correction_id = corrected
    assert not first.success and "no correction of this situation" in first.explanation
    again = run_episode(env, planner, 4, library=library)
    saved = store.episode(recorder.save(again))

    assert again.success
    assert again.explanation.startswith(f"correction #{correction_id} by simulated")
    assert "of this instruction in this scene" in again.explanation
    assert saved.explanation == again.explanation  # the store keeps where the plan came from


SYNONYMS = {"red": "crimson", "cyan": "teal", "purple": "violet"}


class FixedPlanner:
    """Plans the plan it was given."""

    name = "fixed"

    def __init__(self, plan):
        self._plan = plan

    def plan(self, task):
        return self._plan


def test_the_same_task_in_other_words_and_another_scene_is_recalled_by_meaning(corrected):
    """A person says it their way ("crimson", "teal"), in a scene never corrected."""
    library, env, _, _, planner, _, correction_id = corrected
    family = get_family("stack")
    seed = next(
        s
        for s in range(5, 400, 2)
        if {sample_task(family, s).roles[r].split("_")[0] for r in ("top", "base")} <= set(SYNONYMS)
    )
    task = sample_task(family, seed)
    top, base = (SYNONYMS[task.roles[r].split("_")[0]] for r in ("top", "base"))
    asked = replace(task, instruction=f"place the {top} block on top of the {base} one")

    plan = planner.plan(asked)

    assert plan == list(task.oracle)
    assert planner.explanation.startswith(f"correction #{correction_id} by simulated")
    assert "like task in other words" in planner.explanation
    assert planner.last_recall.how == "meaning"
    assert run_episode(env, FixedPlanner(plan), seed, library=library).success


def test_a_different_task_in_similar_words_is_not_recalled(corrected):
    """A correction of stacking says nothing about putting a block between two others."""
    _, _, store, _, _, _, _ = corrected
    memory = CorrectionMemory(store)
    memory.refresh()
    for name, seed in (("put_between", 1), ("tower", 1), ("flip_stack", 1), ("line_up", 3)):
        task = sample_task(get_family(name), seed)
        assert memory.recall(task.instruction, task.objects) is None, task.instruction


def test_without_recall_by_meaning_only_the_same_words_are_recalled(corrected):
    _, _, store, _, _, _, _ = corrected
    memory = CorrectionMemory(store, by_meaning=False)
    memory.refresh()
    task = sample_task(get_family("stack"), 5)  # other words, other scene
    assert memory.recall(task.instruction, task.objects) is None


def test_a_correction_whose_rerun_failed_is_not_remembered(tmp_path):
    from robolearn.records import EpisodeRecord
    from robolearn.store import CorrectionRow
    from robolearn.tasks.sampler import sample_task
    from robolearn.tasks.spec import get_family

    task = sample_task(get_family("stack"), 2)
    with Store.open(tmp_path) as store:
        episode = store.add_episode(
            store.start_run("lm", 2),
            EpisodeRecord(
                family="stack", seed=2, instruction=task.instruction, planner="lm", plan=["x()"]
            ),
        )
        store.add_correction(
            CorrectionRow(episode, 0, ["x()"], ["pick(a)"], who="bo", rerun_success=False)
        )
        memory = CorrectionMemory(store)
        assert memory.refresh() == 1 and len(memory) == 0


def test_a_like_instruction_with_other_colours_gets_the_correction_renamed():
    from robolearn.learn.examples import Situation
    from robolearn.tasks.sampler import sample_task
    from robolearn.tasks.spec import get_family

    family = get_family("swap_blocks")
    corrected, later = sample_task(family, 0), None
    for seed in range(1, 200):  # a scene phrased the same way, with other colours
        later = sample_task(family, seed)
        if (
            later.instruction.split()[:2] == corrected.instruction.split()[:2]
            and later.roles != corrected.roles
        ):
            break

    def situation(task):
        return Situation(task.instruction, tuple(o.name for o in task.objects))

    mapping = situation(corrected).colours_to(
        situation(later), {a for c in corrected.oracle for a in c.args}
    )
    assert mapping is not None
    from robolearn.learn.examples import recolour_plan

    assert recolour_plan(corrected.oracle, mapping) == list(later.oracle)


def test_an_analogy_the_words_do_not_fix_is_refused():
    from robolearn.learn.examples import Situation

    sort = Situation(
        "sort the blocks into the bowls of the same colour",
        ("red_block", "blue_block", "red_bowl", "blue_bowl"),
    )
    other = Situation(
        "sort the blocks into the bowls of the same colour",
        ("pink_block", "cyan_block", "pink_bowl", "cyan_bowl"),
    )
    assert sort.colours_to(other, {"red_block", "red_bowl"}) is None  # which block is which?
    stack = Situation(
        "stack the red block on the blue block", ("red_block", "blue_block", "green_block")
    )
    assert (
        stack.colours_to(
            Situation("stack the red block on the red block", ("red_block", "pink_block")),
            {"red_block"},
        )
        is None
    )
    assert (
        stack.colours_to(
            Situation("put the red block on the blue block", stack.objects), {"red_block"}
        )
        is None
    )  # other words: not the same instruction


def test_memory_plans_a_like_situation_and_says_the_colours_were_renamed(corrected):
    library, env, _, _, planner, first, _ = corrected
    template = first.instruction.split()[:2]
    for seed in range(5, 200):
        env.reset(seed=seed)
        if env.task.instruction.split()[:2] == template:
            break
    like = run_episode(env, planner, seed, library=library)
    assert like.success and "colours renamed" in like.explanation


def test_words_the_router_reads_as_a_corrected_family_get_the_correction(taught, push_only_model):
    """Too far from stacking's own words for the memory alone, near enough for the router: the
    stack expert would be asked "stack the yellow block on the orange one", and so is the
    memory, which then answers with the person's correction rather than the expert's guess."""
    from robolearn.learn.adapters import planner_in_use
    from robolearn.learn.meaning import Meaning
    from robolearn.planner.lm import LMPlanner

    workspace, meaning = taught[0], Meaning()
    task = sample_task(get_family("stack"), 5)
    top, base = (task.roles[r].split("_")[0] for r in ("top", "base"))
    asked = replace(task, instruction=f"I'd like {top} resting on {base}")
    with Store.open(workspace) as store:
        memory = CorrectionMemory(store, meaning)
        memory.refresh()
        assert memory.recall(asked.instruction, asked.objects) is None
        model = LMPlanner(push_only_model, SkillLibrary.open(workspace))
        planner = MemoryPlanner(planner_in_use(model, store, workspace, meaning)[0], memory)

        plan = planner.plan(asked)

    assert plan == list(task.oracle)
    assert planner.last_recall.read_as == f"stack the {top} block on the {base} one"
    assert planner.explanation.endswith(f"read as {planner.last_recall.read_as!r}")
    assert planner.explanation.startswith("correction #")
