"""Expert adapters: a new LoRA expert for each cluster of like lessons, and the router over them.

A round of experts (``RoundConfig.method = "experts"``) groups the lessons that no expert in use
has learned by what they teach: their task family, a cluster of like situations. Each cluster
gets a new expert, trained from the base model alone (never from another adapter) on every
lesson of its cluster: the new ones, and those of the cluster's expert in use, which the new
one replaces; a family the base model was built on also replays its demonstrations. No expert
is ever trained again, and the router only gains rows: the new expert is known by its lessons'
instructions and its family's own words in those scenes, and takes over, unchanged, the rows of
the expert it replaces. Every other expert's prototypes stay where they were.

A round's folder::

    adapters/round-0003/
        router/                     router.json + prototypes.safetensors: every expert in use
        experts/put_between-r3/     each expert this round trained: peft's files and
                                    robolearn_adapter.json (base model, settings, result)

It is written beside its name and renamed, so it exists whole or not at all; experts of earlier
rounds are read where their rounds left them.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from robolearn.durable import staged_folder
from robolearn.learn.adapters import ROUTER_FOLDER
from robolearn.learn.dataset import RoundDataset
from robolearn.learn.examples import Lesson
from robolearn.learn.lora import LoraSettings, train_adapter
from robolearn.learn.meaning import Meaning
from robolearn.learn.replay import replay_sample
from robolearn.learn.router import Expert, Router, Scene, family_scenes, lesson_scenes
from robolearn.paths import WorkspaceLayout
from robolearn.planner.training import Example, TrainingResult
from robolearn.tasks.spec import TaskFamily, UnknownFamilyError, get_family, load_families

EXPERTS_FOLDER = "experts"
"""Inside a round's folder: the experts it trained, one folder each."""


@dataclass(frozen=True)
class ExpertPlan:
    """One expert a round trains: its name, what it learns, and whom it replaces."""

    name: str
    cluster: str
    """What its lessons teach: their task family."""
    lessons: list[Lesson]
    """The cluster's new lessons (the router learns their instructions)."""
    new: list[Example]
    earlier: list[Example]
    """What the cluster's expert in use learned (retrained into this one)."""
    replay: list[Example]
    """Demonstrations of the base model's families (``RoundConfig.expert_replay``)."""
    replaces: str | None = None

    @property
    def examples(self) -> list[Example]:
        """Everything the expert trains on."""
        return self.new + self.earlier + self.replay

    def provenance(self, round_id: int, base_model: str) -> dict[str, str]:
        """Where the expert came from, as the router and ``adapters list`` show it."""
        sources = Counter(lesson.source for lesson in self.lessons)
        return {
            "round": str(round_id),
            "cluster": self.cluster,
            "base_model": base_model,
            "lessons": ", ".join(f"{n} {kind}s" for kind, n in sorted(sources.items())),
            "examples": str(len(self.examples)),
            "replaces": self.replaces or "",
        }


def plan_experts(
    round_id: int,
    dataset: RoundDataset,
    learned: Sequence[Example],
    base_pool: Sequence[Example],
    router: Router,
    replay_ratio: float,
    rng: random.Random,
) -> list[ExpertPlan]:
    """One new expert for each cluster of ``dataset``'s new lessons.

    ``learned`` is what the round's lineage learned before (the experts in use); ``router`` the
    router in use, whose expert of a cluster the new one replaces.
    """
    by_cluster: dict[str, list[Lesson]] = {}
    for lesson in dataset.lessons:
        by_cluster.setdefault(lesson.family, []).append(lesson)
    plans = []
    for cluster, lessons in sorted(by_cluster.items()):
        new = [e for e in dataset.new if e.family == cluster]
        prompts = {e.prompt for e in new}
        earlier = [e for e in learned if e.family == cluster and e.prompt not in prompts]
        size = round(replay_ratio * (len(new) + len(earlier)))
        replay = replay_sample(base_pool, size, "balanced", rng)
        replaces = next(
            (e.name for e in router.experts.values() if e.provenance.get("cluster") == cluster),
            None,
        )
        plans.append(
            ExpertPlan(f"{cluster}-r{round_id}", cluster, lessons, new, earlier, replay, replaces)
        )
    return plans


def round_dataset(dataset: RoundDataset, plans: Sequence[ExpertPlan]) -> RoundDataset:
    """The round's examples as the store records them: new ones, and the rest as replay."""
    replay = [e for plan in plans for e in plan.earlier + plan.replay]
    return RoundDataset(dataset.new, replay, dataset.lessons, dataset.last_correction_id)


def train_experts(
    plans: Sequence[ExpertPlan],
    model_dir: Path,
    base_model: str,
    settings: LoraSettings,
    out: Path,
    rng: random.Random,
    progress: bool,
    end_token_id: int | None,
    add_special_tokens: bool,
) -> dict[str, TrainingResult]:
    """Train each planned expert from the base model into ``out/experts/<name>``."""
    results = {}
    for plan in plans:
        results[plan.name] = train_adapter(
            model_dir,
            None,
            plan.examples,
            settings,
            out / EXPERTS_FOLDER / plan.name,
            base_model,
            rng,
            progress,
            end_token_id,
            add_special_tokens,
        )
    return results


def next_router(
    router: Router,
    plans: Sequence[ExpertPlan],
    round_id: int,
    workspace: Path,
    base_model: str,
    meaning: Meaning,
) -> Router:
    """The router in use with this round's experts added (or put in place of their cluster's)."""
    layout = WorkspaceLayout(workspace)
    folder = layout.round_adapter(round_id) / EXPERTS_FOLDER
    candidate = router.copy()
    for plan in plans:
        expert = Expert(
            plan.name,
            layout.relative(folder / plan.name),
            plan.provenance(round_id, base_model),
        )
        candidate.add_expert(expert, expert_scenes(plan), meaning, replaces=plan.replaces)
    return candidate


def expert_scenes(plan: ExpertPlan) -> list[Scene]:
    """What the router knows an expert by.

    Its lessons' instructions, and its family's own words, in its lessons' scenes.
    """
    scenes = lesson_scenes(plan.lessons)
    try:
        family = get_family(plan.cluster)
    except UnknownFamilyError:
        return scenes
    seeds = sorted({lesson.seed for lesson in plan.lessons if lesson.seed is not None})
    return scenes + family_scenes(family, seeds)


def base_router(meaning: Meaning, families: Sequence[TaskFamily] | None = None) -> Router:
    """The router before any expert: the base model, known by its families' own words.

    ``families`` default to those robolearn's default model is built on (``bootstrap``).
    """
    if families is None:
        families = [f for f in load_families().values() if f.bootstrap]
    return Router.for_families(families, meaning)


def write_round(
    out: Path,
    train: Callable[[Path], dict[str, TrainingResult]],
    router: Callable[[], Router],
) -> dict[str, TrainingResult]:
    """Write a round of experts into ``out``: the experts ``train`` writes, then the router.

    Everything goes into a folder beside ``out`` that is synced and renamed into place once
    complete (``durable.staged_folder``): a round killed or out of disk at any point leaves
    the previous round whole.
    """
    with staged_folder(out) as staging:
        results = train(staging)
        router().save(staging / ROUTER_FOLDER)
    return results
