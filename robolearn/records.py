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


PLAN_SOURCES = ("memory", "model", "scripted")
"""Where a plan can come from: a person's correction recalled by the memory, a language model,
or a planner that follows a script (the oracle, a test's planner)."""


@dataclass(frozen=True)
class PlanOrigin:
    """Where one plan came from, as a person asks when a plan surprises them."""

    source: str
    """One of ``PLAN_SOURCES``."""
    correction_id: int | None = None
    """The correction the memory recalled (``memory`` only)."""
    corrected_by: str | None = None
    """Who made that correction."""
    model: str | None = None
    """The base model's identity (``planner.identity.model_identity``), for ``model``."""
    adapter: str | None = None
    """The LoRA adapter (or expert's adapter) the model planned with; None: the base alone."""
    route: str | None = None
    """The router's choice: an expert's name, or ``base``; None where no router chose."""

    def __post_init__(self) -> None:
        if self.source not in PLAN_SOURCES:
            raise ValueError(f"unknown plan source {self.source!r}; known: {PLAN_SOURCES}")

    def summary(self) -> str:
        """A few words for a table cell: ``correction #3 by ada``, ``model + round-0002``."""
        if self.source == "memory":
            return f"correction #{self.correction_id} by {self.corrected_by or '?'}"
        if self.source == "scripted":
            return "scripted planner"
        parts = ["model"]
        if self.route is not None:
            parts.append(f"router: {self.route}")
        if self.adapter is not None:
            parts.append(self.adapter)
        return " + ".join(parts)

    def to_dict(self) -> dict[str, object]:
        """The JSON-ready record."""
        return {
            "source": self.source,
            "correction_id": self.correction_id,
            "corrected_by": self.corrected_by,
            "model": self.model,
            "adapter": self.adapter,
            "route": self.route,
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
    origin: PlanOrigin | None = None
    """Where the plan came from, as data; None when it was never planned (or stored before
    the store kept it)."""
    doubt: float | None = None
    """How unsure the planner was of its plan, 0 (sure) to 1, where it says (a model does)."""
    unmet: list[str] | None = None
    """The task's success predicates that did not hold at the end (``on(a, b)``); None when
    not recorded."""
    start_frame_path: str | None = None
    """The PNG of the camera before the first step, relative to the workspace, or None."""
    start_frame: Any = field(default=None, repr=False, compare=False)
    """The camera image before the first step while the episode runs with frames (as
    ``StepRecord.frame``)."""
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
            "origin": None if self.origin is None else self.origin.to_dict(),
            "doubt": self.doubt,
            "unmet": self.unmet,
            "start_frame_path": self.start_frame_path,
            "steps": [s.to_dict() for s in self.steps],
        }
