"""A user's story of bad input: whatever a person, a file or a model hands robolearn, it answers
with a typed error (a UserError) that says what was wrong, on one line, and changes nothing.

Each table is one kind of input and each row a case tried: instructions (through the Searcher,
the planner and ``robolearn plan``), task files, skill files, corrections and model output. The
bundle importer's cases live with its other refusals in ``test_bundle.py``. The last part is the
resource bounds: a plan, a composite skill or an episode that would run on stops with a reason.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from robolearn.agent import run_episode
from robolearn.calls import Call
from robolearn.cli import main
from robolearn.correction import CorrectionAPI, CorrectionError
from robolearn.errors import UserError
from robolearn.planner.lm import InstructionError, LMPlanner, PlanParseError, parse_answer
from robolearn.planner.oracle import OraclePlanner
from robolearn.rollout import RunRecorder
from robolearn.skills.composite import skill_from_json
from robolearn.skills.executor import MAX_PLAN_STEPS
from robolearn.skills.library import MAX_DEPTH, SkillDefinitionError, SkillLibrary
from robolearn.skills.params import SIDES
from robolearn.skills.searcher import QueryError, Searcher
from robolearn.store import MissingRowError, Store
from robolearn.tasks.env import TabletopEnv
from robolearn.tasks.spec import MAX_EPISODE_STEPS, TaskFileError, load_family
from robolearn.text import MAX_TEXT_CHARS
from tests.conftest import VALID_FAMILY


def files_of(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with its sha256: what "changes nothing" compares."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def assert_clear(error: BaseException, *fragments: str) -> None:
    """A typed error on one line that names what was wrong (each of ``fragments``)."""
    assert isinstance(error, UserError), f"{type(error).__name__}: {error}"
    message = str(error)
    assert "\n" not in message and len(message) < 1_000, message
    for fragment in fragments:
        assert fragment in message, message


# ----- instructions: through the Searcher, the planner and `robolearn plan` --------------------
MEGABYTE = "stack the red block on the blue one " * 30_000
BAD_INSTRUCTIONS = {
    "empty": ("", "is empty"),
    "blank": (" \n\t ", "is empty"),
    "1 MB": (MEGABYTE, f"the limit is {MAX_TEXT_CHARS:,}"),
    "NUL byte": ("stack the red\x00 block", r"binary character '\x00' at position 13"),
    "control bytes": (bytes(range(1, 9)).decode("ascii"), r"binary character '\x01'"),
    "undecodable argv byte": ("stack the r\udcffd block", r"binary character '\udcff'"),
    "terminal escape": ("\x1b[2Jstack the red block", r"binary character '\x1b'"),
}
"""Text no planner can read; the undecodable byte is what Python makes of b"\\xff" in argv."""
FOREIGN_INSTRUCTIONS = {
    "Chinese": "把红色方块放在蓝色方块上",
    "Arabic": "ضع المكعب الأحمر على المكعب الأزرق",
    "Russian": "положи красный блок на синий",
    "German umlauts": "stapel den roten Würfel auf den blauen",
    "emoji": "🟥 ➡️ 🟦 stack",
    "right-to-left mark": "\u202bstack the red block on the blue one",
}
"""Valid text in other scripts: a query or a plan comes back, whatever its quality."""


@pytest.fixture(scope="module")
def searcher_ws(tmp_path_factory):
    """A workspace's library and embedding cache behind a Searcher with the real embedder."""
    from robolearn.skills.embeddings import Embedder, EmbeddingCache

    workspace = tmp_path_factory.mktemp("searcher-ws")
    searcher = Searcher(
        SkillLibrary.open(workspace), Embedder(), cache=EmbeddingCache.for_workspace(workspace)
    )
    return searcher, workspace


