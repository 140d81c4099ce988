"""The PyBullet tabletop: the only module that imports pybullet.

A Franka Panda stands at the origin on a table whose top is the plane z = 0; blocks, bowls,
bins and flat target zones lie on it and are addressed by name (``red_block``, ``blue_bowl``).
Bodies are loaded once per world; a new episode moves and recolours them and restores a saved
state, which keeps reset well under a millisecond and results bitwise-deterministic (FACTS.md,
PyBullet).
"""

from __future__ import annotations

import functools
import math
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pybullet_data

from robolearn.errors import UserError
from robolearn.sim.quiet import quiet_import
from robolearn.sim.scene import (
    BLOCK_SIZE,
    COLOURS,
    OBJECT_KINDS,
    PHYSICS_HZ,
    TRAY_FLOOR,
    TRAY_WALL,
    TRAYS,
    ZONE_SIZE,
    SceneObject,
)

pybullet = quiet_import("pybullet")

HOME_JOINTS = np.array([0.0, -0.45, 0.0, -2.4, 0.0, 1.95, math.pi / 4])
ARM_JOINTS = tuple(range(7))
FINGER_JOINTS = (9, 10)
EE_LINK = 11
FINGER_OPEN = 0.04
"""Per-finger opening when fully open, metres."""

_STATE_JOINTS = (*ARM_JOINTS, *FINGER_JOINTS)
IMAGE_SIZE = 256
"""Pixels a side of a camera image: a block is ~25 px across."""
CAMERA = {"cameraEyePosition": (0.9, -0.55, 0.5), "cameraTargetPosition": (0.48, 0.0, 0.04)}
"""From the front right, above the table's edge (fov 45°): the arm reaches in from the left."""
FLOOR_HEIGHT = -0.7
"""The floor under the table (whose top is z = 0), metres."""
SOLVER_ITERATIONS = 20
"""Constraint-solver iterations per physics step (pybullet's default, 50, costs ~15% more)."""
_ARM_FORCES = (87.0, 87.0, 87.0, 87.0, 12.0, 12.0, 12.0)
_FINGER_FORCE = 40.0
JOINT_LOW = np.array([-2.9671, -1.8326, -2.9671, -3.1416, -2.9671, -0.0873, -2.9671])
JOINT_HIGH = np.array([2.9671, 1.8326, 2.9671, 0.0, 2.9671, 3.8223, 2.9671])


_ORIGIN_HEIGHT = {"block": BLOCK_SIZE / 2, "bowl": 0.0, "zone": 0.0005, "bin": 0.0}
"""Height of each kind's body origin above the bottom of the object, metres."""
_SURFACE_HEIGHT = {"block": BLOCK_SIZE, "bowl": TRAY_FLOOR, "zone": 0.0, "bin": TRAY_FLOOR}
"""Height above an object's bottom of the surface a block resting on (or in) it stands on."""


class UnknownObjectError(UserError, LookupError):
    """A name that is not an object of the current scene."""


def _bottom(obj: SceneObject, by_name: Mapping[str, SceneObject]) -> float:
    """Height of an object's bottom: 0 on the table, else the surface of what it rests on."""
    height, seen = 0.0, {obj.name}
    while obj.on is not None:
        support = by_name.get(obj.on)
        if support is None or support.name in seen:
            raise ValueError(
                f"{obj.name!r} rests on {obj.on!r}, which is not an object of "
                "the scene or rests on it in turn"
            )
        height += _SURFACE_HEIGHT[support.kind]
        obj = support
        seen.add(obj.name)
    return height


class _Client:
    """pybullet's functions bound to one physics server, each bound once.

    pybullet_utils' BulletClient binds on every attribute access, which cost ~5% of an episode.
    """

    def __init__(self) -> None:
        self.id = pybullet.connect(pybullet.DIRECT)

    def __getattr__(self, name: str) -> object:
        function = functools.partial(getattr(pybullet, name), physicsClientId=self.id)
        setattr(self, name, function)
        return function


def _lowpoly_panda_urdf(directory: Path) -> Path:
    """Write a Panda URDF whose visual meshes are its collision meshes.

    TinyRenderer then draws an image in ~9 ms instead of ~27 ms (FACTS.md, Camera).
    """
    panda_dir = Path(pybullet_data.getDataPath()) / "franka_panda"
    text = (panda_dir / "panda.urdf").read_text()
    text = text.replace("package://meshes/visual/", "package://meshes/collision/")
    text = re.sub(r"\.dae\"", '.obj"', text)
    text = text.replace("package://meshes/", f"{panda_dir.as_posix()}/meshes/")
    path = directory / "panda_lowpoly.urdf"
    path.write_text(text)
    return path


