"""What the store reads back is checked like input: its schema when it opens, each row as read.

A database is a file anyone can edit with ``sqlite3``. Dropped tables would be re-created by
sqlite-utils on the next insert (without their constraints or the triggers that keep
corrections append-only); an added trigger could delete rows behind every insert; a plan that is
not a list, a metric that is not a number or a round that continues from itself (its lineage
would never end) would surface far from the store as a traceback or a hang. So:

- :func:`check_schema` compares the tables, columns, keys, indexes, triggers and views of an
  opened database with those the migrations make on an empty one, and refuses any difference;
- :func:`checked` validates one row of a table as it is read (JSON columns parsed under
  ``untrusted.py``'s bounds, shapes, ranges, references that must point back in time) and
  returns it with its JSON decoded.

Either problem is one line that says what is wrong and what to do; nothing is repaired.
"""

from __future__ import annotations

import functools
import math
import re
import sqlite3
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from robolearn.store.errors import StoreFileError
from robolearn.store.rows import ROUND_STATUSES
from robolearn.store.schema import MIGRATIONS
from robolearn.untrusted import UntrustedTextError, load_json

MAX_JSON_BYTES = 10_000_000
"""Largest JSON value of one column (a round's metrics are a few kilobytes)."""
MAX_PLAN_CALLS = 10_000
"""Most calls a stored plan may list (the executor runs at most a few dozen)."""

_AFTER_REPAIR = (
    "It was left as it is: restore a backup, or move it aside and robolearn will start a new "
    "database there."
)


class DamagedRowError(StoreFileError):
    """A row the database holds that no robolearn wrote: a shape, range or reference broken."""


# ----- the schema ---------------------------------------------------------------------------------
def check_schema(db: Database, path: Path) -> None:
    """Raise StoreFileError unless ``db`` has exactly the schema the migrations make."""
    found, expected = describe(db), _expected()
    problems = [
        f"{what} {name} is {'missing' if name not in found[what] else 'changed'}"
        for what in expected
        for name in expected[what]
        if found[what].get(name) != expected[what][name]
    ] + [
        f"{what} {name} is not robolearn's"
        for what in found
        for name in found[what]
        if name not in expected[what]
    ]
    if problems:
        raise StoreFileError(
            f"{path}: its schema is not the one robolearn's migrations make "
            f"({'; '.join(sorted(problems)[:5])}). {_AFTER_REPAIR}"
        )


def describe(db: Database) -> dict[str, dict[str, object]]:
    """The schema of ``db`` by kind (table, index, trigger, view) and name, comparably."""
    conn = db.conn
    described: dict[str, dict[str, object]] = {"table": {}, "index": {}, "trigger": {}, "view": {}}
    strict = {row[1]: row[5] for row in conn.execute("PRAGMA table_list") if row[0] == "main"}
    for kind, name, sql in conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
    ):
        if kind == "table":
            described[kind][name] = (
                tuple(conn.execute(f"PRAGMA table_xinfo({_quoted(name)})")),
                tuple(sorted(conn.execute(f"PRAGMA foreign_key_list({_quoted(name)})"))),
                strict.get(name),
            )
        elif kind == "index":
            described[kind][name] = tuple(conn.execute(f"PRAGMA index_xinfo({_quoted(name)})"))
        else:  # what a trigger or view does, whatever its messages say
            described[kind][name] = " ".join(_STRING.sub("'?'", sql or "").split()).lower()
    # sqlite-utils owns its migrations table's shape; robolearn only needs it there.
    if "_sqlite_migrations" in described["table"]:
        described["table"]["_sqlite_migrations"] = "present"
    return described


@functools.cache
def _expected() -> dict[str, dict[str, object]]:
    """The schema the migrations make on an empty database (built once a process)."""
    conn = sqlite3.connect(":memory:")
    try:
        db = Database(conn, execute_plugins=False)
        MIGRATIONS.apply(db)
        return describe(db)
    finally:
        conn.close()


_STRING = re.compile(r"'(?:[^']|'')*'")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# ----- rows ---------------------------------------------------------------------------------------
Check = Callable[[Any, Mapping[str, Any]], str | None]
"""A column's rule: the problem with a value (given its whole row), or None."""


