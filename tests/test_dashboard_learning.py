"""The Learning page: a workspace that learned a round shows its verdict, matrix and curves; a
round starts after a confirmation, runs in its own process while the page shows its progress,
and the page says how it ended; one click rolls back to the base model."""

import shutil
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from robolearn.dashboard import learning, training
from robolearn.store import Store
from tests.test_dashboard import APP, page, texts

ROUND_LOG = Path(__file__).parent / "fixtures" / "round_log.txt"
"""What a real `robolearn train` wrote while it ran (a tiny model's round, three bars)."""


@pytest.fixture
def workspace(taught, push_only_model, tmp_path, monkeypatch):
    """The taught workspace (round 1 in use), its base model as its default model."""
    workspace = tmp_path / "ws"
    shutil.copytree(taught[0], workspace)
    shutil.copytree(push_only_model, workspace / "models" / "default")  # the same base model
    monkeypatch.setenv("ROBOLEARN_WORKSPACE", str(workspace))
    return workspace


def until_done(app, timeout=240.0):
    """Rerun the page (as its poll does) until no round runs; the last run."""
    deadline = time.monotonic() + timeout
    while learning._JOB in app.session_state and time.monotonic() < deadline:
        assert app.get("progress"), "a running round shows its progress"
        time.sleep(1.0)
        app.run()
    assert learning._JOB not in app.session_state, "the round did not end in time"
    return app


def test_the_learning_page_shows_the_round_and_rolls_back(workspace):
    app = AppTest.from_file(str(APP), default_timeout=120).run()
    app.switch_page(page("learning")).run()
    assert not app.exception and not app.error
    assert "planning with the adapter of round 1" in texts(app.caption)[1]
    assert any("Round 1 was promoted" in text for text in texts(app.success))
    assert not any("No training rounds yet" in text for text in texts(app.info))
    matrix = app.dataframe[0].value
    assert list(matrix.index) == ["base", "1"]
    assert matrix.loc["1", "stack"] == 1.0 and matrix.loc["base", "stack"] == 0.0

    app.selectbox(key="learning_use_choice").select("base")
    app.button(key="learning_use").click().run()
    assert not app.exception
    assert "planning with the base model alone" in texts(app.caption)[1]
    with Store.open(workspace) as store:
        assert store.adapter_log()[-1].why == "chosen in the dashboard"


def test_a_round_asks_first_then_runs_in_its_own_process_and_says_how_it_ended(workspace):
    app = AppTest.from_file(str(APP), default_timeout=120).run()
    app.switch_page(page("learning")).run()
    app.button(key="learning_train").click().run()
    assert any("in the background" in m for m in texts(app.markdown))  # asked, not started
    assert learning._JOB not in app.session_state
    app.button(key="learning_cancel").click().run()
    assert not [b for b in app.button if b.key == "learning_start"]

    app.button(key="learning_train").click().run()
    app.button(key="learning_start").click().run()
    job = app.session_state[learning._JOB]
    assert job.process.pid and job.log.parent == workspace / "logs"
    until_done(app)
    # Nothing was corrected since round 1: the round refuses to start, and the page says so.
    assert any("nothing new to learn" in text for text in texts(app.error))
    with Store.open(workspace) as store:
        assert [r.id for r in store.rounds()] == [1]


@pytest.mark.slow
def test_a_round_from_the_page_trains_in_the_background_and_the_page_shows_its_verdict(
    workspace,
):
    from robolearn.correction import CorrectionAPI
    from robolearn.learn.corrector import SimulatedCorrector
    from robolearn.skills.library import SkillLibrary
    from tests.conftest import SwappedPlanner
    from tests.test_provenance import run_and_store

    failed = run_and_store(workspace, SwappedPlanner(), seed=5, frames=False)
    with Store.open(workspace) as store:
        api = CorrectionAPI(store, SkillLibrary.open(workspace))
        SimulatedCorrector(api).correct(failed.id)
        api.close()
    app = AppTest.from_file(str(APP), default_timeout=120).run()
    app.switch_page(page("learning")).run()
    app.button(key="learning_train").click().run()
    app.button(key="learning_start").click().run()
    until_done(app, timeout=1200)
    assert not app.exception
    with Store.open(workspace) as store:
        last = store.rounds()[-1]
    assert last.id == 2 and last.status in ("promoted", "refused")
    assert any(t.startswith("Round 2 was") for t in texts(app.success) + texts(app.warning))


def test_a_rounds_progress_is_read_from_its_bars():
    log = ROUND_LOG.read_text(encoding="utf-8")
    assert training.log_progress("") == training.Progress(0.0, "starting")
    cut = log.index("evaluating the adapter in use:  50%")
    halfway = training.log_progress(log[: cut + 80])
    assert halfway.phase == "evaluating the adapter in use"
    assert halfway.fraction == pytest.approx(0.5 + 0.25 * 6 / 12)
    assert training.log_progress(log) == training.Progress(1.0, "evaluating the new adapter")
    training_only = training.log_progress(log[: log.index("evaluating the adapter in use")])
    assert training_only.fraction == pytest.approx(0.5) and training_only.phase.startswith(
        "LoRA round"
    )


def test_the_matrix_curves_and_verdict_read_the_rounds(taught):
    with Store.open(taught[0]) as store:
        rounds = store.rounds()
    matrix = learning.success_matrix(rounds)
    assert [row["round"] for row in matrix] == ["base", "1"]
    curves = learning.forgetting_curves(rounds)
    stack = [(p["after round"], p["success"]) for p in curves if p["family"] == "stack"]
    assert stack == [(0, 0.0), (1, 1.0)]
    promoted, sentence = learning.latest_verdict(rounds)
    assert promoted and sentence.startswith("Round 1 was promoted")
    assert learning.latest_verdict([]) is None
