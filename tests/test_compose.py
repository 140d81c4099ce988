"""New skills from plans: composed into parameters, proven by the Evaluator, then kept."""

import pytest

from robolearn.agent import SkillLearner, run_episode
from robolearn.calls import parse_calls
from robolearn.planner.oracle import OraclePlanner
from robolearn.skills.compose import compose_skill, skill_name
from robolearn.skills.composite import Provenance
from robolearn.skills.embeddings import Embedder
from robolearn.skills.evaluator import Evaluator
from robolearn.skills.library import SkillLibrary
from robolearn.skills.searcher import Searcher
from robolearn.tasks.env import TabletopEnv
from robolearn.tasks.sampler import sample_task
from robolearn.tasks.spec import get_family


def test_a_plan_becomes_a_skill_over_typed_parameters():
    task = sample_task(get_family("line_up"), 0)
    objects = {o.name: o for o in task.objects}
    skill, args = compose_skill(
        "row_up", task.instruction, list(task.oracle), task.success, objects, Provenance("planner")
    )
    assert [p.type for p in skill.params] == ["block", "block", "block"]
    assert [str(s) for s in skill.steps][:2] == [
        "pick(block1)",
        "place_beside(block1, block2, right)",
    ]
    assert [str(e) for e in skill.effect] == ["row(block2, block1, block3)"]
    assert args == (task.roles["b"], task.roles["a"], task.roles["c"])
    assert "learned from" in skill.description
    assert not any(colour in skill.description.split(" (")[0] for colour in ("red", "blue"))


def test_names_come_from_the_instruction_without_colours_and_never_collide():
    assert skill_name("stack the red block on the blue one", []) == "stack_block_on"
    assert (
        skill_name("stack the red block on the blue one", ["stack_block_on"]) == "stack_block_on_2"
    )
    assert skill_name("the red one", []) == "skill"


@pytest.fixture(scope="module")
def embedder():
    return Embedder()


def test_headless_runs_grow_the_library_with_proven_skills_only(tmp_path, embedder):
    library = SkillLibrary(root=tmp_path / "skills")  # atomic skills only
    learner = SkillLearner(library, Searcher(library, embedder), Evaluator(library))
    env = TabletopEnv("tower")
    try:
        first = run_episode(env, OraclePlanner(), 0, library=library, learner=learner)
        assert first.proposal.startswith("passed"), first.proposal
        learned = next(iter(library.composites.values()))
        assert learned.provenance.source == "planner" and "tower seed 0" in learned.provenance.note
        again = run_episode(env, OraclePlanner(), 1, library=library, learner=learner)
        assert again.proposal is None or "duplicate" in again.proposal
        assert len(library.composites) == 1, "the same skill is never stored twice"
        assert first.success and again.success
    finally:
        env.close()


def test_a_wrong_plan_is_not_learned(tmp_path, embedder):
    library = SkillLibrary(root=tmp_path / "skills")
    learner = SkillLearner(library, Searcher(library, embedder), Evaluator(library))
    env = TabletopEnv("stack")
    try:
        env.reset(seed=2)
        top, base = env.task.roles["top"], env.task.roles["base"]
        wrong = parse_calls(f"pick({top}); place_beside({top}, {base}, back)")
        verdict = learner.consider(env, env.task, wrong)
        assert verdict is not None and verdict.reason == "predicate_false"
        assert not library.composites
    finally:
        env.close()
