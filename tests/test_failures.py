"""Every wrong plan gets a kind, so the planner benchmark can say what still fails."""

import pytest

from robolearn.planner.failures import failure_kind, most_common

TOWER = ["pick(b_block)", "place(b_block, a_block)", "pick(c_block)", "place(c_block, b_block)"]


@pytest.mark.parametrize(
    "planned, kind",
    [
        (["push(red_block, blue_zone)"], "too short"),
        (TOWER + ["pick(a_block)"], "too long"),
        (["pick(red_block)", "push(red_block, blue_zone)"], "wrong skill: push for place"),
        (["pick(red_block)", "place(red_block, green_zone)"], "wrong object: zone"),
        (["pick(blue_block)", "place(blue_block, blue_zone)"], "wrong object: block"),
        (["pick(red_block)", "place(red_block, blue_zone)"], "right plan, failed in sim"),
    ],
)
def test_a_wrong_plan_is_named_by_its_first_kind_of_mistake(planned, kind):
    right = ["pick(red_block)", "place(red_block, blue_zone)"]
    if planned[0] == "pick(b_block)":
        right = TOWER
    assert failure_kind(right, planned) == kind


def test_a_tower_built_upside_down_is_the_wrong_order():
    upside_down = [
        "pick(b_block)",
        "place(b_block, c_block)",
        "pick(a_block)",
        "place(a_block, b_block)",
    ]
    assert failure_kind(TOWER, upside_down) == "wrong order"


def test_a_row_built_to_the_wrong_side_is_a_wrong_side():
    right = ["pick(b_block)", "place_beside(b_block, a_block, right)"]
    planned = ["pick(b_block)", "place_beside(b_block, a_block, left)"]
    assert failure_kind(right, planned) == "wrong object: side"


def test_no_plan_and_a_refused_plan_are_told_apart():
    assert failure_kind(TOWER, None, "the model's answer 'x' is not a plan") == "no plan"
    assert failure_kind(TOWER, None, "invalid: no skill 'fly'") == "invalid plan"


def test_the_most_common_kinds_come_first_per_family():
    kinds = [("tower", "wrong order")] * 3 + [("stack", "too short")] + [("tower", "too long")]
    assert most_common(kinds, 2) == [("tower: wrong order", 3), ("stack: too short", 1)]
