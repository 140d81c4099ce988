"""The continual-learning benchmark's report: bars, tables and a plot, from ``report.json``.

The report is written from the JSON alone, so it can be rebuilt (or restyled) without
rerunning the benchmark.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from robolearn.tables import Bar

BWT_BAR = -0.02
"""Backward transfer with replay must stay at or above -2 points."""
LORA_SECONDS_BAR = 60.0
"""A LoRA round on 1k examples, on this CPU."""


def bars(report: dict[str, Any]) -> list[Bar]:
    """The targets: new families learned within the budget, little forgetting, no repeats."""
    config, conditions = report["config"], report["conditions"]
    found: list[Bar] = []
    full = conditions.get("memory")
    if full is not None:
        needed = full["corrections_needed"]
        worst = max((n for n in needed.values() if n is not None), default=0)
        reached = sum(n is not None for n in needed.values())
        found.append(
            Bar(
                f"every new family >= {config['target']:.0%} (memory)",
                reached,
                len(needed),
                at_least=True,
                shown=f"{reached}/{len(needed)} families, at most {worst} corrections",
                wanted=f"all, <= {config['max_corrections']}",
            )
        )
        found.append(
            Bar(
                "repeat-mistake rate (memory on)",
                full["repeat_mistake_rate"],
                0.0,
                at_least=False,
                shown=f"{full['repeat_mistake_rate']:.0%}",
                wanted="0%",
            )
        )
    for name in ("balanced", "reservoir", "memory"):
        if name in conditions:
            bwt = conditions[name]["matrix"]["bwt"]
            found.append(
                Bar(
                    f"BWT with replay ({name})",
                    bwt,
                    BWT_BAR,
                    at_least=True,
                    shown=f"{100 * bwt:+.1f} points",
                    wanted=f">= {100 * BWT_BAR:+.0f} points",
                )
            )
    timing = report.get("lora_timing")
    if timing:
        found.append(
            Bar(
                f"LoRA round on {timing['examples']} examples",
                timing["seconds"],
                LORA_SECONDS_BAR,
                at_least=False,
                unit="s",
            )
        )
    return found


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: bars, the comparison, and each condition's success matrix."""
    conditions = report["conditions"]
    target = report["config"]["target"]
    lines = [
        "# Continual-learning benchmark",
        "",
        f"Base model `{report['model']}`.",
        "",
        "| target | measured | required | |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {b.name} | {b.measured} | {b.required} | {'PASS' if b.passed else 'FAIL'} |"
        for b in bars(report)
    ]
    new = report["config"]["families"]
    lines += [
        "",
        "| condition | ACC | BWT | FWT | repeat mistakes | corrections to "
        f"{target:.0%} ({', '.join(new)}) | rounds | seconds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, result in conditions.items():
        matrix = result["matrix"]
        needed = ", ".join(
            "-" if result["corrections_needed"][f] is None else str(result["corrections_needed"][f])
            for f in new
        )
        lines.append(
            f"| {name} | {matrix['acc']:.0%} | {100 * matrix['bwt']:+.1f} | "
            f"{100 * matrix['fwt']:+.1f} | {result['repeat_mistake_rate']:.0%} "
            f"({result['repeat_mistakes']['mistakes']}/"
            f"{result['repeat_mistakes']['replans']}) | {needed} | "
            f"{len(result['rounds'])} | {result['seconds']:.0f} |"
        )
    for name, result in conditions.items():
        matrix = result["matrix"]
        lines += [
            "",
            f"## {name}: success after each stage",
            "",
            "| after | " + " | ".join(matrix["families"]) + " |",
            "|---|" + "---|" * len(matrix["families"]),
        ]
        lines += [
            f"| {stage} | " + " | ".join(f"{row[f]:.0%}" for f in matrix["families"]) + " |"
            for stage, row in zip(matrix["stages"], matrix["rows"], strict=True)
        ]
    return "\n".join(lines) + "\n"


def plot(report: dict[str, Any], path: Path) -> Path:
    """Forgetting curves per condition and the full system's success matrix, as one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    conditions = report["conditions"]
    figure, (old_axis, new_axis, grid_axis) = plt.subplots(
        1, 3, figsize=(16, 4.8), gridspec_kw={"width_ratios": [1, 1, 1.4]}
    )
    _plot_curves(conditions, old_axis, new_axis)
    shown = "memory" if "memory" in conditions else next(iter(conditions))
    image = _plot_matrix(conditions[shown]["matrix"], grid_axis, shown)
    figure.colorbar(image, ax=grid_axis, fraction=0.03)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _plot_curves(conditions: dict[str, Any], old_axis: Any, new_axis: Any) -> None:
    """Mean held-out success of the base model's families and of those taught so far."""
    for name, result in conditions.items():
        matrix = result["matrix"]
        stages = range(len(matrix["rows"]))
        base = [f for f in matrix["families"] if matrix["learned_at"][f] == 0]
        old_axis.plot(
            stages,
            [sum(row[f] for f in base) / len(base) for row in matrix["rows"]],
            marker="o",
            label=name,
        )
        learned = [
            [f for f in matrix["families"] if 0 < matrix["learned_at"][f] <= i] for i in stages
        ]
        new_axis.plot(
            list(stages)[1:],
            [
                sum(row[f] for f in fams) / len(fams)
                for row, fams in zip(matrix["rows"][1:], learned[1:], strict=True)
            ],
            marker="o",
            label=name,
        )
    stages = next(iter(conditions.values()))["matrix"]["stages"]
    for axis, title in (
        (old_axis, "families the base model knew"),
        (new_axis, "new families taught so far"),
    ):
        axis.set(
            title=title, xlabel="after teaching", ylabel="held-out success", ylim=(-0.05, 1.05)
        )
        axis.set_xticks(range(len(stages)), stages, rotation=30, ha="right", fontsize=8)
        axis.grid(alpha=0.3)
    old_axis.legend(loc="lower left", fontsize=8)


def _plot_matrix(matrix: dict[str, Any], axis: Any, shown: str) -> Any:
    """One condition's success matrix, each cell labelled; the image (for its colour bar)."""
    values = [[row[f] for f in matrix["families"]] for row in matrix["rows"]]
    image = axis.imshow(values, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    axis.set_xticks(
        range(len(matrix["families"])), matrix["families"], rotation=45, ha="right", fontsize=8
    )
    axis.set_yticks(range(len(matrix["stages"])), matrix["stages"], fontsize=8)
    axis.set_title(f"success matrix ({shown})")
    for i, row in enumerate(values):
        for j, value in enumerate(row):
            colour = "white" if value < 0.6 else "black"
            axis.text(j, i, f"{value:.0%}", ha="center", va="center", fontsize=7, color=colour)
    return image


def write_report(report: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """``report.md`` and ``learning.png`` under ``out``."""
    text = out / "report.md"
    text.write_text(markdown(report))
    return text, plot(report, out / "learning.png")
