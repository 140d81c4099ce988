"""A user's story of hostile text in the dashboard: a skill imported from someone's bundle, an
instruction, a correction's who and why, each holding an image link, a link, HTML, Streamlit
colour directives and LaTeX. Every page shows them as written and renders none of them.

The pages run in a real Streamlit AppTest; everything each element would render as Markdown is
rendered here with a CommonMark renderer (markdown-it), and must hold no image, no link and no
HTML of the text's making, while the text itself reads as it was written.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from robolearn.records import EpisodeRecord, StepRecord
from robolearn.skills.bundle import export_bundle, import_bundle
from robolearn.skills.composite import skill_from_json
from robolearn.skills.library import SkillLibrary
from robolearn.store import CorrectionRow, Store
from tests.conftest import shown

APP = Path(__file__).resolve().parents[1] / "app.py"
HOSTILE = (
    "![pixel](https://attacker.example/pixel.png) "
    "[repair the library](https://attacker.example/fix) "
    "<img src=x onerror=alert(1)> <b>bold</b> <script>alert(2)</script> "
    ":red[alarm] :material/warning: $x^2$ **strong** `code` &amp; #1"
)
"""Markup of every kind Streamlit's Markdown would act on."""


def rendered_markdown(app: AppTest) -> list[str]:
    """Every string the page hands Streamlit to render as Markdown."""
    kinds = ("markdown", "caption", "title", "header", "subheader")
    alerts = ("error", "warning", "info", "success")
    values = [e.value for kind in kinds + alerts for e in app.get(kind)]
    widgets = ("selectbox", "text_input", "text_area", "button", "radio", "number_input")
    return values + [w.label for kind in widgets for w in app.get(kind)]


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A workspace holding a hostile skill (imported from a bundle), episode and correction."""
    workspace = tmp_path / "ws"
    data = {
        "format": 1,
        "name": "stack_twice",
        "description": HOSTILE,
        "params": [{"name": "top", "type": "block"}, {"name": "base", "type": "block"}],
        "steps": ["stack_on(top, base)"],
        "effect": ["on(top, base)"],
    }
    source = SkillLibrary([*SkillLibrary.seed().composites.values(), skill_from_json(data, "x")])
    export_bundle(source, tmp_path / "bundle")
    import_bundle(SkillLibrary.open(workspace), tmp_path / "bundle")
    with Store.open(workspace) as store:
        episode = store.add_episode(
            store.start_run("oracle", 0),
            EpisodeRecord(
                family="stack",
                seed=0,
                instruction=HOSTILE,
                planner="oracle",
                plan=["stack_twice(red_block, blue_block)"],
                steps=[StepRecord("stack_twice(red_block, blue_block)", ok=False, message=HOSTILE)],
                error=HOSTILE,
            ),
        )
        store.add_correction(
            CorrectionRow(
                episode_id=episode,
                step_index=0,
                proposed=["stack_twice(red_block, blue_block)"],
                corrected=["stack_on(red_block, blue_block)"],
                who=HOSTILE,
                why=HOSTILE,
            )
        )
    monkeypatch.setenv("ROBOLEARN_WORKSPACE", str(workspace))
    return workspace


def page(name: str) -> str:
    return f"robolearn/dashboard/{name}.py"


def visit(app: AppTest, name: str) -> AppTest:
    app.switch_page(page(name)).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_the_hostile_text_is_stored_as_written(workspace):
    assert SkillLibrary.open(workspace).get("stack_twice").description == HOSTILE
    with Store.open(workspace) as store:
        assert store.episode(1).instruction == HOSTILE
        assert store.corrections()[0].why == HOSTILE


@pytest.mark.parametrize("name", ["skills", "episodes", "correct", "progress", "learning", "run"])
def test_no_page_renders_text_from_data_as_markdown(workspace, name):
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    visit(app, name)
    if name == "skills":
        app.selectbox(key="skills_show").select("stack_twice").run()
        app.text_input(key="skills_query").input("alarm").run()  # the filter matches it
    for markdown in rendered_markdown(app):
        shown(markdown)  # no image, link or HTML


def test_the_skills_page_shows_the_description_as_written(workspace):
    app = visit(AppTest.from_file(str(APP), default_timeout=60).run(), "skills")
    app.selectbox(key="skills_show").select("stack_twice").run()
    assert HOSTILE in [e.value for e in app.text], "shown with st.text, as written"
    assert HOSTILE in list(app.dataframe[0].value["description"])


def test_the_episode_and_its_correction_read_as_written(workspace):
    app = visit(AppTest.from_file(str(APP), default_timeout=60).run(), "episodes")
    assert HOSTILE in [e.value for e in app.text]  # the instruction
    assert any(HOSTILE in shown(e.value) for e in app.error)  # the plan's error, escaped
    visit(app, "correct")
    assert HOSTILE in [e.value for e in app.text]
    [correction] = app.dataframe[-1].value.to_dict("records")
    assert correction["who"] == HOSTILE and correction["why"] == HOSTILE


def test_an_error_quoting_input_is_shown_escaped(workspace):
    """A correction whose plan names a hostile object: the error quotes it, as text."""
    app = visit(AppTest.from_file(str(APP), default_timeout=60).run(), "correct")
    app.text_area(key="correct_plan_1").input("pick(a_b)\n<img src=x onerror=alert(1)>")
    app.text_input(key="correct_who").input("ada")
    app.button(key="correct_rerun").click().run()
    errors = [shown(e.value) for e in app.error]
    assert any("<img src=x onerror=alert(1)>" in text for text in errors), errors


def test_escaping_keeps_the_words_and_drops_the_markup():
    from robolearn.dashboard.plain import escaped

    assert shown(escaped(HOSTILE)) == HOSTILE
    assert shown(escaped("line one\nline two\u202e")) == "line one line two"
    assert escaped("a\x1b[31mb") == "a \\[31mb"  # a terminal escape: no control byte left
