"""Task families as declarative TOML files in ``envs/`` (one file a family).

A family names its objects by role, gives instruction templates that mention those roles, a
success condition and an oracle plan, both in the call language over roles. Example::

    name = "stack"
    description = "Stack one block on top of another."
    instructions = ["stack the {top} on the {base}", "put the {top} on top of the {base}"]
    success = ["on(top, base)"]
    oracle = ["pick(top)", "place(top, base)"]
    [objects.top]
    kind = "block"
    [objects.base]
    kind = "block"

Object fields: ``kind`` (block, bowl, bin, zone); optional ``colours`` (the allowed colours),
``same_colour_as`` (another role), ``x`` and ``y`` (``[low, high]`` ranges on the table, metres)
or, for a block, ``on`` (another role: the block starts centred on it, on top of a block or
inside a bowl, bin or zone; it then takes its support's place, so it has no ``x`` or ``y``). Each
object supports at most one other, and no chain of ``on`` may loop back on itself.
Templates write ``{role}`` for "red block" and ``{role.colour}`` for "red".

Family fields besides those above: ``max_steps`` (the episode's control-step budget, at most
``MAX_EPISODE_STEPS``) and ``bootstrap`` (default true). ``bootstrap = false`` keeps a family
out of the default planner model's bootstrap: the model never trains on it and is not scored
on it; it is taught later, by corrections (the continual-learning benchmark's new tasks).
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from robolearn.calls import Call, CallSyntaxError, parse_call
from robolearn.errors import UserError
from robolearn.paths import data_dir
from robolearn.sim.scene import COLOURS, OBJECT_KINDS, WORKSPACE_HIGH, WORKSPACE_LOW
from robolearn.tasks.predicates import predicate_problem
from robolearn.text import text_problem
from robolearn.untrusted import UntrustedTextError, load_toml

DEFAULT_MAX_STEPS = 500
"""Control steps (20 Hz) an episode may take when the family does not say."""
MAX_EPISODE_STEPS = 10_000
"""The largest step budget a family may give its episodes: 500 simulated seconds, ten times
the longest shipped family's, so that no file can make an episode's budget meaningless."""


class UnknownFamilyError(UserError, LookupError):
    """A task family name that no file in ``envs/`` defines."""


class TaskFileError(UserError, ValueError):
    """A task family file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class ObjectRole:
    """One object of a family's scenes, by the role it plays in the task."""

    role: str
    kind: str
    colours: tuple[str, ...] = tuple(COLOURS)
    same_colour_as: str | None = None
    x: tuple[float, float] = (0.35, 0.65)
    y: tuple[float, float] = (-0.25, 0.25)
    on: str | None = None
    """The role this block starts resting on (centred on it); None: it starts on the table."""


@dataclass(frozen=True)
class TaskFamily:
    """A kind of task: its objects, phrasings, success condition and scripted expert."""

    name: str
    description: str
    objects: tuple[ObjectRole, ...]
    instructions: tuple[str, ...]
    success: tuple[Call, ...]
    oracle: tuple[Call, ...]
    max_steps: int = DEFAULT_MAX_STEPS
    bootstrap: bool = True
    """Whether the default planner model's bootstrap trains on this family (else corrections
    teach it later)."""
    source: Path | None = field(default=None, compare=False)

    @property
    def slot_kinds(self) -> tuple[str, ...]:
        """The object kinds in scene order: what a simulated world must hold for this family."""
        return tuple(obj.kind for obj in self.objects)


def _fail(path: Path, where: str, problem: str) -> TaskFileError:
    return TaskFileError(f"{path}: field {where!r}: {problem}")


def _require(data: dict[str, Any], key: str, kind: type, path: Path, where: str = "") -> Any:
    label = f"{where}{key}"
    if key not in data:
        raise _fail(path, label, "missing")
    value = data[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise _fail(path, label, f"expected {kind.__name__}, got {type(value).__name__}")
    return value


def _range(
    data: dict[str, Any],
    key: str,
    default: tuple[float, float],
    low: float,
    high: float,
    path: Path,
    where: str,
) -> tuple[float, float]:
    if key not in data:
        return default
    value = data[key]
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        or not low <= value[0] <= value[1] <= high
    ):
        raise _fail(
            path,
            f"{where}{key}",
            f"expected [low, high] with {low} <= low <= high <= {high}, got {value!r}",
        )
    return float(value[0]), float(value[1])


