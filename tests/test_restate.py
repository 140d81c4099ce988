"""An instruction in other words, restated in the words its family's expert learned."""

from robolearn.learn.meaning import Meaning
from robolearn.learn.restate import restate
from robolearn.tasks.sampler import phrasings, sample_task
from robolearn.tasks.spec import get_family

MEANING = Meaning()


def scene(name, seed):
    family = get_family(name)
    task = sample_task(family, seed)
    colour = {role: name.split("_")[0] for role, name in task.roles.items()}
    return family, task, colour


def test_other_words_are_restated_in_one_of_the_familys_phrasings_of_this_very_task():
    family, task, colour = scene("flip_stack", 3)
    words = f"the {colour['a']} and {colour['b']} pile: turn it upside down"
    assert restate(family, words, task.objects, MEANING) in phrasings(family, task.objects)


def test_the_order_the_words_name_the_colours_in_says_which_block_goes_where():
    family, task, colour = scene("two_towers", 7)
    a, b, c, d, e, f = (colour[r] for r in "abcdef")
    words = f"towers please: {a}, {b}, {c} from the bottom, and {d}, {e}, {f} from the bottom"
    restated = restate(family, words, task.objects, MEANING)
    assert restated in phrasings(family, task.objects)


def test_colour_words_are_read_by_their_colour():
    family, task, _ = scene("put_between", 3)  # purple between red and cyan
    words = "the violet cube goes in the gap between the crimson one and the teal one"
    assert restate(family, words, task.objects, MEANING) in phrasings(family, task.objects)


def test_the_familys_own_words_and_words_the_scene_does_not_settle_are_left_as_they_are():
    family, task, _ = scene("put_between", 9)
    for own in phrasings(family, task.objects):
        assert restate(family, own, task.objects, MEANING) is None
    family, task, _ = scene("clear_table", 5)
    assert restate(family, "tidy everything away", task.objects, MEANING) is None
