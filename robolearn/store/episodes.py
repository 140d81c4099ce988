"""Reading episodes as a person looks for them, and each episode's provenance columns.

The dashboard reads a page of a search, the review queue by doubt, the newest failure and the
latest correction of a situation.

An episode's provenance (schema v5) is stored flat in its row (``plan_source``,
``plan_correction``, ...) and read back as a :class:`robolearn.records.PlanOrigin`; who made a
recalled correction is read from the correction itself, never copied.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from robolearn.records import EpisodeRecord, PlanOrigin, StepRecord

if TYPE_CHECKING:
    from robolearn.store.rows import CorrectionRow

OUTCOMES = ("all", "succeeded", "failed")
"""Which episodes a search keeps by how they ended."""


@dataclass(frozen=True)
class EpisodeQuery:
    """Which episodes a person is looking at: a family, an outcome, words to find."""

    family: str | None = None
    outcome: str = "all"
    """One of ``OUTCOMES``."""
    text: str = ""
    """Words each kept episode's instruction, plan or explanation holds (any case)."""

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {self.outcome!r}")

    def where(self) -> tuple[str, list[Any]]:
        """The SQL condition and its parameters."""
        clauses, params = ["1"], []
        if self.family is not None:
            clauses.append("family = ?")
            params.append(self.family)
        if self.outcome != "all":
            clauses.append("success = ?")
            params.append(int(self.outcome == "succeeded"))
        for word in self.text.lower().split():
            clauses.append(
                "(instr(lower(instruction), ?) OR instr(lower(plan), ?) OR "
                "instr(lower(coalesce(explanation, '')), ?))"
            )
            params += [word, word, word]
        return " AND ".join(clauses), params


def provenance_columns(episode: EpisodeRecord) -> dict[str, Any]:
    """The v5 columns of ``episode``'s row."""
    origin = episode.origin
    return {
        "plan_source": origin.source if origin else None,
        "plan_correction": origin.correction_id if origin else None,
        "plan_model": origin.model if origin else None,
        "plan_adapter": origin.adapter if origin else None,
        "plan_route": origin.route if origin else None,
        "plan_doubt": None if episode.doubt is None else float(episode.doubt),
        "unmet_goals": None if episode.unmet is None else json.dumps(list(episode.unmet)),
        "start_frame": episode.start_frame_path,
    }


def episode_from_row(
    row: dict[str, Any], steps: list[StepRecord], who: dict[int, str]
) -> EpisodeRecord:
    """The record of a stored row; ``who`` made each correction the memory recalled.

    The row is checked first (``integrity.checked``): a damaged one raises DamagedRowError.
    """
    from robolearn.store.integrity import checked

    row = checked("episodes", row)
    source = row.get("plan_source")
    origin = None
    if source is not None:
        correction = row.get("plan_correction")
        origin = PlanOrigin(
            source,
            correction_id=correction,
            corrected_by=who.get(correction) if correction is not None else None,
            model=row.get("plan_model"),
            adapter=row.get("plan_adapter"),
            route=row.get("plan_route"),
        )
    unmet = row.get("unmet_goals")
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
        origin=origin,
        doubt=row.get("plan_doubt"),
        unmet=None if unmet is None else json.loads(unmet),
        start_frame_path=row.get("start_frame"),
        id=row["id"],
        run_id=row["run_id"],
        created=row["created"],
    )


class EpisodeReads:
    """The part of :class:`robolearn.store.Store` that finds episodes for a person."""

    if TYPE_CHECKING:

        def _write(self) -> AbstractContextManager[None]: ...

        def _rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]: ...

        def _episodes_of(self, rows: list[dict[str, Any]]) -> list[EpisodeRecord]: ...

        def corrections(
            self,
            episode_id: int | None = None,
            *,
            since_id: int | None = None,
            limit: int | None = None,
        ) -> list[CorrectionRow]:
            """As ``Store.corrections``."""

    def search_episodes(
        self, query: EpisodeQuery, *, offset: int = 0, limit: int = 50
    ) -> tuple[list[EpisodeRecord], int]:
        """One page of the episodes ``query`` finds, newest first, and how many it finds."""
        if offset < 0 or limit < 0:
            raise ValueError(f"offset and limit must be 0 or more, not {offset} and {limit}")
        where, params = query.where()
        [count] = self._rows(f"SELECT COUNT(*) AS n FROM episodes WHERE {where}", params)
        rows = self._rows(
            f"SELECT * FROM episodes WHERE {where} ORDER BY id DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return self._episodes_of(rows), int(count["n"])

    def doubted_episodes(
        self, *, limit: int = 50, uncorrected: bool = False
    ) -> list[EpisodeRecord]:
        """Episodes whose planner said how unsure it was, the most doubted first.

        ``uncorrected`` leaves out the episodes someone has corrected already.
        """
        skip = (
            "AND NOT EXISTS (SELECT 1 FROM corrections c WHERE c.episode_id = episodes.id)"
            if uncorrected
            else ""
        )
        rows = self._rows(
            f"SELECT * FROM episodes WHERE plan_doubt IS NOT NULL {skip} "
            "ORDER BY plan_doubt DESC, id DESC LIMIT ?",
            [limit],
        )
        return self._episodes_of(rows)

    def newest_failed(self) -> EpisodeRecord | None:
        """The newest episode that failed, or None."""
        rows = self._rows("SELECT * FROM episodes WHERE success = 0 ORDER BY id DESC LIMIT 1")
        return self._episodes_of(rows)[0] if rows else None

    def latest_correction_of(self, episode: EpisodeRecord) -> CorrectionRow | None:
        """The newest correction of ``episode``'s situation, or None if it was never corrected.

        A situation is a scene (family and seed) and an instruction: any episode of it counts.
        """
        rows = self._rows(
            "SELECT c.id FROM corrections c JOIN episodes e ON e.id = c.episode_id "
            "WHERE e.family = ? AND e.seed = ? AND e.instruction = ? ORDER BY c.id DESC LIMIT 1",
            [episode.family, episode.seed, episode.instruction],
        )
        if not rows:
            return None
        return self.corrections(since_id=rows[0]["id"] - 1, limit=1)[0]  # ids ascend

    def correction_authors(self, ids: set[int]) -> dict[int, str]:
        """Who made each of these corrections, by id."""
        if not ids:
            return {}
        marks = ", ".join("?" * len(ids))
        rows = self._rows(f"SELECT id, who FROM corrections WHERE id IN ({marks})", sorted(ids))
        return {row["id"]: row["who"] for row in rows}
