"""The continual-learning benchmark's report: bars, tables and a plot, from ``report.json``.

The report is written from the JSON alone, so it can be rebuilt (or restyled) without
rerunning the benchmark.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from robolearn.tables import Bar

BWT_BAR = -0.01
"""Parameter isolation, every round promoted: backward transfer at or above -1 point."""
ROUTER_BAR = 0.95
"""Held-out instructions routed right, in own words and in other words."""
WORDS_BAR = 0.8
"""The whole system: success in other words at least this share of success in own words."""
FALSE_RECALL_BAR = 0.02
ROUND_SECONDS_BAR = 30.0
"""A round (training and the gate's evaluation) of experts, on the default model."""
BENCH_SECONDS_BAR = 20 * 60.0


def bars(report: dict[str, Any]) -> list[Bar]:
    """The targets of parameter isolation, the whole system and speed, as measured."""
    conditions = report["conditions"]
    found: list[Bar] = []
    if "isolation" in conditions:
        found += _isolation_bars(conditions["isolation"], report["config"])
    if "system" in conditions:
        found += _system_bars(conditions["system"])
    rounds = [
        r["seconds"]
        for name in ("isolation", "system")
        for r in conditions.get(name, {}).get("rounds", [])
    ]
    if rounds:
        found.append(
            Bar(
                "slowest round of experts (training + gate)",
                max(rounds),
                ROUND_SECONDS_BAR,
                at_least=False,
                unit="s",
                shown=f"{max(rounds):.1f} s (median {statistics.median(rounds):.1f} s)",
            )
        )
    if "seconds" in report:
        minutes = report["seconds"] / 60
        found.append(
            Bar("whole benchmark", minutes, BENCH_SECONDS_BAR / 60, at_least=False, unit="min")
        )
    return found


def _isolation_bars(result: dict[str, Any], config: dict[str, Any]) -> list[Bar]:
    needed = result["corrections_needed"]
    worst = max((n for n in needed.values() if n is not None), default=0)
    reached = sum(n is not None for n in needed.values())
    bwt = result["matrix"]["bwt"]
    promoted = sum(r["promoted"] for r in result["rounds"])
    found = [
        Bar(
            f"isolation: every new family >= {config['target']:.0%}",
            reached,
            len(needed),
            at_least=True,
            shown=f"{reached}/{len(needed)} families, at most {worst} corrections",
            wanted=f"all, <= {config['max_corrections']} corrections",
        ),
        Bar(
            "isolation: BWT, every round promoted",
            bwt if promoted == len(result["rounds"]) else -1.0,
            BWT_BAR,
            at_least=True,
            shown=f"{100 * bwt:+.1f} points, {promoted}/{len(result['rounds'])} promoted",
            wanted=f">= {100 * BWT_BAR:+.0f} point",
        ),
    ]
    for words, tally in result["router"].items():
        share = tally["right"] / max(tally["asked"], 1)
        found.append(
            Bar(
                f"isolation: router accuracy, {words} words",
                share,
                ROUTER_BAR,
                at_least=True,
                shown=f"{share:.1%} ({tally['right']}/{tally['asked']})",
            )
        )
    return found


def _system_bars(result: dict[str, Any]) -> list[Bar]:
    ratios = {f: words_ratio(w) for f, w in result["words"].items()}
    worst = min(ratios, key=lambda f: ratios[f]) if ratios else None
    refused = sum(not r["promoted"] for r in result["rounds"])
    recalls = result["recalls"]
    false = recalls.get("false", 0) / max(recalls.get("asked", 0), 1)
    found = []
    if worst is not None:
        found.append(
            Bar(
                "system: other words / own words, worst new family",
                ratios[worst],
                WORDS_BAR,
                at_least=True,
                shown=f"{ratios[worst]:.0%} ({worst})",
            )
        )
    found += [
        Bar(
            "system: repeat-mistake rate",
            result["repeat_mistake_rate"],
            0.0,
            at_least=False,
            shown=f"{result['repeat_mistake_rate']:.0%}",
            wanted="0%",
        ),
        Bar(
            "system: false recalls",
            false,
            FALSE_RECALL_BAR,
            at_least=False,
            shown=f"{false:.1%} ({recalls.get('false', 0)}/{recalls.get('asked', 0)})",
        ),
        Bar("system: rounds refused by the gate", refused, 0, at_least=False, wanted="0"),
    ]
    return found


def words_ratio(words: dict[str, float]) -> float:
    """Success in other words as a share of success in own words (1 when both are 0)."""
    own, other = words.get("own", 0.0), words.get("other", 0.0)
    return 1.0 if own == 0 and other == 0 else other / own if own else float("inf")


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: bars, the comparison, and each condition's success matrix."""
    conditions = report["conditions"]
    lines = [
        "# Continual-learning benchmark",
        "",
        f"Base model `{report['model']}`; {report.get('seconds', 0) / 60:.1f} min in all.",
        "",
        "| target | measured | required | |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {b.name} | {b.measured} | {b.required} | {'PASS' if b.passed else 'FAIL'} |"
        for b in bars(report)
    ]
    lines += ["", *_comparison(report)]
    lines += ["", *_words_table(report)]
    for name, result in conditions.items():
        lines += ["", *_matrix_table(name, result["matrix"])]
    return "\n".join(lines) + "\n"


def _comparison(report: dict[str, Any]) -> list[str]:
    target = report["config"]["target"]
    new = report["config"]["families"]
    lines = [
        "| condition | ACC | BWT | FWT | router own / other | repeat mistakes | corrections to "
        f"{target:.0%} ({', '.join(new)}) | rounds (promoted) | seconds |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, result in report["conditions"].items():
        matrix = result["matrix"]
        needed = ", ".join(
            "-" if result["corrections_needed"][f] is None else str(result["corrections_needed"][f])
            for f in new
        )
        router = " / ".join(
            f"{t['right'] / max(t['asked'], 1):.0%}" for t in result["router"].values()
        )
        rounds = result["rounds"]
        lines.append(
            f"| {name} | {matrix['acc']:.0%} | {100 * matrix['bwt']:+.1f} | "
            f"{100 * matrix['fwt']:+.1f} | {router or '-'} | "
            f"{result['repeat_mistake_rate']:.0%} ({result['repeat_mistakes']['mistakes']}/"
            f"{result['repeat_mistakes']['replans']}) | {needed} | "
            f"{len(rounds)} ({sum(r['promoted'] for r in rounds)}) | {result['seconds']:.0f} |"
        )
    return lines


def _words_table(report: dict[str, Any]) -> list[str]:
    new = report["config"]["families"]
    lines = [
        "Held-out success on the paraphrase scenes once each family was taught, own words / "
        "other words:",
        "",
        "| condition | " + " | ".join(new) + " |",
        "|---|" + "---|" * len(new),
    ]
    for name, result in report["conditions"].items():
        cells = [
            "{own:.0%} / {other:.0%}".format(**result["words"][f])
            if {"own", "other"} <= set(result["words"].get(f, {}))
            else "-"
            for f in new
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def _matrix_table(name: str, matrix: dict[str, Any]) -> list[str]:
    lines = [
        f"## {name}: success after each stage",
        "",
        "| after | " + " | ".join(matrix["families"]) + " |",
        "|---|" + "---|" * len(matrix["families"]),
    ]
    lines += [
        f"| {stage} | " + " | ".join(f"{row[f]:.0%}" for f in matrix["families"]) + " |"
        for stage, row in zip(matrix["stages"], matrix["rows"], strict=True)
    ]
    return lines


def plot(report: dict[str, Any], path: Path) -> Path:
    """Every condition's forgetting curves and words, and the whole system's matrix, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    conditions = report["conditions"]
    figure, axes = plt.subplots(
        1, 4, figsize=(21, 4.8), gridspec_kw={"width_ratios": [1, 1, 1.1, 1.4]}
    )
    _plot_curves(conditions, axes[0], axes[1])
    _plot_words(conditions, report["config"]["families"], axes[2])
    shown = next((n for n in ("system", "isolation") if n in conditions), next(iter(conditions)))
    image = _plot_matrix(conditions[shown]["matrix"], axes[3], shown)
    figure.colorbar(image, ax=axes[3], fraction=0.03)
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


def _plot_words(conditions: dict[str, Any], families: list[str], axis: Any) -> None:
    """Mean success over the new families once taught, in own words and in other words."""
    names = list(conditions)
    for offset, words in ((-0.2, "own"), (0.2, "other")):
        means = []
        for name in names:
            taught = [w[words] for w in conditions[name]["words"].values() if words in w]
            means.append(sum(taught) / len(taught) if taught else 0.0)
        axis.bar([i + offset for i in range(len(names))], means, width=0.4, label=f"{words} words")
    axis.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
    axis.set(title="new families once taught", ylabel="held-out success", ylim=(0, 1.05))
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3, axis="y")


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
