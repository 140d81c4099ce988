"""The planner benchmark: models side by side on held-out scenes and hand-written phrasings.

The same code as ``robolearn bench planners`` (``robolearn/planner/compare.py``), with the JSON
results in ``benchmarks/results/`` beside the other benchmarks' and the tables as markdown
(``--markdown``; ``benchmarks/planners.md`` is a committed run). Run from the repo root::

    python -m benchmarks.bench_planners                    # default and smollm2, every scene
    python -m benchmarks.bench_planners --quick            # 2 held-out + 3 paraphrases a family
    python -m benchmarks.bench_planners --model PATH       # only the models named
    python -m benchmarks.bench_planners --markdown benchmarks/planners.md
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from robolearn.cli import main as robolearn

RESULTS = Path(__file__).resolve().parent / "results"
RESULTS_PATH = RESULTS / "bench_planners.json"
MARKDOWN_PATH = RESULTS / "bench_planners.md"


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``robolearn bench planners`` with its results written here (unless told)."""
    args = list(argv or [])
    markdown = MARKDOWN_PATH
    if "--markdown" in args:
        at = args.index("--markdown")
        markdown = Path(args[at + 1])
        del args[at : at + 2]
    output = Path(args[args.index("--output") + 1]) if "--output" in args else RESULTS_PATH
    if "--output" not in args:
        args += ["--output", str(output)]
    status = robolearn(["bench", "planners", *args])
    if status == 0:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(to_markdown(json.loads(output.read_text())))
        print(f"tables written to {markdown}")
    return status


def to_markdown(results: dict) -> str:
    """The results JSON's tables as markdown: summary, per family, failures, targets."""
    models = [*results["models"], results["oracle"]]
    sets = list(results["oracle"]["summary"])
    lines = [
        "| model | scenes | n | exact match | success | parse failures | latency median / p95 |",
        "|---|---|---|---|---|---|---|",
    ]
    for model in models:
        for name, s in model["summary"].items():
            latency = s["latency_ms"]
            timing = (
                f"{latency['median']:,.0f} / {latency['p95']:,.0f} ms"
                if model is not results["oracle"]
                else "-"
            )
            lines.append(
                f"| {model['name']} | {name} | {s['scenes']} | {s['exact']}/{s['scenes']} | "
                f"{s['successes']}/{s['scenes']} ({s['success']:.0%}) | {s['parse_failures']} | "
                f"{timing} |"
            )
    families = sorted({p["family"] for model in models for p in model["plans"]})
    lines += ["", "Success per family:", ""]
    lines.append(
        "| family | " + " | ".join(f"{m['name']} {s}" for m in models for s in sets) + " |"
    )
    lines.append("|---" * (1 + len(models) * len(sets)) + "|")
    for family in families:
        cells = []
        for model in models:
            for set_name in sets:
                mine = [p for p in model["plans"] if p["set"] == set_name and p["family"] == family]
                won = sum(p["success"] for p in mine)
                cells.append(f"{won}/{len(mine)}" if mine else "-")
        lines.append(f"| {family} | " + " | ".join(cells) + " |")
    lines += ["", "Most common failures (family: kind):", "", "| model | failure | plans |"]
    lines.append("|---|---|---|")
    for model in results["models"]:
        lines += [f"| {model['name']} | {kind} | {n} |" for kind, n in model["failure_kinds"]]
    lines += ["", "| target | measured | required | result |", "|---|---|---|---|"]
    for what, measured, required, passed in results["bars"]:
        lines.append(f"| {what} | {measured} | {required} | {'PASS' if passed else 'FAIL'} |")
    lines += [""] + [
        f"- {m['name']}: `{m['identity']}`, {m['threads']} thread(s), "
        f"{len(m['plans'])} plans, latency over all: median {m['latency_ms']['median']:,.0f} ms, "
        f"p95 {m['latency_ms']['p95']:,.0f} ms, in batches: "
        + (f"{m['batch_ms']:,.0f} ms a plan" if m["batch_ms"] is not None else "-")
        for m in results["models"]
    ]
    lines += [f"- {name}: skipped ({why})" for name, why in results["skipped"].items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
