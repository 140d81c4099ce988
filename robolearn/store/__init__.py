"""The store: one SQLite file in the workspace holding runs, episodes, steps and corrections.

No other package writes SQL, and the store imports nothing else of robolearn but its errors,
the workspace layout and the records: it takes and returns :mod:`robolearn.records`' episodes
and the plain rows of ``robolearn.store.rows``.
"""

from robolearn.store import _no_pandas  # noqa: F401  (first: before sqlite-utils loads)
from robolearn.store.db import DB_NAME, Store
from robolearn.store.errors import MissingRowError, NewerSchemaError, StoreError, StoreFileError
from robolearn.store.rows import (
    AdapterRow,
    CorrectionRow,
    FamilyCounts,
    RoundExampleRow,
    RoundRow,
    SkillStats,
)
from robolearn.store.schema import SCHEMA_VERSION

__all__ = [
    "DB_NAME",
    "SCHEMA_VERSION",
    "AdapterRow",
    "CorrectionRow",
    "FamilyCounts",
    "MissingRowError",
    "NewerSchemaError",
    "RoundExampleRow",
    "RoundRow",
    "SkillStats",
    "Store",
    "StoreError",
    "StoreFileError",
]
