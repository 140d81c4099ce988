"""Composite skills: named, described lists of calls of other skills, stored as JSON files.

A composite is data, never code: its steps are calls whose arguments are its own parameters or
literals (a side, a number), bound when it is called. Example file (``stack_on.json``)::

    {
      "format": 1,
      "name": "stack_on",
      "description": "pick up a block and put it on top of another block",
      "params": [{"name": "top", "type": "block"}, {"name": "base", "type": "block"}],
      "steps": ["pick(top)", "place(top, base)"],
      "effect": ["on(top, base)"],
      "version": 1,
      "provenance": {"source": "seed"}
    }

``effect`` lists the predicates that hold once the skill has worked: the Evaluator checks them.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from robolearn.calls import Call, CallSyntaxError, parse_call
from robolearn.errors import UserError
from robolearn.skills.params import Param, signature
from robolearn.tasks.predicates import predicate_problem
from robolearn.text import quote, text_problem

FORMAT_VERSION = 1
"""Version of the skill file format; files of a newer format are refused with a clear error."""
PROVENANCE_SOURCES = ("seed", "planner", "person", "import")
MAX_NAME_CHARS = 64
"""Longest skill name: it names a folder in the workspace and a call in every prompt."""
_SKILL_NAME = re.compile(rf"[a-z_][a-z0-9_]{{0,{MAX_NAME_CHARS - 1}}}")
"""A name the call language can write (ASCII), in snake case."""


class SkillFileError(UserError, ValueError):
    """A skill file or definition that cannot be used; names the source and the field."""


@dataclass(frozen=True)
class Provenance:
    """Where a skill version came from: seed files, the planner, a person, or an import."""

    source: str
    episode: int | None = None
    """The episode whose planning or correction created it, if any."""
    correction: int | None = None
    """The correction that created it, if any."""
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        """The JSON-ready record, without empty fields."""
        data: dict[str, Any] = {"source": self.source}
        for key in ("episode", "correction"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.note:
            data["note"] = self.note
        return data


@dataclass(frozen=True)
class CompositeSkill:
    """A skill made of calls of other skills, with the effect that proves it worked."""

    name: str
    description: str
    params: tuple[Param, ...]
    steps: tuple[Call, ...]
    effect: tuple[Call, ...]
    version: int = 1
    provenance: Provenance = field(default_factory=lambda: Provenance("seed"))

    @property
    def signature(self) -> str:
        """The call with typed parameters, e.g. ``stack_on(top: block, base: block)``."""
        return signature(self.name, self.params)

    @property
    def content_hash(self) -> str:
        """A hash of what the skill does (not its version or provenance)."""
        body = {k: v for k, v in self.to_json().items() if k not in ("version", "provenance")}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]

    def bindings(self, args: tuple) -> dict[str, Any]:
        """Parameter name → argument for one call of this skill."""
        return {p.name: a for p, a in zip(self.params, args, strict=True)}

    def to_json(self) -> dict[str, Any]:
        """The file's content."""
        return {
            "format": FORMAT_VERSION,
            "name": self.name,
            "description": self.description,
            "params": [{"name": p.name, "type": p.type} for p in self.params],
            "steps": [str(c) for c in self.steps],
            "effect": [str(c) for c in self.effect],
            "version": self.version,
            "provenance": self.provenance.to_json(),
        }


