"""The Store: typed reads and writes of the workspace's SQLite database, the only SQL in robolearn.

Several processes may write at once (the dashboard, a headless run, a training round), so every
connection runs in WAL mode with a 10 s busy timeout and foreign keys on, and every write is one
``BEGIN IMMEDIATE`` transaction: it takes the write lock before it reads, so a transaction never
has to upgrade a read lock, the case in which SQLite gives up at once with "database is locked"
instead of waiting.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from numbers import Integral
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlite_utils import Database

from robolearn.paths import DB_NAME, WorkspaceLayout
from robolearn.records import EpisodeRecord, StepRecord
from robolearn.store.clock import now as _now
from robolearn.store.errors import MissingRowError, StoreFileError, write_error
from robolearn.store.integrity import checked
from robolearn.store.opening import immediate, open_database
from robolearn.store.rows import CorrectionRow, FamilyCounts
from robolearn.store.schema import applied_migrations
from robolearn.store.skills import SkillRecords
from robolearn.store.training import TrainingRecords

__all__ = ["DB_NAME", "Store"]


class Store(TrainingRecords, SkillRecords):
    """The workspace's database: runs, episodes with their steps, corrections and learning.

    Open it with ``Store.open(workspace)``; close it (or use ``with``). A Store holds one
    connection, so use one per process and per thread (opening one takes milliseconds).

    Example::

        with Store.open("robolearn-workspace") as store:
            run_id = store.start_run("oracle", seed=0)
            episode_id = store.add_episode(run_id, record)
            print(store.success_by_family())
    """

    def __init__(self, db: Database, path: Path) -> None:
        self._db = db
        self.path = path
        """The database file."""

    @classmethod
    def open(cls, workspace: str | os.PathLike[str], *, read_only: bool = False) -> Store:
        """The store of ``workspace``, created if missing, migrated to the current schema.

        ``read_only`` opens an existing database without writing anything, not even the
        write-ahead log's files, so a workspace on a read-only disk or folder can be read;
        writes then fail. Raises StoreFileError, leaving the file untouched, when
        ``<workspace>/robolearn.db`` is not a SQLite database, is damaged, belongs to
        something else, is newer than this code, or (read-only) needs a migration.
        """
        path = WorkspaceLayout(Path(workspace)).db
        return cls(open_database(path, read_only=read_only), path)

    @property
    def workspace(self) -> Path:
        """The workspace folder; a step's ``frame_path`` is relative to it."""
        return self.path.parent

    @property
    def schema_version(self) -> int:
        """How many of the schema's migrations this database has applied."""
        return len(applied_migrations(self._db))

    def close(self) -> None:
        """Close the connection; the Store cannot be used after."""
        self._db.close()

    def snapshot(self) -> bytes:
        """The whole database as one consistent image, committed writes only.

        Written to a file, it opens as a store of its own: how a worker on a machine without
        this disk reads what this workspace knows.
        """
        return self._db.conn.serialize()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def start_run(self, planner: str, seed: int, config: Mapping[str, object] | None = None) -> int:
        """Record the start of a run of episodes; the run's id."""
        with self._write():
            table = self._db.table("runs").insert(
                {
                    "started": _now(),
                    "planner": planner,
                    "seed": int(seed),
                    "config": json.dumps(dict(config or {}), sort_keys=True),
                }
            )
        return int(table.last_pk)

    def add_episode(self, run_id: int, episode: EpisodeRecord) -> int:
        """Add ``episode`` and its steps to run ``run_id`` in one transaction; its id."""
        with self._write():
            self._require("runs", run_id, "run")
            table = self._db.table("episodes").insert(
                {
                    "run_id": run_id,
                    "family": episode.family,
                    "seed": int(episode.seed),
                    "instruction": episode.instruction,
                    "planner": episode.planner,
                    "plan": json.dumps(list(episode.plan)),
                    "success": int(bool(episode.success)),
                    "control_steps": int(episode.control_steps),
                    "error": episode.error,
                    "proposal": episode.proposal,
                    "explanation": episode.explanation,
                    "created": _now(),
                }
            )
            episode_id = int(table.last_pk)
            self._db.table("steps").insert_all(
                {
                    "episode_id": episode_id,
                    "step_index": index,
                    "call": step.call,
                    "ok": int(bool(step.ok)),
                    "reason": step.reason,
                    "message": step.message,
                    "ticks": int(step.ticks),
                    "frame_path": step.frame_path,
                }
                for index, step in enumerate(episode.steps)
            )
        return episode_id

    def episodes(
        self,
        family: str | None = None,
        *,
        limit: int | None = 100,
        since_id: int | None = None,
        newest_first: bool = False,
        success: bool | None = None,
    ) -> list[EpisodeRecord]:
        """Episodes with their steps, oldest first (or ``newest_first``), at most ``limit``.

        ``family`` keeps one task family; ``since_id`` keeps episodes added after that one,
        so a reader can page forward or poll for new episodes; ``success`` keeps the episodes
        that succeeded (True) or failed (False).
        """
        rows = self._select(
            "episodes",
            {
                "family = ?": family,
                "id > ?": since_id,
                "success = ?": None if success is None else int(success),
            },
            newest_first=newest_first,
            limit=limit,
        )
        steps = self._steps_of([row["id"] for row in rows])
        return [_episode_row(row, steps.get(row["id"], [])) for row in rows]

    def episode(self, episode_id: int) -> EpisodeRecord:
        """Episode ``episode_id`` with its steps; MissingRowError if there is none."""
        _check_id(episode_id, f"{self.path} has no episode")
        rows = self._rows("SELECT * FROM episodes WHERE id = ?", [episode_id])
        if not rows:
            raise MissingRowError(f"{self.path} has no episode {episode_id}")
        return _episode_row(rows[0], self._steps_of([episode_id]).get(episode_id, []))

    def add_correction(self, correction: CorrectionRow) -> int:
        """Append ``correction`` (corrections are never changed or deleted); its id."""
        if correction.step_index < 0:
            raise ValueError(f"step_index must be 0 or more, not {correction.step_index}")
        if not correction.who.strip():
            raise ValueError("a correction must say who made it")
        for name in ("proposed", "corrected"):
            plan = getattr(correction, name)
            if not isinstance(plan, list) or not all(isinstance(call, str) for call in plan):
                raise ValueError(f"a correction's {name} plan is a list of calls as text")
        with self._write():
            self._require("episodes", correction.episode_id, "episode")
            table = self._db.table("corrections").insert(
                {
                    "episode_id": correction.episode_id,
                    "step_index": correction.step_index,
                    "proposed": json.dumps(correction.proposed),
                    "corrected": json.dumps(correction.corrected),
                    "who": correction.who,
                    "why": correction.why,
                    "rerun_success": (
                        None if correction.rerun_success is None else int(correction.rerun_success)
                    ),
                    "created": _now(),
                }
            )
        return int(table.last_pk)

    def corrections(
        self,
        episode_id: int | None = None,
        *,
        since_id: int | None = None,
        limit: int | None = None,
    ) -> list[CorrectionRow]:
        """Corrections, oldest first: of one episode, or added after ``since_id``, or all."""
        rows = self._select(
            "corrections", {"episode_id = ?": episode_id, "id > ?": since_id}, limit=limit
        )
        return [_correction_row(row) for row in rows]

    def _select(
        self,
        table: str,
        where: dict[str, object | None],
        *,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> list[dict]:
        """Rows of ``table`` by id that meet every clause of ``where`` whose value is set."""
        clauses = [clause for clause, value in where.items() if value is not None]
        params: list[object] = [value for value in where.values() if value is not None]
        sql = f"SELECT * FROM {table}"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += f" ORDER BY id {'DESC' if newest_first else 'ASC'}"
        if limit is not None:
            if limit < 0:
                raise ValueError(f"limit must be 0 or more, not {limit}")
            sql += " LIMIT ?"
            params.append(limit)
        return self._rows(sql, params)

    def success_by_family(self) -> list[FamilyCounts]:
        """Episodes and successes of each task family, by family name."""
        return [
            FamilyCounts(row["family"], row["episodes"], row["successes"])
            for row in self._rows(
                "SELECT family, COUNT(*) AS episodes, SUM(success) AS successes "
                "FROM episodes GROUP BY family ORDER BY family"
            )
        ]

    def integrity_ok(self) -> bool:
        """Whether the file is sound and every reference points at a row.

        Runs ``PRAGMA integrity_check`` and ``PRAGMA foreign_key_check``; it reads the whole
        file, so it is for checks and tests, not for every open.
        """
        try:
            integrity = self._db.execute("PRAGMA integrity_check").fetchall()
            dangling = self._db.execute("PRAGMA foreign_key_check").fetchall()
        except sqlite3.DatabaseError as error:
            if type(error) is not sqlite3.DatabaseError:  # locked, a bug: not the file's state
                raise
            return False
        return integrity == [("ok",)] and not dangling

    @contextmanager
    def _write(self) -> Iterator[None]:
        """One write transaction; a disk or lock problem is a StoreWriteError, rolled back."""
        try:
            with self._damage_reported(), immediate(self._db):
                yield
        except sqlite3.OperationalError as error:
            if problem := write_error(self.path, error):
                raise problem from None
            raise

    def _insert(self, table: str, row: dict[str, Any]) -> int:
        """Insert one row (inside a ``_write``); its id."""
        return int(self._db.table(table).insert(row).last_pk)

    def _execute(self, sql: str, params: list[Any]) -> None:
        """Run one write statement (inside a ``_write``)."""
        self._db.execute(sql, params)

    def _rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        with self._damage_reported():
            return list(self._db.query(sql, params))

    @contextmanager
    def _damage_reported(self) -> Iterator[None]:
        """Report a file damaged after it was opened as StoreFileError, not a bare sqlite error.

        Only the plain ``sqlite3.DatabaseError`` means that ("database disk image is malformed");
        its subclasses (locked, constraint failed, ...) pass through as they are.
        """
        try:
            yield
        except sqlite3.DatabaseError as error:
            if type(error) is not sqlite3.DatabaseError:
                raise
            raise StoreFileError(
                f"{self.path} is damaged ({error}). Stop the robolearn "
                "processes using it; then move it aside (or restore a backup) "
                "and robolearn will start a new database there."
            ) from None

    def _require(self, table: str, row_id: int, what: str) -> None:
        _check_id(row_id, f"{self.path} has no {what}")
        if not self._db.execute(f"SELECT 1 FROM {table} WHERE id = ?", [row_id]).fetchone():
            raise MissingRowError(f"{self.path} has no {what} {row_id}")

    def _steps_of(self, episode_ids: list[int]) -> dict[int, list[StepRecord]]:
        steps: dict[int, list[StepRecord]] = {}
        if not episode_ids:
            return steps
        marks = ", ".join("?" * len(episode_ids))
        for row in self._rows(
            f"SELECT * FROM steps WHERE episode_id IN ({marks}) ORDER BY episode_id, step_index",
            episode_ids,
        ):
            row = checked("steps", row)
            steps.setdefault(row["episode_id"], []).append(
                StepRecord(
                    call=row["call"],
                    ok=bool(row["ok"]),
                    reason=row["reason"],
                    message=row["message"],
                    ticks=row["ticks"],
                    frame_path=row["frame_path"],
                )
            )
        return steps


def _check_id(row_id: object, missing: str) -> None:
    """Raise MissingRowError("<missing> <row_id>") unless ``row_id`` can be a row's id.

    SQLite raises OverflowError for an int past 64 bits and quietly matches "1" to 1.
    """
    if isinstance(row_id, bool) or not isinstance(row_id, Integral) or not 0 < row_id < 2**63:
        raise MissingRowError(f"{missing} {row_id!r}; ids are positive whole numbers")


def _episode_row(row: dict[str, Any], steps: list[StepRecord]) -> EpisodeRecord:
    row = checked("episodes", row)
    return EpisodeRecord(
        family=row["family"],
        seed=row["seed"],
        instruction=row["instruction"],
        planner=row["planner"],
        plan=row["plan"],
        steps=steps,
        success=bool(row["success"]),
        control_steps=row["control_steps"],
        error=row["error"],
        proposal=row["proposal"],
        explanation=row["explanation"],
        id=row["id"],
        run_id=row["run_id"],
        created=row["created"],
    )


def _correction_row(row: dict[str, Any]) -> CorrectionRow:
    row = checked("corrections", row)
    rerun = row["rerun_success"]
    return CorrectionRow(
        episode_id=row["episode_id"],
        step_index=row["step_index"],
        proposed=_plan(row["proposed"]),
        corrected=_plan(row["corrected"]),
        who=row["who"],
        why=row["why"],
        rerun_success=None if rerun is None else bool(rerun),
        id=row["id"],
        created=row["created"],
    )


def _plan(stored: str | list[str]) -> list[str]:
    """A correction's plan, as ``integrity.checked`` decoded it: a list of calls as text.

    Databases from schema v1 kept one step's call as a JSON string: a one-call plan.
    """
    return [stored] if isinstance(stored, str) else stored
