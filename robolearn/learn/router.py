"""The router: per instruction and scene, the base model or one expert adapter.

Each expert (a LoRA adapter trained on what one round's lessons teach) is known to the router
by the instructions it was trained on, lifted (colour words read against their scenes and
blanked, ``grounding``) and embedded (all-MiniLM-L6-v2, ``meaning``), each with the shape of
its scene. The base model is known the same way, by the families it was built on. An
instruction goes to the label whose prototypes mean most nearly the same in a scene that holds
what they need (a scene of the same shape counts ``ROUTE_SCENE_BONUS`` more): to that expert
if it is one and its nearest prototype is at least ``EXPERT_THRESHOLD`` similar, else to the
base model. Nothing tells the router the family.

Once an expert is trained its prototypes are frozen: adding an expert appends rows and never
moves another's, so an old family is planned as before unless a new expert's words come nearer.

A router is saved as a folder of JSON and safetensors (nothing pickled)::

    <folder>/
        router.json              format, embedder id, threshold, scene bonus, the experts
                                 (name, adapter, provenance) and one row a prototype
                                 (label, lifted text, scene shape)
        prototypes.safetensors   "vectors": float32 (rows, 384), the prototypes in order

It is written beside its final name and renamed, so it exists whole or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from robolearn.calls import Call
from robolearn.durable import staged_folder
from robolearn.errors import UserError
from robolearn.learn.grounding import ground
from robolearn.learn.meaning import Meaning, Nearness, Prototypes, scene_shape
from robolearn.learn.restate import restate
from robolearn.sim.scene import SceneObject
from robolearn.tasks.sampler import TaskInstance, sample_task
from robolearn.tasks.spec import TaskFamily, load_families
from robolearn.untrusted import read_json

if TYPE_CHECKING:
    from robolearn.learn.examples import Lesson
    from robolearn.planner.lm import PlanResult

FORMAT = 1
ROUTER_FILE = "router.json"
VECTORS_FILE = "prototypes.safetensors"
MAX_ROUTER_BYTES = 64_000_000
"""Largest router.json read (a row a distinct lifted scene: ~10 kB for two experts)."""
BASE = "base"
"""The label of the base model's prototypes."""
EXPERT_THRESHOLD = 0.5
"""The least similarity to an expert's nearest prototype that sends an instruction to it.
Calibrated with ``ROUTE_SCENE_BONUS`` (``python -m robolearn.learn.calibration``) on 110
hand-written instructions with the new families as experts: 101 routed right (as at 0.6; the
development sets chose between them)."""
ROUTE_SCENE_BONUS = 0.5
"""How much more a prototype counts in a scene of its own shape: an expert's training scenes
are all of one shape, so the scene's shape comes first and the words decide within it (any
bonus from 0.2 up routed the calibration instructions as well; 0.05, the memory's, one fewer
at the threshold's best)."""

Scene = tuple[str, Sequence[SceneObject]]
"""An instruction and the objects of the scene it was asked in."""


class RouterError(UserError, ValueError):
    """A router that cannot be built, read or used as asked; says what to do."""


@dataclass(frozen=True)
class Expert:
    """One expert the router may choose: where its adapter lies and where it came from."""

    name: str
    adapter: str | None = None
    """The adapter's folder (relative to the workspace); None: not trained yet."""
    provenance: dict[str, str] = field(default_factory=dict)
    """Whatever says where it came from (round, families, lessons)."""


@dataclass(frozen=True)
class Route:
    """The router's choice for one instruction, and why."""

    expert: str | None
    """The expert chosen; None: the base model."""
    nearest: Nearness | None
    """The label nearest the instruction (an expert under the threshold leaves the base)."""
    threshold: float

    def explain(self) -> str:
        """The line a plan's provenance shows: ``expert put_between (router similarity 0.83)``."""
        if self.nearest is None:
            return "base model (no prototype fits the scene)"
        similarity = f"router similarity {self.nearest.similarity:.2f}"
        if self.expert is not None:
            return f"expert {self.expert} ({similarity})"
        if self.nearest.label == BASE:
            return f"base model ({similarity})"
        return (
            f"base model (nearest expert {self.nearest.label} at {similarity}, under "
            f"{self.threshold:.2f})"
        )


