"""``robolearn skills``: browse, search, add, export and import the skill library."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robolearn.cli.command import Command, InWorkspace, say
from robolearn.cli.flags import flag
from robolearn.cli.values import UsageError
from robolearn.errors import ConfigError
from robolearn.skills.searcher import DEFAULT_K

EXAMPLES = """examples:
  robolearn skills list
  robolearn skills show build_tower
  robolearn skills search "put the red cube into the bowl"
  robolearn skills add my_stack.json --family stack --args top,base
  robolearn skills export my-skills.zip
  robolearn skills import my-skills.zip --workspace other-workspace
"""
MAX_MATCHES = 1_000
"""The most matches ``skills search -k`` shows."""


@dataclass(kw_only=True)
class ListConfig(InWorkspace):
    """List every skill with its kind, version, origin and record."""


def list_skills(config: ListConfig) -> int:
    """One skill a line; composites with their version, origin and runs that succeeded."""
    from robolearn.workspace import Workspace

    workspace = Workspace.open(config.folder, writing=False)
    library = workspace.library()
    with workspace.store() as store:
        records = store.skill_stats()
    width = max(len(name) for name in library.names())
    say(f"{'skill':<{width}} {'kind':<9} {'ver':>3} {'origin':<8} {'runs ok':>9}  signature")
    for name in library.names():
        skill = library.get(name)
        composite = library.composites.get(name)
        stats = records.get(name) if composite else None
        record = f"{stats.successes}/{stats.runs}" if stats and stats.runs else "-"
        say(
            f"{name:<{width}} {'composite' if composite else 'atomic':<9} "
            f"{composite.version if composite else '-':>3} "
            f"{composite.provenance.source if composite else 'code':<8} {record:>9}  "
            f"{skill.signature}"
        )
    return 0


@dataclass(kw_only=True)
class ShowConfig(InWorkspace):
    """Show one skill: signature, description, steps, effect, versions, provenance, record."""

    name: str = flag(positional=True)
    """The skill's name."""


def show(config: ShowConfig) -> int:
    """The skill as a person reads it, every stored version included."""
    from robolearn.workspace import Workspace

    workspace = Workspace.open(config.folder, writing=False)
    library = workspace.library()
    skill = library.get(config.name)
    say(f"{skill.signature}\n  {skill.description}")
    if config.name not in library.composites:
        say("  atomic skill (motion code in robolearn/skills/atomic.py)")
        return 0
    say("steps:\n" + "\n".join(f"  {i + 1}. {step}" for i, step in enumerate(skill.steps)))
    say("effect: " + ", ".join(map(str, skill.effect)))
    say("versions:")
    for version in library.versions(config.name):
        origin = version.provenance
        extra = "".join(
            f", {key} {value}" for key, value in origin.to_json().items() if key != "source"
        )
        say(f"  v{version.version}  {origin.source}{extra}  [{version.content_hash}]")
    with workspace.store() as store:
        stats = store.skill_record(config.name)
    say(
        f"record: evaluations passed {stats.passed}/{stats.evaluations}, "
        f"episodes succeeded {stats.successes}/{stats.runs}"
    )
    return 0


@dataclass(kw_only=True)
class SearchConfig(InWorkspace):
    """Find the skills closest to a sub-goal, and say whether to reuse, adapt or write one."""

    query: str = flag(positional=True)
    """The sub-goal, in words."""
    k: int = flag(DEFAULT_K, name="-k")
    """How many of the closest skills to show."""

    def __post_init__(self) -> None:
        if not 1 <= self.k <= MAX_MATCHES:
            raise ConfigError("k", f"{{}} must be between 1 and {MAX_MATCHES}, got {self.k}")


def search(config: SearchConfig) -> int:
    """The Searcher's decision and its closest matches."""
    from robolearn.workspace import Workspace

    searcher = Workspace.open(config.folder, writing=False).searcher()
    result = searcher.search(config.query, k=config.k)
    meaning = {
        "reuse": f"call {result.matches[0].name} as it is",
        "adapt": "the closest skills go to the planner to pick or adapt",
        "new": "no skill fits; the planner writes a new one",
    }[result.decision]
    say(
        f"decision: {result.decision}: {meaning}  (reuse >= {searcher.tau_reuse:.2f}, "
        f"new < {searcher.tau_new:.2f})"
    )
    for match in result.matches:
        say(f"  {match.similarity:5.2f}  {match.signature}")
    return 0


