"""Closed-loop motion through the Gymnasium env: the only code that moves the robot.

Every control tick reads the measured gripper position, takes a bounded Cartesian step toward
the goal, solves IK for it from the current joints and sends the joint change as the env's
action. Straight-line motion keeps the gripper clear of neighbouring objects; re-solving each
tick corrects drift. Budgets are counted in control ticks, never wall-clock time.
"""

from __future__ import annotations

import numpy as np

from robolearn.tasks.env import CONTROL_HZ, MAX_JOINT_STEP, TabletopEnv

LINEAR_STEP = 1.2 / CONTROL_HZ
"""Largest Cartesian move of the gripper per control tick, metres (1.2 m/s)."""
REACH_TOLERANCE = 0.004
"""How close the gripper must come to a goal, metres."""
MOVE_TICKS = int(2.5 * CONTROL_HZ)
"""Ticks a single move may take before it counts as unreachable."""
GRIP_TICKS = int(0.27 * CONTROL_HZ)
"""Ticks given to the fingers to open or close."""


class SkillFailure(RuntimeError):
    """A skill that ran but did not achieve its effect; ``reason`` is a short code.

    Reasons: ``unreachable`` (IK could not bring the gripper to the goal), ``grasp`` (nothing in
    the gripper after closing), ``dropped`` (object lost while carrying), ``not_holding``
    (a place without the object in the gripper), ``full`` (no free spot left in a bin),
    ``budget`` (the episode's step budget ran out).
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Motion:
    """Drives one env episode tick by tick; keeps the gripper command between moves."""

    def __init__(self, env: TabletopEnv) -> None:
        self.env = env
        self.world = env.world
        self.gripper = 1.0 if self.world.gripper_opening() > 0.04 else -1.0

    def tick(self, joint_targets: np.ndarray | None = None) -> None:
        """One control period toward ``joint_targets`` (or holding still)."""
        if self.env.elapsed_steps >= self.env.task.max_steps:
            raise SkillFailure(
                "budget", f"the episode's budget of {self.env.task.max_steps} control steps ran out"
            )
        current = self.world.joint_positions()
        change = np.zeros(7) if joint_targets is None else joint_targets - current
        action = np.append(np.clip(change / MAX_JOINT_STEP, -1.0, 1.0), self.gripper)
        self.env.step(action)

    def move_to(
        self, goal: np.ndarray, step: float = LINEAR_STEP, tolerance: float = REACH_TOLERANCE
    ) -> None:
        """Move the gripper point in a straight line to ``goal``, pointing down."""
        goal = np.asarray(goal, dtype=float)
        for _ in range(MOVE_TICKS):
            position = self.world.ee_position()
            error = goal - position
            distance = float(np.linalg.norm(error))
            if distance < tolerance:
                return
            waypoint = position + error * min(1.0, step / distance)
            self.tick(self.world.solve_ik(waypoint))
        raise SkillFailure(
            "unreachable",
            f"the gripper did not reach {np.round(goal, 3)} "
            f"within {MOVE_TICKS} ticks (still "
            f"{np.linalg.norm(goal - self.world.ee_position()):.3f} m away)",
        )

    def set_gripper(self, open_: bool) -> None:
        """Open or close the fingers and wait for them to settle."""
        self.gripper = 1.0 if open_ else -1.0
        hold = self.world.joint_positions()
        for _ in range(GRIP_TICKS):
            self.tick(hold)