def _parse_object(role: str, data: Any, path: Path) -> ObjectRole:
    where = f"objects.{role}."
    if not isinstance(data, dict):
        raise _fail(path, f"objects.{role}", "expected a table with at least 'kind'")
    unknown = set(data) - {"kind", "colours", "same_colour_as", "x", "y", "on"}
    if unknown:
        raise _fail(
            path,
            where + sorted(unknown)[0],
            "unknown field; known: kind, colours, same_colour_as, x, y, on",
        )
    kind = _require(data, "kind", str, path, where)
    if kind not in OBJECT_KINDS:
        raise _fail(path, where + "kind", f"expected one of {list(OBJECT_KINDS)}, got {kind!r}")
    colours = data.get("colours", list(COLOURS))
    if not isinstance(colours, list) or not all(isinstance(c, str) for c in colours):
        raise _fail(path, where + "colours", f"expected a list of colour names, got {colours!r}")
    colours = tuple(colours)
    bad = [c for c in colours if c not in COLOURS]
    if bad or not colours:
        raise _fail(path, where + "colours", f"unknown colours {bad}; known: {sorted(COLOURS)}")
    same = data.get("same_colour_as")
    if same is not None and not isinstance(same, str):
        raise _fail(path, where + "same_colour_as", "expected the name of another role")
    on = data.get("on")
    if on is not None:
        if not isinstance(on, str):
            raise _fail(path, where + "on", f"expected the name of another role, got {on!r}")
        if kind != "block":
            raise _fail(
                path, where + "on", f"only a block can start on another object, not a {kind}"
            )
        placed = sorted({"x", "y"} & set(data))
        if placed:
            raise _fail(
                path,
                where + placed[0],
                "a block that starts on another object takes its place; drop x and y",
            )
    return ObjectRole(
        role=role,
        kind=kind,
        colours=colours,
        same_colour_as=same,
        on=on,
        x=_range(data, "x", ObjectRole.x, WORKSPACE_LOW[0], WORKSPACE_HIGH[0], path, where),
        y=_range(data, "y", ObjectRole.y, WORKSPACE_LOW[1], WORKSPACE_HIGH[1], path, where),
    )


def _check_supports(objects: tuple[ObjectRole, ...], path: Path) -> None:
    """Every ``on`` names another role, no support holds two objects, and no chain loops."""
    by_role = {obj.role: obj for obj in objects}
    holders: dict[str, str] = {}
    for obj in objects:
        if obj.on is None:
            continue
        where = f"objects.{obj.role}.on"
        if obj.on == obj.role:
            raise _fail(path, where, f"{obj.role!r} cannot start on itself")
        if obj.on not in by_role:
            raise _fail(path, where, f"unknown role {obj.on!r}; roles: {sorted(by_role)}")
        if obj.on in holders:
            raise _fail(
                path,
                where,
                f"{obj.on!r} already holds {holders[obj.on]!r}; an object "
                "supports at most one other",
            )
        holders[obj.on] = obj.role
        chain = [obj.role]
        while (support := by_role[chain[-1]].on) is not None:
            if support in chain:
                loop = " on ".join([*chain[chain.index(support) :], support])
                raise _fail(path, where, f"the objects rest on each other in a loop: {loop}")
            chain.append(support)


def _parse_calls(data: dict[str, Any], key: str, roles: set[str], path: Path) -> tuple[Call, ...]:
    texts = _require(data, key, list, path)
    if not texts:
        raise _fail(path, key, "must list at least one call")
    calls = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise _fail(path, f"{key}[{i}]", f"expected a call as a string, got {text!r}")
        try:
            call = parse_call(text)
        except CallSyntaxError as error:
            raise _fail(path, f"{key}[{i}]", str(error)) from None
        unknown = [a for a in call.args if isinstance(a, str) and a not in roles]
        if key == "success" and (problem := predicate_problem(call)):
            raise _fail(path, f"{key}[{i}]", problem)
        if key == "success" and unknown:
            raise _fail(path, f"{key}[{i}]", f"unknown roles {unknown}; roles: {sorted(roles)}")
        calls.append(call)
    return tuple(calls)


def _check_template(template: str, roles: set[str], path: Path, where: str) -> None:
    try:
        fields = [
            (f, spec, conversion)
            for _, f, spec, conversion in string.Formatter().parse(template)
            if f is not None
        ]
    except ValueError as error:
        raise _fail(path, where, f"malformed template {template!r}: {error}") from None
    for name, spec, conversion in fields:
        role, _, attribute = name.partition(".")
        if spec or conversion:  # {top:d} or {top!r} would fail only when a scene is rendered
            raise _fail(
                path,
                where,
                f"template {template!r} formats {{{name}}} with "
                f"{'!' + conversion if conversion else ':' + spec}; write {{{name}}}",
            )
        if role not in roles or attribute not in ("", "colour", "kind"):
            raise _fail(
                path,
                where,
                f"template {template!r} names {{{name}}}; use {{role}} or "
                f"{{role.colour}} with a role of {sorted(roles)}",
            )


