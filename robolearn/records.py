"""What happened in an episode, as one record type the agent writes and the store keeps.

The agent fills an :class:`EpisodeRecord` as it plans and runs; the store takes it as it is
and gives it back with its ids. Both sides use these types (this module imports nothing of
robolearn), so nothing is converted through dicts on the way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class StepRecord:
    """What one call of a plan did; its index is its position in ``EpisodeRecord.steps``."""

    call: str
    ok: bool
    reason: str | None = None
    """``None`` on success, else why the skill failed (``grasp``, ``budget``, ...)."""
    message: str = ""
    ticks: int = 0
    """Control steps the call took."""
    frame_path: str | None = None
    """The PNG of the camera after the call, relative to the workspace, or None.

    Frames are files, not blobs in the database: SQLite stays small and fast to copy, and the
    dashboard hands the file to the browser as it is.
    """
    frame: Any = field(default=None, repr=False, compare=False)
    """The camera image itself (an array), while the episode runs with frames; it is saved as
    ``frame_path`` and dropped before the record is stored."""

    def to_dict(self) -> dict[str, object]:
        """The JSON-ready record, without the image itself."""
        return {
            "call": self.call,
            "ok": self.ok,
            "reason": self.reason,
            "message": self.message,
            "ticks": self.ticks,
            "frame_path": self.frame_path,
        }


@dataclass
class EpisodeRecord:
    """One episode: the task, the plan, each step's outcome and whether the task succeeded."""

    family: str
    seed: int
    instruction: str
    planner: str
    plan: list[str]
    """The plan's calls as text, one a step (``pick(red_block)``)."""
    steps: list[StepRecord] = field(default_factory=list)
    success: bool = False
    control_steps: int = 0
    error: str | None = None
    """Why the plan could not run at all (it failed validation), else None."""
    proposal: str | None = None
    """The Evaluator's verdict on a skill composed from this episode's plan, if any."""
    explanation: str | None = None
    """Where the plan came from (the model and adapter, or the correction it repeats)."""
    id: int | None = None
    """Set by the store; None before the episode is stored."""
    run_id: int | None = None
    """The run the episode belongs to; set by the store."""
    created: str | None = None
    """When the store added it (ISO 8601, UTC); set by the store."""

    def to_dict(self) -> dict[str, object]:
        """The JSON-ready record, steps included (without images)."""
        return {
            "id": self.id,
            "run_id": self.run_id,
            "created": self.created,
            "family": self.family,
            "seed": self.seed,
            "instruction": self.instruction,
            "planner": self.planner,
            "plan": self.plan,
            "success": self.success,
            "control_steps": self.control_steps,
            "error": self.error,
            "proposal": self.proposal,
            "explanation": self.explanation,
            "steps": [s.to_dict() for s in self.steps],
        }
