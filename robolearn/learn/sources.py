"""What wrote a plan, by content: the base model's identity and the adapter's, if any.

Greedy decoding makes a plan a function of its source, its prompt and the library's grammar,
so the evaluator remembers outcomes by source (``evaluation``). An adapter is named by the hash
of its files, not its folder: a frozen expert keeps its identity wherever it is read from.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from robolearn.agent import Planner
    from robolearn.skills.library import SkillLibrary
    from robolearn.tasks.sampler import TaskInstance

ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
"""The files of a peft adapter that decide what it plans."""


def adapter_identity(folder: Path) -> str:
    """``adapter-<16 hex>``: a hash of the adapter's config and weights."""
    folder = Path(folder)
    stamps = tuple(
        (name, (folder / name).stat().st_mtime_ns) if (folder / name).exists() else (name, 0)
        for name in ADAPTER_FILES
    )
    return _hashed(str(folder.resolve()), stamps)


@cache
def _hashed(folder: str, stamps: tuple[tuple[str, int], ...]) -> str:
    digest = hashlib.sha256()
    for name, _ in stamps:
        path = Path(folder) / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b""))
    return f"adapter-{digest.hexdigest()[:16]}"


def model_source(identity: str, adapter: Path | None) -> str:
    """The source of a plan by the base model ``identity``, with ``adapter`` if any."""
    return identity if adapter is None else f"{identity}+{adapter_identity(adapter)}"


def plan_source(planner: Planner, task: TaskInstance) -> str | None:
    """What would write ``planner``'s plan of ``task``; None when that is not fixed.

    A planner that knows offers ``source(task)`` (the router, the memory); a language-model
    planner's is its model and the adapter on it; any other planner's plans are not
    remembered.
    """
    source = getattr(planner, "source", None)
    if callable(source):
        return source(task)
    identity, adapter = getattr(planner, "identity", None), getattr(planner, "adapter", None)
    if isinstance(identity, str) and (adapter is None or isinstance(adapter, Path)):
        return model_source(identity, adapter)
    return None


def library_fingerprint(library: SkillLibrary) -> str:
    """A hash of what the library's skills are and do (a plan's grammar and its effects)."""
    digest = hashlib.sha256()
    for name in library.names():
        skill = library.composites.get(name)
        digest.update(f"{name}:{'atomic' if skill is None else skill.content_hash}\n".encode())
    return digest.hexdigest()[:16]
