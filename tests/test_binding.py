"""Binding a remembered plan's roles to another scene's objects, by the scene and the words."""

import pytest

from robolearn.calls import parse_calls
from robolearn.learn.binding import bind, lift_plan
from robolearn.learn.grounding import ground
from robolearn.tasks.sampler import sample_task
from robolearn.tasks.spec import get_family


def bound(name, seed, instruction, meaning=None):
    """The oracle plan of ``name`` bound to scene ``seed`` by ``instruction`` (or None)."""
    family = get_family(name)
    task = sample_task(family, seed)
    grounding = ground(instruction, {o.colour for o in task.objects})
    binding = bind(family, family.oracle, grounding, task.objects, meaning)
    return task, None if binding is None else binding.plan(family.oracle)


def test_the_scene_says_which_block_of_a_stack_is_on_top_whatever_order_the_words_take():
    task = sample_task(get_family("flip_stack"), 3)
    bottom, top = (task.roles[r].split("_")[0] for r in ("a", "b"))
    for words in (f"the {bottom} and {top} pile: turn it upside down", f"invert {top} on {bottom}"):
        assert bound("flip_stack", 3, words)[1] == list(task.oracle)


def test_the_order_of_the_colours_named_says_which_block_goes_where():
    family = get_family("put_between")
    task = sample_task(family, 9)
    x, a, c = (task.roles[r].split("_")[0] for r in ("x", "a", "c"))
    _, plan = bound("put_between", 9, f"the {x} block should go halfway from the {a} to the {c}")
    assert plan == list(task.oracle)


def test_any_binding_that_sets_the_same_goal_will_do():
    # any order of the blocks clears the table; the words name none of them
    task, plan = bound("clear_table", 5, "tidy everything into the bin")
    assert plan is None  # the family's phrasings always name the blocks: these words do not
    order = [task.roles[r] for r in ("c", "a", "b")]
    names = " and the ".join(name.replace("_", " ") for name in order)
    task, plan = bound("clear_table", 5, f"drop the {names} in the bin")
    assert [c.args[0] for c in plan[::2]] == order  # in the order named: as good as any
    assert all(c.name == "place" and c.args[1] == task.roles["bin"] for c in plan[1::2])


def test_a_binding_the_words_cannot_decide_is_refused():
    task = sample_task(get_family("put_between"), 9)
    colour = task.roles["a"].split("_")[0]
    assert bound("put_between", 9, f"put the {colour} block between the other two")[1] is None


def test_a_plan_naming_an_object_that_plays_no_role_is_not_lifted():
    roles = {"top": "red_block", "base": "blue_block"}
    assert lift_plan(parse_calls("pick(red_block); place(red_block, blue_block)"), roles) == tuple(
        parse_calls("pick(top); place(top, base)")
    )
    assert lift_plan(parse_calls("pick(green_block)"), roles) is None


def test_words_that_set_one_colour_on_another_decide_a_towers_order():
    # top first: the order of the colours alone reads as "bottom up" (another phrasing), and
    # the whole sentence's meaning barely tells the two apart; "on top of" does
    from robolearn.learn.meaning import Meaning

    task = sample_task(get_family("two_towers"), 517)
    a, b, c, d, e, f = (task.roles[r].split("_")[0] for r in "abcdef")
    words = f"I'd like {c} on top of {b} on top of {a}, and {f} on top of {e} on top of {d}"
    _, plan = bound("two_towers", 517, words, Meaning())
    assert plan == list(task.oracle)
    words = f"I need two piles: {a} under {b} under {c}, and {d} under {e} under {f}"
    assert bound("two_towers", 517, words, Meaning())[1] == list(task.oracle)


@pytest.mark.parametrize(
    "words",
    [
        "make two stacks with {a} and {d} as the bases: {b} then {c} on {a}, {e} then {f} on {d}",
        "two towers, top to bottom: {c}, {b}, {a} and {f}, {e}, {d}",
        "Tower A: {a} (bottom), {b}, {c} (top). Tower B: {d} (bottom), {e}, {f} (top).",
        "on {a} stack {b} and then {c}; on {d} stack {e} and then {f}",
        "{a} gets {b} then {c}, {d} gets {e} then {f}",
        "{b} resting on {a} with {c} capping it, plus {e} on {d} with {f} capping that",
        "build {c}-over-{b}-over-{a} and {f}-over-{e}-over-{d}",
        "{a} supports {b} which supports {c}, {d} supports {e} which supports {f}",
    ],
)
def test_two_towers_said_the_ways_people_say_them_bind_to_the_towers_meant(words):
    from robolearn.learn.meaning import Meaning

    task = sample_task(get_family("two_towers"), 545)
    colours = {r: task.roles[r].split("_")[0] for r in "abcdef"}
    _, plan = bound("two_towers", 545, words.format(**colours), Meaning())
    assert plan == list(task.oracle)
