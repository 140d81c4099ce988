"""Review where the robot is least sure: the queue by doubt, and how well doubt predicts failure."""

import itertools
import random

import pytest
from streamlit.testing.v1 import AppTest

from robolearn.doubt import auroc, doubt_report
from robolearn.records import EpisodeRecord, PlanOrigin
from robolearn.store import CorrectionRow, Store
from tests.test_dashboard import APP, page, texts


def pairwise(scores, positive):
    """The AUROC by its definition: over every (failure, success) pair, ties a half."""
    pairs = [
        (s, t)
        for (s, p), (t, q) in itertools.product(zip(scores, positive, strict=True), repeat=2)
        if p and not q
    ]
    return sum(1.0 if s > t else 0.5 if s == t else 0.0 for s, t in pairs) / len(pairs)


def test_the_auroc_is_the_chance_a_failure_was_doubted_more_than_a_success():
    assert auroc([0.9, 0.8, 0.1, 0.2], [True, True, False, False]) == 1.0
    assert auroc([0.1, 0.2, 0.9, 0.8], [True, True, False, False]) == 0.0
    assert auroc([0.5, 0.5], [True, False]) == 0.5
    assert auroc([0.3, 0.4], [True, True]) is None
    rng = random.Random(7)
    for _ in range(20):
        scores = [rng.choice([0.0, 0.1, 0.5, 0.9, rng.random()]) for _ in range(30)]
        positive = [rng.random() < 0.4 for _ in scores]
        if 0 < sum(positive) < len(positive):
            assert auroc(scores, positive) == pytest.approx(pairwise(scores, positive))
    with pytest.raises(ValueError, match="3 scores for 2 labels"):
        auroc([0.1, 0.2, 0.3], [True, False])


def doubted(doubt, success, family="stack"):
    return EpisodeRecord(
        family, 1, f"{family} with doubt {doubt}", "lm", ["pick(a)"], success=success,
        origin=PlanOrigin("model", model="m"), doubt=doubt,
    )  # fmt: skip


def test_the_report_skips_episodes_without_doubt():
    report = doubt_report(
        [doubted(0.9, False), doubted(0.2, True), doubted(0.4, False), doubted(None, False)]
    )
    assert (report.auroc, report.failures, report.successes) == (1.0, 2, 1)
    assert report.line().startswith("Doubt ranks a failure above a success 100% of the time")
    assert report.line().endswith("Few episodes yet: a rough figure.")
    assert "it needs both" in doubt_report([doubted(0.9, False)]).line()


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """Six model episodes with doubts, one of them corrected, and one recalled from memory."""
    with Store.open(tmp_path) as store:
        run = store.start_run("lm", 0)
        for doubt, success in ((0.1, True), (0.95, False), (0.3, True), (0.7, False), (0.5, True)):
            store.add_episode(run, doubted(doubt, success))
        corrected = store.add_episode(run, doubted(0.99, False))
        store.add_correction(CorrectionRow(corrected, 0, ["pick(a)"], ["pick(b)"], "ada"))
        store.add_episode(
            run,
            EpisodeRecord(
                "stack", 1, "recalled", "lm", ["pick(b)"], success=True,
                origin=PlanOrigin("memory", correction_id=1),
            ),
        )  # fmt: skip
    monkeypatch.setenv("ROBOLEARN_WORKSPACE", str(tmp_path))
    return tmp_path


def test_the_review_page_lists_the_most_doubted_first_and_opens_one_to_correct(workspace):
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    app.switch_page(page("review")).run()
    assert not app.exception and not app.error
    queue = app.dataframe[0].value
    assert list(queue["doubt"]) == [95, 70, 50, 30, 10]  # percent; the corrected one left out
    assert list(queue["id"]) == [2, 4, 5, 3, 1]
    assert any("AUROC 1.00 over 6 episodes: 3 failed" in c for c in texts(app.caption))
    app.toggle(key="review_uncorrected").set_value(False).run()
    assert list(app.dataframe[0].value["id"]) == [6, 2, 4, 5, 3, 1]

    app.button(key="review_correct").click().run()  # the most doubted
    assert not app.exception
    assert texts(app.title) == ["Correct"]
    assert app.selectbox(key="correct_episode").value == 6


def test_the_doubt_benchmark_scores_every_plan_of_a_real_model(tiny_model, tmp_path):
    """``python -m benchmarks.bench_doubt --quick`` as the README says, with the tiny model."""
    from robolearn.planner.bootstrap import bootstrap_families
    from robolearn.tasks.spec import load_families
    from tests.test_benchmarks import run_benchmark

    stdout, results = run_benchmark(
        "bench_doubt", tmp_path, "--model", str(tiny_model[0]), "--workspace", str(tmp_path)
    )
    plans = results["plans"]
    held_out = [p for p in plans if p["set"] == "held-out"]
    assert len(held_out) == 2 * len(load_families())  # 2 scenes of every family
    assert len(plans) - len(held_out) == 3 * 8  # 3 paraphrases of the 8 families with any
    assert all(0.0 <= p["doubt"] <= 1.0 for p in plans)
    taught = {f.name for f in bootstrap_families()}
    assert all(p["taught"] == (p["family"] in taught) for p in plans)
    assert results["auroc"] == auroc([p["doubt"] for p in plans], [not p["success"] for p in plans])
    assert f"over {len(plans)} episodes" in stdout or "Too few episodes" in stdout