class Router:
    """Chooses the base model or one expert by the meaning of an instruction in its scene."""

    def __init__(
        self,
        prototypes: Prototypes,
        experts: Iterable[Expert],
        embedder_id: str,
        threshold: float = EXPERT_THRESHOLD,
        scene_bonus: float = ROUTE_SCENE_BONUS,
    ) -> None:
        self.prototypes = prototypes
        self.experts = {e.name: e for e in experts}
        self.embedder_id = embedder_id
        self.threshold = threshold
        self.scene_bonus = scene_bonus

    @classmethod
    def create(cls, base: Iterable[Scene], meaning: Meaning, **settings: float) -> Router:
        """A router with no expert yet, whose base model knows the instructions ``base``."""
        router = cls(Prototypes(), (), meaning.embedder.embedder_id, **settings)
        router._add(BASE, base, meaning)
        return router

    @classmethod
    def for_families(
        cls, families: Iterable[TaskFamily], meaning: Meaning, seeds: Iterable[int] = range(2)
    ) -> Router:
        """A router whose base model knows ``families`` in their own words, on scenes ``seeds``."""
        return cls.create([scene for f in families for scene in family_scenes(f, seeds)], meaning)

    def add_expert(
        self,
        expert: Expert,
        scenes: Iterable[Scene],
        meaning: Meaning,
        replaces: str | None = None,
    ) -> None:
        """Add ``expert``, known by the instructions it was trained on, in their scenes.

        Only rows are added: every other expert's prototypes stay as they were. ``replaces``
        names an expert the new one was trained to succeed (on all its lessons and more): its
        prototypes pass to the new expert unchanged, and it leaves the router.
        """
        if expert.name in self.experts or expert.name == BASE:
            raise RouterError(
                f"the router already has an expert called {expert.name!r}; an expert's "
                "prototypes are frozen once it is trained: give the new one another name"
            )
        if replaces is not None and replaces not in self.experts:
            raise RouterError(f"the router has no expert {replaces!r} to replace")
        self._check_embedder(meaning)
        if replaces is not None:
            self.prototypes.relabel(replaces, expert.name)
            del self.experts[replaces]
        self._add(expert.name, scenes, meaning)
        self.experts[expert.name] = expert

    def copy(self) -> Router:
        """Another router with the same prototypes and experts, to add experts to."""
        return Router(
            self.prototypes.copy(),
            self.experts.values(),
            self.embedder_id,
            self.threshold,
            self.scene_bonus,
        )

    def route(self, instruction: str, objects: Sequence[SceneObject], meaning: Meaning) -> Route:
        """The base model or the expert for ``instruction`` in a scene of ``objects``."""
        self._check_embedder(meaning)
        grounding = ground(instruction, {o.colour for o in objects})
        ranked = self.prototypes.rank(grounding.lifted, objects, meaning, self.scene_bonus)
        nearest = ranked[0] if ranked else None
        chosen = None
        if nearest is not None and nearest.label != BASE and nearest.similarity >= self.threshold:
            chosen = nearest.label
        return Route(chosen, nearest, self.threshold)

    # ----- files ------------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        """Write the router to ``folder`` (see the module docstring), whole or not at all."""
        from safetensors.numpy import save_file

        info = {
            "format": FORMAT,
            "embedder_id": self.embedder_id,
            "threshold": self.threshold,
            "scene_bonus": self.scene_bonus,
            "experts": [asdict(e) for e in self.experts.values()],
            "prototypes": [
                {"label": label, "text": text, "shape": [list(pair) for pair in shape]}
                for label, text, shape in zip(
                    self.prototypes.labels,
                    self.prototypes.texts,
                    self.prototypes.shapes,
                    strict=True,
                )
            ],
        }
        vectors = np.ascontiguousarray(self.prototypes.vectors, dtype=np.float32)
        with staged_folder(Path(folder)) as staging:
            (staging / ROUTER_FILE).write_text(json.dumps(info, indent=1), encoding="utf-8")
            save_file({"vectors": vectors}, str(staging / VECTORS_FILE))

    @classmethod
    def load(cls, folder: Path) -> Router:
        """Read a router that :meth:`save` wrote; a folder that is not one says why."""
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        folder = Path(folder)
        try:
            info = read_json(folder / ROUTER_FILE, max_bytes=MAX_ROUTER_BYTES)
            if info.get("format") != FORMAT:
                raise RouterError(
                    f"{folder / ROUTER_FILE} has format {info.get('format')!r}; this robolearn "
                    f"reads format {FORMAT}: rebuild the router"
                )
            vectors = load_file(str(folder / VECTORS_FILE))["vectors"]
            rows = info["prototypes"]
            prototypes = Prototypes(
                [str(r["label"]) for r in rows],
                [str(r["text"]) for r in rows],
                [tuple((str(k), str(s)) for k, s in r["shape"]) for r in rows],
                vectors.astype(np.float32),
            )
            experts = [
                Expert(str(e["name"]), e.get("adapter"), dict(e.get("provenance", {})))
                for e in info["experts"]
            ]
            return cls(
                prototypes,
                experts,
                str(info["embedder_id"]),
                float(info["threshold"]),
                float(info["scene_bonus"]),
            )
        except RouterError:
            raise
        except (OSError, ValueError, KeyError, TypeError, SafetensorError) as error:
            raise RouterError(
                f"no usable router in {folder} ({type(error).__name__}: {error}); rebuild it"
            ) from None

    # ----- internals --------------------------------------------------------------------------
    def _add(self, label: str, scenes: Iterable[Scene], meaning: Meaning) -> None:
        rows: dict[tuple[str, tuple[tuple[str, str], ...]], None] = {}
        for instruction, objects in scenes:
            lifted = ground(instruction, {o.colour for o in objects}).lifted
            rows[(lifted, scene_shape(objects))] = None  # one row per distinct lifted scene
        if not rows:
            raise RouterError(f"{label!r} needs at least one instruction to be known by")
        texts, shapes = zip(*rows, strict=True)
        self.prototypes.add(label, list(texts), list(shapes), meaning)

    def _check_embedder(self, meaning: Meaning) -> None:
        if meaning.embedder.embedder_id != self.embedder_id:
            raise RouterError(
                f"this router's prototypes come from the embedder {self.embedder_id}; "
                f"{meaning.embedder.embedder_id} cannot be compared with them: rebuild the router"
            )


