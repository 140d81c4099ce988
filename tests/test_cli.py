"""The robolearn command as a user runs it: in a subprocess, on a fresh workspace."""

import json

import pytest

from robolearn.store import Store
from tests.conftest import robolearn


def test_run_prints_a_json_summary_that_repeats_for_the_same_seed(tmp_path):
    command = (
        "run",
        "--family",
        "stack",
        "--episodes",
        "3",
        "--seed",
        "4",
        "--json",
        "--planner",
        "oracle",
    )
    first = robolearn(*command, workspace=tmp_path)
    second = robolearn(*command, workspace=tmp_path)
    a, b = json.loads(first.stdout), json.loads(second.stdout)
    a.pop("wall_seconds"), b.pop("wall_seconds")
    assert a == b
    assert a["families"][0]["family"] == "stack" and a["episodes"] == 3
    assert a["successes"] == 3
    with Store.open(tmp_path) as store:  # every episode of both runs, in the workspace's db
        episodes = store.episodes()
    assert [e.seed for e in episodes] == [4, 5, 6, 4, 5, 6]
    assert episodes[0].plan[0].startswith("pick(") and episodes[0].steps[0].ok


def test_run_shows_a_table_and_saves_frames_when_asked(tmp_path):
    result = robolearn(
        "run",
        "--family",
        "push_to_zone",
        "--episodes",
        "1",
        "--frames",
        "--planner",
        "oracle",
        workspace=tmp_path,
    )
    assert "push_to_zone" in result.stdout and "1/1" in result.stdout
    frames = list((tmp_path / "frames").rglob("*.png"))
    assert frames and frames[0].read_bytes().startswith(b"\x89PNG")
    with Store.open(tmp_path) as store:
        steps = store.episodes()[0].steps
    assert all((tmp_path / step.frame_path).is_file() for step in steps)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--family", "juggle"], "unknown --family juggle; known:"),
        (["run", "--episodes", "0"], "--episodes must be at least 1"),
        (["run", "--episodes", "many"], "invalid int value: 'many'"),
        (["run", "--planner", "gpt"], "unknown --planner 'gpt'"),
        (["run", "--planner", "oracle", "--model", "x"], "--model is for the lm planner"),
        (["fly"], "invalid choice: 'fly'"),
    ],
)
def test_a_bad_command_line_gets_one_clear_line(args, message, tmp_path):
    result = robolearn(*args, check=False)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_help_shows_copy_paste_examples():
    assert "robolearn run --family stack --episodes 20" in robolearn("--help").stdout
    assert "--planner oracle --seed 0" in robolearn("run", "--help").stdout
    assert "robolearn tasks" in robolearn("tasks", "--help").stdout


def test_tasks_lists_every_family_with_an_example():
    out = robolearn("tasks").stdout
    for name in ("stack", "tower", "line_up", "sort_into_bowls", "push_to_zone"):
        assert name in out
