"""The Learning page: a workspace that learned a round shows its matrix and curves, refuses a
round with nothing new, and rolls back to the base model with one click."""

import shutil

from streamlit.testing.v1 import AppTest

from robolearn.dashboard import learning
from robolearn.store import Store
from tests.conftest import shown
from tests.test_dashboard import APP, page, texts


def test_the_learning_page_shows_the_round_and_rolls_back(
    taught, push_only_model, tmp_path, monkeypatch
):
    workspace = tmp_path / "ws"
    shutil.copytree(taught[0], workspace)
    shutil.copytree(push_only_model, workspace / "models" / "default")  # the same base model
    monkeypatch.setenv("ROBOLEARN_WORKSPACE", str(workspace))
    app = AppTest.from_file(str(APP), default_timeout=120).run()
    app.switch_page(page("learning")).run()
    assert not app.exception and not app.error
    assert "planning with the adapter of round 1" in shown(app.caption[0].value)
    matrix = app.dataframe[0].value
    assert list(matrix.index) == ["base", "1"]
    assert matrix.loc["1", "stack"] == 1.0 and matrix.loc["base", "stack"] == 0.0

    app.button(key="learning_train").click().run()
    assert any("nothing new to learn" in text for text in texts(app.error))

    app.selectbox(key="learning_use_choice").select("base")
    app.button(key="learning_use").click().run()
    assert not app.exception
    assert "planning with the base model alone" in shown(app.caption[0].value)
    with Store.open(workspace) as store:
        assert store.adapter_log()[-1].why == "chosen in the dashboard"


def test_the_matrix_and_curves_read_the_rounds(taught):
    with Store.open(taught[0]) as store:
        rounds = store.rounds()
    matrix = learning.success_matrix(rounds)
    assert [row["round"] for row in matrix] == ["base", "1"]
    curves = learning.forgetting_curves(rounds)
    stack = [(p["after round"], p["success"]) for p in curves if p["family"] == "stack"]
    assert stack == [(0, 0.0), (1, 1.0)]
