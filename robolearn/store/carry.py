"""Carrying the skill counts of ``skills/<name>/stats.json`` into the store (migration v4).

Before schema v4 a workspace counted each composite skill's Evaluator verdicts and runs in a
JSON file beside the skill, under a lock; the steps in the store held the same runs. The
migration keeps every count: verdicts as they were, runs less those the steps already show.
A file that cannot be read, or holds counts that make no sense, is left out.
"""

from __future__ import annotations

from pathlib import Path

from sqlite_utils import Database

from robolearn.paths import WorkspaceLayout
from robolearn.untrusted import read_json

MAX_COUNT = 2**62
"""Past this a count was not written by robolearn; the file is left out."""
_FIELDS = ("evaluations", "passed", "runs", "successes")


def carry_stats_files(db: Database) -> int:
    """Insert the counts of the workspace's stats files into ``carried_skill_stats``.

    Returns how many skills had some. A database that is not a file (in memory) has no
    workspace, so none.
    """
    files = [row[2] for row in db.execute("PRAGMA database_list").fetchall() if row[1] == "main"]
    if not files or not files[0]:
        return 0
    skills = WorkspaceLayout(Path(files[0]).parent).skills
    derived = {
        row[0]: (row[1], row[2] or 0)
        for row in db.execute(
            "SELECT substr(call, 1, instr(call, '(') - 1), COUNT(*), SUM(ok) FROM steps "
            "WHERE instr(call, '(') > 1 GROUP BY 1"
        ).fetchall()
    }
    carried = 0
    for path in sorted(skills.glob("*/stats.json")) if skills.is_dir() else []:
        counts = _read(path)
        if counts is None:
            continue
        runs, successes = derived.get(path.parent.name, (0, 0))
        counts["runs"] = max(0, counts["runs"] - runs)
        counts["successes"] = max(0, counts["successes"] - successes)
        if any(counts.values()):
            db.table("carried_skill_stats").insert({"skill": path.parent.name, **counts})
            carried += 1
    return carried


def _read(path: Path) -> dict[str, int] | None:
    """The four counts of one stats file, or None if it is not one robolearn wrote."""
    try:
        data = read_json(path)  # untrusted.py's bounds: a ValueError past them
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    counts = {name: data.get(name, 0) for name in _FIELDS}
    if not all(
        isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_COUNT
        for v in counts.values()
    ):
        return None
    if counts["passed"] > counts["evaluations"] or counts["successes"] > counts["runs"]:
        return None
    return counts
