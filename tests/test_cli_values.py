"""The command line's own contract: every verb shows its examples, every value is checked, and
nothing from data or a closed pipe reaches the terminal raw."""

import subprocess
import sys
from dataclasses import replace

import pytest

from robolearn.cli import VERBS, commands, group_examples, main
from robolearn.skills.library import SkillLibrary
from robolearn.text import for_terminal
from tests.conftest import robolearn


def every_command():
    for verb in VERBS:
        for action, command in commands(verb).items():
            argv = [verb] if action is None else [verb, action]
            yield pytest.param(argv, command, id=" ".join(argv))


def help_of(capsys, *argv):
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--help"])
    assert stop.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(("argv", "command"), list(every_command()))
def test_every_verb_shows_its_examples_and_documents_every_flag(argv, command, capsys):
    shown = help_of(capsys, *argv)
    for example in command.examples:
        assert example in shown
    if len(argv) == 2:  # an action shows its own examples, not its group's others
        group = {line.strip() for line in group_examples(argv[0]).splitlines()[1:]}
        others = group - set(command.examples) - {""}
        assert not any(f"  {line}\n" in shown for line in others), others
    for example in command.examples:  # each example is a command line of this verb
        assert example.startswith(f"robolearn {' '.join(argv)}")
    for option in command._options:  # every flag is there, with its field's docstring
        assert (option.strings[0] if option.strings else option.field) in shown


@pytest.mark.parametrize("verb", ["adapters", "bench", "skills"])
def test_a_group_lists_its_actions_and_their_examples(verb, capsys):
    shown = help_of(capsys, verb)
    for action in commands(verb):
        assert action in shown
    assert group_examples(verb).strip() in shown


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--poll", "nan"], "argument --poll: 'nan' is not a finite number"),
        (["train", "--poll", "inf"], "argument --poll: 'inf' is not a finite number"),
        (["train", "--poll", "0"], "--poll must be more than 0 seconds"),
        (["run", "--seed", str(2**64)], "argument --seed: '18446744073709551616' is too large"),
        (["run", "--episodes", "²"], "argument --episodes: invalid int value: '²'"),
        (["adapters", "use", "²"], "takes a round number or 'base', not '²'"),
        (["adapters", "use", str(2**64)], "takes a round number or 'base'"),
        (["skills", "show", "x\x1b[31m"], r"the name holds the binary character '\x1b'"),
        (["run", "--workers", "100000"], "(at most 1024), got 100000"),
        (["skills", "search", "cube", "-k", "0"], "-k must be between 1 and 1000, got 0"),
        (["train", "--rank", "0"], "--rank must be between 1 and 1024, got 0"),
        (["bootstrap", "--scenes", "0"], "--scenes must be at least 1, got 0"),
    ],
    ids=repr,
)
def test_every_command_line_value_is_checked_in_one_line(args, message, tmp_path, capsys):
    try:
        status = main([*args, "--workspace", str(tmp_path / "ws")])
    except SystemExit as stop:  # argparse's own errors
        status = stop.code
    err = capsys.readouterr().err
    assert status == 2, err
    assert message in err and len(err.strip().splitlines()) == 1
    assert "\x1b" not in err and "\u202e" not in err
    assert not (tmp_path / "ws").exists(), "refused before the workspace was touched"


def test_text_from_data_is_escaped_for_the_terminal():
    shown = for_terminal("stack_on\x1b[2J\u202etxt.exe\nnext")
    assert shown == "stack_on\\x1b[2J\\u202etxt.exe\nnext"
    assert for_terminal("a\nb\tc", one_line=True) == r"a\x0ab\x09c"
    assert for_terminal("把红色方块放在蓝色方块上") == "把红色方块放在蓝色方块上"


def test_a_description_that_reorders_the_screen_is_shown_escaped(tmp_path):
    library = SkillLibrary.open(tmp_path)
    tricky = "stack a block \u202eon top\u202c, then undo it"
    library.save(replace(library.get("stack_on"), description=tricky))
    out = robolearn("skills", "show", "stack_on", workspace=tmp_path).stdout
    assert "stack a block \\u202eon top\\u202c, then undo it" in out
    assert "\u202e" not in out


def test_a_reader_that_goes_away_ends_the_listing_quietly(tmp_path):
    robolearn("skills", "list", workspace=tmp_path)  # seeded first: the pipe is the only change
    command = [
        sys.executable,
        "-m",
        "robolearn.cli",
        "skills",
        "list",
        "--workspace",
        str(tmp_path),
    ]
    listing = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    listing.stdout.close()  # as `| head -0` does: nobody reads
    err = listing.stderr.read().decode()
    assert listing.wait(timeout=120) == 141
    assert err == "", err
