"""What the words say stands on what, and which goals contradict them."""

from robolearn.calls import parse_calls
from robolearn.learn.grounding import ground
from robolearn.learn.relations import above_pairs, contradictions, goal_stands_on

SCENE = ["red", "blue", "green", "yellow", "purple"]


def said(words):
    return above_pairs(ground(words, SCENE))


def test_on_onto_on_top_of_and_under_set_one_colour_above_the_next():
    assert said("the crimson cube on top of the blue one") == [("red", "blue")]
    assert said("green onto yellow, then purple under red") == [
        ("green", "yellow"),
        ("red", "purple"),
    ]
    assert said("red block on the blue block on the green block") == [
        ("red", "blue"),
        ("blue", "green"),
    ]


def test_other_words_between_colours_set_nothing():
    assert said("a tower: blue on the bottom, then red, then green") == []
    assert said("red and then blue onto green") == [("blue", "green")]
    assert said("put red beside blue") == []


def test_a_goal_contradicts_words_that_it_turns_upside_down_even_through_a_tower():
    objects = {"red_block": "red", "blue_block": "blue", "green_block": "green"}
    tower = goal_stands_on(
        parse_calls("on(blue_block, green_block); on(red_block, blue_block)"), objects
    )
    assert contradictions([("red", "blue"), ("red", "green")], tower) == 0
    assert contradictions([("green", "red"), ("blue", "red")], tower) == 2
    assert contradictions([("yellow", "red")], tower) == 0, "what the goal leaves alone"
