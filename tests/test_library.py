"""The skill library: readable files, validated composites, versions that stay readable."""

import json

import pytest

from robolearn.calls import Call, parse_calls
from robolearn.skills.atomic import ATOMIC_SKILLS
from robolearn.skills.composite import Provenance, SkillFileError, skill_from_json
from robolearn.skills.executor import PlanValidationError, execute_plan
from robolearn.skills.library import (
    MAX_DEPTH,
    SkillDefinitionError,
    SkillLibrary,
    read_flat_folder,
)
from robolearn.tasks.env import TabletopEnv

STACK = {
    "format": 1,
    "name": "my_stack",
    "description": "stack a block on another",
    "params": [{"name": "a", "type": "block"}, {"name": "b", "type": "block"}],
    "steps": ["pick(a)", "place(a, b)"],
    "effect": ["on(a, b)"],
}


def skill(**changes):
    return skill_from_json({**STACK, **changes}, "test")


def test_the_seed_library_holds_atomic_and_composite_skills():
    library = SkillLibrary.seed()
    assert set(ATOMIC_SKILLS) <= set(library.names())
    assert {"put_in", "stack_on", "build_tower", "line_up_three", "sort_into_bowls"} <= set(
        library.composites
    )
    assert library.get("build_tower").signature == (
        "build_tower(bottom: block, middle: block, top: block)"
    )


def test_a_workspace_library_is_seeded_then_keeps_every_version(tmp_path):
    library = SkillLibrary.open(tmp_path)
    assert (tmp_path / "skills" / "stack_on" / "v0001.json").exists()
    original = library.get("stack_on")
    changed = skill(name="stack_on", description="stack one block on another, gently")
    stored = library.save(changed, Provenance("person", episode=7, note="clearer wording"))
    assert stored.version == 2
    assert library.save(changed) is stored, "an unchanged skill is not stored again"
    reopened = SkillLibrary.open(tmp_path)
    assert reopened.get("stack_on").description == "stack one block on another, gently"
    history = reopened.versions("stack_on")
    assert [v.version for v in history] == [1, 2]
    assert history[0] == original and history[1].provenance.episode == 7


def test_a_composite_call_expands_to_checked_atomic_calls():
    env = TabletopEnv("tower")
    try:
        env.reset(seed=0)
        a, b, c = (env.task.roles[r] for r in "abc")
        calls = SkillLibrary.seed().expand(Call("build_tower", (a, b, c)), env.world)
        assert [str(x) for x in calls] == [
            f"pick({b})",
            f"place({b}, {a})",
            f"pick({c})",
            f"place({c}, {b})",
        ]
        steps = execute_plan(env, [Call("build_tower", (a, b, c))], library=SkillLibrary.seed())
        assert steps[0].ok and env.task.succeeded(env.world)
        with pytest.raises(PlanValidationError, match="names the same object twice"):
            execute_plan(
                env, parse_calls(f"build_tower({a}, {a}, {c})"), library=SkillLibrary.seed()
            )
    finally:
        env.close()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"steps": []}, "steps"),
        ({"steps": "pick(a)"}, "steps"),
        ({"effect": ["above(a, b)"]}, "effect[0]"),
        ({"effect": ["on(a, c)"]}, "effect[0]"),
        ({"params": [{"name": "a", "type": "cube"}]}, "params[0]"),
        ({"format": 99}, None),
        ({"name": "My Stack"}, "name"),
        ({"steps": ["pick(a"]}, "steps[0]"),
    ],
)
def test_a_malformed_skill_file_names_the_field(changes, field):
    with pytest.raises(SkillFileError) as error:
        skill(**changes)
    assert "test" in str(error.value)
    if field:
        assert repr(field) in str(error.value)
    else:
        assert "upgrade robolearn" in str(error.value)


def test_a_file_must_be_named_after_its_skill(tmp_path):
    (tmp_path / "other.json").write_text(json.dumps(STACK))
    with pytest.raises(SkillFileError, match="must match the file name"):
        read_flat_folder(tmp_path)


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (["pick(a)", "teleport(a)"], "unknown skill 'teleport'"),
        (["pick(a)", "place(a)"], "takes 2 arguments"),
        (["pick(a)", "place(a, red_block)"], "objects must be passed in as parameters"),
        (["pick(a)", "place_beside(a, b, up)"], "must be one of left, right, front, back"),
        (["push(a, b)"], "parameter 'b' is a block, but push needs a zone"),
        (["my_stack(a, b)"], "cannot call itself"),
    ],
)
def test_a_composite_that_could_not_run_is_refused(steps, message):
    with pytest.raises(SkillDefinitionError, match=message):
        SkillLibrary().check(skill(steps=steps))


def test_an_atomic_name_cannot_be_taken():
    with pytest.raises(SkillDefinitionError, match="belongs to an atomic skill"):
        SkillLibrary().check(skill(name="pick"))


def test_composites_calling_each_other_in_a_cycle_are_refused():
    ping = skill(name="ping", steps=["pong(a, b)"])
    pong = skill(name="pong", steps=["ping(a, b)"])
    cycle = r"cycle: .*(ping → pong → ping|pong → ping → pong)"
    with pytest.raises(SkillDefinitionError, match=cycle):
        SkillLibrary([ping, pong])


def test_nesting_deeper_than_the_limit_is_refused():
    chain = [skill(name="level0")]
    for i in range(1, MAX_DEPTH + 1):
        chain.append(skill(name=f"level{i}", steps=[f"level{i - 1}(a, b)"]))
    with pytest.raises(SkillDefinitionError, match="nests 5 composites deep"):
        SkillLibrary(chain)


def test_a_composite_that_expands_past_the_limit_is_refused():
    big = skill(name="big", steps=["pick(a)", "place(a, b)"] * 20)
    bigger = skill(name="bigger", steps=["big(a, b)"] * 2)
    with pytest.raises(SkillDefinitionError, match="expands into 80 atomic calls"):
        SkillLibrary([big, bigger])


def test_a_new_version_that_would_break_its_callers_is_refused(tmp_path):
    library = SkillLibrary.open(tmp_path)
    three_params = skill(
        name="stack_on",
        params=[
            {"name": "a", "type": "block"},
            {"name": "b", "type": "block"},
            {"name": "c", "type": "block"},
        ],
    )
    with pytest.raises(SkillDefinitionError, match=r"build_tower.*takes 3 arguments"):
        library.save(three_params)
    assert [v.version for v in SkillLibrary.open(tmp_path).versions("stack_on")] == [1]
