"""What an instruction asks, whatever its colours: sentence embeddings of lifted instructions.

The correction memory and the router both ask "is this the task of that correction (or that
expert)?". They compare instructions *lifted* by ``grounding`` (every colour word is "coloured"),
embedded by all-MiniLM-L6-v2: "put the coloured block between the coloured block and the
coloured block" is near "set the coloured block down midway between the coloured and coloured
ones" whatever colours the scenes have.

A family's own words are its templates, lifted the same way (:func:`lifted_phrasings`).
:class:`Prototypes` holds labelled lifted instructions (a family's words, an expert's training
instructions) with the shapes of their scenes: an instruction is nearest the label whose words
mean most nearly the same, in a scene that holds the objects they need; a scene of the same
shape (kinds, and which stands on which) counts ``scene_bonus`` more. :func:`decide` takes the
nearest label only when it is near enough and clearly nearer than the next.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from robolearn.learn.grounding import PLACEHOLDER
from robolearn.sim.scene import SceneObject
from robolearn.skills.embeddings import EmbeddingCache, TextEmbedder
from robolearn.tasks.sampler import render
from robolearn.tasks.spec import TaskFamily


@functools.cache
def shared_embedder() -> TextEmbedder:
    """The process's one all-MiniLM-L6-v2 (~700 MB once loaded), for every :class:`Meaning`."""
    from robolearn.skills.embeddings import Embedder

    return Embedder()


class Meaning:
    """Unit vectors of lifted instructions, each text embedded once.

    The embedder (default: the process's all-MiniLM-L6-v2, :func:`shared_embedder`) loads on
    the first text that is not cached.
    """

    def __init__(
        self, embedder: TextEmbedder | None = None, cache: EmbeddingCache | None = None
    ) -> None:
        self._embedder = embedder
        self.cache = cache if cache is not None else EmbeddingCache()

    @property
    def embedder(self) -> TextEmbedder:
        """The sentence embedder (the process's all-MiniLM-L6-v2 unless one was given)."""
        if self._embedder is None:
            self._embedder = shared_embedder()
        return self._embedder

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of ``texts``, shape ``(n, dim)``."""
        return self.cache.vectors(list(texts), self.embedder)

    def similarities(self, text: str, others: Sequence[str]) -> np.ndarray:
        """Cosine similarity of ``text`` with each of ``others``."""
        if not others:
            return np.zeros(0, dtype=np.float32)
        vectors = self.vectors([text, *others])
        return vectors[1:] @ vectors[0]


def lifted_phrasings(family: TaskFamily) -> list[str]:
    """The family's templates as they read whatever the colours (``{top}``: "coloured block")."""
    colours = {r.role: PLACEHOLDER for r in family.objects}
    return [" ".join(render(family, t, colours).lower().split()) for t in family.instructions]


SCENE_BONUS = 0.05
"""How much more a prototype counts when its scene has the same shape as the instruction's
(calibrated with the memory's thresholds, ``python -m robolearn.learn.calibration``)."""

Shape = tuple[tuple[str, str], ...]
"""A scene's objects as (kind, what it starts on: a kind or ``table``), sorted."""


def scene_shape(objects: Sequence[SceneObject]) -> Shape:
    """What a scene holds, colours and places aside: its kinds and which stands on which."""
    kinds = {o.name: o.kind for o in objects}
    return tuple(sorted((o.kind, kinds.get(o.on, "table") if o.on else "table") for o in objects))


def _fits(needs: Shape, has: Shape) -> bool:
    """Whether a scene of shape ``has`` holds at least the kinds ``needs`` holds."""
    return not Counter(kind for kind, _ in needs) - Counter(kind for kind, _ in has)


@dataclass(frozen=True)
class Nearness:
    """How near an instruction in a scene comes to one label's prototypes."""

    label: str
    similarity: float
    """Cosine of the lifted instruction with the label's nearest prototype."""
    score: float
    """The similarity plus ``scene_bonus`` when that prototype's scene has the same shape."""


class Prototypes:
    """Labelled instructions (lifted) with the shapes of their scenes, as unit vectors.

    Rows are only ever added: an instruction's nearness to the rows of one label never
    changes when rows of another come.
    """

    def __init__(
        self,
        labels: Sequence[str] = (),
        texts: Sequence[str] = (),
        shapes: Sequence[Shape] = (),
        vectors: np.ndarray | None = None,
    ) -> None:
        self.labels, self.texts, self.shapes = list(labels), list(texts), list(shapes)
        self.vectors = np.zeros((0, 0), np.float32) if vectors is None else vectors
        if not len(self.labels) == len(self.texts) == len(self.shapes) == len(self.vectors):
            raise ValueError("prototypes need one label, text, shape and vector a row")

    def add(
        self, label: str, texts: Sequence[str], shapes: Sequence[Shape], meaning: Meaning
    ) -> None:
        """Append rows of ``label`` (lifted texts and the shapes of their scenes)."""
        if len(texts) != len(shapes):
            raise ValueError("one shape a text")
        fresh = meaning.vectors(texts)
        self.vectors = fresh if not len(self.vectors) else np.concatenate([self.vectors, fresh])
        self.labels += [label] * len(texts)
        self.texts += list(texts)
        self.shapes += list(shapes)

    def relabel(self, old: str, new: str) -> None:
        """Give the rows of ``old`` to ``new`` (texts, shapes and vectors as they were)."""
        self.labels = [new if label == old else label for label in self.labels]

    def copy(self) -> Prototypes:
        """The same rows, in lists of their own (vectors are never changed in place)."""
        return Prototypes(self.labels, self.texts, self.shapes, self.vectors)

    def rank(
        self, lifted: str, objects: Sequence[SceneObject], meaning: Meaning, scene_bonus: float
    ) -> list[Nearness]:
        """Each label whose prototypes' scenes fit this one, nearest first."""
        if not self.labels:
            return []
        shape = scene_shape(objects)
        cosines = self.vectors @ meaning.vectors([lifted])[0]
        best: dict[str, Nearness] = {}
        for label, own, cosine in zip(self.labels, self.shapes, cosines, strict=True):
            if not _fits(own, shape):
                continue
            near = Nearness(label, float(cosine), float(cosine) + scene_bonus * (own == shape))
            if label not in best or near.score > best[label].score:
                best[label] = near
        # Labels come in the order they were added; on a tie the newest wins (an expert
        # taught the very words of the base model's family takes them over).
        return sorted(reversed(best.values()), key=lambda n: -n.score)


def decide(ranked: Sequence[Nearness], threshold: float, margin: float) -> Nearness | None:
    """The nearest label if it is near enough and clearly nearer than the next, else None."""
    if not ranked or ranked[0].similarity < threshold:
        return None
    if len(ranked) > 1 and ranked[0].score - ranked[1].score < margin:
        return None
    return ranked[0]


def family_prototypes(families: Iterable[TaskFamily], meaning: Meaning) -> Prototypes:
    """Every family's own words (its lifted templates) in the shape of its scenes."""
    from robolearn.tasks.sampler import sample_task

    prototypes = Prototypes()
    for family in families:
        texts = lifted_phrasings(family)
        shape = scene_shape(sample_task(family, 0).objects)
        prototypes.add(family.name, texts, [shape] * len(texts), meaning)
    return prototypes
