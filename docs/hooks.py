"""MkDocs hook: the site shows the benchmark figures where the benchmarks write them.

The learning benchmark writes ``benchmarks/figures/learning.png`` (the README shows it too), so
the site takes that file as it is instead of keeping a copy that would drift.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File, Files

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def on_files(files: Files, config: dict) -> Files:
    """Add every benchmark figure to the site, under ``figures/``."""
    for figure in sorted((BENCHMARKS / "figures").glob("*.png")):
        path = f"figures/{figure.name}"
        files.append(File(path, str(BENCHMARKS), config["site_dir"], config["use_directory_urls"]))
    return files