@pytest.mark.parametrize(
    ("text", "problem"), BAD_INSTRUCTIONS.values(), ids=BAD_INSTRUCTIONS.keys()
)
def test_a_search_for_unreadable_text_says_so_and_touches_nothing(searcher_ws, text, problem):
    searcher, workspace = searcher_ws
    before = files_of(workspace)
    with pytest.raises(QueryError) as error:
        searcher.search(text)
    assert_clear(error.value, "the query", problem, "describe the sub-goal")
    assert files_of(workspace) == before


@pytest.mark.parametrize("text", FOREIGN_INSTRUCTIONS.values(), ids=FOREIGN_INSTRUCTIONS.keys())
def test_a_search_in_another_script_ranks_the_skills(searcher_ws, text):
    searcher, _ = searcher_ws
    result = searcher.search(text)
    assert len(result.matches) == 5 and result.decision in ("reuse", "adapt", "new")


@pytest.fixture(scope="module")
def planner(tiny_model):
    return LMPlanner(tiny_model[0], SkillLibrary.seed())


@pytest.fixture(scope="module")
def stack_scene():
    from robolearn.tasks.sampler import sample_task
    from robolearn.tasks.spec import get_family

    return sample_task(get_family("stack"), 0)


@pytest.mark.parametrize(
    ("text", "problem"), BAD_INSTRUCTIONS.values(), ids=BAD_INSTRUCTIONS.keys()
)
def test_the_planner_refuses_unreadable_instructions(planner, stack_scene, text, problem):
    with pytest.raises(InstructionError) as error:
        planner.plan_instruction(text, stack_scene.objects)
    assert_clear(error.value, "the instruction", problem, "say in words")


@pytest.mark.parametrize("text", FOREIGN_INSTRUCTIONS.values(), ids=FOREIGN_INSTRUCTIONS.keys())
def test_the_planner_plans_instructions_in_other_scripts(planner, stack_scene, text):
    plan = planner.plan_instruction(text, stack_scene.objects)
    words = {o.name for o in stack_scene.objects} | set(SIDES)
    assert plan and all(call.name in planner.library for call in plan)
    assert all(arg in words for call in plan for arg in call.args)


