"""The Streamlit dashboard through AppTest: every page, a run, a correction, the skills.

Each test points ``ROBOLEARN_WORKSPACE`` at a fresh workspace; ``app.py`` reads it on every
script run, as it does under ``streamlit run``.
"""

import ast
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from robolearn.agent import run_episode
from robolearn.dashboard import correct, episode_view, episodes, progress, skills
from robolearn.dashboard.navigation import PAGES, page_file
from robolearn.records import EpisodeRecord, StepRecord
from robolearn.rollout import RunRecorder
from robolearn.skills.bundle import import_bundle
from robolearn.skills.library import SkillLibrary
from robolearn.store import CorrectionRow, Store
from robolearn.tasks.env import TabletopEnv
from tests.conftest import SwappedPlanner, modules_loaded_by, shown

APP = Path(__file__).resolve().parents[1] / "app.py"


def page(name):
    return f"robolearn/dashboard/{name}.py"


def store_episode(workspace, planner, family="stack", seed=4, frames=True):
    """Store one episode through RunRecorder, as a headless run does; its id."""
    with Store.open(workspace) as store:
        recorder = RunRecorder(store, store.start_run(planner.name, seed), workspace, frames=frames)
        env = TabletopEnv(family)
        try:
            return recorder.save(run_episode(env, planner, seed, frames=frames))
        finally:
            env.close()


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("ROBOLEARN_WORKSPACE", str(tmp_path))
    return tmp_path


@pytest.fixture
def app(workspace):
    return AppTest.from_file(str(APP), default_timeout=60).run()


def texts(elements):
    """What each element shows a person (its Markdown rendered)."""
    return [shown(element.value) for element in elements]


def test_every_page_renders_on_an_empty_workspace(app):
    assert not app.exception and texts(app.title) == ["Episodes"]  # the default page
    for spec in PAGES:
        app.switch_page(page(spec.module)).run()
        assert not app.exception, spec.module
        assert not app.error, (spec.module, texts(app.error))
        assert app.title[0].value
    app.switch_page(page("episodes")).run()
    assert any("No episodes here yet" in text for text in texts(app.info))
    app.switch_page(page("learning")).run()
    assert any("robolearn bootstrap --workspace" in text for text in texts(app.info))


def test_the_lm_planner_says_how_to_build_its_model(app):
    app.switch_page(page("run")).run()
    app.radio(key="run_planner").set_value("lm").run()
    assert any("robolearn bootstrap --workspace" in text for text in texts(app.info))
    assert app.button(key="run_go").disabled


def test_run_an_episode_then_correct_it_and_see_the_correction(app, workspace):
    app.switch_page(page("run")).run()
    app.selectbox(key="run_family").select("stack")
    app.number_input(key="run_seed").set_value(4)
    app.radio(key="run_planner").set_value("oracle")
    app.button(key="run_go").click().run()
    assert not app.exception and not app.error
    assert any("Stored as episode 1" in text for text in texts(app.success))
    assert app.get("image"), "the run's frames are shown"

    app.switch_page(page("episodes")).run()
    listed = app.dataframe[0].value
    assert list(listed["id"]) == [1] and list(listed["family"]) == ["stack"]
    assert app.selectbox(key="episodes_open").value == 1
    assert shown(app.subheader[0].value).startswith("#1 stack seed 4 (oracle)") and app.get("image")

    app.switch_page(page("correct")).run()
    assert app.selectbox(key="correct_episode").value == 1  # the open episode
    plan = app.text_area(key="correct_plan_1")
    assert plan.value.startswith("pick(")
    plan.input("open_gripper()\n" + plan.value)  # insert a line: still a correct plan
    app.text_input(key="correct_who").input("ada")
    app.text_input(key="correct_why_1").input("open the gripper first")
    app.button(key="correct_rerun").click().run()
    assert not app.exception and not app.error
    assert any("the task succeeded with the corrected plan" in t for t in texts(app.success))
    with Store.open(workspace) as store:
        assert store.corrections() == []  # a re-run stores nothing

    app.button(key="correct_save").click().run()
    assert any("Saved correction 1" in text for text in texts(app.success))
    assert not [button for button in app.button if button.key == "correct_save"]
    [listed] = app.dataframe[-1].value.to_dict("records")
    assert listed["who"] == "ada" and listed["re-run"] == "succeeded"
    with Store.open(workspace) as store:
        [saved] = store.corrections(episode_id=1)
    assert saved.who == "ada" and saved.why == "open the gripper first"
    assert saved.rerun_success and saved.corrected[0] == "open_gripper()"