def _parse_objects(table: dict[str, Any], path: Path) -> tuple[ObjectRole, ...]:
    """The ``objects`` table: each role's object, colours and supports checked."""
    if not table:
        raise _fail(path, "objects", "a family needs at least one object")
    objects = tuple(_parse_object(role, spec, path) for role, spec in table.items())
    roles = {obj.role for obj in objects}
    for obj in objects:
        if obj.same_colour_as is not None and obj.same_colour_as not in roles:
            raise _fail(
                path,
                f"objects.{obj.role}.same_colour_as",
                f"unknown role {obj.same_colour_as!r}; roles: {sorted(roles)}",
            )
    _check_supports(objects, path)
    return objects


def _parse_instructions(instructions: list[Any], roles: set[str], path: Path) -> list[str]:
    """The ``instructions`` templates, each naming only the family's roles."""
    if not instructions:
        raise _fail(path, "instructions", "must list at least one template")
    for i, template in enumerate(instructions):
        if not isinstance(template, str):
            raise _fail(path, f"instructions[{i}]", "expected a non-empty string")
        if problem := text_problem(template, "the template"):
            raise _fail(path, f"instructions[{i}]", problem)
        _check_template(template, roles, path, f"instructions[{i}]")
    return instructions


def parse_family(data: dict[str, Any], path: Path) -> TaskFamily:
    """Validate a family's parsed TOML; every problem names the file and the field."""
    known = {
        "name",
        "description",
        "objects",
        "instructions",
        "success",
        "oracle",
        "max_steps",
        "bootstrap",
    }
    unknown = set(data) - known
    if unknown:
        raise _fail(path, sorted(unknown)[0], f"unknown field; known: {sorted(known)}")
    name = _require(data, "name", str, path)
    if not name.isidentifier() or name != name.lower():
        raise _fail(path, "name", f"expected a snake_case name, got {name!r}")
    objects = _parse_objects(_require(data, "objects", dict, path), path)
    roles = {obj.role for obj in objects}
    instructions = _parse_instructions(_require(data, "instructions", list, path), roles, path)
    max_steps = data.get("max_steps", DEFAULT_MAX_STEPS)
    if (
        not isinstance(max_steps, int)
        or isinstance(max_steps, bool)
        or not 0 < max_steps <= MAX_EPISODE_STEPS
    ):
        raise _fail(
            path,
            "max_steps",
            f"expected an integer from 1 to {MAX_EPISODE_STEPS}, got {max_steps!r}",
        )
    bootstrap = data.get("bootstrap", True)
    if not isinstance(bootstrap, bool):
        raise _fail(path, "bootstrap", f"expected true or false, got {bootstrap!r}")
    description = _require(data, "description", str, path)
    if problem := text_problem(description, "the description"):
        raise _fail(path, "description", problem)
    return TaskFamily(
        name=name,
        description=description,
        objects=objects,
        instructions=tuple(instructions),
        success=_parse_calls(data, "success", roles, path),
        oracle=_parse_calls(data, "oracle", roles, path),
        max_steps=max_steps,
        bootstrap=bootstrap,
        source=path,
    )


def load_family(path: Path) -> TaskFamily:
    """Read and validate one family file."""
    try:
        data = load_toml(path.read_text(encoding="utf-8"))
    except UntrustedTextError as error:
        raise TaskFileError(f"{path}: cannot be read as a task file: {error}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise TaskFileError(f"{path}: cannot read: {error}") from None
    family = parse_family(data, path)
    if family.name != path.stem:
        raise _fail(path, "name", f"{family.name!r} must match the file name {path.stem!r}")
    return family


def load_families(directory: Path | None = None) -> dict[str, TaskFamily]:
    """Every family in ``directory`` (default: the shipped ``envs/``), by name."""
    directory = directory or data_dir("envs")
    return {family.name: family for family in map(load_family, sorted(directory.glob("*.toml")))}


def get_family(name: str, directory: Path | None = None) -> TaskFamily:
    """One family by name; an unknown name lists the known ones."""
    families = load_families(directory)
    if name not in families:
        raise UnknownFamilyError(
            f"unknown task family {name!r}; known: {', '.join(sorted(families))}"
        )
    return families[name]
