"""The Streamlit dashboard through AppTest: every page, a run, a correction, the tables.

Each test points ``ROBOLEARN_WORKSPACE`` at a fresh workspace (a real SQLite store, real
PyBullet episodes); ``app.py`` reads it on every script run, as it does under
``streamlit run``.
"""

import ast
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from robolearn.agent import run_episode
from robolearn.dashboard import correct, correcting, look, progress
from robolearn.dashboard.navigation import PAGES, page_file
from robolearn.planner.oracle import OraclePlanner
from robolearn.records import EpisodeRecord, PlanOrigin, StepRecord
from robolearn.rollout import RunRecorder
from robolearn.skills.library import SkillLibrary
from robolearn.store import CorrectionRow, Store
from robolearn.tasks.env import TabletopEnv
from robolearn.tasks.sampler import sample_task
from robolearn.tasks.spec import get_family
from tests.conftest import SwappedPlanner, modules_loaded_by

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


def texts(elements, field="value"):
    """What a person reads in these elements: their Markdown with its escapes undone."""
    return [re.sub(r"\\(.)", r"\1", str(getattr(element, field))) for element in elements]


def complaints(app):
    """The error lines a page shows about what a person did (not an episode's verdict)."""
    return texts([e for e in app.error if e.icon != ":material/flag:"])


def oracle_plan(family="stack", seed=4):
    return "\n".join(map(str, sample_task(get_family(family), seed).oracle))


def test_every_page_renders_on_an_empty_workspace(app):
    assert not app.exception and texts(app.title) == ["Episodes"]  # "/" opens Episodes
    for spec in PAGES:
        app.switch_page(page(spec.module)).run()
        assert not app.exception, spec.module
        assert not app.error, (spec.module, texts(app.error))
        assert app.title[0].value
    app.switch_page(page("episodes")).run()
    assert any("No episodes here yet" in text for text in texts(app.info))
    app.switch_page(page("review")).run()
    assert any("No episode has a doubt yet" in text for text in texts(app.info))
    app.switch_page(page("correct")).run()
    assert any("No failed episodes to correct" in text for text in texts(app.info))
    app.switch_page(page("learning")).run()
    assert any("robolearn bootstrap" in text for text in texts(app.info))


def test_without_a_model_the_run_page_offers_the_oracle_and_says_how_to_build_one(app):
    app.switch_page(page("run")).run()
    assert app.radio(key="run_planner").value == "oracle"
    assert not app.button(key="run_go").disabled
    app.radio(key="run_planner").set_value("lm").run()
    assert any("robolearn bootstrap" in text for text in texts(app.info))
    assert app.button(key="run_go").disabled


def test_a_run_on_the_run_page_is_stored_with_its_frames_and_origin(app, workspace):
    app.switch_page(page("run")).run()
    app.selectbox(key="run_family").select("stack")
    app.number_input(key="run_seed").set_value(4)
    app.button(key="run_go").click().run()
    assert not app.exception and not app.error
    assert any("Stored as episode 1" in text for text in texts(app.success))
    assert any("The task succeeded." in text for text in texts(app.success))
    assert any("from the oracle planner's script" in c for c in texts(app.caption))
    assert len(app.get("image")) >= 2, "the chosen frame and the filmstrip"
    with Store.open(workspace) as store:
        episode = store.episode(1)
    assert episode.origin == PlanOrigin("scripted") and episode.start_frame_path


def test_correct_opens_the_newest_failure_and_save_stores_it_in_one_click(app, workspace):
    failed = store_episode(workspace, SwappedPlanner())
    store_episode(workspace, OraclePlanner(), seed=5)  # newer, but it succeeded
    app.switch_page(page("correct")).run()
    assert app.selectbox(key="correct_episode").value == failed
    assert app.selectbox(key="correct_episode").options == [f"✗ #{failed} stack seed 4 (swapped)"]
    assert any("Unmet goal: on(" in e for e in texts(app.error))
    [goals] = [d.value for d in app.dataframe if "at the end" in d.value.columns]
    assert list(goals["at the end"]) == ["✗ unmet"]
    app.text_area(key=f"correct_plan_{failed}").input(oracle_plan())
    app.text_input(key="correct_who").input("ada")
    app.text_input(key=f"correct_why_{failed}").input("the other block goes on top")
    app.button(key="correct_save").click().run()
    assert not app.exception and not complaints(app)
    assert any("Saved correction #1 by ada" in t for t in texts(app.success))
    listed = app.dataframe[-1].value.to_dict("records")
    assert [(c["who"], c["re-run"]) for c in listed] == [("ada", "succeeded")]
    with Store.open(workspace) as store:
        [saved] = store.corrections(episode_id=failed)
    assert saved.why == "the other block goes on top" and saved.rerun_success

    app.button(key="correct_save").click().run()  # the same again: refused, nothing stored
    assert any("already correction #1" in e for e in complaints(app))
    with Store.open(workspace) as store:
        assert len(store.corrections()) == 1


