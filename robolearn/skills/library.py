"""The skill library: atomic skills from code plus composite skills from JSON files.

Its source of truth is one folder. The shipped seed library (``skills/`` at the top level) and
exported bundles are flat folders of ``<name>.json``; a workspace keeps every version::

    <workspace>/skills/
        stack_on/v0001.json     one file per version; old versions stay readable
        stack_on/v0002.json
        build_tower/v0001.json

Everything else (embeddings, search indexes) is derived from it and rebuilt when stale; how
each skill fares (verdicts, runs) is the store's record (``Store.skill_stats``).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from robolearn.calls import Call
from robolearn.durable import disk_error, disk_errors, write_atomic
from robolearn.errors import UserError
from robolearn.locks import exclusive
from robolearn.paths import WorkspaceLayout, data_dir
from robolearn.skills.atomic import ATOMIC_SKILLS, AtomicSkill
from robolearn.skills.composite import (
    CompositeSkill,
    Provenance,
    SkillFileError,
    skill_from_json,
)
from robolearn.skills.params import (
    OBJECT_TYPES,
    SkillArgumentError,
    accepts,
    check_args,
    literal_problem,
)
from robolearn.untrusted import UntrustedTextError, read_json

if TYPE_CHECKING:
    from robolearn.sim.world import TabletopWorld

Skill = AtomicSkill | CompositeSkill
MAX_DEPTH = 4
"""Deepest nesting of composite skills (a composite of atomics has depth 1)."""
MAX_EXPANDED_STEPS = 64
"""Most atomic calls one call may expand into."""
LOCK_NAME = ".library.lock"
"""The lock file in a workspace's library folder that one saving process holds at a time."""
MAX_SKILL_FILE_BYTES = 1_000_000
"""Largest skill file read (one is a few hundred bytes; a bundle holds files up to this)."""


class _Slot(str):
    """A parameter of the skill being unfolded by :meth:`SkillLibrary.template`."""

    __slots__ = ()


class SkillDefinitionError(UserError, ValueError):
    """A composite skill that cannot join the library; says which skill and what is wrong."""


