"""The plain records the store takes and returns; callers convert their own objects to these.

The store imports no other part of robolearn (DESIGN.md: it depends on nothing), so an
episode arrives as an ``EpisodeRow`` rather than the agent's ``EpisodeRecord``.
``EpisodeRow.from_dict(record.to_dict())`` is the one-line conversion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class StepRow:
    """What one call of a plan did; its index is its position in ``EpisodeRow.steps``."""

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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepRow:
        """The row of a step record's ``to_dict()`` (with ``frame_path`` when there is one)."""
        return cls(
            call=data["call"],
            ok=bool(data["ok"]),
            reason=data.get("reason"),
            message=data.get("message", ""),
            ticks=int(data.get("ticks", 0)),
            frame_path=data.get("frame_path"),
        )

    def to_dict(self) -> dict[str, object]:
        """The JSON-ready row."""
        return {
            "call": self.call,
            "ok": self.ok,
            "reason": self.reason,
            "message": self.message,
            "ticks": self.ticks,
            "frame_path": self.frame_path,
        }


@dataclass
class EpisodeRow:
    """One episode: the task, the plan, each step's outcome and whether the task succeeded."""

    family: str
    seed: int
    instruction: str
    planner: str
    plan: list[str]
    """The plan's calls as text, one a step (``pick(red_block)``)."""
    steps: list[StepRow] = field(default_factory=list)
    success: bool = False
    control_steps: int = 0
    error: str | None = None
    """Why the plan could not run at all, else None."""
    proposal: str | None = None
    """The Evaluator's verdict on a skill composed from this episode's plan, if any."""
    explanation: str | None = None
    """Where the plan came from (the model and adapter, or the correction it repeats)."""
    id: int | None = None
    """Set by the store; None before the row is added."""
    run_id: int | None = None
    """The run the episode belongs to; set by the store."""
    created: str | None = None
    """When the store added it (ISO 8601, UTC); set by the store."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EpisodeRow:
        """The row of an episode record's ``to_dict()``; steps may carry ``frame_path``."""
        return cls(
            family=data["family"],
            seed=int(data["seed"]),
            instruction=data["instruction"],
            planner=data["planner"],
            plan=[str(call) for call in data["plan"]],
            steps=[StepRow.from_dict(step) for step in data.get("steps", [])],
            success=bool(data.get("success", False)),
            control_steps=int(data.get("control_steps", 0)),
            error=data.get("error"),
            proposal=data.get("proposal"),
            explanation=data.get("explanation"),
        )

    def to_dict(self) -> dict[str, object]:
        """The JSON-ready row, steps included."""
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


@dataclass
class CorrectionRow:
    """A person's (or the simulated corrector's) fix of one step of an episode; never changed.

    ``proposed`` and ``corrected`` are any JSON value the correction API chooses (a call as
    text, a list of calls for edited steps); the store keeps them as they are.
    """

    episode_id: int
    step_index: int
    """The plan step corrected, counted from 0."""
    proposed: object
    """What the robot proposed for that step."""
    corrected: object
    """What the corrector says it should have been."""
    who: str
    """Who corrected it: a person's name, or ``simulated`` for the simulated corrector."""
    why: str = ""
    rerun_success: bool | None = None
    """Whether re-running the corrected plan in simulation succeeded; None if not re-run."""
    id: int | None = None
    """Set by the store; None before the row is added."""
    created: str | None = None
    """When the store added it (ISO 8601, UTC); set by the store."""


@dataclass(frozen=True)
class FamilyCounts:
    """How many episodes of one task family the store holds, and how many succeeded."""

    family: str
    episodes: int
    successes: int

    @property
    def success_rate(self) -> float:
        """Fraction of episodes that succeeded."""
        return self.successes / self.episodes if self.episodes else 0.0


ROUND_STATUSES = ("running", "promoted", "refused", "failed", "interrupted")
"""A round is ``running`` until it ends; ``interrupted`` if its process died before that."""


@dataclass
class RoundRow:
    """One LoRA training round: what it started from, how it was configured, how it ended."""

    base_model: str
    """The identity of the base model the adapter belongs to."""
    config: dict[str, Any]
    """The round's training settings, as JSON."""
    last_correction_id: int = 0
    """The newest correction that existed when the round began (for ``train --every``)."""
    parent_round: int | None = None
    """The round whose adapter this one continued from; None for the base model alone."""
    status: str = "running"
    reason: str = ""
    """Why it ended as it did (the promotion gate's verdict, or the error)."""
    metrics: dict[str, Any] = field(default_factory=dict)
    path: str | None = None
    """The adapter folder, relative to the workspace, once it is saved."""
    id: int | None = None
    created: str | None = None
    finished: str | None = None


@dataclass(frozen=True)
class RoundExampleRow:
    """One training example a round used, and where it came from."""

    role: str
    """``new`` (data the round learns) or ``replay`` (older data mixed in)."""
    source: str
    """``correction``, ``episode`` or ``bootstrap`` (the default model's demonstrations)."""
    source_id: int | None
    """The correction's or episode's id; the task seed for bootstrap demonstrations."""
    family: str
    prompt: str
    answer: str
    augmented: bool = False
    """A copy of its source with the colours renamed, not the source itself."""


@dataclass(frozen=True)
class AdapterRow:
    """An entry of the adapter log: from ``created`` on, ``base_model`` plans with this adapter.

    ``round_id`` and ``path`` are None when the base model is to plan alone.
    """

    base_model: str
    round_id: int | None
    path: str | None
    why: str
    id: int | None = None
    created: str | None = None