@pytest.mark.parametrize(
    ("text", "problem"), BAD_INSTRUCTIONS.values(), ids=BAD_INSTRUCTIONS.keys()
)
def test_robolearn_plan_refuses_them_in_one_line_before_any_model_loads(
    tmp_path, capsys, text, problem
):
    workspace = tmp_path / "ws"
    code = main(["plan", text, "--family", "stack", "--workspace", str(workspace)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("robolearn plan: error: the instruction") and err.count("\n") == 1
    assert problem in err
    assert not workspace.exists(), "nothing was built or opened"


def test_robolearn_plan_takes_an_instruction_in_chinese(tiny_model, tmp_path, capsys):
    code = main(
        [
            "plan",
            FOREIGN_INSTRUCTIONS["Chinese"],
            "--family",
            "stack",
            "--model",
            str(tiny_model[0]),
            "--workspace",
            str(tmp_path),
        ]
    )
    assert code == 0 and "  1. " in capsys.readouterr().out


# ----- task files -------------------------------------------------------------------------------
def swap(old: str, new: str):
    """A change of the valid family file: ``old`` (which must be there) becomes ``new``."""

    def change(text: str) -> str:
        assert old in text
        return text.replace(old, new, 1)

    return change


TOP = '[objects.top]\nkind = "block"\n'
TEMPLATE = '"stack the {top} on the {base}"'
BAD_FAMILIES = {
    "no description": (
        swap('description = "Stack one block on another."\n', ""),
        "description",
        "missing",
    ),
    "no objects": (lambda t: t.split("[objects.top]")[0], "objects", "missing"),
    "no success": (swap('success = ["on(top, base)"]\n', ""), "success", "missing"),
    "no oracle": (swap('oracle = ["pick(top)", "place(top, base)"]\n', ""), "oracle", "missing"),
    "instructions a string": (swap(f"[{TEMPLATE}]", TEMPLATE), "instructions", "expected list"),
    "objects an array": (
        lambda t: t.split("[objects.top]")[0] + "objects = [1, 2]\n",
        "objects",
        "expected dict",
    ),
    "kind a number": (swap(TOP, "[objects.top]\nkind = 3\n"), "objects.top.kind", "expected str"),
    "colours a string": (
        swap(TOP, TOP + 'colours = "red"\n'),
        "objects.top.colours",
        "expected a list of colour names",
    ),
    "colours nested": (
        swap(TOP, TOP + 'colours = [["red"]]\n'),
        "objects.top.colours",
        "expected a list of colour names",
    ),
    "x not numbers": (swap(TOP, TOP + 'x = ["a", 1]\n'), "objects.top.x", "expected [low, high]"),
    "x nan": (swap(TOP, TOP + "x = [nan, 0.5]\n"), "objects.top.x", "expected [low, high]"),
    "y inf": (swap(TOP, TOP + "y = [0.0, inf]\n"), "objects.top.y", "expected [low, high]"),
    "template format spec": (
        swap(TEMPLATE, '"stack the {top:d} on the {base}"'),
        "instructions[0]",
        "formats {top} with :d",
    ),
    "template conversion": (
        swap(TEMPLATE, '"stack the {top!r} on the {base}"'),
        "instructions[0]",
        "formats {top} with !r",
    ),
    "template nested field": (
        swap(TEMPLATE, '"stack the {top:{base}}"'),
        "instructions[0]",
        "formats {top}",
    ),
    "template index": (swap(TEMPLATE, '"stack the {top[0]}"'), "instructions[0]", "{top[0]}"),
    "template 300 kB": (  # a whole file past 1 MB is refused before parsing (test_hostile_files)
        swap(TEMPLATE, '"' + "stack the {top} on the {base} " * 10_000 + '"'),
        "instructions[0]",
        "the limit is",
    ),
    "description with NUL": (
        swap('"Stack one block on another."', '"Stack\\u0000 it"'),
        "description",
        "binary character",
    ),
    "success of wrong arity": (
        swap("on(top, base)", "on(top)"),
        "success[0]",
        "on(top) does not fit on(top, base)",
    ),
    "success with a number": (
        swap("on(top, base)", "on(top, 3)"),
        "success[0]",
        "passes the numbers [3.0]",
    ),
    "success unterminated": (swap("on(top, base)", "on(top, base"), "success[0]", "not a call"),
    "success empty": (
        swap('success = ["on(top, base)"]', "success = []"),
        "success",
        "at least one",
    ),
    "max_steps past the cap": (
        swap("oracle =", f"max_steps = {MAX_EPISODE_STEPS + 1}\noracle ="),
        "max_steps",
        f"from 1 to {MAX_EPISODE_STEPS}",
    ),
    "max_steps a bool": (
        swap("oracle =", "max_steps = true\noracle ="),
        "max_steps",
        "expected an integer",
    ),
}


@pytest.mark.parametrize(
    ("change", "field", "problem"), BAD_FAMILIES.values(), ids=BAD_FAMILIES.keys()
)
def test_a_bad_family_file_is_refused_on_load(family_file, change, field, problem):
    path = family_file(change(VALID_FAMILY))
    with pytest.raises(TaskFileError) as error:
        load_family(path)
    assert_clear(error.value, str(path), f"field {field!r}", problem)


def test_a_binary_family_file_says_it_cannot_be_read(family_file):
    path = family_file()
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(TaskFileError) as error:
        load_family(path)
    assert_clear(error.value, str(path), "cannot read")


def test_an_oracle_calling_an_unknown_skill_is_recorded_not_raised(family_file):
    # The tasks layer knows no skills, so the file loads; the episode says what is wrong.
    family = load_family(family_file(swap('"pick(top)"', '"teleport(top)"')(VALID_FAMILY)))
    env = TabletopEnv(family)
    try:
        record = run_episode(env, OraclePlanner(), 0, library=SkillLibrary.seed())
    finally:
        env.close()
    assert "unknown skill 'teleport'" in record.error
    assert record.steps == [] and record.control_steps == 0


# ----- skill files: `robolearn skills add` and saving into a workspace's library ----------------
STACK = {
    "format": 1,
    "name": "demo_stack",
    "description": "stack a block on another",
    "params": [{"name": "top", "type": "block"}, {"name": "base", "type": "block"}],
    "steps": ["pick(top)", "place(top, base)"],
    "effect": ["on(top, base)"],
}
BAD_SKILL_FILES = {
    "not JSON": ("{not json", "cannot read"),
    "a list": ([STACK], "expected a JSON object"),
    **{
        f"no {key}": ({k: v for k, v in STACK.items() if k != key}, f"field {key!r}: missing")
        for key in ("format", "name", "description", "params", "steps", "effect")
    },
    "format 0": ({**STACK, "format": 0}, "0 is no format"),
    "format a string": ({**STACK, "format": "1"}, "expected int, got str"),
    "name with a path": ({**STACK, "name": "../evil"}, "snake_case name"),
    "name not ASCII": ({**STACK, "name": "stäck"}, "ASCII"),
    "name too long for a folder": ({**STACK, "name": "a" * 300}, "at most 64"),
    "params a mapping": ({**STACK, "params": {"top": "block"}}, "expected list, got dict"),
    "param without type": ({**STACK, "params": [{"name": "top"}]}, "'params[0]'"),
    "steps a string": ({**STACK, "steps": "pick(top)"}, "expected list, got str"),
    "step a number": ({**STACK, "steps": [3]}, "expected a call as a string"),
    "step unterminated": ({**STACK, "steps": ["pick(top"]}, "not a call"),
    "step infinite": ({**STACK, "steps": ["move_to(1e999, 0, 0.3)"]}, "finite number"),
    "effect of wrong arity": ({**STACK, "effect": ["on(top)"]}, "does not fit on(top, base)"),
    "effect with a number": ({**STACK, "effect": ["on(top, 3)"]}, "passes the numbers"),
    "provenance id a string": (
        {**STACK, "provenance": {"source": "seed", "episode": "x"}},
        "'provenance.episode': expected an id",
    ),
    "provenance unknown": ({**STACK, "provenance": {"source": "internet"}}, "'provenance'"),
    "version 0": ({**STACK, "version": 0}, "expected a positive integer"),
    "description with NUL": ({**STACK, "description": "stack\x00"}, "binary character"),
    "description 1 MB": ({**STACK, "description": "x" * 1_000_000}, "the limit is"),
}


@pytest.fixture
def workspace(tmp_path):
    """A workspace whose library has been seeded (its skill files exist)."""
    SkillLibrary.open(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("content", "problem"), BAD_SKILL_FILES.values(), ids=BAD_SKILL_FILES.keys()
)
def test_skills_add_refuses_a_bad_skill_file_in_one_line(
    workspace, tmp_path_factory, capsys, content, problem
):
    file = tmp_path_factory.mktemp("upload") / "demo_stack.json"
    file.write_text(content if isinstance(content, str) else json.dumps(content))
    before = files_of(workspace)
    code = main(
        [
            "skills",
            "add",
            str(file),
            "--family",
            "stack",
            "--args",
            "top,base",
            "--workspace",
            str(workspace),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("robolearn skills add: error: ") and err.count("\n") == 1
    assert problem in err
    assert files_of(workspace) == before


def composite(name: str, steps: list[str], **changes: object) -> dict:
    return {**STACK, "name": name, "steps": steps, **changes}


BAD_DEFINITIONS = {
    "unknown skill": (composite("demo_stack", ["teleport(top)"]), "unknown skill 'teleport'"),
    "wrong arity": (composite("demo_stack", ["pick(top, base)"]), "takes 1 arguments"),
    "object not passed in": (
        composite("demo_stack", ["pick(red_block)"]),
        "objects must be passed in as parameters",
    ),
    "bad side": (
        composite("demo_stack", ["place_beside(top, base, up)"]),
        "must be one of left, right, front, back",
    ),
    "number out of reach": (composite("demo_stack", ["move_to(5, 0, 0.3)"]), "out of reach"),
    "nan argument": (composite("demo_stack", ["move_to(nan, 0, 0.3)"]), "must be a number"),
    "calls itself": (composite("demo_stack", ["demo_stack(top, base)"]), "cannot call itself"),
    # build_tower calls stack_on, so stack_on calling build_tower closes a cycle.
    "cycle through the library": (
        composite(
            "stack_on",
            ["build_tower(top, base, base)"],
            params=[{"name": "top", "type": "block"}, {"name": "base", "type": "block"}],
        ),
        "cycle",
    ),
    "breaks a caller": (
        composite("stack_on", ["pick(top)"], params=[{"name": "top", "type": "block"}], effect=[]),
        "build_tower",
    ),
}


@pytest.mark.parametrize(("data", "problem"), BAD_DEFINITIONS.values(), ids=BAD_DEFINITIONS.keys())
def test_a_skill_that_could_not_run_is_not_saved(workspace, data, problem):
    library = SkillLibrary.open(workspace)
    before, skills = files_of(workspace), dict(library.composites)
    with pytest.raises(SkillDefinitionError) as error:
        library.save(skill_from_json(data, "demo.json"))
    assert_clear(error.value, problem)
    assert files_of(workspace) == before and dict(library.composites) == skills


# ----- corrections ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """The correction API over a workspace holding one stack episode (id 1), seed 4."""
    workspace = tmp_path_factory.mktemp("corrections")
    library = SkillLibrary.seed()
    store = Store.open(workspace)
    env = TabletopEnv("stack")
    try:
        RunRecorder(store, store.start_run("oracle", 4), workspace).save(
            run_episode(env, OraclePlanner(), 4, library=library)
        )
    finally:
        env.close()
    api = CorrectionAPI(store, library)
    yield api
    api.close()
    store.close()


GOOD = "open_gripper()"
BAD_CORRECTIONS = {
    "episode 0": (0, GOOD, "ada", "", MissingRowError, "has no episode 0"),
    "episode -1": (-1, GOOD, "ada", "", MissingRowError, "has no episode -1"),
    "unknown episode": (999, GOOD, "ada", "", MissingRowError, "has no episode 999"),
    "episode past 64 bits": (2**70, GOOD, "ada", "", MissingRowError, "positive whole numbers"),
    "episode as text": ("1", GOOD, "ada", "", MissingRowError, "has no episode '1'"),
    "episode nan": (float("nan"), GOOD, "ada", "", MissingRowError, "has no episode nan"),
    "unknown skill": (1, "teleport({top})", "ada", "", CorrectionError, "unknown skill"),
    "unknown object": (1, "pick(green_cube)", "ada", "", CorrectionError, "no object named"),
    "too few arguments": (1, "place({top})", "ada", "", CorrectionError, "takes 2 arguments"),
    "too many arguments": (
        1,
        "pick({top}, {base})",
        "ada",
        "",
        CorrectionError,
        "takes 1 arguments",
    ),
    "bad side": (
        1,
        "place_beside({top}, {base}, up)",
        "ada",
        "",
        CorrectionError,
        "must be one of left",
    ),
    "same object twice": (1, "place({top}, {top})", "ada", "", CorrectionError, "twice"),
    "nan pose": (1, "move_to(nan, 0, 0.3)", "ada", "", CorrectionError, "must be a number"),
    "inf pose": (1, "move_to(0.5, inf, 0.3)", "ada", "", CorrectionError, "must be a number"),
    "overflowing pose": (1, "move_to(1e999, 0, 0.3)", "ada", "", CorrectionError, "finite number"),
    "nan pose as a call": (
        1,
        [Call("move_to", (float("nan"), 0.0, 0.3))],
        "ada",
        "",
        CorrectionError,
        "must be a number, got nan",
    ),
    "inf pose as a call": (
        1,
        [Call("move_to", (0.5, 0.0, float("-inf")))],
        "ada",
        "",
        CorrectionError,
        "must be a number, got -inf",
    ),
    "pose out of reach": (1, "move_to(0.5, 0, 9)", "ada", "", CorrectionError, "out of reach"),
    "unterminated": (1, "pick({top}", "ada", "", CorrectionError, "does not parse"),
    "empty plan": (1, "", "ada", "", CorrectionError, "the plan is empty"),
    "plan past the limit": (
        1,
        "open_gripper()\n" * (MAX_PLAN_STEPS + 1),
        "ada",
        "",
        CorrectionError,
        f"more than the limit of {MAX_PLAN_STEPS}",
    ),
    "1 MB plan": (1, "open_gripper()\n" * 70_000, "ada", "", CorrectionError, "the limit"),
    "NUL in the plan": (1, "open_gripper()\x00", "ada", "", CorrectionError, "does not parse"),
    "the same plan": (
        1,
        "pick({top})\nplace({top}, {base})",
        "ada",
        "",
        CorrectionError,
        "already ran",
    ),
    "nobody": (1, GOOD, " ", "", CorrectionError, "who is empty"),
    "a huge who": (1, GOOD, "a" * 1_000, "", CorrectionError, "who is 1,000 characters"),
    "NUL in who": (1, GOOD, "ada\x00", "", CorrectionError, "binary character"),
    "a 1 MB why": (1, GOOD, "ada", "x" * 1_000_000, CorrectionError, "why is 1,000,000"),
    "binary why": (1, GOOD, "ada", "oops\x07", CorrectionError, "binary character"),
}


@pytest.mark.parametrize(
    ("episode", "plan", "who", "why", "kind", "problem"),
    BAD_CORRECTIONS.values(),
    ids=BAD_CORRECTIONS.keys(),
)
def test_a_bad_correction_is_refused_and_nothing_is_appended(
    api, episode, plan, who, why, kind, problem
):
    roles = api.task_of(api.store.episode(1)).roles
    plan = plan.format(**roles) if isinstance(plan, str) else plan
    before = api.store.corrections()
    with pytest.raises(kind) as error:
        api.propose(episode, plan, who=who, why=why)
    assert_clear(error.value, problem)
    assert api.store.corrections() == before


# ----- model output: parsed, validated, recorded ------------------------------------------------
GARBAGE_ANSWERS = {
    "nothing": ("", "holds no call"),
    "separators only": (" ; ;\n; ", "holds no call"),
    "unterminated call": ("pick(red_block", "not a call"),
    "unterminated second call": ("pick(red_block); place(", "not a call"),
    "no parentheses": ("pick red_block", "not a call"),
    "nested call": ("pick(pick(red_block))", "nested or unbalanced"),
    "two calls run together": ("pick(a) place(a, b)", "nested or unbalanced"),
    "chat token": ("<|im_end|>", "not a call"),
    "python": ("import os; os.system('rm -rf ~')", "not a call"),
    "prose": ("Sure! Here is the plan: pick the red block.", "not a call"),
    "binary": ("\x00\x01\x02", "not a call"),
    "space in a name": ("pick(red block)", "bad argument"),
    "overflowing number": ("move_to(1e999, 0, 0.3)", "finite number"),
    "other script": ("挑(红)", "not a call"),
    "runaway": ("pick(" * 100_000, "not a call"),
}
WRONG_PLANS = {
    "unknown skill": ("teleport({top})", "unknown skill 'teleport'"),
    "too few arguments": ("pick()", "takes 1 arguments"),
    "too many arguments": ("pick({top}, {base})", "takes 1 arguments"),
    "unknown object": ("pick(ghost_block)", "no object named 'ghost_block'"),
    "number for an object": ("pick(3)", "must be the name of a block"),
    "object for a number": ("move_to({top}, 0, 0.3)", "must be a number"),
    "second step wrong": ("pick({top}); place({top}, table)", "step 2"),
    "past the plan limit": (
        "; ".join(["open_gripper()"] * (MAX_PLAN_STEPS + 1)),
        f"more than the limit of {MAX_PLAN_STEPS}",
    ),
}


class ScriptedAnswer:
    """A planner that "writes" a fixed answer, parsed as the LM planner parses its model's."""

    name = "scripted"

    def __init__(self, answer: str) -> None:
        self.answer = answer

    def plan(self, task):
        return parse_answer(self.answer.format(**task.roles) if "{" in self.answer else self.answer)


@pytest.fixture(scope="module")
def stack_env():
    env = TabletopEnv("stack")
    yield env
    env.close()


@pytest.mark.parametrize(
    ("answer", "problem"), GARBAGE_ANSWERS.values(), ids=GARBAGE_ANSWERS.keys()
)
def test_a_model_answer_that_is_no_plan_is_refused_quoting_it(answer, problem):
    with pytest.raises(PlanParseError) as error:
        parse_answer(answer)
    assert_clear(error.value, "the model's answer", problem)


@pytest.mark.parametrize(
    ("answer", "problem"),
    {**GARBAGE_ANSWERS, **WRONG_PLANS}.values(),
    ids={**GARBAGE_ANSWERS, **WRONG_PLANS}.keys(),
)
def test_an_episode_records_why_the_answer_could_not_run_and_nothing_moves(
    stack_env, answer, problem
):
    record = run_episode(stack_env, ScriptedAnswer(answer), 0, library=SkillLibrary.seed())
    assert problem in record.error and len(record.error) < 1_000
    assert record.steps == [] and record.control_steps == 0 and not record.success


# ----- resource bounds --------------------------------------------------------------------------
def test_a_plan_longer_than_the_limit_is_refused_before_the_robot_moves(stack_env):
    plan = "; ".join(["pick({top})", "place({top}, {base})"] * (MAX_PLAN_STEPS // 2 + 1))
    record = run_episode(stack_env, ScriptedAnswer(plan), 0, library=SkillLibrary.seed())
    assert record.error == (
        f"plan: {MAX_PLAN_STEPS + 2} steps is more than the limit of {MAX_PLAN_STEPS}"
    )
    assert stack_env.elapsed_steps == 0


def test_a_composite_nested_past_the_limit_is_not_saved(workspace):
    library = SkillLibrary.open(workspace)
    deepest = "stack_on"  # a composite of atomic skills: depth 1
    for depth in range(2, MAX_DEPTH + 1):
        library.save(skill_from_json(composite(f"level{depth}", [f"{deepest}(top, base)"]), "test"))
        deepest = f"level{depth}"
    before = files_of(workspace)
    too_deep = composite("one_level_too_deep", [f"{deepest}(top, base)"])
    with pytest.raises(SkillDefinitionError) as error:
        library.save(skill_from_json(too_deep, "test"))
    assert_clear(error.value, f"nests {MAX_DEPTH + 1} composites deep; the limit is {MAX_DEPTH}")
    assert files_of(workspace) == before


def test_an_episode_past_its_step_budget_stops_with_the_reason(family_file):
    family = load_family(family_file(VALID_FAMILY.replace("oracle =", "max_steps = 30\noracle =")))
    env = TabletopEnv(family)
    try:
        record = run_episode(env, OraclePlanner(), 0, library=SkillLibrary.seed())
    finally:
        env.close()
    [step] = record.steps  # the pick ran out of steps; the place never started
    assert not step.ok and step.reason == "budget"
    assert step.message == "the episode's budget of 30 control steps ran out"
    assert record.control_steps == 30 and not record.success