def family_scenes(family: TaskFamily, seeds: Iterable[int]) -> list[Scene]:
    """Every template of ``family`` on each of its scenes ``seeds``: its own words."""
    from robolearn.tasks.sampler import phrasings

    scenes = []
    for seed in seeds:
        objects = sample_task(family, seed).objects
        scenes += [(text, objects) for text in phrasings(family, objects)]
    return scenes


def lesson_scenes(lessons: Iterable[Lesson]) -> list[Scene]:
    """The instructions and scenes of lessons (what an expert is trained on).

    Scenes are rebuilt from their family and seed; a lesson whose scene cannot be is left out.
    """
    return [
        (lesson.situation.instruction, objects)
        for lesson in lessons
        if (objects := lesson.scene()) is not None
    ]


class AdapterPlanner(Protocol):
    """A planner that can switch LoRA adapters on one base model (``LMPlanner``)."""

    name: str
    explanation: str
    identity: str
    """The base model's identity (``planner.identity.model_identity``)."""

    def use_adapter(self, adapter_dir: Path | None) -> None:
        """Plan with this adapter from now on (None: the base model alone)."""
        ...

    def plan(self, task: TaskInstance) -> list[Call]:
        """The plan for ``task``."""
        ...

    def plan_tasks(self, tasks: Sequence[TaskInstance]) -> list[PlanResult]:
        """Plans of many tasks at once, in order (batched decoding)."""
        ...


