"""The Evaluator lets a skill into the library only once it has worked in simulation."""

import numpy as np
import pytest

from benchmarks.bench_evaluator import PROOFS
from robolearn.skills.composite import Provenance, skill_from_json
from robolearn.skills.evaluator import REASONS, Evaluator
from robolearn.skills.library import SkillLibrary
from robolearn.store import Store
from robolearn.tasks.env import TabletopEnv


def composite(name, params, steps, effect):
    return skill_from_json(
        {
            "format": 1,
            "name": name,
            "description": f"test skill {name}",
            "params": [{"name": n, "type": t} for n, t in params],
            "steps": steps,
            "effect": effect,
        },
        "test",
    )


@pytest.fixture(scope="module")
def env():
    env = TabletopEnv("stack")
    yield env
    env.close()


@pytest.fixture
def scene(env):
    env.reset(seed=2)
    return env.task.roles["top"], env.task.roles["base"]


def atomic_only_library(tmp_path):
    return SkillLibrary(root=tmp_path / "skills")


def test_a_correct_stack_written_as_pick_and_place_passes_and_joins(env, scene, tmp_path):
    top, base = scene
    library = atomic_only_library(tmp_path)
    skill = composite(
        "my_stack", [("a", "block"), ("b", "block")], ["pick(a)", "place(a, b)"], ["on(a, b)"]
    )
    with Store.open(tmp_path) as store:
        evaluator = Evaluator(library, store=store)
        verdict, stored = evaluator.admit(skill, env, (top, base), Provenance("planner"))
        record = store.skill_record("my_stack")
    assert verdict.passed and verdict.reason == "ok", verdict
    assert stored.version == 1 and stored.provenance.source == "planner"
    assert "my_stack" in SkillLibrary.open(tmp_path)
    assert (record.evaluations, record.passed) == (1, 1)


def test_the_live_episode_is_untouched_by_an_evaluation(env, scene, tmp_path):
    top, base = scene
    before = {name: env.world.pose(name) for name in env.world.objects}
    steps, joints = env.elapsed_steps, env.world.joint_positions()
    skill = composite(
        "my_stack", [("a", "block"), ("b", "block")], ["pick(a)", "place(a, b)"], ["on(a, b)"]
    )
    Evaluator(atomic_only_library(tmp_path)).evaluate(skill, env, (top, base))
    assert env.elapsed_steps == steps
    np.testing.assert_array_equal(env.world.joint_positions(), joints)
    for name, (position, orientation) in before.items():
        np.testing.assert_array_equal(env.world.pose(name)[0], position)
        np.testing.assert_array_equal(env.world.pose(name)[1], orientation)


def test_a_wrong_skill_is_refused_because_its_effect_does_not_hold(env, scene, tmp_path):
    top, base = scene
    library = atomic_only_library(tmp_path)
    wrong = composite(
        "bad_stack",
        [("a", "block"), ("b", "block")],
        ["pick(a)", "place_beside(a, b, back)"],
        ["on(a, b)"],
    )
    verdict, stored = Evaluator(library).admit(wrong, env, (top, base), Provenance("planner"))
    assert not verdict.passed and verdict.reason == "predicate_false"
    assert f"on({top}, {base}) does not hold" in verdict.detail
    assert stored is None and "bad_stack" not in library


@pytest.mark.parametrize(
    ("steps", "params", "args", "reason"),
    [
        (
            ["pick(a)", "place(a, b)"],
            [("a", "block"), ("b", "block")],
            ("ghost", "X"),
            "infeasible_arguments",
        ),
        (["pick(a)", "teleport(a)"], [("a", "block")], ("X",), "invalid_definition"),
        (["pick(a)", "place(a, red_block)"], [("a", "block")], ("X",), "invalid_definition"),
        (
            ["move_to(0.5, 0.0, 0.3)", "place(a, a2)"],  # placing what was never picked
            [("a", "block"), ("a2", "block")],
            ("X", "Y"),
            "skill_failed",
        ),
    ],
)
def test_each_kind_of_bad_candidate_gets_its_reason(
    env, scene, tmp_path, steps, params, args, reason
):
    top, base = scene
    args = tuple({"X": top, "Y": base}.get(a, a) for a in args)
    effect = [f"on({params[0][0]}, {params[-1][0]})"] if len(params) > 1 else []
    skill = composite("candidate", params, steps, effect)
    verdict = Evaluator(atomic_only_library(tmp_path)).evaluate(skill, env, args)
    assert (verdict.passed, verdict.reason) == (False, reason), verdict
    assert reason in REASONS


def test_a_skill_that_runs_out_of_steps_times_out(env, scene, tmp_path):
    top, _ = scene
    skill = composite(
        "dither", [("a", "block")], ["open_gripper()", "close_gripper()"] * 8, ["inside(a, a)"]
    )
    verdict = Evaluator(atomic_only_library(tmp_path), budget=20).evaluate(skill, env, (top,))
    assert verdict.reason == "timeout", verdict


def test_an_unreachable_goal_is_an_ik_failure(env, scene, tmp_path):
    top, _ = scene
    skill = composite(
        "reach", [("a", "block")], ["move_to(0.75, 0.35, 0.0)", "pick(a)"], ["inside(a, a)"]
    )
    verdict = Evaluator(atomic_only_library(tmp_path)).evaluate(skill, env, (top,))
    assert verdict.reason in ("ik_failure", "skill_failed"), verdict


def test_a_near_duplicate_is_refused_and_never_stored_twice(env, scene, tmp_path):
    top, base = scene
    library = SkillLibrary.open(tmp_path)
    same_as_stack_on = composite(
        "pile_up",
        [("lower", "block"), ("upper", "block")],
        ["pick(upper)", "place(upper, lower)"],
        ["on(upper, lower)"],
    )
    verdict, stored = Evaluator(library).admit(
        same_as_stack_on, env, (base, top), Provenance("planner")
    )
    assert verdict.reason == "duplicate" and "stack_on" in verdict.detail
    assert stored is None and "pile_up" not in SkillLibrary.open(tmp_path)


@pytest.mark.parametrize(("name", "family", "roles"), PROOFS)
def test_every_seed_composite_proves_itself_on_its_family(name, family, roles):
    seed = SkillLibrary.seed()
    skill = seed.get(name)
    called = {step.name for step in skill.steps}
    others = SkillLibrary([s for s in seed.composites.values() if s.name in called])
    env = TabletopEnv(family)
    try:
        env.reset(seed=1)
        verdict = Evaluator(others).evaluate(skill, env, tuple(env.task.roles[r] for r in roles))
    finally:
        env.close()
    assert verdict.passed, verdict


def test_a_skill_that_others_call_is_evaluated_with_its_callers_in_view(env, scene):
    top, base = scene
    seed = SkillLibrary.seed()  # build_tower calls stack_on
    careful = composite(
        "stack_on",
        [("top", "block"), ("base", "block")],
        ["open_gripper()", "pick(top)", "place(top, base)"],
        ["on(top, base)"],
    )
    assert Evaluator(seed).evaluate(careful, env, (top, base)).passed
    three = composite(
        "stack_on",
        [("top", "block"), ("base", "block"), ("extra", "block")],
        ["pick(top)", "place(top, base)"],
        ["on(top, base)"],
    )
    verdict = Evaluator(seed).evaluate(three, env, (top, base, base))
    assert verdict.reason == "invalid_definition" and "build_tower" in verdict.detail
