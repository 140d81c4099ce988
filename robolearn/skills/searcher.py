"""The Searcher: finds the library skill for a sub-goal by embedding similarity (RoboCoder).

Every skill is indexed by the text ``"<name words>: <description>"`` (``"stack on: pick up a
block and stack it on top of another block"``); the index is one unit-row matrix derived from
the library and rebuilt when the library changes. A query's cosine similarities with every skill
come from one matrix product, and its best similarity ``s`` decides:

    s >= tau_reuse            reuse    call the top skill
    tau_new <= s < tau_reuse  adapt    the top-k go to the planner, which picks or adapts one
    s < tau_new               new      no skill fits; the planner writes a new one

The thresholds are calibrated on labelled sub-goals (``tests/fixtures/searcher_queries.json``)
by :func:`robolearn.skills.calibration.calibrate`; ``python -m benchmarks.bench_searcher``
prints the table.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

from robolearn.errors import UserError
from robolearn.skills.embeddings import EmbeddingCache, TextEmbedder
from robolearn.text import text_problem

if TYPE_CHECKING:
    from robolearn.skills.library import SkillLibrary

Decision = Literal["reuse", "adapt", "new"]
DECISIONS: tuple[Decision, ...] = ("reuse", "adapt", "new")

# Calibrated by calibrate(target_precision=0.9, min_reuse=5) on the 101 labelled queries of
# tests/fixtures/searcher_queries.json (73 for the 13 seed skills, 28 that no skill does) with
# all-MiniLM-L6-v2 (id all-MiniLM-L6-v2-eb0a5040f8df); it chose 0.682 and 0.412, rounded here
# without moving any query across a threshold. Measured at these values (k = 5):
#   reuse  20 queries, precision 0.90 (18/20), recall 0.25 of in-library queries
#   adapt  52 queries, right skill in the top 5 for 44 (0.85), recall 0.60
#   new    29 queries, precision 0.72 (21/29), recall 0.75 of out-of-library queries
#   top-1 accuracy 0.67, top-5 recall 0.97 (in-library queries)
# Held out (cross_validate, 5 folds): reuse precision 0.86, new precision 0.58, recall 0.75.
# MiniLM does not separate paraphrases from near-miss tasks well ("pour the blocks out of the
# bowl" scores 0.68 against put_in); most in-library queries land in the adapt band on purpose.
TAU_REUSE = 0.68
"""Best similarity at or above which the top skill is reused as it is."""
TAU_NEW = 0.41
"""Best similarity below which no skill fits and a new one is needed."""
DEFAULT_K = 5


class QueryError(UserError, ValueError):
    """A search that cannot run: an empty, binary or huge query, or a k below 1."""


class SkillLike(Protocol):
    """What the Searcher reads of a skill (atomic and composite skills both have it)."""

    name: str
    description: str

    @property
    def signature(self) -> str:
        """The call with typed parameters."""
        ...


def skill_text(skill: SkillLike) -> str:
    """The text a skill is indexed by: ``"stack on: pick up a block and stack it on ..."``."""
    return f"{skill.name.replace('_', ' ')}: {skill.description}"


@dataclass(frozen=True)
class Match:
    """One skill found for a query."""

    name: str
    similarity: float
    """Cosine similarity of the query and the skill's text, in [-1, 1]."""
    signature: str


@dataclass(frozen=True)
class SearchResult:
    """The best skills for one query, best first, and what to do with them."""

    query: str
    matches: tuple[Match, ...]
    decision: Decision

    @property
    def best(self) -> Match | None:
        """The most similar skill (None only for an empty library)."""
        return self.matches[0] if self.matches else None

    @property
    def reused(self) -> str | None:
        """The skill to call as it is when the decision is ``reuse``, else None."""
        return self.matches[0].name if self.decision == "reuse" else None


