"""Colour words read against a scene: people's words for the colours the objects have."""

from robolearn.learn.grounding import ground

SCENE = ("red", "cyan", "purple", "yellow")


def test_crimson_teal_and_violet_name_the_scenes_red_cyan_and_purple():
    grounding = ground("Stack the crimson cube on the teal one, then the violet one on top", SCENE)
    assert grounding.colours == ("red", "cyan", "purple")
    assert grounding.canonical == "stack the red cube on the cyan one, then the purple one on top"
    assert grounding.lifted == (
        "stack the coloured cube on the coloured one, then the coloured one on top"
    )


def test_the_scenes_own_colour_names_count_even_for_no_object():
    assert ground("put the yellow block on the green one", SCENE).colours == ("yellow", "green")


def test_a_colour_near_no_scene_colour_is_left_unread():
    # grey and brown lie far from all eight object colours; the sentence stays as it was said
    grounding = ground("move the grey block next to the brown one", SCENE)
    assert grounding.colours == ()
    assert grounding.lifted == "move the grey block next to the brown one"


def test_a_colour_between_two_scene_colours_is_not_guessed():
    assert ground("the lilac block", ("pink", "purple")).colours == ()  # as near one as the other
    assert ground("the magenta block", ("pink", "purple")).colours == ("pink",)


def test_two_word_colour_names_and_colour_lists():
    assert ground("the sky blue cube", ("cyan", "red")).colours == ("cyan",)
    assert ground("a red-pink-orange tower", ("red", "pink", "orange")).colours == (
        "red",
        "pink",
        "orange",
    )
    # a colour name right after a colour is a noun: "the red brick" names one block
    assert ground("put the red brick down", ("red", "orange")).colours == ("red",)
