"""robolearn train, adapters and bench learning as a user types them."""

import shutil

import pytest

from tests.conftest import robolearn


@pytest.fixture
def workspace(taught, tmp_path):
    copy = tmp_path / "ws"
    shutil.copytree(taught[0], copy)
    return copy


def test_adapters_list_shows_the_rounds_and_the_one_in_use(workspace, push_only_model):
    out = robolearn("adapters", "list", "--model", str(push_only_model), workspace=workspace).stdout
    assert "1 rounds" in out
    [row] = [line for line in out.splitlines() if "promoted" in line]
    assert row.startswith("*") and "no family regressed" in row


def test_adapters_use_rolls_back_and_refuses_an_unknown_round(workspace, push_only_model):
    model = ("--model", str(push_only_model))
    assert (
        "base model alone"
        in robolearn("adapters", "use", "base", *model, workspace=workspace).stdout
    )
    assert (
        "in use: the base model alone"
        in robolearn("adapters", "list", *model, workspace=workspace).stdout
    )
    missing = robolearn("adapters", "use", "9", *model, workspace=workspace, check=False)
    assert missing.returncode == 2 and "has no training round 9" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_train_with_nothing_new_says_what_to_do(workspace, push_only_model):
    result = robolearn("train", "--model", str(push_only_model), workspace=workspace, check=False)
    assert result.returncode == 2
    assert "nothing new to learn" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--every", "0"], "--every must be at least 1"),
        (["train", "--replay", "fifo"], "replay must be one of balanced, reservoir or none"),
        (["train", "--max-regression", "2"], "max-regression is a fraction"),
        (["adapters", "use", "latest"], "takes a round number or 'base'"),
        (["bench", "learning", "--condition", "magic"], "unknown conditions ['magic']"),
        (["train", "--method", "magic"], "--method must be one of experts, adapter"),
        (["train", "--expert-replay", "-1"], "--expert-replay must be between 0 and 100"),
        (["train", "--max-steps", "0"], "--max-steps must be between 1 and"),
        (["bench", "learning", "--family", "nope"], "unknown task family 'nope'; known:"),
        (["bench", "learning", "--max-corrections", "0"], "--max-corrections must be at least 1"),
        (["bench", "learning", "--eval-scenes", "0"], "--eval-scenes must be between 1 and"),
    ],
)
def test_a_bad_learning_command_line_gets_one_clear_line(args, message, push_only_model, tmp_path):
    if args[0] != "bench":
        args = [*args, "--model", str(push_only_model)]
    result = robolearn(*args, workspace=tmp_path, check=False)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
