import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import robolearn  # noqa: F401  (registers the envs)
from robolearn.tasks.env import TabletopEnv
from robolearn.tasks.predicates import inside, on
from robolearn.tasks.registration import GENERIC_ID, env_kwargs_by_id
from robolearn.tasks.spec import load_family
from tests.conftest import VALID_FAMILY

ENV_IDS = list(env_kwargs_by_id())


def _rollout(env, seed, actions):
    observation, info = env.reset(seed=seed)
    trace = [observation]
    for action in actions:
        trace.append(env.step(action)[0])
    return trace, info


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_every_registered_env_passes_the_gymnasium_checker(env_id):
    env = gym.make(env_id, render_mode="rgb_array")
    try:
        check_env(env.unwrapped, skip_render_check=False)
    finally:
        env.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_the_same_seed_replays_bitwise_whatever_ran_before(env_id):
    actions = np.random.default_rng(0).uniform(-1, 1, (40, 8)).astype(np.float32)
    first, second = gym.make(env_id), gym.make(env_id)
    try:
        reference, info = _rollout(first, 5, actions)
        _rollout(second, 11, actions[::-1])  # another episode first, in the same process
        replay, replay_info = _rollout(second, 5, actions)
    finally:
        first.close()
        second.close()
    assert info["instruction"] == replay_info["instruction"]
    for a, b in zip(reference, replay, strict=True):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])


def test_the_generic_env_takes_a_family_and_reports_the_instruction():
    env = gym.make(GENERIC_ID, task="push_to_zone", render_mode="rgb_array")
    try:
        observation, info = env.reset(seed=0)
        task = env.unwrapped.task
        assert info["instruction"] == task.instruction
        assert task.roles["item"].split("_")[0] in info["instruction"]
        assert observation["objects"].shape == (2, 7)
        image = env.render()
        assert image.shape == (256, 256, 3) and image.dtype == np.uint8
        assert image.std() > 10  # a real picture, not a blank frame
    finally:
        env.close()


def test_a_bad_action_or_task_is_refused_clearly():
    env = gym.make(GENERIC_ID, task="stack").unwrapped
    try:
        env.reset(seed=0)
        with pytest.raises(ValueError, match="8 finite numbers"):
            env.step(np.full(8, np.nan))
        with pytest.raises(ValueError, match="8 finite numbers"):
            env.step(np.zeros(3))
    finally:
        env.close()
    with pytest.raises(LookupError, match="unknown task family 'juggle'; known:"):
        gym.make(GENERIC_ID, task="juggle")


def test_an_episode_is_cut_off_at_its_step_budget():
    env = gym.make(GENERIC_ID, task="stack").unwrapped
    try:
        env.reset(seed=0)
        truncated = False
        for _ in range(env.task.max_steps):
            *_, terminated, truncated, _ = env.step(np.zeros(8))
        assert truncated and not terminated
    finally:
        env.close()


def test_a_block_that_starts_on_a_block_or_in_a_zone_is_there_at_reset(family_file):
    family = load_family(
        family_file(
            VALID_FAMILY
            + """
[objects.lid]
kind = "block"
on = "top"
[objects.pad]
kind = "zone"
[objects.token]
kind = "block"
on = "pad"
"""
        )
    )
    env = TabletopEnv(family)
    try:
        for seed in range(3):
            env.reset(seed=seed)
            top, _, lid, pad, token = (o.name for o in env.task.objects)
            for _ in range(10):  # let it settle: nothing falls or slides
                env.step(np.array([0.0] * 7 + [1.0]))
            assert on(env.world, lid, top), seed
            assert inside(env.world, token, pad), seed
    finally:
        env.close()