class RoutedPlanner:
    """Plans each task with the expert the router chooses (or the base model).

    ``adapters`` maps an expert's name to its adapter folder; every expert loads once into the
    planner's one model and switching is peft's ``set_adapter``. The explanation says which
    model planned and the router's choice.
    """

    def __init__(
        self,
        planner: AdapterPlanner,
        router: Router,
        adapters: dict[str, Path],
        meaning: Meaning,
    ) -> None:
        missing = sorted(set(router.experts) - set(adapters))
        if missing:
            raise RouterError(f"no adapter given for the router's experts {missing}")
        self.planner, self.router, self.adapters, self.meaning = planner, router, adapters, meaning
        self.name = planner.name
        self.identity = planner.identity
        self.explanation = ""
        self.last_route: Route | None = None
        self.families = load_families()
        """The task families an expert's cluster may name, whose own words it is asked in."""
        self._last: tuple[TaskInstance, tuple[Route, TaskInstance]] | None = None
        """The last task routed and its route: a task's outcome key (``source``), the memory
        (``asked``) and its plan ask for the same task in turn."""

    def plan(self, task: TaskInstance) -> list[Call]:
        """The plan of the chosen expert (or of the base model) for ``task``."""
        route, asked = self._routed(task)
        self.planner.use_adapter(self._adapter(route))
        self.last_route = route
        plan = self.planner.plan(asked)
        read_as = f"; read as {asked.instruction!r}" if asked is not task else ""
        self.explanation = f"{self.planner.explanation}; {route.explain()}{read_as}"
        return plan

    def plan_tasks(self, tasks: Sequence[TaskInstance]) -> list[PlanResult]:
        """The plans of many tasks, in order: one batched call per expert the router chooses."""
        groups: dict[Path | None, list[tuple[int, TaskInstance]]] = {}
        for i, task in enumerate(tasks):
            route, asked = self._routed(task)
            groups.setdefault(self._adapter(route), []).append((i, asked))
        results: list[PlanResult | None] = [None] * len(tasks)
        for adapter, group in groups.items():
            self.planner.use_adapter(adapter)
            planned = self.planner.plan_tasks([asked for _, asked in group])
            for (i, _), result in zip(group, planned, strict=True):
                results[i] = result
        return [r for r in results if r is not None]

    def source(self, task: TaskInstance) -> str:
        """What plans ``task``: the base model, the chosen expert's adapter, restated words."""
        from robolearn.learn.sources import model_source

        route, asked = self._routed(task)
        source = model_source(self.identity, self._adapter(route))
        return source if asked is task else f"{source} asked {asked.instruction!r}"

    def asked(self, task: TaskInstance) -> TaskInstance:
        """``task`` as its expert is asked it: in the family's own words when restated."""
        return self._routed(task)[1]

    def _routed(self, task: TaskInstance) -> tuple[Route, TaskInstance]:
        """The router's choice for ``task``, and the task as its expert is asked it.

        An expert of a known family is asked in the family's own words (``restate``).
        """
        if self._last is not None and self._last[0] is task:
            return self._last[1]
        route = self.router.route(task.instruction, task.objects, self.meaning)
        expert = self.router.experts[route.expert] if route.expert else None
        family = self.families.get(expert.provenance.get("cluster", "")) if expert else None
        restated = (
            None
            if family is None
            else restate(family, task.instruction, task.objects, self.meaning)
        )
        routed = route, task if restated is None else replace(task, instruction=restated)
        self._last = task, routed
        return routed

    def _adapter(self, route: Route) -> Path | None:
        return None if route.expert is None else self.adapters[route.expert]


def expert_adapters(router: Router, workspace: Path) -> dict[str, Path]:
    """Each expert's adapter folder, read from the router as a path inside ``workspace``."""
    from robolearn.paths import OutsideWorkspaceError, in_workspace

    folders = {}
    for expert in router.experts.values():
        if expert.adapter is None:
            raise RouterError(f"the router's expert {expert.name} has no adapter; rebuild it")
        try:
            folders[expert.name] = in_workspace(workspace, expert.adapter)
        except OutsideWorkspaceError as error:
            raise RouterError(f"expert {expert.name}: {error}") from None
    return folders
