import pytest

from robolearn.calls import (
    Call,
    CallSyntaxError,
    first_difference,
    format_calls,
    parse_call,
    parse_calls,
)


def test_a_plan_round_trips_through_text():
    text = "pick(red_block)\nplace(red_block, blue_bowl)\nmove_to(0.5, -0.1, 0.2)"
    plan = parse_calls(text)
    assert plan[1] == Call("place", ("red_block", "blue_bowl"))
    assert plan[2].args == (0.5, -0.1, 0.2)
    assert format_calls(plan) == text


def test_semicolons_and_blank_lines_separate_calls():
    assert [c.name for c in parse_calls("open_gripper();\n\n close_gripper() ;")] == [
        "open_gripper",
        "close_gripper",
    ]


def test_binding_roles_replaces_only_named_arguments():
    call = parse_call("place_beside(b, a, right)").bind({"a": "red_block", "b": "blue_block"})
    assert str(call) == "place_beside(blue_block, red_block, right)"


@pytest.mark.parametrize(
    "text",
    [
        "pick red_block",
        "pick(red_block",
        "pick((red_block))",
        "pick(red block)",
        "move_to(1e999, 0, 0)",
        "pick(__import__('os'))",
        "",
        "place(a,)",
    ],
)
def test_malformed_calls_are_refused_with_the_offending_text(text):
    with pytest.raises(CallSyntaxError) as error:
        parse_call(text)
    assert text.strip() in str(error.value)


@pytest.mark.parametrize(
    ("a", "b", "first"),
    [
        (["pick(a)", "place(a, b)"], ["pick(b)", "place(b, a)"], 0),
        (["pick(a)", "place(a, b)"], ["pick(a)", "place_beside(a, b, left)"], 1),
        (["pick(a)"], ["pick(a)", "place(a, b)"], 1),  # one goes on: where it does
        (["pick(a)", "place(a, b)"], ["pick(a)"], 1),
        (["pick(a)"], ["pick(a)"], 1),
        ([], ["pick(a)"], 0),
    ],
)
def test_the_first_difference_of_two_plans_is_where_a_correction_starts(a, b, first):
    assert first_difference(a, b) == first