class TabletopWorld:
    """A Panda, a table and a fixed set of object slots, reused across episodes.

    ``slot_kinds`` fixes how many blocks, bowls, bins and zones the world holds; each
    episode's :meth:`set_scene` gives the slots names, colours and places.
    """

    def __init__(self, slot_kinds: Sequence[str], image_size: int = IMAGE_SIZE) -> None:
        unknown = [kind for kind in slot_kinds if kind not in OBJECT_KINDS]
        if unknown:
            raise ValueError(f"unknown object kinds {unknown}; known: {list(OBJECT_KINDS)}")
        self.slot_kinds = tuple(slot_kinds)
        self.image_size = image_size
        self._client = _Client()
        client = self._client
        client.setAdditionalSearchPath(pybullet_data.getDataPath())
        client.setGravity(0, 0, -9.81)
        client.setTimeStep(1.0 / PHYSICS_HZ)
        client.setPhysicsEngineParameter(
            deterministicOverlappingPairs=1, numSolverIterations=SOLVER_ITERATIONS
        )
        self._table = self._make_table()
        with tempfile.TemporaryDirectory(prefix="robolearn-") as tmp:
            self.robot = client.loadURDF(
                str(_lowpoly_panda_urdf(Path(tmp))),
                useFixedBase=True,
                flags=pybullet.URDF_ENABLE_CACHED_GRAPHICS_SHAPES,
            )
        for finger in FINGER_JOINTS:
            client.changeDynamics(self.robot, finger, lateralFriction=1.5, spinningFriction=0.002)
        # Couple the fingers (as pybullet's own Panda grasp demo does): with both finger motors
        # saturated a held block has no centring force and slides sideways while carried.
        gear = client.createConstraint(
            self.robot,
            FINGER_JOINTS[0],
            self.robot,
            FINGER_JOINTS[1],
            pybullet.JOINT_GEAR,
            jointAxis=(1, 0, 0),
            parentFramePosition=(0, 0, 0),
            childFramePosition=(0, 0, 0),
        )
        client.changeConstraint(gear, gearRatio=-1, erp=0.1, maxForce=50)
        self._slots = [self._make_slot(kind) for kind in self.slot_kinds]
        # Parked apart, under the floor: slots parked on top of one another keep contact
        # manifolds with each other through every restore, and two objects that start an
        # episode touching (a block on a block) would inherit the last episode's contacts.
        for i, body in enumerate(self._slots):
            client.resetBasePositionAndOrientation(body, (float(i), 0.0, -1.0), (0, 0, 0, 1))
        self._bodies: dict[str, int] = {}
        self._scene: dict[str, SceneObject] = {}
        self._moved()
        self._saved_commands: dict[int, list[float]] = {}
        self._home()
        self._initial_state = client.saveState()
        self._projection = client.computeProjectionMatrixFOV(
            fov=45, aspect=1.0, nearVal=0.05, farVal=3.0
        )
        self._view = client.computeViewMatrix(**CAMERA, cameraUpVector=(0, 0, 1))

    # ----- building -------------------------------------------------------------------------
    def _make_table(self) -> int:
        client = self._client
        half = (0.55, 0.65, 0.025)
        shape = client.createCollisionShape(pybullet.GEOM_BOX, halfExtents=half)
        visual = client.createVisualShape(
            pybullet.GEOM_BOX, halfExtents=half, rgbaColor=(0.72, 0.6, 0.45, 1.0)
        )
        table = client.createMultiBody(0, shape, visual, basePosition=(0.45, 0.0, -half[2]))
        client.changeDynamics(table, -1, lateralFriction=0.6)
        # A floor under the table: a block knocked off lands there instead of falling forever,
        # so positions stay within the env's observation space.
        client.createMultiBody(
            0,
            client.createCollisionShape(pybullet.GEOM_PLANE),
            basePosition=(0.0, 0.0, FLOOR_HEIGHT),
        )
        return table

    def _make_slot(self, kind: str) -> int:
        client = self._client
        if kind == "block":
            half = [BLOCK_SIZE / 2] * 3
            body = client.createMultiBody(
                0.1,
                client.createCollisionShape(pybullet.GEOM_BOX, halfExtents=half),
                client.createVisualShape(pybullet.GEOM_BOX, halfExtents=half),
                basePosition=(0, 0, -1),
            )
            client.changeDynamics(
                body,
                -1,
                lateralFriction=1.0,
                spinningFriction=0.002,
                activationState=pybullet.ACTIVATION_STATE_DISABLE_SLEEPING,
            )
            return body
        if kind == "zone":
            half = (ZONE_SIZE / 2, ZONE_SIZE / 2, 0.0005)
            visual = client.createVisualShape(pybullet.GEOM_BOX, halfExtents=half)
            return client.createMultiBody(0, -1, visual, basePosition=(0, 0, -1))
        return self._make_tray(*TRAYS[kind])

    def _make_tray(self, inner: float, height: float) -> int:
        """A static square tray (bowl, bin): a floor and four low walls in one compound body."""
        client = self._client
        wall = TRAY_WALL
        outer = inner / 2 + wall / 2
        side_wall = (wall / 2, inner / 2 + wall, height / 2)
        end_wall = (inner / 2, wall / 2, height / 2)
        halves = [
            (inner / 2 + wall, inner / 2 + wall, TRAY_FLOOR / 2),
            side_wall,
            side_wall,
            end_wall,
            end_wall,
        ]
        centres = [
            (0, 0, TRAY_FLOOR / 2),
            (outer, 0, height / 2),
            (-outer, 0, height / 2),
            (0, outer, height / 2),
            (0, -outer, height / 2),
        ]
        n = len(halves)
        collision = client.createCollisionShapeArray(
            [pybullet.GEOM_BOX] * n, halfExtents=halves, collisionFramePositions=centres
        )
        visual = client.createVisualShapeArray(
            [pybullet.GEOM_BOX] * n, halfExtents=halves, visualFramePositions=centres
        )
        return client.createMultiBody(0, collision, visual, basePosition=(0, 0, -1))

    def _home(self) -> None:
        for joint, angle in zip(ARM_JOINTS, HOME_JOINTS, strict=True):
            self._client.resetJointState(self.robot, joint, angle)
        for finger in FINGER_JOINTS:
            self._client.resetJointState(self.robot, finger, FINGER_OPEN)
        self.command(HOME_JOINTS, FINGER_OPEN)

    # ----- episodes -------------------------------------------------------------------------
    def set_scene(self, objects: Sequence[SceneObject]) -> None:
        """Start an episode: restore the initial state, then place and colour every slot.

        An object that rests on another (``SceneObject.on``) stands on its support's top or
        floor.
        """
        kinds = tuple(obj.kind for obj in objects)
        if kinds != self.slot_kinds:
            raise ValueError(
                f"scene kinds {kinds} do not match this world's slots {self.slot_kinds}"
            )
        by_name = {obj.name: obj for obj in objects}
        heights = [_bottom(obj, by_name) + _ORIGIN_HEIGHT[obj.kind] for obj in objects]
        client = self._client
        client.restoreState(self._initial_state)
        # With every object parked off the table again, a collision pass drops the contact
        # manifolds of the last episode; left alive, their warm-start impulses leak into this
        # one and the same seed drifts by a millimetre.
        client.performCollisionDetection()
        self._home()
        self._bodies, self._scene = {}, {}
        for body, obj, z in zip(self._slots, objects, heights, strict=True):
            if obj.colour not in COLOURS:
                raise ValueError(f"unknown colour {obj.colour!r}; known: {sorted(COLOURS)}")
            client.resetBasePositionAndOrientation(body, (obj.x, obj.y, z), (0, 0, 0, 1))
            client.changeVisualShape(body, -1, rgbaColor=COLOURS[obj.colour])
            self._bodies[obj.name] = body
            self._scene[obj.name] = obj
        # Bring the link transforms up to date, so state reads before the first step are true.
        client.getLinkState(self.robot, EE_LINK, computeForwardKinematics=True)
        self._moved()

    @property
    def objects(self) -> Mapping[str, SceneObject]:
        """The current scene's objects by name (read-only)."""
        return MappingProxyType(self._scene)

    def _body(self, name: str) -> int:
        try:
            return self._bodies[name]
        except KeyError:
            raise UnknownObjectError(
                f"no object named {name!r} in this scene; objects: {sorted(self._bodies)}"
            ) from None

    # ----- reading the state ----------------------------------------------------------------
    # Reads are cached until the physics moves (step, set_scene, restore_state): the env, its
    # success check and the skills all read the same poses every tick, and each pybullet query
    # costs more than the arithmetic done with it.
    def _pose(self, name: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
        body = self._body(name)
        pose = self._poses.get(body)
        if pose is None:
            pose = self._poses[body] = self._client.getBasePositionAndOrientation(body)
        return pose

    def pose(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Position and orientation (quaternion x, y, z, w) of an object."""
        position, orientation = self._pose(name)
        return np.array(position), np.array(orientation)

    def xyz(self, name: str) -> tuple[float, float, float]:
        """An object's position as plain floats: cheaper than an array for scalar checks."""
        return self._pose(name)[0]

    def position(self, name: str) -> np.ndarray:
        """World position of an object's centre (a bowl's or zone's floor centre)."""
        return np.array(self._pose(name)[0])

    def poses(self, names: Sequence[str]) -> list[float]:
        """Position and quaternion of each named object, flattened in order."""
        return [v for name in names for part in self._pose(name) for v in part]

    def robot_state(self) -> list[float]:
        """Arm joint angles, gripper point xyz and finger opening (11 floats)."""
        if self._robot is None:
            states = self._client.getJointStates(self.robot, _STATE_JOINTS)
            ee = self._client.getLinkState(self.robot, EE_LINK)[4]
            self._robot = [*(s[0] for s in states[:7]), *ee, states[7][0] + states[8][0]]
        return self._robot

    def joint_positions(self) -> np.ndarray:
        """The seven arm joint angles, radians."""
        return np.array(self.robot_state()[:7])

    def ee_position(self) -> np.ndarray:
        """Position of the point between the fingertips."""
        return np.array(self.robot_state()[7:10])

    def gripper_opening(self) -> float:
        """Distance between the fingers, metres (0 closed, 0.08 open)."""
        return self.robot_state()[10]

    def _moved(self) -> None:
        """Forget cached reads: the simulation's state changed."""
        self._poses: dict[int, tuple[tuple[float, ...], tuple[float, ...]]] = {}
        self._robot: list[float] | None = None

    def touching_robot(self, name: str) -> bool:
        """Whether any part of the robot touches the object."""
        return bool(self._client.getContactPoints(bodyA=self.robot, bodyB=self._body(name)))

    def held(self, name: str) -> bool:
        """Whether both fingers touch the object: it is in the gripper."""
        body = self._body(name)
        return all(
            self._client.getContactPoints(bodyA=self.robot, bodyB=body, linkIndexA=f)
            for f in FINGER_JOINTS
        )

    # ----- moving the robot -----------------------------------------------------------------
    def solve_ik(
        self, position: Sequence[float], yaw: float = 0.0, iterations: int = 10
    ) -> np.ndarray:
        """Arm joint angles that put the gripper, pointing down, at ``position``."""
        orientation = self._client.getQuaternionFromEuler((math.pi, 0.0, yaw))
        solution = self._client.calculateInverseKinematics(
            self.robot,
            EE_LINK,
            list(position),
            orientation,
            lowerLimits=list(JOINT_LOW) + [0, 0],
            upperLimits=list(JOINT_HIGH) + [0.04, 0.04],
            jointRanges=list(JOINT_HIGH - JOINT_LOW) + [0.04, 0.04],
            restPoses=list(HOME_JOINTS) + [0.02, 0.02],
            maxNumIterations=iterations,
            residualThreshold=1e-4,
        )
        return np.clip(np.array(solution[:7]), JOINT_LOW, JOINT_HIGH)

    def command(self, arm_targets: Sequence[float], finger_target: float) -> None:
        """Set the position targets of the arm joints and of each finger."""
        targets = [*arm_targets, finger_target, finger_target]
        self._command = targets
        self._client.setJointMotorControlArray(
            self.robot,
            [*ARM_JOINTS, *FINGER_JOINTS],
            pybullet.POSITION_CONTROL,
            targetPositions=targets,
            forces=[*_ARM_FORCES, _FINGER_FORCE, _FINGER_FORCE],
        )

    def step(self, n: int = 1) -> None:
        """Advance the physics by ``n`` steps of 1/240 s."""
        for _ in range(n):
            self._client.stepSimulation()
        self._moved()

    # ----- state and images -----------------------------------------------------------------
    def save_state(self) -> int:
        """Snapshot the whole simulation in memory; returns a handle for :meth:`restore_state`.

        The snapshot includes the motor targets, which pybullet's own states leave out.
        """
        handle = self._client.saveState()
        self._saved_commands[handle] = list(self._command)
        return handle

    def restore_state(self, handle: int) -> None:
        """Return to a snapshot taken by :meth:`save_state` (the scene's names are kept)."""
        self._client.restoreState(handle)
        command = self._saved_commands[handle]
        self.command(command[:7], command[7])
        self._client.getLinkState(self.robot, EE_LINK, computeForwardKinematics=True)
        self._moved()

    def discard_state(self, handle: int) -> None:
        """Free a snapshot that is no longer needed."""
        self._client.removeState(handle)
        del self._saved_commands[handle]

    def render(self) -> np.ndarray:
        """An RGB image (image_size x image_size x 3, uint8) of the table, from the front right."""
        size = self.image_size
        _, _, rgba, _, _ = self._client.getCameraImage(
            size,
            size,
            self._view,
            self._projection,
            renderer=pybullet.ER_TINY_RENDERER,
            flags=pybullet.ER_NO_SEGMENTATION_MASK,
        )
        return np.asarray(rgba, dtype=np.uint8).reshape(size, size, 4)[:, :, :3].copy()

    def close(self) -> None:
        """Disconnect from the physics server."""
        if self._client is not None:
            self._client.disconnect()
            self._client = None