class Searcher:
    """Skills of a library by similarity of their descriptions to a sub-goal.

    Example::

        searcher = Searcher(SkillLibrary.seed(), Embedder())
        result = searcher.search("put the red cube into the bowl")
        result.decision, result.best.name      # e.g. ("adapt", "put_in")
    """

    def __init__(
        self,
        library: SkillLibrary,
        embedder: TextEmbedder,
        cache: EmbeddingCache | None = None,
        tau_reuse: float = TAU_REUSE,
        tau_new: float = TAU_NEW,
    ) -> None:
        """Index ``library``; skill vectors come from ``cache`` (default: in memory only)."""
        if not -1.0 <= tau_new <= tau_reuse <= 1.0:
            raise ValueError(
                f"thresholds must satisfy -1 <= tau_new <= tau_reuse <= 1, got "
                f"tau_new={tau_new}, tau_reuse={tau_reuse}"
            )
        self.library = library
        self.embedder = embedder
        self.cache = cache if cache is not None else EmbeddingCache()
        self.tau_reuse = tau_reuse
        self.tau_new = tau_new
        self.names: tuple[str, ...] = ()
        self.signatures: tuple[str, ...] = ()
        self.matrix = np.empty((0, 0), dtype=np.float32)
        """One unit row per skill, in the order of ``names``."""
        self.fingerprint = ""
        """A hash of every indexed skill's name, signature and text."""
        self._revision: int | None = None
        self.refresh()

    # ----- the index ----------------------------------------------------------------------------
    def refresh(self) -> bool:
        """Rebuild the index if the library changed since it was built; True if it did.

        The library's revision tells at no cost whether anything changed; only then are the
        skills' texts hashed, and only texts the cache lacks are embedded.
        """
        if self.library.revision == self._revision:
            return False
        revision = self.library.revision
        skills = [self.library.get(name) for name in self.library.names()]
        texts = [skill_text(skill) for skill in skills]
        digest = hashlib.sha256()
        for skill, text in zip(skills, texts, strict=True):
            digest.update(f"{skill.name}\0{skill.signature}\0{text}\0".encode())
        if digest.hexdigest() == self.fingerprint:
            self._revision = revision
            return False
        matrix = self.cache.vectors(texts, self.embedder)
        self.matrix = np.ascontiguousarray(_unit_rows(matrix))
        self.names = tuple(skill.name for skill in skills)
        self.signatures = tuple(skill.signature for skill in skills)
        self.fingerprint = digest.hexdigest()
        self._revision = revision  # last: a failed rebuild is retried on the next call
        return True

    def __len__(self) -> int:
        return len(self.names)

    # ----- searching ----------------------------------------------------------------------------
    def search(self, query: str, k: int = DEFAULT_K) -> SearchResult:
        """The ``k`` skills most similar to ``query`` (best first) and the decision.

        Raises QueryError for an empty, binary or huge query (``text.MAX_TEXT_CHARS``); the
        embedder reads only the first ``embeddings.MAX_TOKENS`` tokens of a long one.
        """
        _check_k(k)
        text = _check_query(query)
        vector = self.embedder.embed([text])[0]
        return self.search_vector(vector, k, query=text)

    def search_vector(
        self, vector: np.ndarray, k: int = DEFAULT_K, query: str = ""
    ) -> SearchResult:
        """Like :meth:`search` for an already embedded query (any length; it is normalised)."""
        _check_k(k)
        self.refresh()
        vector = np.asarray(vector, dtype=np.float32)
        if vector.shape != (self.matrix.shape[1],):
            raise ValueError(
                f"expected a query vector of shape ({self.matrix.shape[1]},), got {vector.shape}"
            )
        norm = float(np.linalg.norm(vector))
        if not np.isfinite(norm) or norm == 0.0:
            raise ValueError("the query vector must be finite and non-zero")
        scores = self.matrix @ (vector / norm)
        top = _top_k(scores, k)
        matches = tuple(Match(self.names[i], float(scores[i]), self.signatures[i]) for i in top)
        return SearchResult(query, matches, self.decide(matches[0].similarity if matches else -1.0))

    def decide(self, similarity: float) -> Decision:
        """The decision for a best similarity, by the two thresholds."""
        return decide(similarity, self.tau_reuse, self.tau_new)

    def rank(self, queries: Sequence[str], k: int = DEFAULT_K) -> list[SearchResult]:
        """:meth:`search` for many queries, embedded in one batch (for calibration)."""
        _check_k(k)
        texts = [_check_query(query) for query in queries]
        vectors = self.embedder.embed(texts) if texts else []
        self.refresh()
        return [
            self.search_vector(vector, k, query=text)
            for vector, text in zip(vectors, texts, strict=True)
        ]


def _check_k(k: object) -> None:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise QueryError(f"k must be a positive integer, got {k!r}")


def _check_query(query: object) -> str:
    if not isinstance(query, str):
        raise TypeError(f"a query is a string describing a sub-goal, got {type(query).__name__}")
    if problem := text_problem(query, "the query"):
        raise QueryError(
            f"{problem}; describe the sub-goal in words, e.g. 'put the red cube into the bowl'"
        )
    return query.strip()


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim != 2:
        raise ValueError(f"expected an (n, dim) matrix of skill vectors, got {matrix.shape}")
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest scores, highest first (equal scores: lower index first)."""
    if k < len(scores):
        part = np.argpartition(scores, len(scores) - k)[len(scores) - k :]
        return part[np.lexsort((part, -scores[part]))]
    return np.argsort(-scores, kind="stable")


def decide(similarity: float, tau_reuse: float, tau_new: float) -> Decision:
    """Reuse at or above ``tau_reuse``, write anew below ``tau_new``, else adapt."""
    if similarity >= tau_reuse:
        return "reuse"
    return "adapt" if similarity >= tau_new else "new"
