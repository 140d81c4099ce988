"""sqlite-utils imported without pandas: a second off the start of every robolearn process.

sqlite-utils imports pandas whenever it is installed (to map its column types), and pandas
imports pyarrow: about a second of CPU at the start of every command and every rollout worker
(a third of a worker's start-up). robolearn never hands sqlite-utils a DataFrame, so the store
imports it with pandas hidden. A process that loaded pandas already (the dashboard) keeps it.
"""

from __future__ import annotations

import sys

if "sqlite_utils" not in sys.modules and "pandas" not in sys.modules:
    sys.modules["pandas"] = None  # type: ignore[assignment]  # makes `import pandas` fail
    try:
        import sqlite_utils  # noqa: F401
    finally:
        del sys.modules["pandas"]
