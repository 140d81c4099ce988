"""A verb's config dataclass IS its flags: one argparse option a field, help from its docstring.

Each field becomes ``--field-name`` (or what :func:`flag` says), typed by its annotation and
converted by one validator (``values.py``); its docstring is the help and its default the
default, shown as ``(default: X)``. ``bool`` fields are switches (``--json``; a field that
defaults to True is turned off with ``--no-name``), ``list[str]`` fields repeat (``--family a
--family b``). Why not tyro: it prints errors as multi-line panels and words them its own
way, while robolearn's contract is one line, argparse's wording, and exit status 2.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import itertools
import textwrap
import types
import typing
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from robolearn.cli import values
from robolearn.errors import ConfigError

_NAME = "robolearn_flag"


@dataclasses.dataclass(frozen=True)
class Spelling:
    """How one field is written on the command line, when not ``--field-name``."""

    name: str | None = None
    """The option string (``--family``, ``-k``); None: ``--`` and the field's name, dashed."""
    positional: bool = False
    """A positional argument (``robolearn plan INSTRUCTION``), not an option."""
    sets: str | None = None
    """The library config field this flag sets, when it is named otherwise (``--scenes`` sets
    ``scenes_per_family``), so the library's errors name this flag."""
    required: bool = False


def flag(
    default: Any = dataclasses.MISSING,
    *,
    default_factory: Callable[[], Any] | Any = dataclasses.MISSING,
    name: str | None = None,
    positional: bool = False,
    sets: str | None = None,
) -> Any:
    """A config field spelled otherwise than ``--field-name`` on the command line."""
    spelling = Spelling(name, positional, sets, default is dataclasses.MISSING and not positional)
    return dataclasses.field(
        default=default, default_factory=default_factory, metadata={_NAME: spelling}
    )


@dataclasses.dataclass(frozen=True)
class Option:
    """One field as an argparse argument."""

    field: str
    strings: tuple[str, ...]
    """``("--episodes",)``; empty for a positional."""
    sets: str


def add_flags(parser: argparse.ArgumentParser, config: type) -> list[Option]:
    """Add one argument per field of the dataclass ``config`` to ``parser``."""
    hints = typing.get_type_hints(config)
    docs = field_docs(config)
    options = []
    for item in dataclasses.fields(config):
        if not item.init:  # derived from the flags, not one of them
            continue
        spelling = item.metadata.get(_NAME, Spelling())
        default = _default(item)
        kind = _kind(hints[item.name])
        help_text = _help(docs.get(item.name, ""), default, kind)
        if spelling.positional:
            parser.add_argument(item.name, type=_converter(kind), help=help_text)
            strings: tuple[str, ...] = ()
        else:
            strings = (spelling.name or "--" + item.name.replace("_", "-"),)
            strings = _add_option(parser, item.name, strings, kind, default, spelling, help_text)
        options.append(Option(item.name, strings, spelling.sets or item.name))
    return options


def _add_option(
    parser: argparse.ArgumentParser,
    dest: str,
    strings: tuple[str, ...],
    kind: Any,
    default: Any,
    spelling: Spelling,
    help_text: str,
) -> tuple[str, ...]:
    """Add one option; the option strings it took (``--no-memory`` for ``memory``)."""
    metavar = strings[0].lstrip("-").upper().replace("-", "_")
    if kind is bool and default is True:
        strings = ("--no-" + strings[0].removeprefix("--"),)
        help_text += " (on unless this flag is given)"
        parser.add_argument(*strings, dest=dest, action="store_false", default=None, help=help_text)
    elif kind is bool:
        parser.add_argument(*strings, dest=dest, action="store_true", default=None, help=help_text)
    elif typing.get_origin(kind) is list:
        (item,) = typing.get_args(kind)
        parser.add_argument(
            *strings,
            dest=dest,
            action="append",
            type=_converter(item),
            default=None,
            metavar=metavar,
            help=help_text,
        )
    else:
        parser.add_argument(
            *strings,
            dest=dest,
            type=_converter(kind),
            default=None,
            required=spelling.required,
            metavar=metavar,
            help=help_text,
        )
    return strings


def build(config: type, args: argparse.Namespace, options: list[Option]) -> Any:
    """The config the parsed ``args`` describe; a config's own error names the flag."""
    given = {o.field: getattr(args, o.field) for o in options if getattr(args, o.field) is not None}
    for option in options:
        for value in _listed(given.get(option.field)):
            if isinstance(value, str | Path):
                label = option.strings[0] if option.strings else f"the {option.field}"
                values.check_text(value, label)
    try:
        return config(**given)
    except ConfigError as error:
        raise values.UsageError(error.named(flag_name(options, error.field))) from None


def flag_name(options: list[Option], field: str) -> str:
    """How the field (or the library field it sets) ``field`` is written on the command line."""
    for option in options:
        if field in (option.sets, option.field):
            return option.strings[0] if option.strings else option.field.upper()
    return "--" + field.replace("_", "-")


@cache
def field_docs(config: type) -> dict[str, str]:
    """The docstring under each field of a dataclass (what tyro and Sphinx read too)."""
    docs: dict[str, str] = {}
    for klass in reversed(config.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        body = tree.body[0].body  # type: ignore[attr-defined]
        for node, after in itertools.pairwise(body):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                docs[node.target.id] = " ".join(inspect.cleandoc(after.value.value).split())
    return docs


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _default(item: dataclasses.Field) -> Any:
    if item.default is not dataclasses.MISSING:
        return item.default
    if item.default_factory is not dataclasses.MISSING:
        return item.default_factory()
    return None


def _kind(annotation: Any) -> Any:
    """The annotation without ``| None`` (None is every flag's "not given")."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _converter(kind: Any) -> Callable[[str], Any]:
    converters: dict[Any, Callable[[str], Any]] = {
        int: values.whole_number,
        float: values.finite_number,
        str: str,
        Path: values.path,
    }
    if kind not in converters:
        raise TypeError(f"no command-line converter for {kind!r}")
    return converters[kind]


def _help(doc: str, default: Any, kind: Any) -> str:
    text = doc.replace("``", "").replace("%", "%%")
    if default is None or default == "" or kind is bool or typing.get_origin(kind) is list:
        return text
    shown = str(default).replace("%", "%%")
    return f"{text} (default: {shown})"
