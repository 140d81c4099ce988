"""Held-out questions in a family's own words and in other words, and the router's accuracy.

The hand-written paraphrase files (test sets: never training data, prompt text, calibration or
example selection) give, for held-out scenes of the new families, an instruction in words no
template wrote. Each scene is asked twice, in its family's own words (the scene's templated
instruction) and in the paraphrase's, so the two success rates compare like with like.

A question is routed right when it goes to the expert of its family (the expert whose cluster
is the family), or to the base model when its family has no expert.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from robolearn.agent import Planner
from robolearn.calls import Call
from robolearn.learn.evaluation import SuccessEvaluator
from robolearn.learn.meaning import Meaning
from robolearn.learn.memory import MemoryPlanner
from robolearn.learn.router import Router
from robolearn.tasks.sampler import TaskInstance, sample_task
from robolearn.tasks.spec import get_family

WORDS = ("own", "other")


@dataclass(frozen=True)
class Question:
    """One held-out scene asked in some words."""

    family: str
    seed: int
    words: str
    """``own`` (the family's template) or ``other`` (a hand-written paraphrase)."""
    instruction: str

    @property
    def task(self) -> TaskInstance:
        """The scene with this instruction."""
        task = sample_task(get_family(self.family), self.seed)
        return replace(task, instruction=self.instruction)


def paraphrase_questions(files: Iterable[Path], families: Iterable[str]) -> list[Question]:
    """Every paraphrase of ``families`` in ``files``, and its scene in its own words."""
    from robolearn.planner.paraphrases import read_paraphrases

    wanted = set(families)
    questions = []
    for path in files:
        for scene in read_paraphrases(path):
            if scene.family in wanted:
                own = sample_task(get_family(scene.family), scene.seed).instruction
                questions.append(Question(scene.family, scene.seed, "own", own))
                questions.append(Question(scene.family, scene.seed, "other", scene.instruction))
    return questions


def own_questions(families: Iterable[str], seeds: Iterable[int]) -> list[Question]:
    """Each family's held-out scenes ``seeds`` in its own words."""
    return [
        Question(f, seed, "own", sample_task(get_family(f), seed).instruction)
        for f in families
        for seed in seeds
    ]


def words_success(
    evaluator: SuccessEvaluator, planner: Planner, questions: Sequence[Question]
) -> dict[str, dict[str, float]]:
    """Success per family, in own words and in other words."""
    outcomes = [
        (q, evaluator.attempt_task(planner, q.task)[1]) for q in questions
    ]  # one scene in two words: not one batch, the (family, seed) keys would collide
    result: dict[str, dict[str, float]] = {}
    for family in sorted({q.family for q in questions}):
        result[family] = {}
        for words in WORDS:
            mine = [ok for q, ok in outcomes if q.family == family and q.words == words]
            if mine:
                result[family][words] = sum(mine) / len(mine)
    return result


def router_accuracy(
    router: Router, meaning: Meaning, questions: Sequence[Question]
) -> dict[str, dict[str, int]]:
    """For own and other words: questions routed right, and asked."""
    experts = {e.provenance.get("cluster"): e.name for e in router.experts.values()}
    tally = {words: {"right": 0, "asked": 0} for words in WORDS}
    for question in questions:
        task = question.task
        chosen = router.route(question.instruction, task.objects, meaning).expert
        tally[question.words]["asked"] += 1
        tally[question.words]["right"] += chosen == experts.get(question.family)
    return tally


class RecallCount:
    """A memory planner that counts its recalls of another family's correction (false ones)."""

    def __init__(self, planner: MemoryPlanner) -> None:
        self.planner = planner
        self.name = planner.name
        self.explanation = ""
        self.recalls = 0
        self.false = 0

    def plan(self, task: TaskInstance) -> list[Call]:
        """The memory planner's plan, counted."""
        plan = self.planner.plan(task)
        self.explanation = self.planner.explanation
        recall = self.planner.last_recall
        if recall is not None:
            self.recalls += 1
            self.false += recall.source.lesson.family != task.family
        return plan

    def source(self, task: TaskInstance) -> str | None:
        """As the memory planner's."""
        return self.planner.source(task)
