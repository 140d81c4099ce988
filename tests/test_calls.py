import pytest

from robolearn.calls import Call, CallSyntaxError, format_calls, parse_call, parse_calls


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
