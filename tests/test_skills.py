import itertools

import numpy as np
import pytest

from robolearn.agent import run_episode
from robolearn.calls import Call, parse_calls
from robolearn.sim.scene import BLOCK_SIZE
from robolearn.skills.atomic import ATOMIC_SKILLS
from robolearn.skills.executor import MAX_PLAN_STEPS, PlanValidationError, execute_plan
from robolearn.tasks.env import TabletopEnv
from robolearn.tasks.predicates import between, inside
from robolearn.tasks.spec import load_family


@pytest.fixture(scope="module")
def env():
    env = TabletopEnv("stack")
    yield env
    env.close()


def test_every_skill_declares_a_signature_and_a_description():
    for skill in ATOMIC_SKILLS.values():
        assert skill.signature.startswith(f"{skill.name}(")
        assert len(skill.description) > 15


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        ("pick(green_cube)", "no object named 'green_cube' in this scene; objects:"),
        ("teleport(top)", "unknown skill 'teleport'; known:"),
        ("pick()", "takes 1 arguments"),
        ("move_to(0.5, 0.0, 2.5)", "out of reach"),
        ("move_to(0.5, red_block, 0.1)", "must be a number"),
        ("place_beside(BLOCK_A, BLOCK_B, up)", "must be one of left, right, front, back"),
        ("push(BLOCK_A, BLOCK_B)", "expected zone"),
        ("place(BLOCK_A, BLOCK_A)", "names the same object twice"),
    ],
)
def test_invalid_arguments_are_refused_before_anything_moves(env, plan, message):
    env.reset(seed=0)
    top, base = env.task.roles["top"], env.task.roles["base"]
    joints = env.world.joint_positions()
    plan = parse_calls(plan.replace("BLOCK_A", top).replace("BLOCK_B", base))
    with pytest.raises(PlanValidationError, match=message) as error:
        execute_plan(env, plan)
    assert "step 1" in str(error.value)
    assert env.elapsed_steps == 0
    np.testing.assert_array_equal(env.world.joint_positions(), joints)


def test_the_second_bad_step_is_named_and_the_first_never_runs(env):
    env.reset(seed=0)
    top = env.task.roles["top"]
    with pytest.raises(PlanValidationError, match=r"step 2 \(pick\(ghost\)\)"):
        execute_plan(env, [Call("pick", (top,)), Call("pick", ("ghost",))])
    assert env.elapsed_steps == 0


def test_a_plan_longer_than_the_limit_is_refused(env):
    env.reset(seed=0)
    with pytest.raises(PlanValidationError, match="limit"):
        execute_plan(env, [Call("open_gripper")] * (MAX_PLAN_STEPS + 1))


def test_placing_what_is_not_held_fails_with_a_reason_and_stops_the_plan(env):
    env.reset(seed=0)
    top, base = env.task.roles["top"], env.task.roles["base"]
    steps = execute_plan(env, [Call("place", (top, base)), Call("pick", (top,))])
    assert len(steps) == 1
    assert not steps[0].ok and steps[0].reason == "not_holding"
    assert f"pick({top}) first" in steps[0].message


def test_a_wrong_plan_is_recorded_not_raised_by_the_episode_runner(env):
    class WrongPlanner:
        name = "wrong"

        def plan(self, task):
            return [Call("pick", ("nothing_here",))]

    record = run_episode(env, WrongPlanner(), seed=1)
    assert not record.success
    assert "no object named 'nothing_here'" in record.error


def test_move_to_reaches_a_point_and_frames_show_the_scene(env):
    env.reset(seed=0)
    steps = execute_plan(env, parse_calls("move_to(0.5, 0.1, 0.2)"), frames=True)
    assert steps[0].ok
    assert np.linalg.norm(env.world.ee_position() - [0.5, 0.1, 0.2]) < 0.01
    assert steps[0].frame.shape == (256, 256, 3)


FIVE_BLOCKS_AND_A_BIN = """
name = "crowd"
description = "More blocks than a bin holds."
instructions = ["put the blocks in the {bin}"]
success = ["inside(a, bin)"]
oracle = ["pick(a)", "place(a, bin)"]
[objects.bin]
kind = "bin"
x = [0.45, 0.55]
y = [0.12, 0.18]
""" + "".join(
    f"""[objects.{role}]
kind = "block"
x = [0.3, 0.7]
y = [-0.3, -0.02]
"""
    for role in "abcde"
)


def test_placing_blocks_in_a_bin_fills_its_free_spots_until_it_is_full(family_file):
    env = TabletopEnv(load_family(family_file(FIVE_BLOCKS_AND_A_BIN, name="crowd")))
    try:
        env.reset(seed=0)
        bin_, *blocks = (o.name for o in env.task.objects)
        plan = [
            Call(skill, (block, bin_)[:n])
            for block in blocks
            for skill, n in (("pick", 1), ("place", 2))
        ]
        steps = execute_plan(env, plan)
        assert [s.ok for s in steps] == [True] * 9 + [False]
        assert steps[-1].reason == "full" and f"{bin_} has no free spot" in steps[-1].message
        assert all(inside(env.world, block, bin_) for block in blocks[:4])
        for a, b in itertools.combinations(blocks[:4], 2):
            (ax, ay, _), (bx, by, _) = env.world.xyz(a), env.world.xyz(b)
            assert np.hypot(ax - bx, ay - by) > BLOCK_SIZE, "each block on a spot of its own"
    finally:
        env.close()


def test_place_between_sets_the_block_down_midway_between_two_others():
    env = TabletopEnv("put_between")
    try:
        env.reset(seed=4)
        x, a, c = (env.task.roles[r] for r in ("x", "a", "c"))
        assert not between(env.world, x, a, c)
        steps = execute_plan(env, parse_calls(f"pick({x})\nplace_between({x}, {a}, {c})"))
        assert all(s.ok for s in steps)
        assert between(env.world, x, a, c) and between(env.world, x, c, a)
        assert not between(env.world, a, x, c), "a block at one end is not between"
        to_a, to_c = (
            np.hypot(*np.subtract(env.world.xyz(x), env.world.xyz(o))[:2]) for o in (a, c)
        )
        assert abs(to_a - to_c) < 0.02
    finally:
        env.close()
