"""The ``robolearn`` command: one module a verb, each a config dataclass (its flags) and a function.

``main`` knows each verb by name and one line of help; it imports a verb's module only when
that verb runs (``robolearn tasks`` loads no model code). A bad flag or value prints one line
that says what was wrong and exits with status 2; so does any other ``UserError``. Output cut
off by a closed pipe (``robolearn skills list | head -1``) ends quietly.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any

from robolearn.cli.command import Command, Parser
from robolearn.errors import UserError
from robolearn.text import for_terminal

EXAMPLES = """examples:
  robolearn run --family stack --episodes 20 --planner oracle --seed 0
  robolearn run --episodes 5 --json
  robolearn run --family stack --episodes 200 --workers 2
  robolearn plan "stack the red block on the blue one" --family stack
  robolearn run --family stack --episodes 10 --model smollm2
  robolearn bench planners --quick
  robolearn bootstrap
  robolearn train --every 20
  robolearn adapters list
  robolearn dashboard
  robolearn tasks
  robolearn skills search "put the red cube into the bowl"
  robolearn export dataset robolearn-dataset
"""

VERBS: dict[str, tuple[str, str]] = {
    "run": ("robolearn.cli.run", "run seeded episodes headless"),
    "bootstrap": ("robolearn.cli.bootstrap", "train the default planner model"),
    "plan": ("robolearn.cli.plan", "print the plan for an instruction"),
    "dashboard": ("robolearn.cli.dashboard", "serve the Streamlit dashboard"),
    "train": ("robolearn.cli.train", "run a LoRA round on corrections (or every N)"),
    "adapters": ("robolearn.cli.adapters", "list training rounds, choose the adapter"),
    "bench": ("robolearn.cli.bench", "measure and compare"),
    "tasks": ("robolearn.cli.tasks", "list the task families"),
    "skills": ("robolearn.cli.skills", "browse, search, add, export and import skills"),
    "export": ("robolearn.cli.export", "write episodes and corrections as a dataset"),
}
"""Each verb: the module that holds it, and its line in ``robolearn --help``."""


def commands(verb: str) -> dict[str | None, Command]:
    """The commands of ``verb``'s module: ``{None: command}``, or one an action of a group."""
    module = importlib.import_module(VERBS[verb][0])
    return module.ACTIONS if hasattr(module, "ACTIONS") else {None: module.COMMAND}


def group_examples(verb: str) -> str:
    """The examples a group verb (``skills``, ``bench``) shows above its actions."""
    return importlib.import_module(VERBS[verb][0]).EXAMPLES


def parser(argv: Sequence[str]) -> Parser:
    """The command line's parser, with the flags of the verb ``argv`` names.

    Only that verb's module is imported; the others are listed by name and help line.
    """
    top = Parser(
        prog="robolearn",
        description="A robotics skill-library learner with correction feedback.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = top.add_subparsers(dest="verb", required=True, parser_class=Parser)
    chosen = argv[0] if argv else None
    for verb, (_, help_line) in VERBS.items():
        if verb != chosen:
            verbs.add_parser(verb, help=help_line)
            continue
        found = commands(verb)
        if None in found:
            found[None].add_to(verbs, verb, help_line)
            continue
        group = verbs.add_parser(
            verb,
            help=help_line,
            epilog=group_examples(verb),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        actions = group.add_subparsers(dest="action", required=True, parser_class=Parser)
        for action, command in found.items():
            command.add_to(actions, str(action), command.help)
    return top


def parse(argv: Sequence[str]) -> Any:
    """The config the command line ``argv`` describes (argparse's errors exit with status 2)."""
    args = parser(argv).parse_args(argv)
    return _command(args).config_of(args)


def _command(args: argparse.Namespace) -> Command:
    return commands(args.verb)[getattr(args, "action", None)]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``robolearn`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser(argv).parse_args(argv)
        name = " ".join(filter(None, (args.verb, getattr(args, "action", None))))
        command = _command(args)
        try:
            status = command.run(command.config_of(args))
            if sys.stdout is not None:
                sys.stdout.flush()  # a reader gone away shows here, not at exit
            return status
        except UserError as error:
            print(
                f"robolearn {name}: error: {for_terminal(str(error), one_line=True)}",
                file=sys.stderr,
            )
            return 2
        except KeyboardInterrupt:  # what finished is kept: runs and rounds store as they go
            print(
                f"\nrobolearn {name}: interrupted; what finished before is stored", file=sys.stderr
            )
            return 130
    except BrokenPipeError:
        return _stdout_closed()


def _stdout_closed() -> int:
    """The reader of our output went away (``| head``): stop quietly, as ``cat`` would.

    Python would report the pipe again when it flushes stdout at exit, so stdout is pointed
    at /dev/null first. The status is the shell's for a process a closed pipe ended.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
    finally:
        os.close(devnull)
    return 141
