"""The database's tables, built by forward migrations; the schema version counts those applied.

Version history (a migration, once released, is never edited; a change is a new one):

- v1 ``0001_runs_episodes_corrections``: runs, episodes, their steps, and append-only
  corrections (triggers refuse UPDATE and DELETE).
- v2 ``0002_frames_training_indexes``: a frame path for each step, the training_rounds and
  adapters tables, and indexes for the dashboard's reads.
- v4 ``0004_skill_evaluations``: the Evaluator's verdicts, one row each; a skill's runs are
  counted from the steps that call it. The counts workspaces kept in
  ``skills/<name>/stats.json`` (no longer read or written) are carried into
  ``carried_skill_stats``, less the runs the steps already show.
- v3 ``0003_learning``: the plan's explanation on each episode; training rounds with their
  config, outcome and metrics; the examples each round trained on (so every adapter traces to
  its data); and the append-only log of which adapter each base model plans with. v2's
  placeholder ``training_rounds`` and ``adapters`` tables, never written by any release, are
  replaced.

Frames (camera images) are PNG files under the workspace's ``frames/``, referenced by a path
relative to the workspace: SQLite stays small and quick to back up and to scan, and the
dashboard reads the files directly.

The record of applied migrations is sqlite-utils' ``_sqlite_migrations`` table (migration set
``robolearn``).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlite_utils import Database, Migrations

from robolearn.store.carry import carry_stats_files

MIGRATION_SET = "robolearn"
MIGRATIONS = Migrations(MIGRATION_SET)
MIGRATION_NAMES: list[str] = []
"""Every migration's name, oldest first; a database's version is how many it has applied."""

_APPEND_ONLY = "corrections are append-only: add a new correction instead of changing one"


def _migration(name: str) -> Callable[[Callable[[Database], None]], Callable[[Database], None]]:
    MIGRATION_NAMES.append(name)
    return MIGRATIONS(name=name)


@_migration("0001_runs_episodes_corrections")
def _runs_episodes_corrections(db: Database) -> None:
    _v1_runs_and_episodes(db)
    _v1_steps(db)
    _v1_corrections(db)


def _v1_runs_and_episodes(db: Database) -> None:
    db.table("runs").create(
        {"id": int, "started": str, "planner": str, "seed": int, "config": str},
        pk="id",
        not_null=["started", "planner", "seed", "config"],
        strict=True,
    )
    db.table("episodes").create(
        {
            "id": int,
            "run_id": int,
            "family": str,
            "seed": int,
            "instruction": str,
            "planner": str,
            "plan": str,
            "success": int,
            "control_steps": int,
            "error": str,
            "proposal": str,
            "created": str,
        },
        pk="id",
        foreign_keys=[("run_id", "runs", "id")],
        not_null=[
            "run_id",
            "family",
            "seed",
            "instruction",
            "planner",
            "plan",
            "success",
            "control_steps",
            "created",
        ],
        strict=True,
    )


def _v1_steps(db: Database) -> None:
    db.table("steps").create(
        {
            "episode_id": int,
            "step_index": int,
            "call": str,
            "ok": int,
            "reason": str,
            "message": str,
            "ticks": int,
        },
        pk=("episode_id", "step_index"),
        foreign_keys=[("episode_id", "episodes", "id")],
        not_null=["episode_id", "step_index", "call", "ok", "message", "ticks"],
        strict=True,
    )


def _v1_corrections(db: Database) -> None:
    db.table("corrections").create(
        {
            "id": int,
            "episode_id": int,
            "step_index": int,
            "proposed": str,
            "corrected": str,
            "who": str,
            "why": str,
            "rerun_success": int,
            "created": str,
        },
        pk="id",
        foreign_keys=[("episode_id", "episodes", "id")],
        not_null=["episode_id", "step_index", "proposed", "corrected", "who", "why", "created"],
        strict=True,
    )
    for event in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER corrections_no_{event.lower()} BEFORE {event} ON corrections "
            f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
        )


@_migration("0002_frames_training_indexes")
def _frames_training_indexes(db: Database) -> None:
    db.table("steps").add_column("frame_path", str)
    for name in ("training_rounds", "adapters"):
        db.table(name).create(
            {"id": int, "created": str, "status": str, "metrics": str, "path": str},
            pk="id",
            not_null=["created", "status", "metrics"],
            strict=True,
        )
    db.table("episodes").create_index(["family"])
    db.table("episodes").create_index(["run_id"])
    db.table("corrections").create_index(["episode_id"])


@_migration("0003_learning")
def _learning(db: Database) -> None:
    db.table("episodes").add_column("explanation", str)
    for name in ("training_rounds", "adapters"):
        db.table(name).drop()
    db.table("training_rounds").create(
        {
            "id": int,
            "created": str,
            "finished": str,
            "status": str,
            "reason": str,
            "base_model": str,
            "parent_round": int,
            "last_correction_id": int,
            "config": str,
            "metrics": str,
            "path": str,
        },
        pk="id",
        not_null=[
            "created",
            "status",
            "reason",
            "base_model",
            "last_correction_id",
            "config",
            "metrics",
        ],
        strict=True,
    )
    db.table("round_examples").create(
        {
            "round_id": int,
            "role": str,
            "source": str,
            "source_id": int,
            "family": str,
            "augmented": int,
            "prompt": str,
            "answer": str,
        },
        foreign_keys=[("round_id", "training_rounds", "id")],
        not_null=["round_id", "role", "source", "family", "augmented", "prompt", "answer"],
        strict=True,
    )
    db.table("round_examples").create_index(["round_id"])
    db.table("adapters").create(
        {"id": int, "created": str, "base_model": str, "round_id": int, "path": str, "why": str},
        pk="id",
        foreign_keys=[("round_id", "training_rounds", "id")],
        not_null=["created", "base_model", "why"],
        strict=True,
    )
    for event in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER adapters_no_{event.lower()} BEFORE {event} ON adapters "
            "BEGIN SELECT RAISE(ABORT, 'the adapter log is append-only: use another "
            "adapter by adding a row'); END"
        )


@_migration("0004_skill_evaluations")
def _skill_evaluations(db: Database) -> None:
    db.table("evaluations").create(
        {"id": int, "created": str, "skill": str, "passed": int, "reason": str, "detail": str},
        pk="id",
        not_null=["created", "skill", "passed", "reason", "detail"],
        strict=True,
    )
    db.table("evaluations").create_index(["skill"])
    db.table("carried_skill_stats").create(
        {"skill": str, "evaluations": int, "passed": int, "runs": int, "successes": int},
        pk="skill",
        not_null=["evaluations", "passed", "runs", "successes"],
        strict=True,
    )
    carry_stats_files(db)


SCHEMA_VERSION = len(MIGRATION_NAMES)
"""The version this code writes."""


def applied_migrations(db: Database) -> list[str]:
    """The names of the robolearn migrations ``db`` has applied, in order (read only)."""
    return [migration.name for migration in MIGRATIONS.applied(db)]
