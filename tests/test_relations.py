"""What the words say stands on what, and which goals contradict them."""

from robolearn.calls import parse_calls
from robolearn.learn.grounding import ground
from robolearn.learn.relations import Said, contradictions, goal_stands_on, read

SCENE = ["red", "blue", "green", "yellow", "purple"]


def said(words):
    return read(ground(words, SCENE))


def test_a_connector_sets_one_colour_on_the_next():
    assert said("the crimson cube on top of the blue one").above == (("red", "blue"),)
    assert said("green onto yellow, then purple under red").above == (
        ("green", "yellow"),
        ("red", "purple"),
    )
    assert said("red block on the blue block on the green block").above == (
        ("red", "blue"),
        ("blue", "green"),
    )
    assert said("blue, which rests on green").above == (("blue", "green"),)
    assert said("green carries red").above == (("red", "green"),)
    assert said("blue block, which rests on green").above == (("blue", "green"),)
    assert said("red on the top of blue").above == (("red", "blue"),)


def test_a_sequence_stacked_onto_a_support_goes_up_in_the_order_named():
    chain = (("red", "green"), ("blue", "red"))
    assert set(said("red and then blue onto green").above) >= set(chain)
    assert said("on green put red then blue").above == chain
    assert said("green gets red then blue").above == chain
    assert said("the green block with red and then blue on it").above == chain


def test_a_colours_place_in_its_tower_is_read_where_it_is_said():
    assert said("blue (bottom), red, green (top)") == Said(
        bottoms=frozenset({"blue"}), tops=frozenset({"green"})
    )
    assert said("red and blue as the bases").bottoms == {"red", "blue"}
    assert said("the bases are red and blue; green on top").bottoms == {"red", "blue"}
    assert said("bottom blue, middle red, top green") == Said(
        bottoms=frozenset({"blue"}), tops=frozenset({"green"})
    )
    assert said("bottom red, top blue") == Said(
        bottoms=frozenset({"red"}), tops=frozenset({"blue"})
    )
    assert said("the base is red, the top is blue").tops == {"blue"}
    assert said("red on blue, green underneath").bottoms == {"green"}
    assert said("yellow on top of purple").tops == frozenset(), "'on top of' places nothing"


def test_a_list_is_read_in_the_direction_the_words_give():
    assert said("top to bottom: red, blue, green").ordered == (("red", "blue"), ("blue", "green"))
    assert said("red-blue-green, bottom block first").ordered == (
        ("blue", "red"),
        ("green", "blue"),
    )
    assert said("green at the bottom, then blue").ordered == ()
    assert said("a tower of red, blue, green").ordered == (), "no direction: none read"


def test_other_words_between_colours_set_nothing():
    assert not said("put red beside blue")
    assert not said("put red on the left of blue")
    assert not said("stack it up")
    assert not said("red, blue and green into the yellow bin")


def test_a_goal_contradicts_words_that_it_turns_upside_down_even_through_a_tower():
    objects = {"red_block": "red", "blue_block": "blue", "green_block": "green"}
    tower = goal_stands_on(
        parse_calls("on(blue_block, green_block); on(red_block, blue_block)"), objects
    )
    assert contradictions(Said(above=(("red", "blue"), ("red", "green"))), tower) == 0
    assert contradictions(Said(above=(("green", "red"), ("blue", "red"))), tower) == 2
    assert contradictions(Said(above=(("yellow", "red"),)), tower) == 0, "what the goal leaves"
    assert contradictions(Said(bottoms=frozenset({"red"}), tops=frozenset({"red"})), tower) == 1


def test_colours_set_one_on_the_other_contradict_a_goal_that_puts_them_in_two_towers():
    objects = {c + "_block": c for c in SCENE}
    towers = goal_stands_on(
        parse_calls("on(blue_block, red_block); on(yellow_block, green_block)"), objects
    )
    assert contradictions(Said(above=(("yellow", "red"),)), towers) == 1
    assert contradictions(Said(ordered=(("yellow", "red"),)), towers) == 0, "a list spans towers"


def test_a_gap_of_many_spaces_is_read_at_once():
    assert not said("red" + " " * 10_000 + "x blue")
