"""The Gymnasium environment: one task family's scenes in the PyBullet tabletop.

It joins a :class:`~robolearn.sim.world.TabletopWorld` (physics) and a task family (scenes,
instructions, success), which is why it lives here and not in ``sim``: ``sim`` knows nothing of
tasks.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import gymnasium as gym
import numpy as np

from robolearn.sim.scene import PHYSICS_HZ
from robolearn.sim.world import (
    FINGER_OPEN,
    FLOOR_HEIGHT,
    IMAGE_SIZE,
    JOINT_HIGH,
    JOINT_LOW,
    TabletopWorld,
)
from robolearn.tasks.sampler import TaskInstance, sample_task
from robolearn.tasks.spec import TaskFamily, get_family

CONTROL_HZ = 20
"""Actions per simulated second; each action runs PHYSICS_HZ / CONTROL_HZ physics steps.

20 Hz (robosuite's default; panda-gym uses 25) keeps the env's own work per action (reading
the state, checking success) within 15% of the physics it drives.
"""
SUBSTEPS = PHYSICS_HZ // CONTROL_HZ
MAX_JOINT_STEP = 3.0 / CONTROL_HZ
"""Largest change of an arm joint's target per action, radians (3 rad/s)."""


class TabletopEnv(gym.Env[dict[str, np.ndarray], np.ndarray]):
    """A Panda on a table with a task family's objects; sparse reward on task success.

    * Action: ``Box(-1, 1, (8,))``: seven arm joint-target changes, scaled by
      ``MAX_JOINT_STEP`` from the measured angles, then the gripper (-1 closed, 1 open).
    * Observation: ``robot`` (7 joint angles, gripper point xyz, finger opening) and
      ``objects`` (one row per object in scene order: position xyz, quaternion xyzw).
    * Reward 1 and ``terminated`` once the family's success predicates hold; ``truncated``
      after the family's ``max_steps`` actions.
    * ``reset(seed=k)`` gives the family's task instance ``k`` (``info["instruction"]``);
      ``options={"task": TaskInstance}`` sets a given instance instead.

    Version History:
        * v0: initial release.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": CONTROL_HZ}  # noqa: RUF012

    def __init__(
        self,
        task: str | TaskFamily = "stack",
        render_mode: str | None = None,
        image_size: int = IMAGE_SIZE,
    ) -> None:
        if render_mode not in (None, "rgb_array"):
            raise ValueError(
                f"render_mode {render_mode!r} is not supported; use 'rgb_array' "
                "or None (the simulation always runs headless)"
            )
        self.family = task if isinstance(task, TaskFamily) else get_family(task)
        self.render_mode = render_mode
        self.world = TabletopWorld(self.family.slot_kinds, image_size=image_size)
        self.task: TaskInstance | None = None
        self.elapsed_steps = 0
        self.action_space = gym.spaces.Box(-1.0, 1.0, (8,), dtype=np.float32)
        # Bounds a real state stays within: joint angles are limited (a little slack for the
        # solver), the gripper and objects stay above the floor and near the table, and
        # quaternions are unit vectors.
        robot_low = [*(JOINT_LOW - 0.1), -2.0, -2.0, FLOOR_HEIGHT - 0.1, 0.0]
        robot_high = [*(JOINT_HIGH + 0.1), 2.0, 2.0, 2.0, 0.1]
        objects = len(self.family.objects)
        object_low = np.tile([-5.0, -5.0, FLOOR_HEIGHT - 0.1, -1, -1, -1, -1], (objects, 1))
        object_high = np.tile([5.0, 5.0, 5.0, 1, 1, 1, 1], (objects, 1))
        self.observation_space = gym.spaces.Dict(
            {
                "robot": gym.spaces.Box(
                    np.array(robot_low, np.float32),
                    np.array(robot_high, np.float32),
                    dtype=np.float32,
                ),
                "objects": gym.spaces.Box(
                    object_low.astype(np.float32), object_high.astype(np.float32), dtype=np.float32
                ),
            }
        )

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict]:
        """Start the task instance ``seed`` (or one drawn from the env's generator)."""
        super().reset(seed=seed)
        task = (options or {}).get("task")
        if task is None:
            task_seed = seed if seed is not None else int(self.np_random.integers(2**31))
            task = sample_task(self.family, task_seed)
        elif not isinstance(task, TaskInstance) or task.family != self.family.name:
            raise ValueError(
                f"options['task'] must be a TaskInstance of family {self.family.name!r}"
            )
        self.task = task
        self._object_names = [o.name for o in task.objects]
        self.world.set_scene(task.objects)
        self.elapsed_steps = 0
        return self._observation(), self._info(success=False)

    def step(self, action: np.ndarray) -> tuple[dict[str, np.ndarray], float, bool, bool, dict]:
        """Move the joint targets by ``action`` and simulate one control period."""
        if self.task is None:
            raise RuntimeError("call reset() before step()")
        # Plain floats: numpy costs more than the arithmetic on eight numbers.
        values = np.asarray(action, dtype=np.float64)
        if values.shape != (8,) or not math.isfinite(values.sum()):
            raise ValueError(f"action must be 8 finite numbers in [-1, 1], got {action!r}")
        *arm, grip = (min(1.0, max(-1.0, v)) for v in values.tolist())
        # The last observation holds the measured joint angles: only step() moves the world.
        targets = [q + a * MAX_JOINT_STEP for q, a in zip(self._joint_angles, arm, strict=True)]
        self.world.command(targets, (grip + 1.0) / 2.0 * FINGER_OPEN)
        self.world.step(SUBSTEPS)
        self.elapsed_steps += 1
        success = self.task.succeeded(self.world)
        truncated = self.elapsed_steps >= self.task.max_steps
        return self._observation(), float(success), success, truncated, self._info(success)

    @contextmanager
    def sandbox(self, budget: int) -> Iterator[None]:
        """Run something in a throwaway copy of the episode, with its own step budget.

        Afterwards the simulation, the step count and the task are as they were: the Evaluator
        tries candidate skills here without touching the live episode.
        """
        if self.task is None:
            raise RuntimeError("call reset() before sandbox()")
        handle = self.world.save_state()
        saved = self.task, self.elapsed_steps, self._joint_angles
        self.task = replace(self.task, max_steps=self.elapsed_steps + budget)
        try:
            yield
        finally:
            self.world.restore_state(handle)
            self.world.discard_state(handle)
            self.task, self.elapsed_steps, self._joint_angles = saved

    def render(self) -> np.ndarray | None:
        """An RGB image of the table when ``render_mode="rgb_array"``, else nothing."""
        return self.world.render() if self.render_mode == "rgb_array" else None

    def close(self) -> None:
        """Release the physics server."""
        self.world.close()

    def _observation(self) -> dict[str, np.ndarray]:
        robot = self.world.robot_state()
        self._joint_angles = robot[:7]
        state = np.array(robot + self.world.poses(self._object_names), dtype=np.float32)
        return {"robot": state[:11], "objects": state[11:].reshape(-1, 7)}

    def _info(self, success: bool) -> dict[str, Any]:
        return {
            "instruction": self.task.instruction,
            "family": self.task.family,
            "task_seed": self.task.seed,
            "success": success,
        }