class SkillLibrary:
    """Atomic and composite skills by name, checked so every composite can run."""

    def __init__(self, composites: Iterable[CompositeSkill] = (), root: Path | None = None) -> None:
        self.root = root
        self.revision = 0
        """Goes up with every change, so derived indexes can tell they are stale at no cost."""
        self._composites: dict[str, CompositeSkill] = {}
        for skill in composites:
            if skill.name in self._composites:
                raise SkillDefinitionError(f"skill {skill.name!r} is defined twice")
            self._composites[skill.name] = skill
        for skill in self._composites.values():
            self.check(skill)

    # ----- opening --------------------------------------------------------------------------
    @classmethod
    def from_folder(cls, folder: Path) -> SkillLibrary:
        """A library of the flat ``<name>.json`` files in ``folder`` (seed or bundle), in memory."""
        return cls(read_flat_folder(folder))

    @classmethod
    def seed(cls) -> SkillLibrary:
        """The library robolearn ships, in memory."""
        return cls.from_folder(data_dir("skills"))

    @classmethod
    def open(cls, workspace: Path, *, read_only: bool = False) -> SkillLibrary:
        """The workspace's live library, seeded from the shipped one on first use.

        The seed is written into a staging folder and renamed into place, so processes that
        open a new workspace at once (a run, the dashboard, a round) all see the whole seed
        library, and one killed while seeding leaves none rather than part of it.
        ``read_only`` writes nothing: a workspace never seeded reads as the shipped library.
        """
        root = WorkspaceLayout(Path(workspace)).skills
        if not root.exists():
            if read_only:
                return cls.seed()
            _seed(root)
        return cls(_latest_versions(root), root=root)

    # ----- reading --------------------------------------------------------------------------
    @property
    def composites(self) -> Mapping[str, CompositeSkill]:
        """The composite skills by name (latest versions)."""
        return self._composites

    def names(self) -> list[str]:
        """Every skill name, atomic first."""
        return [*ATOMIC_SKILLS, *sorted(self._composites)]

    def __contains__(self, name: object) -> bool:
        return name in ATOMIC_SKILLS or name in self._composites

    def get(self, name: str) -> Skill:
        """The skill called ``name``; an unknown name lists the known ones."""
        skill = ATOMIC_SKILLS.get(name) or self._composites.get(name)
        if skill is None:
            raise SkillArgumentError(f"unknown skill {name!r}; known: {', '.join(self.names())}")
        return skill

    def versions(self, name: str) -> list[CompositeSkill]:
        """Every stored version of a composite skill, oldest first."""
        self.get(name)
        if self.root is None or name in ATOMIC_SKILLS:
            return [self._composites[name]] if name in self._composites else []
        return [_read_version(path) for path in sorted((self.root / name).glob("v*.json"))]

    # ----- checking and expanding -----------------------------------------------------------
    def check(self, skill: CompositeSkill) -> None:
        """Raise SkillDefinitionError unless ``skill`` can join this library and always run.

        Every step must call a known skill with the right number of arguments; a parameter
        passed on must fit the callee's parameter type; literals must be valid; composites may
        not call each other in a cycle, nest deeper than MAX_DEPTH or expand past
        MAX_EXPANDED_STEPS atomic calls.
        """
        where = f"skill {skill.name!r}"
        if skill.name in ATOMIC_SKILLS:
            raise SkillDefinitionError(f"{where}: the name belongs to an atomic skill")
        types = {p.name: p.type for p in skill.params}
        for i, step in enumerate(skill.steps):
            at = f"{where}, step {i + 1} ({step})"
            if step.name == skill.name:
                raise SkillDefinitionError(f"{at}: a skill cannot call itself")
            if step.name not in self:
                raise SkillDefinitionError(
                    f"{at}: unknown skill {step.name!r}; known: {', '.join(self.names())}"
                )
            callee = self.get(step.name)
            if len(step.args) != len(callee.params):
                raise SkillDefinitionError(
                    f"{at}: {callee.signature} takes {len(callee.params)} arguments"
                )
            for param, arg in zip(callee.params, step.args, strict=True):
                if isinstance(arg, str) and arg in types:
                    if not accepts(param.type, types[arg]):
                        raise SkillDefinitionError(
                            f"{at}: parameter {arg!r} is a {types[arg]}, but "
                            f"{callee.name} needs a {param.type} for {param.name!r}"
                        )
                elif param.type in OBJECT_TYPES:
                    raise SkillDefinitionError(
                        f"{at}: {arg!r} is not a parameter of {skill.name}; objects must be "
                        f"passed in as parameters ({', '.join(types) or 'none declared'})"
                    )
                elif problem := literal_problem(param.type, arg):
                    raise SkillDefinitionError(f"{at}: argument {param.name!r} {problem}")
        depth, size = self._measure(skill, (skill.name,))
        if depth > MAX_DEPTH:
            raise SkillDefinitionError(
                f"{where}: nests {depth} composites deep; the limit is {MAX_DEPTH}"
            )
        if size > MAX_EXPANDED_STEPS:
            raise SkillDefinitionError(
                f"{where}: expands into {size} atomic calls; the limit is {MAX_EXPANDED_STEPS}"
            )

    def _measure(self, skill: CompositeSkill, path: tuple[str, ...]) -> tuple[int, int]:
        """Nesting depth and atomic-call count of ``skill``; refuses cycles along ``path``."""
        depth, size = 1, 0
        for step in skill.steps:
            callee = self._composites.get(step.name)
            if callee is None:
                size += 1
                continue
            if step.name in path:
                cycle = " → ".join((*path, step.name))
                raise SkillDefinitionError(
                    f"skill {path[0]!r}: composites call each other in a cycle: {cycle}"
                )
            inner_depth, inner_size = self._measure(callee, (*path, step.name))
            depth, size = max(depth, inner_depth + 1), size + inner_size
        return depth, size

    def expand(self, call: Call, world: TabletopWorld) -> list[Call]:
        """The atomic calls ``call`` stands for, each checked against the scene."""
        skill = self.get(call.name)
        check_args(call.name, skill.params, call.args, world)
        if isinstance(skill, AtomicSkill):
            return [call]
        bindings = skill.bindings(call.args)
        return [
            atomic for step in skill.steps for atomic in self.expand(step.bind(bindings), world)
        ]

    def template(self, skill: CompositeSkill) -> tuple[tuple[str, tuple], ...]:
        """What ``skill`` does, as atomic calls over numbered, typed parameters.

        Two skills with the same template do the same thing whatever their names, parameter
        names or nesting: ``stack_on(a, b)`` and ``pick(x); place(x, y)`` over two blocks share
        ``(("pick", ("$0:block",)), ("place", ("$0:block", "$1:block")))``. Parameters are
        numbered in order of first use, so a mere reordering of parameters is no difference
        either; their types are part of it (``put_in`` takes a container, not a block).
        """
        types = {p.name: p.type for p in skill.params}
        numbers: dict[str, str] = {}

        def unfold(call: Call) -> list[tuple[str, tuple]]:
            callee = self._composites.get(call.name) if call.name != skill.name else None
            if callee is None:
                return [
                    (
                        call.name,
                        tuple(
                            numbers.setdefault(a, f"${len(numbers)}:{types[a]}")
                            if isinstance(a, _Slot)
                            else a
                            for a in call.args
                        ),
                    )
                ]
            inner = callee.bindings(call.args)
            return [c for step in callee.steps for c in unfold(step.bind(inner))]

        # Parameters become slots, so literals (a side, a number) stay as they are.
        slots = skill.bindings(tuple(_Slot(p.name) for p in skill.params))
        return tuple(c for step in skill.steps for c in unfold(step.bind(slots)))

    # ----- writing --------------------------------------------------------------------------
    def save(self, skill: CompositeSkill, provenance: Provenance | None = None) -> CompositeSkill:
        """Store ``skill`` as the next version of its name; an unchanged skill is not stored.

        Returns the version that is now the latest. Other processes may save at the same
        time: it is checked against, and numbered after, every version saved so far.
        """
        with self.writing():
            current = self._composites.get(skill.name)
            if current is not None and current.content_hash == skill.content_hash:
                return current
            # Check the skill and every composite that calls it as they would be after the
            # save: a new signature for stack_on must not silently break build_tower.
            SkillLibrary([*(s for s in self._composites.values() if s.name != skill.name), skill])
            version = current.version + 1 if current is not None else 1
            stored = CompositeSkill(
                skill.name,
                skill.description,
                skill.params,
                skill.steps,
                skill.effect,
                version,
                provenance or skill.provenance,
            )
            if self.root is not None:
                folder = self.root / skill.name
                folder.mkdir(parents=True, exist_ok=True)
                _write_new(folder / f"v{version:04d}.json", stored.to_json())
            self._composites[skill.name] = stored
            self.revision += 1
            return stored

    @contextmanager
    def writing(self) -> Iterator[SkillLibrary]:
        """Hold the library's lock, with every version other processes saved read in first.

        Saves made inside the block (several, for an import) are checked against one
        consistent library, and no other process saves meanwhile.
        """
        if self.root is None:
            yield self
            return
        with exclusive(self.root / LOCK_NAME, "saving skills"):
            latest = {skill.name: skill for skill in _latest_versions(self.root)}
            if latest != self._composites:
                self._composites = latest
                self.revision += 1
            yield self