def checked(table: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """``row`` of ``table`` with its JSON columns decoded; DamagedRowError if it breaks a rule."""
    out = dict(row)
    for column, (is_json, rule) in RULES[table].items():
        value = out.get(column)
        if is_json:
            try:
                value = out[column] = load_json(value or "", max_bytes=MAX_JSON_BYTES)
            except (UntrustedTextError, TypeError) as error:
                raise _damaged(table, row, f"{column} is not readable JSON ({error})") from None
        if problem := rule(value, out):
            raise _damaged(table, row, f"{column} {problem}")
    return out


def _damaged(table: str, row: Mapping[str, Any], problem: str) -> DamagedRowError:
    key = next(
        (f"row {row[k]!r}" for k in ("id", "skill") if k in row),
        f"row of episode {row.get('episode_id')}",
    )
    return DamagedRowError(
        f"the workspace's database holds a damaged {table} {key}: {problem}. {_AFTER_REPAIR}"
    )


def _flag(value: Any, row: Mapping[str, Any]) -> str | None:
    return None if value in (0, 1) else f"is {value!r}, not 0 or 1"


def _optional_flag(value: Any, row: Mapping[str, Any]) -> str | None:
    return None if value is None else _flag(value, row)


def _count(value: Any, row: Mapping[str, Any]) -> str | None:
    return None if isinstance(value, int) and value >= 0 else f"is {value!r}, not 0 or more"


def _optional_id(value: Any, row: Mapping[str, Any]) -> str | None:
    return None if value is None or 0 < value < 2**63 else f"is {value!r}, not a row id"


def _earlier_round(value: Any, row: Mapping[str, Any]) -> str | None:
    """A round continues from one that began before it, so a lineage always ends."""
    if value is None or (isinstance(value, int) and 0 < value < row["id"]):
        return None
    return f"is {value!r}: a round can only continue from an earlier one"


def _status(value: Any, row: Mapping[str, Any]) -> str | None:
    return None if value in ROUND_STATUSES else f"is {value!r}, not one of {ROUND_STATUSES}"


def _calls(value: Any, row: Mapping[str, Any]) -> str | None:
    """A plan: a list of calls as text (an old correction may hold one text)."""
    if isinstance(value, str):
        return None
    if (
        isinstance(value, list)
        and len(value) <= MAX_PLAN_CALLS
        and all(isinstance(call, str) for call in value)
    ):
        return None
    return f"is not a list of at most {MAX_PLAN_CALLS:,} calls"


def _plan(value: Any, row: Mapping[str, Any]) -> str | None:
    return None if isinstance(value, list) and not _calls(value, row) else _calls(0, row)


def _object(value: Any, row: Mapping[str, Any]) -> str | None:
    return None if isinstance(value, dict) else "is not a JSON object"


_RATE_TABLES = ("incumbent", "candidate")


def _metrics(value: Any, row: Mapping[str, Any]) -> str | None:
    """A round's metrics: success rates by family where the gate put them, numbers elsewhere."""
    if not isinstance(value, dict):
        return "is not a JSON object"
    for key in _RATE_TABLES:
        rates = value.get(key, {})
        if not isinstance(rates, dict) or not all(
            _is_number(rate) and 0 <= rate <= 1 for rate in rates.values()
        ):
            return f"{key} is not success rates by family"
    if not isinstance(value.get("dataset", {}), dict):
        return "dataset is not a JSON object"
    seconds = value.get("seconds", 0)
    if not (_is_number(seconds) and seconds >= 0):
        return f"seconds is {seconds!r}"
    return None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


RULES: dict[str, dict[str, tuple[bool, Check]]] = {
    "runs": {"config": (True, _object)},
    "episodes": {
        "plan": (True, _plan),
        "success": (False, _flag),
        "control_steps": (False, _count),
    },
    "steps": {"step_index": (False, _count), "ok": (False, _flag), "ticks": (False, _count)},
    "corrections": {
        "proposed": (True, _calls),
        "corrected": (True, _calls),
        "step_index": (False, _count),
        "rerun_success": (False, _optional_flag),
    },
    "training_rounds": {
        "status": (False, _status),
        "parent_round": (False, _earlier_round),
        "last_correction_id": (False, _count),
        "config": (True, _object),
        "metrics": (True, _metrics),
    },
    "adapters": {"round_id": (False, _optional_id)},
    "evaluations": {"passed": (False, _flag)},
    "carried_skill_stats": {
        name: (False, _count) for name in ("evaluations", "passed", "runs", "successes")
    },
}
"""Each table's columns that carry more than SQLite's STRICT types enforce: (is JSON, rule)."""