def _field(data: dict[str, Any], key: str, kind: type, source: str) -> Any:
    if key not in data:
        raise SkillFileError(f"{source}: field {key!r}: missing")
    value = data[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise SkillFileError(
            f"{source}: field {key!r}: expected {kind.__name__}, got {type(value).__name__}"
        )
    return value


def _calls(data: dict[str, Any], key: str, source: str) -> tuple[Call, ...]:
    texts = _field(data, key, list, source)
    calls = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise SkillFileError(f"{source}: field '{key}[{i}]': expected a call as a string")
        try:
            calls.append(parse_call(text))
        except CallSyntaxError as error:
            raise SkillFileError(f"{source}: field '{key}[{i}]': {error}") from None
    return tuple(calls)


def skill_from_json(data: Any, source: str) -> CompositeSkill:
    """Parse a composite skill's JSON; shape problems name ``source`` and the field.

    Whether its steps call skills that exist is the library's check
    (:meth:`~robolearn.skills.library.SkillLibrary.check`).
    """
    if not isinstance(data, dict):
        raise SkillFileError(f"{source}: expected a JSON object")
    _check_format(_field(data, "format", int, source), source)
    name = _field(data, "name", str, source)
    if not _SKILL_NAME.fullmatch(name):
        raise SkillFileError(
            f"{source}: field 'name': expected a snake_case name of at most "
            f"{MAX_NAME_CHARS} ASCII characters, got {quote(name)}"
        )
    params = _params(_field(data, "params", list, source), source)
    steps, effect = _calls(data, "steps", source), _calls(data, "effect", source)
    if not steps:
        raise SkillFileError(f"{source}: field 'steps': a composite needs at least one step")
    names = {p.name for p in params}
    for i, call in enumerate(effect):
        if problem := predicate_problem(call):
            raise SkillFileError(f"{source}: field 'effect[{i}]': {problem}")
        unknown = [a for a in call.args if a not in names]
        if unknown:
            raise SkillFileError(f"{source}: field 'effect[{i}]': {unknown} are not parameters")
    description = _field(data, "description", str, source)
    if problem := text_problem(description, "the description"):
        raise SkillFileError(f"{source}: field 'description': {problem}")
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SkillFileError(f"{source}: field 'version': expected a positive integer")
    return CompositeSkill(
        name=name,
        description=description,
        params=params,
        steps=steps,
        effect=effect,
        version=version,
        provenance=_provenance(data.get("provenance", {"source": "seed"}), source),
    )


def _check_format(fmt: int, source: str) -> None:
    if fmt < 1:
        raise SkillFileError(
            f"{source}: field 'format': {fmt} is no format; formats count "
            f"from 1 (this robolearn writes {FORMAT_VERSION})"
        )
    if fmt > FORMAT_VERSION:
        raise SkillFileError(
            f"{source}: format {fmt} is newer than this robolearn reads "
            f"({FORMAT_VERSION}); upgrade robolearn"
        )


def _params(specs: list[Any], source: str) -> tuple[Param, ...]:
    """The ``params`` field: named, typed parameters, no name twice."""
    params = []
    for i, spec in enumerate(specs):
        if (
            not isinstance(spec, dict)
            or not isinstance(spec.get("name"), str)
            or not isinstance(spec.get("type"), str)
        ):
            raise SkillFileError(
                f'{source}: field \'params[{i}]\': expected {{"name": ..., "type": ...}}'
            )
        try:
            params.append(Param(spec["name"], spec["type"]))
        except ValueError as error:
            raise SkillFileError(f"{source}: field 'params[{i}]': {error}") from None
    if len({p.name for p in params}) != len(params):
        raise SkillFileError(f"{source}: field 'params': parameter names repeat")
    return tuple(params)


def _provenance(provenance: Any, source: str) -> Provenance:
    """The ``provenance`` field: where the skill came from."""
    if not isinstance(provenance, dict) or provenance.get("source") not in PROVENANCE_SOURCES:
        raise SkillFileError(
            f"{source}: field 'provenance': expected "
            f'{{"source": one of {list(PROVENANCE_SOURCES)}}}'
        )
    for key, kind in (("episode", int), ("correction", int), ("note", str)):
        value = provenance.get(key)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            raise SkillFileError(
                f"{source}: field 'provenance.{key}': expected "
                f"{'an id' if kind is int else 'text'}, got {value!r}"
            )
    return Provenance(
        source=provenance["source"],
        episode=provenance.get("episode"),
        correction=provenance.get("correction"),
        note=str(provenance.get("note", "")),
    )
