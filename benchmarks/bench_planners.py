"""Planner models side by side: the default model, SmolLM2 and any local folder.

The same code as ``robolearn bench planners`` (``robolearn/planner/compare.py``), with the JSON
results in ``benchmarks/results/`` beside the other benchmarks'. Run from the repo root::

    python -m benchmarks.bench_planners                    # default and smollm2, every scene
    python -m benchmarks.bench_planners --quick            # 2 held-out + 3 paraphrases a family
    python -m benchmarks.bench_planners --model PATH       # only the models named
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from robolearn.cli import main as robolearn

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "bench_planners.json"


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``robolearn bench planners`` with its results written here (unless told)."""
    return robolearn(["bench", "planners", "--output", str(RESULTS_PATH), *(argv or [])])


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