def read_skill_file(path: Path) -> CompositeSkill:
    """The composite skill in a JSON file; SkillFileError, naming the file, if it is not one.

    The file is read as untrusted input, under ``untrusted.read_json``'s bounds.
    """
    try:
        data = read_json(path, max_bytes=MAX_SKILL_FILE_BYTES)
    except (OSError, UntrustedTextError) as error:
        raise SkillFileError(f"{path}: not a readable JSON skill file: {error}") from None
    return skill_from_json(data, str(path))


def _latest_versions(root: Path) -> list[CompositeSkill]:
    """The newest version of each skill of a workspace's library folder."""
    return [
        _read_version(max(folder.glob("v*.json")))
        for folder in sorted(root.iterdir())
        if folder.is_dir() and any(folder.glob("v*.json"))
    ]


def _read_version(path: Path) -> CompositeSkill:
    """One stored version, ``<root>/<name>/v<version>.json``: the file must say both."""
    skill = read_skill_file(path)
    number = path.stem.removeprefix("v")
    if skill.name != path.parent.name or not number.isdigit() or skill.version != int(number):
        raise SkillFileError(
            f"{path}: holds {skill.name!r} version {skill.version}, not what its path names; "
            "move it aside (the library keeps every version in a file of its own)"
        )
    return skill


def read_flat_folder(folder: Path) -> list[CompositeSkill]:
    """The skills of a flat folder of ``<name>.json`` files; a file must match its name."""
    skills = []
    for path in sorted(folder.glob("*.json")):
        skill = read_skill_file(path)
        if skill.name != path.stem:
            raise SkillFileError(
                f"{path}: field 'name': {skill.name!r} must match the file name {path.stem!r}"
            )
        skills.append(skill)
    return skills


def dependency_order(skills: list[CompositeSkill]) -> list[CompositeSkill]:
    """Skills ordered so each comes after the composites it calls (unknown names left to check)."""
    by_name = {s.name: s for s in skills}
    ordered: list[CompositeSkill] = []
    placed: set[str] = set()

    def visit(skill: CompositeSkill, trail: tuple[str, ...]) -> None:
        if skill.name in placed or skill.name in trail:
            return  # a cycle is reported by check(), with its path
        for step in skill.steps:
            if step.name in by_name:
                visit(by_name[step.name], (*trail, skill.name))
        placed.add(skill.name)
        ordered.append(skill)

    for skill in skills:
        visit(skill, ())
    return ordered


def _seed(root: Path) -> None:
    """Create the library folder ``root`` holding the shipped skills, whole or not at all."""
    with disk_errors(root):
        root.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.partial-", dir=root.parent))
    try:
        seeded = SkillLibrary(root=staging)
        for skill in dependency_order(read_flat_folder(data_dir("skills"))):
            seeded.save(skill)
        try:
            staging.rename(root)
        except OSError as error:
            if not root.is_dir():
                raise disk_error(error, root) from None
            # Another process seeded it first, with the same skills.
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_new(path: Path, data: dict) -> None:
    """Write a version file that must not exist yet, whole or not at all, durably.

    Two writers never overwrite one version (``exclusive``), and a writer killed half-way
    leaves no torn version file behind.
    """
    write_atomic(path, json.dumps(data, indent=2) + "\n", exclusive=True)
