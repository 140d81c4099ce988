"""The continual-learning benchmark's stream, end to end, as `robolearn bench learning --quick`.

Slow (minutes): every condition teaches two new families from simulated corrections on a
small bootstrapped model, and the report says what each way of learning did.
"""

import json

import pytest
from conftest import robolearn

from robolearn.learn.benchmark import CONDITIONS


@pytest.mark.slow
def test_every_condition_learns_the_same_stream_and_the_report_shows_each(
    push_only_model, tmp_path
):
    out = tmp_path / "report"
    run = robolearn(
        "bench",
        "learning",
        "--quick",
        "--model",
        str(push_only_model),
        "--out",
        str(out),
        "--workers",
        "2",
        workspace=tmp_path / "ws",
        timeout=1800,
    )
    assert "report:" in run.stdout

    report = json.loads((out / "report.json").read_text())
    assert sorted(report["conditions"]) == sorted(CONDITIONS)
    assert (out / "learning.png").stat().st_size > 10_000
    table = (out / "report.md").read_text()
    for name in CONDITIONS:
        assert f"| {name} |" in table
    results = report["conditions"]
    # Every condition saw the same stream: the base model's row is the same everywhere.
    assert len({json.dumps(r["matrix"]["rows"][0]) for r in results.values()}) == 1
    assert results["none"]["rounds"] == []
    isolation = results["isolation"]
    assert isolation["rounds"] and all(r["promoted"] for r in isolation["rounds"])
    assert isolation["matrix"]["bwt"] >= -0.01  # frozen experts: what it knew stays
    own = isolation["router"]["own"]
    assert own["right"] >= 0.9 * own["asked"] > 0
    system = results["system"]
    assert system["recalls"]["false"] <= 0.02 * max(system["recalls"]["recalls"], 1)
    assert system["repeat_mistake_rate"] == 0.0  # the memory never repeats a corrected mistake