@pytest.mark.parametrize(
    ("plan", "who", "message"),
    [
        ("pick(green_cube)", "ada", "no object named 'green_cube'"),
        ("pick(", "ada", "does not parse"),
        (None, "", "say who"),
    ],
)
def test_a_bad_correction_shows_an_error_and_writes_nothing(app, workspace, plan, who, message):
    store_episode(workspace, SwappedPlanner())
    app.switch_page(page("correct")).run()
    if plan is not None:
        app.text_area(key="correct_plan_1").input(plan)
    app.text_input(key="correct_who").input(who)
    app.button(key="correct_rerun").click().run()
    assert not app.exception
    assert any(message in text for text in texts(app.error))
    assert not [b for b in app.button if b.key == "correct_save"]
    with Store.open(workspace) as store:
        assert store.corrections() == []


def test_episodes_from_a_headless_run_appear_on_the_next_rerun(app, workspace):
    app.switch_page(page("episodes")).run()
    assert not app.dataframe
    store_episode(workspace, SwappedPlanner(), seed=5)
    app.button(key="episodes_refresh").click().run()
    assert list(app.dataframe[0].value["planner"]) == ["swapped"]
    app.radio(key="episodes_outcome").set_value("succeeded").run()
    assert not app.dataframe  # the swapped plan failed


def test_the_skills_page_lists_the_seed_skills(app):
    app.switch_page(page("skills")).run()
    listed = set(app.dataframe[0].value["skill"])
    assert {"pick", "place", "stack_on", "build_tower"} <= listed
    assert listed == set(SkillLibrary.seed().names())
    app.text_input(key="skills_query").input("tower").run()
    assert list(app.dataframe[0].value["skill"]) == ["build_tower"]


def test_the_pages_load_no_physics_or_ml_stack_until_used():
    modules = ", ".join(f"robolearn.dashboard.{spec.module}" for spec in PAGES)
    loaded = modules_loaded_by(
        f"import robolearn.dashboard.navigation, {modules}",
        ("pybullet", "torch", "transformers", "peft"),
    )
    assert loaded == []


def test_page_modules_have_no_top_level_expression_that_magic_would_show():
    for spec in PAGES:  # Streamlit writes a page script's bare expressions to the page
        tree = ast.parse(page_file(spec.module).read_text(encoding="utf-8"))
        assert not [n.lineno for n in tree.body[1:] if isinstance(n, ast.Expr)], spec.module


# ----- the pages' plain functions ---------------------------------------------------------------
def test_step_rows_mark_the_steps_after_a_failure_as_not_run():
    steps = [StepRecord("pick(a)", ok=False, reason="grasp", message="missed", ticks=9)]
    rows = episode_view.step_rows(["pick(a)", "place(a, b)"], steps)
    assert [row["outcome"] for row in rows] == ["failed (grasp)", "not run"]


def test_list_episodes_filters_by_family_and_outcome(workspace):
    with Store.open(workspace) as store:
        run = store.start_run("test", 0)
        for family, success in (("stack", True), ("tower", False), ("stack", False)):
            store.add_episode(run, EpisodeRecord(family, 0, "do it", "test", [], success=success))
        assert [e.id for e in episodes.list_episodes(store)] == [3, 2, 1]
        assert [e.id for e in episodes.list_episodes(store, "stack", "failed")] == [3]
        assert [e.id for e in episodes.list_episodes(store, outcome="succeeded")] == [1]
        store.add_correction(CorrectionRow(3, 0, [], ["pick(a)"], "ada", rerun_success=True))
        rows = progress.correction_counts(store.episodes(limit=None), store.corrections())
    assert rows == [{"family": "stack", "corrections": 1, "re-runs succeeded": 1}]


def test_rolling_success_is_per_family_over_the_last_episodes():
    rows = [
        EpisodeRecord(family, 0, "", "test", [], success=ok, id=i)
        for i, (family, ok) in enumerate(
            [("a", True), ("b", False), ("a", False), ("a", False)], start=1
        )
    ]
    rates = [(r["family"], r["success rate"]) for r in progress.rolling_success(rows, window=2)]
    assert rates == [("a", 1.0), ("b", 0.0), ("a", 0.5), ("a", 0.0)]


def test_the_export_is_a_bundle_another_workspace_imports(tmp_path):
    data = skills.export_zip(SkillLibrary.seed())
    (tmp_path / "skills.zip").write_bytes(data)
    other = SkillLibrary(root=tmp_path / "other" / "skills")
    report = import_bundle(other, tmp_path / "skills.zip")
    assert set(report.added) == set(SkillLibrary.seed().composites)


def test_correction_rows_read_the_corrected_plan():
    rows = correct.correction_rows(
        [CorrectionRow(1, 1, ["a()"], ["a()", "b()"], "ada", "why", None, id=7, created="now")]
    )
    assert rows == [
        {
            "id": 7,
            "created": "now",
            "who": "ada",
            "why": "why",
            "from step": 2,
            "re-run": "not re-run",
            "corrected plan": "a(); b()",
        }
    ]
