"""The store's learning records: training rounds, the examples each used, and the adapter log.

A round is a row from the moment it starts (``running``) and gets its outcome when it ends, so
a round killed half-way is visible afterwards (``interrupted``) and never mistaken for a
finished one. The adapter log is append-only: using another adapter, or rolling back, adds a
row, and the newest row for a base model says what it plans with.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from robolearn.store.clock import now as _now
from robolearn.store.errors import MissingRowError
from robolearn.store.integrity import checked
from robolearn.store.rows import ROUND_STATUSES, AdapterRow, RoundExampleRow, RoundRow

if TYPE_CHECKING:
    from pathlib import Path


class TrainingRecords:
    """The part of :class:`robolearn.store.Store` that records learning."""

    if TYPE_CHECKING:
        path: Path

        def _write(self) -> AbstractContextManager[None]: ...

        def _rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]: ...

        def _require(self, table: str, row_id: int, what: str) -> None: ...

        def _insert(self, table: str, row: dict[str, Any]) -> int: ...

        def _execute(self, sql: str, params: list[Any]) -> None: ...

    def start_round(self, round_: RoundRow) -> int:
        """Record that a round begins (status ``running``); its id."""
        with self._write():
            if round_.parent_round is not None:
                self._require("training_rounds", round_.parent_round, "training round")
            return self._insert(
                "training_rounds",
                {
                    "created": _now(),
                    "status": "running",
                    "reason": "",
                    "base_model": round_.base_model,
                    "parent_round": round_.parent_round,
                    "last_correction_id": int(round_.last_correction_id),
                    "config": json.dumps(round_.config, sort_keys=True),
                    "metrics": "{}",
                    "path": None,
                },
            )

    def add_round_examples(self, round_id: int, examples: Iterable[RoundExampleRow]) -> int:
        """Record the examples round ``round_id`` trains on; how many."""
        rows = [
            {
                "round_id": round_id,
                "role": e.role,
                "source": e.source,
                "source_id": e.source_id,
                "family": e.family,
                "augmented": int(e.augmented),
                "prompt": e.prompt,
                "answer": e.answer,
            }
            for e in examples
        ]
        with self._write():
            self._require("training_rounds", round_id, "training round")
            for row in rows:
                self._insert("round_examples", row)
        return len(rows)

    def finish_round(
        self,
        round_id: int,
        status: str,
        reason: str,
        metrics: dict[str, Any],
        path: str | None = None,
        use: AdapterRow | None = None,
    ) -> None:
        """Give round ``round_id`` its outcome: promoted, refused or failed, and why.

        ``use`` (a promotion) puts the round's adapter in use in the same transaction, so a
        process killed at any moment never leaves a round promoted but not in use.
        """
        if status not in ROUND_STATUSES or status == "running":
            raise ValueError(f"a round ends as one of {ROUND_STATUSES[1:]}, not {status!r}")
        with self._write():
            self._require("training_rounds", round_id, "training round")
            self._execute(
                "UPDATE training_rounds SET status = ?, reason = ?, metrics = ?, "
                "path = ?, finished = ? WHERE id = ?",
                [status, reason, json.dumps(metrics, sort_keys=True), path, _now(), round_id],
            )
            if use is not None:
                self._log_adapter(use)

    def mark_interrupted(self) -> list[int]:
        """Rounds still ``running`` become ``interrupted``; call it only while no round runs."""
        with self._write():
            ids = [
                row["id"]
                for row in self._rows("SELECT id FROM training_rounds WHERE status = 'running'")
            ]
            self._execute(
                "UPDATE training_rounds SET status = 'interrupted', reason = "
                "'its process stopped before the round ended', finished = ? "
                "WHERE status = 'running'",
                [_now()],
            )
        return ids

    def rounds(self, base_model: str | None = None) -> list[RoundRow]:
        """Every training round, oldest first (of one base model if given)."""
        sql, params = "SELECT * FROM training_rounds", []
        if base_model is not None:
            sql, params = sql + " WHERE base_model = ?", [base_model]
        return [_round_row(row) for row in self._rows(sql + " ORDER BY id", params)]

    def training_round(self, round_id: int) -> RoundRow:
        """Round ``round_id``; MissingRowError if there is none."""
        rows = self._rows("SELECT * FROM training_rounds WHERE id = ?", [round_id])
        if not rows:
            raise MissingRowError(
                f"{self.path} has no training round {round_id}; "
                "'robolearn adapters list' shows the rounds"
            )
        return _round_row(rows[0])

    def round_examples(
        self, round_ids: Iterable[int], role: str | None = None
    ) -> list[RoundExampleRow]:
        """The examples of these rounds (only ``new`` or ``replay`` ones if ``role``)."""
        ids = list(round_ids)
        if not ids:
            return []
        sql = f"SELECT * FROM round_examples WHERE round_id IN ({', '.join('?' * len(ids))})"
        params: list[Any] = list(ids)
        if role is not None:
            sql, params = sql + " AND role = ?", [*params, role]
        return [
            RoundExampleRow(
                role=row["role"],
                source=row["source"],
                source_id=row["source_id"],
                family=row["family"],
                prompt=row["prompt"],
                answer=row["answer"],
                augmented=bool(row["augmented"]),
            )
            for row in self._rows(sql + " ORDER BY rowid", params)
        ]

    def use_adapter(self, adapter: AdapterRow) -> int:
        """From now on ``adapter.base_model`` plans with this adapter (or alone); the log id."""
        with self._write():
            return self._log_adapter(adapter)

    def _log_adapter(self, adapter: AdapterRow) -> int:
        """Add ``adapter`` to the adapter log (inside a ``_write``); the log id."""
        if not adapter.why.strip():
            raise ValueError("say why the adapter changes")
        if adapter.round_id is not None:
            self._require("training_rounds", adapter.round_id, "training round")
        return self._insert(
            "adapters",
            {
                "created": _now(),
                "base_model": adapter.base_model,
                "round_id": adapter.round_id,
                "path": adapter.path,
                "why": adapter.why,
            },
        )

    def adapter_log(self, base_model: str | None = None) -> list[AdapterRow]:
        """The adapter log, oldest first (of one base model if given)."""
        sql, params = "SELECT * FROM adapters", []
        if base_model is not None:
            sql, params = sql + " WHERE base_model = ?", [base_model]
        return [_adapter_row(row) for row in self._rows(sql + " ORDER BY id", params)]

    def active_adapter(self, base_model: str) -> AdapterRow | None:
        """What ``base_model`` plans with now: the newest log entry, or None if it has none."""
        rows = self._rows(
            "SELECT * FROM adapters WHERE base_model = ? ORDER BY id DESC LIMIT 1", [base_model]
        )
        return _adapter_row(rows[0]) if rows else None


def _round_row(row: dict[str, Any]) -> RoundRow:
    row = checked("training_rounds", row)
    return RoundRow(
        base_model=row["base_model"],
        config=row["config"],
        last_correction_id=row["last_correction_id"],
        parent_round=row["parent_round"],
        status=row["status"],
        reason=row["reason"],
        metrics=row["metrics"],
        path=row["path"],
        id=row["id"],
        created=row["created"],
        finished=row["finished"],
    )


def _adapter_row(row: dict[str, Any]) -> AdapterRow:
    row = checked("adapters", row)
    return AdapterRow(
        base_model=row["base_model"],
        round_id=row["round_id"],
        path=row["path"],
        why=row["why"],
        id=row["id"],
        created=row["created"],
    )