def test_try_in_simulation_says_which_goal_is_still_unmet_and_stores_nothing(app, workspace):
    failed = store_episode(workspace, SwappedPlanner())
    app.switch_page(page("correct")).run()
    top_first = oracle_plan().split("\n")[0]
    app.text_area(key=f"correct_plan_{failed}").input(top_first)  # picks, never places
    app.text_input(key="correct_who").input("ada")
    app.button(key="correct_rerun").click().run()
    assert not app.exception and not complaints(app)
    assert any("Not saved" in w and "unmet: on(" in w for w in texts(app.warning))
    diff = next(c.value for c in app.code if c.language == "diff")
    assert diff.startswith("- 1 ") and f"+ 1 {top_first}" in diff
    with Store.open(workspace) as store:
        assert store.corrections() == []


@pytest.mark.parametrize(
    ("plan", "who", "message"),
    [
        ("pick(green_cube)", "ada", "no object named 'green_cube'"),
        ("pick(", "ada", "does not parse"),
        (None, "", "say who"),
    ],
)
def test_a_bad_correction_shows_one_line_and_writes_nothing(app, workspace, plan, who, message):
    failed = store_episode(workspace, SwappedPlanner())
    app.switch_page(page("correct")).run()
    if plan is not None:
        app.text_area(key=f"correct_plan_{failed}").input(plan)
    app.text_input(key="correct_who").input(who)
    app.button(key="correct_save").click().run()
    assert not app.exception
    [error] = complaints(app)
    assert message in error and "\n" not in error
    with Store.open(workspace) as store:
        assert store.corrections() == []


def test_the_correct_page_lists_the_scene_and_the_skills_to_write_with(app, workspace):
    store_episode(workspace, SwappedPlanner())
    app.switch_page(page("correct")).run()
    tables = [d.value for d in app.dataframe]
    [scene] = [t for t in tables if "object" in t.columns]
    assert set(scene["object"]) == {o.name for o in sample_task(get_family("stack"), 4).objects}
    [skills] = [t for t in tables if "signature" in t.columns]
    library = SkillLibrary.seed()
    assert list(skills["signature"]) == [library.get(name).signature for name in library.names()]


def many_episodes(workspace, count=60):
    """``count`` stored episodes without simulation: every third failed, on two families."""
    with Store.open(workspace) as store:
        run = store.start_run("test", 0)
        for i in range(count):
            family = "stack" if i % 2 else "tower"
            store.add_episode(
                run,
                EpisodeRecord(
                    family, i, f"instruction number {i}", "test", ["pick(a)"],
                    steps=[StepRecord("pick(a)", ok=i % 3 != 0, reason="grasp", message="missed")],
                    success=i % 3 != 0, origin=PlanOrigin("scripted"),
                ),
            )  # fmt: skip


def test_episodes_are_paged_searched_filtered_and_opened_by_a_click(app, workspace):
    many_episodes(workspace)
    app.switch_page(page("episodes")).run()
    table = app.dataframe[0].value
    assert len(table) == 50 and list(table["id"][:2]) == [60, 59]  # newest first
    assert any("Episodes 1-50 of 60" in c for c in texts(app.caption))
    assert set(table[""]) == {"✓", "✗"}
    assert set(table.loc[table[""] == "✗", "failed at / why"]) == {"step 1 pick(a): missed"}
    app.button(key="episodes_older").click().run()
    assert list(app.dataframe[0].value["id"]) == list(range(10, 0, -1))
    app.text_input(key="episodes_search").input("number 57").run()  # its own first page
    assert list(app.dataframe[0].value["id"]) == [58]  # "instruction number 57"
    app.text_input(key="episodes_search").input("").run()
    app.button_group(key="episodes_outcome").set_value("failed").run()
    found = app.dataframe[0].value
    assert len(found) == 20 and set(found[""]) == {"✗"}
    app.session_state["episodes_table_0"] = {"selection": {"rows": [3], "columns": []}}
    app.run()
    opened = found.iloc[3]
    [title] = texts(app.subheader)
    assert title.endswith(f"#{opened['id']} {opened['family']} seed {opened['seed']} (test)")


