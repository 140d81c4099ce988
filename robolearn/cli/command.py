"""What every verb module declares: a :class:`Command`, and the flags many verbs share.

A command is a config dataclass (its flags), the function that runs it and its examples; the
workspace and the model are flags of most verbs, declared once here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from robolearn.cli import flags
from robolearn.paths import workspace_dir
from robolearn.text import for_terminal


class Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line, not a usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """Print ``message`` as one line and exit with status 2."""
        line = for_terminal(message, one_line=True)
        self.exit(2, f"{self.prog}: error: {line} (see {self.prog} --help)\n")


@dataclass(frozen=True)
class Command:
    """One verb (or one action of a group verb)."""

    help: str
    """Its line in the list of verbs."""
    config: type
    """The dataclass whose fields are its flags."""
    run: Callable[[Any], int]
    """What it does with a config; the exit status."""
    examples: tuple[str, ...]
    """Command lines a person can copy, shown under ``--help``."""
    _options: list[flags.Option] = field(default_factory=list, compare=False, repr=False)

    def add_to(
        self,
        verbs: argparse._SubParsersAction,
        name: str,
        help_line: str,
    ) -> argparse.ArgumentParser:
        """Add this command to ``verbs`` as ``name``, with its flags and its examples."""
        title = "example:" if len(self.examples) == 1 else "examples:"
        parser = verbs.add_parser(
            name,
            help=help_line,
            description=(self.config.__doc__ or "").strip() or None,
            epilog="\n  ".join((title, *self.examples)),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        self._options[:] = flags.add_flags(parser, self.config)
        return parser

    def config_of(self, args: argparse.Namespace) -> Any:
        """The config the parsed ``args`` describe (UsageError names a bad flag)."""
        return flags.build(self.config, args, self._options)

    def flag_name(self, field_name: str) -> str:
        """How ``field_name`` is written on this command's command line."""
        return flags.flag_name(self._options, field_name)


@dataclass(kw_only=True)
class InWorkspace:
    """Flags of every verb that works in a workspace."""

    workspace: Path | None = None
    """The workspace folder (default: $ROBOLEARN_WORKSPACE, else ./robolearn-workspace)."""

    @property
    def folder(self) -> Path:
        """The workspace folder this command line means."""
        return workspace_dir(self.workspace)


@dataclass(kw_only=True)
class WithModel:
    """The flag of every verb that loads a base model."""

    model: str | None = None
    """The base model: a preset (smollm2) or a local Hugging Face causal-LM folder (default:
    the workspace's own model, built by robolearn bootstrap or on first use)."""


def say(text: object = "") -> None:
    """Print ``text`` for a person, with anything that could drive the terminal escaped."""
    print(for_terminal(str(text)))


def note(text: object) -> None:
    """A progress note or warning: to stderr, so stdout stays clean for --json and pipes."""
    print(for_terminal(str(text)), file=sys.stderr)
