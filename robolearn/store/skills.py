"""The store's record of how skills fare: Evaluator verdicts, and runs counted from steps.

A skill's runs in episodes are not counted anywhere: they are the stored steps that call it,
counted when asked. Verdicts are rows of ``evaluations``. Counts that workspaces kept in
``skills/<name>/stats.json`` before (schema v4) were carried into ``carried_skill_stats`` by
the migration, and are added in.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from functools import partial
from typing import TYPE_CHECKING, Any

from robolearn.store.clock import now as _now
from robolearn.store.integrity import checked
from robolearn.store.rows import SkillStats

if TYPE_CHECKING:
    from pathlib import Path

_RUNS = (
    "SELECT substr(call, 1, instr(call, '(') - 1) AS skill, COUNT(*) AS runs, "
    "SUM(ok) AS successes FROM steps WHERE instr(call, '(') > 1 GROUP BY skill"
)
_CARRIED = "SELECT * FROM carried_skill_stats"
_COUNTS = ("evaluations", "passed", "runs", "successes")
_EVALUATIONS = (
    "SELECT skill, COUNT(*) AS evaluations, SUM(passed) AS passed FROM evaluations GROUP BY skill"
)


class SkillRecords:
    """The part of :class:`robolearn.store.Store` that keeps skills' records."""

    if TYPE_CHECKING:
        path: Path

        def _write(self) -> AbstractContextManager[None]: ...

        def _rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]: ...

        def _insert(self, table: str, row: dict[str, Any]) -> int: ...

    def add_evaluation(self, skill: str, passed: bool, reason: str, detail: str = "") -> int:
        """Record one Evaluator verdict on ``skill``; its id."""
        with self._write():
            return self._insert(
                "evaluations",
                {
                    "created": _now(),
                    "skill": skill,
                    "passed": int(bool(passed)),
                    "reason": reason,
                    "detail": detail,
                },
            )

    def skill_stats(self) -> dict[str, SkillStats]:
        """How every skill with a record has fared, by name: one read of the steps."""
        stats: dict[str, SkillStats] = {}

        def of(name: str) -> SkillStats:
            return stats.setdefault(name, SkillStats())

        for row in self._rows(_RUNS):
            of(row["skill"]).add(runs=row["runs"], successes=row["successes"])
        for row in self._rows(_EVALUATIONS):
            of(row["skill"]).add(evaluations=row["evaluations"], passed=row["passed"])
        for row in map(partial(checked, "carried_skill_stats"), self._rows(_CARRIED)):
            of(row["skill"]).add(
                **{k: row[k] for k in ("evaluations", "passed", "runs", "successes")}
            )
        return stats

    def skill_record(self, name: str) -> SkillStats:
        """How the skill ``name`` has fared (all zero if it never ran nor was evaluated)."""
        return self.skill_stats().get(name, SkillStats())