@dataclass(kw_only=True)
class ExportConfig(InWorkspace):
    """Write the library as a portable bundle (a folder, or a .zip)."""

    out: Path = flag(positional=True)
    """The bundle folder, or a path ending in .zip."""


def export(config: ExportConfig) -> int:
    """Export every composite skill, every version, with provenance."""
    from robolearn.skills.bundle import export_bundle
    from robolearn.workspace import Workspace

    library = Workspace.open(config.folder, writing=False).library()
    path = export_bundle(library, config.out)
    say(f"exported {len(library.composites)} composite skills to {path}")
    return 0


@dataclass(kw_only=True)
class ImportConfig(InWorkspace):
    """Bring a bundle's skills into this workspace; a bad bundle changes nothing."""

    bundle: Path = flag(positional=True)
    """The bundle folder or .zip."""


def import_(config: ImportConfig) -> int:
    """Import the bundle and say what was added, updated or already there."""
    from robolearn.skills.bundle import import_bundle
    from robolearn.workspace import Workspace

    report = import_bundle(Workspace.open(config.folder).library(), config.bundle)
    for label, names in (
        ("added", report.added),
        ("updated", report.updated),
        ("unchanged", report.unchanged),
    ):
        say(f"{label:<10} {', '.join(names) if names else '-'}")
    return 0


@dataclass(kw_only=True)
class AddConfig(InWorkspace):
    """Prove a hand-written composite skill in simulation, then add it to the library."""

    file: Path = flag(positional=True)
    """The composite skill's JSON file."""
    family: str = flag()
    """The task family to prove it on."""
    seed: int = 0
    """The task seed of the scene it is proved in."""
    args: str = ""
    """Comma-separated roles (or object names) of the family to call it with."""

    @property
    def arguments(self) -> list[str]:
        """``--args`` as a list."""
        return [a.strip() for a in self.args.split(",") if a.strip()]


def add(config: AddConfig) -> int:
    """Prove the skill from the scene's start; keep it only if its effect holds."""
    from robolearn.calls import Call
    from robolearn.skills.composite import Provenance, skill_from_json
    from robolearn.skills.evaluator import Evaluator
    from robolearn.tasks.env import TabletopEnv
    from robolearn.tasks.spec import get_family
    from robolearn.untrusted import UntrustedTextError, read_json
    from robolearn.workspace import Workspace

    workspace = Workspace.open(config.folder)
    try:
        data = read_json(config.file)  # bounded: deep nesting is one line, not a RecursionError
    except (OSError, UntrustedTextError) as error:
        raise UsageError(f"cannot read {config.file} as a JSON skill file: {error}") from None
    skill = skill_from_json(data, str(config.file))
    library = workspace.library()
    env = TabletopEnv(get_family(config.family))
    try:
        env.reset(seed=config.seed)
        bound = tuple(env.task.roles.get(arg, arg) for arg in config.arguments)
        provenance = Provenance("person", note=f"added from {config.file.name}")
        with workspace.store() as store:
            evaluator = Evaluator(library, store=store)
            verdict, stored = evaluator.admit(skill, env, bound, provenance)
    finally:
        env.close()
    say(f"{Call(skill.name, bound)}: {verdict}")
    if stored is not None:
        say(f"saved as {stored.name} v{stored.version}")
    return 0 if verdict.passed else 1


def _command(run: Callable[[Any], int], config: type, help_line: str, example: str) -> Command:
    return Command(help=help_line, config=config, run=run, examples=(example,))


ACTIONS = {
    "list": _command(list_skills, ListConfig, "list every skill", "robolearn skills list"),
    "show": _command(show, ShowConfig, "show one skill", "robolearn skills show build_tower"),
    "search": _command(
        search,
        SearchConfig,
        "find skills for a sub-goal",
        'robolearn skills search "put the red cube into the bowl"',
    ),
    "export": _command(
        export,
        ExportConfig,
        "write the library as a bundle",
        "robolearn skills export my-skills.zip",
    ),
    "import": _command(
        import_,
        ImportConfig,
        "bring a bundle's skills in",
        "robolearn skills import my-skills.zip --workspace other-workspace",
    ),
    "add": _command(
        add,
        AddConfig,
        "prove a composite skill file and add it",
        "robolearn skills add my_stack.json --family stack --args top,base",
    ),
}