def test_episodes_from_a_headless_run_appear_on_the_next_rerun(app, workspace):
    app.switch_page(page("episodes")).run()
    assert not app.dataframe
    store_episode(workspace, SwappedPlanner(), seed=5)
    app.button(key="episodes_refresh").click().run()
    assert list(app.dataframe[0].value["plan from"]) == ["scripted planner"]


def test_clicking_a_step_shows_the_frame_after_it(app, workspace):
    store_episode(workspace, SwappedPlanner())
    app.switch_page(page("episodes")).run()
    slider = app.select_slider(key="episodes_frame_1_chosen")
    assert slider.value == 2  # the last frame: every step ran
    app.session_state["episodes_frame_1_steps"] = {"selection": {"rows": [0], "columns": []}}
    app.run()
    assert app.select_slider(key="episodes_frame_1_chosen").value == 1
    [shown, _strip] = app.get("image")
    [caption] = texts([shown.proto.imgs[0]], "caption")
    assert caption.startswith("after step 1 pick(")


def test_the_skills_page_lists_the_seed_skills(app):
    app.switch_page(page("skills")).run()
    listed = set(app.dataframe[0].value["skill"])
    assert {"pick", "place", "stack_on", "build_tower"} <= listed
    assert listed == set(SkillLibrary.seed().names())
    app.text_input(key="skills_query").input("tower").run()
    assert list(app.dataframe[0].value["skill"]) == ["build_tower"]


def test_progress_shows_percentages_and_each_familys_own_episodes(app, workspace):
    many_episodes(workspace, count=6)
    with Store.open(workspace) as store:
        store.add_correction(
            CorrectionRow(1, 0, ["pick(a)"], ["pick(b)"], "ada", rerun_success=True)
        )
    app.switch_page(page("progress")).run()
    assert not app.exception
    families = app.dataframe[0].value
    assert list(families["family"]) == ["stack", "tower"]
    assert [round(v, 4) for v in families["success"]] == [round(2 / 3, 4), round(2 / 3, 4)]
    assert [m.value for m in app.metric] == ["6", "67%", "1"]


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
def test_a_failure_reads_where_and_why_in_one_cell():
    steps = [StepRecord("pick(a)", ok=True), StepRecord("place(a, b)", ok=False, message="fell")]
    failed = EpisodeRecord("stack", 0, "", "t", ["pick(a)", "place(a, b)", "x()"], steps=steps)
    assert look.failed_at(failed) == "step 2 place(a, b): fell"
    ran = EpisodeRecord("stack", 0, "", "t", ["pick(a)"], steps=steps[:1], unmet=["on(a, b)"])
    assert look.failed_at(ran) == "every step ran; unmet: on(a, b)"
    refused = EpisodeRecord("stack", 0, "", "t", [], error="no skill 'fly'")
    assert look.failed_at(refused) == "plan refused: no skill 'fly'"
    assert look.percent(1 / 7) == "14%" and look.percent(None) == "-"


def test_the_diff_reads_as_the_robots_steps_out_and_the_corrected_steps_in():
    robot = ["pick(a)", "place(a, b)"]
    corrected = correcting.plan_lines(" open_gripper()\npick(b)\n\nplace(b, a)\n")
    assert corrected == ["open_gripper()", "pick(b)", "place(b, a)"]
    assert correcting.plan_diff(robot, ["pick(a)", "place(b, a)"]) == (
        "  1 pick(a)\n- 2 place(a, b)\n+ 2 place(b, a)"
    )
    assert correcting.change_summary(robot, robot).startswith("No change yet")
    assert correcting.change_summary(robot, corrected) == (
        "Changes from step 1: 2 steps of the robot's plan out, 3 in."
    )


def test_rolling_success_is_per_family_over_its_own_episodes():
    rows = [
        EpisodeRecord(family, 0, "", "test", [], success=ok, id=i)
        for i, (family, ok) in enumerate(
            [("a", True), ("b", False), ("a", False), ("a", False)], start=1
        )
    ]
    rates = [
        (r["family"], r["episode of the family"], r["success"])
        for r in progress.rolling_success(rows, window=2)
    ]
    assert rates == [("a", 1, 1.0), ("b", 1, 0.0), ("a", 2, 0.5), ("a", 3, 0.0)]


def test_corrections_over_time_count_up_from_the_first_episode():
    made = [CorrectionRow(1, 0, [], [], "ada", created=t) for t in ("t2", "t3")]
    assert progress.corrections_over_time(made, since="t1") == [
        {"time": "t1", "corrections so far": 0},
        {"time": "t2", "corrections so far": 1},
        {"time": "t3", "corrections so far": 2},
    ]


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
