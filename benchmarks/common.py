"""What every benchmark shares: pass/fail bars, tables, and the command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from robolearn.tables import Bar, format_table

__all__ = ["Bar", "benchmark_main", "format_table"]


def benchmark_main(
    argv: Sequence[str] | None,
    *,
    prog: str,
    doc: str,
    quick_help: str,
    run: Callable[[Any, bool, Callable[[str], None]], Any],
    report: Callable[[Any], str],
    full: object,
    quick: object,
    results_path: Path,
    options: Callable[[argparse.ArgumentParser], None] | None = None,
    configure: Callable[[Any, argparse.Namespace], Any] | None = None,
) -> int:
    """Parse ``--quick/--strict/--output``, run, print the report, write the JSON results.

    ``run(settings, quick, log)`` returns results with ``bars`` and ``to_dict()``. Returns 1 when
    a bar fails under ``--strict``, else 0. A benchmark with flags of its own adds them with
    ``options(parser)`` and folds them into its settings with ``configure(settings, args)``.
    """
    parser = argparse.ArgumentParser(prog=prog, description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument(
        "--strict", action="store_true", help="exit with status 1 when any bar fails"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=results_path,
        help=f"where to write the JSON results (default {results_path})",
    )
    if options is not None:
        options(parser)
    args = parser.parse_args(argv)
    settings = quick if args.quick else full
    if configure is not None:
        settings = configure(settings, args)
    results = run(settings, args.quick, lambda message: print(message, file=sys.stderr, flush=True))
    print(report(results))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results.to_dict(), indent=2) + "\n")
    print(f"results written to {args.output}")
    return 1 if args.strict and not all(bar.passed for bar in results.bars) else 0
