"""The continual-learning benchmark, as ``robolearn bench learning`` runs it (same code).

    python -m benchmarks.bench_learning                 # every condition, ~15 min on 2 cores
    python -m benchmarks.bench_learning --quick --out /tmp/learning

It writes report.json, report.md and learning.png under --out (default
benchmarks/results/learning); see robolearn/learn/benchmark.py for the protocol.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from robolearn.cli import main as robolearn


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--out" not in args:
        args += ["--out", "benchmarks/results/learning"]
    return robolearn(["bench", "learning", *args])


if __name__ == "__main__":
    sys.exit(main())
