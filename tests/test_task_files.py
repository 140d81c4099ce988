import pytest

from robolearn.tasks.spec import (
    TaskFileError,
    UnknownFamilyError,
    get_family,
    load_families,
    load_family,
)
from tests.conftest import VALID_FAMILY


def test_the_shipped_families_load_and_the_new_ones_are_left_to_the_learning_loop():
    families = load_families()
    assert {name for name, f in families.items() if f.bootstrap} >= {
        "stack",
        "place_in_zone",
        "push_to_zone",
        "sort_into_bowls",
        "tower",
        "line_up",
    }
    assert {name for name, f in families.items() if not f.bootstrap} >= {
        "swap_blocks",
        "clear_table",
        "put_between",
        "flip_stack",
        "two_towers",
        "move_stack",
    }
    longest = max(len(f.oracle) for f in families.values() if not f.bootstrap)
    assert longest >= 8, "one family the model never saw takes eight steps or more"


def test_every_phrasing_of_a_family_taught_later_names_every_object_its_plan_needs():
    """The prompt lists object names only, so the words must say which object plays which
    role: each role the oracle uses is named in every template (or shares its colour with a
    named role, as a block standing in the zone of its colour), or is the only one of its kind."""

    def named(role, template):
        return "{" + role + "}" in template or "{" + role + "." in template

    for family in load_families().values():
        if family.bootstrap:
            continue
        kinds = [obj.kind for obj in family.objects]
        needed = {a for call in family.oracle for a in call.args if isinstance(a, str)}
        for role in family.objects:
            if role.role not in needed or kinds.count(role.kind) == 1:
                continue
            twins = {o.role for o in family.objects if o.same_colour_as == role.role}
            twins |= {role.same_colour_as} - {None}
            for template in family.instructions:
                assert named(role.role, template) or any(named(t, template) for t in twins), (
                    family.name,
                    role.role,
                    template,
                )


def test_an_unknown_family_lists_the_known_ones():
    with pytest.raises(UnknownFamilyError, match=r"known: .*stack"):
        get_family("juggle")


def test_a_valid_file_loads(family_file):
    family = load_family(family_file())
    assert family.slot_kinds == ("block", "block")
    assert str(family.oracle[1]) == "place(top, base)"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            lambda t: t.replace(
                'kind = "block"\n\n[objects.base]', 'kind = "cube"\n\n[objects.base]'
            ),
            "objects.top.kind",
        ),
        (
            lambda t: t.replace('success = ["on(top, base)"]', 'success = ["above(top, base)"]'),
            "success[0]",
        ),
        (
            lambda t: t.replace('success = ["on(top, base)"]', 'success = ["on(top, lid)"]'),
            "success[0]",
        ),
        (lambda t: t.replace("{base}", "{lid}"), "instructions[0]"),
        (
            lambda t: t.replace(
                'oracle = ["pick(top)", "place(top, base)"]', 'oracle = ["pick(top"]'
            ),
            "oracle[0]",
        ),
        (lambda t: t.replace('name = "demo"\n', ""), "name"),
        (lambda t: t.replace('name = "demo"', 'name = "other"'), "name"),
        (lambda t: t + '\n[objects.extra]\nkind = "block"\nx = [0.9, 0.1]\n', "objects.extra.x"),
        (
            lambda t: t + '\n[objects.extra]\nkind = "bowl"\ncolours = ["mauve"]\n',
            "objects.extra.colours",
        ),
        (lambda t: "max_steps = -3\n" + t, "max_steps"),
        (lambda t: 'bootstrap = "no"\n' + t, "bootstrap"),
        (lambda t: t.replace("description", "descripton"), "descripton"),
    ],
)
def test_a_bad_family_file_names_the_file_and_the_field(family_file, change, field):
    path = family_file(change(VALID_FAMILY))
    with pytest.raises(TaskFileError) as error:
        load_family(path)
    assert str(path) in str(error.value)
    assert repr(field) in str(error.value)


def test_a_family_is_bootstrapped_unless_its_file_says_bootstrap_false(family_file):
    assert load_family(family_file()).bootstrap is True
    assert load_family(family_file("bootstrap = false\n" + VALID_FAMILY)).bootstrap is False


STACKED = VALID_FAMILY + '\n[objects.lid]\nkind = "block"\non = "base"\n'


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (
            lambda t: t.replace('on = "base"', 'on = "shelf"'),
            "objects.lid.on",
            "unknown role 'shelf'",
        ),
        (
            lambda t: t.replace('on = "base"', 'on = "lid"'),
            "objects.lid.on",
            "cannot start on itself",
        ),
        (
            lambda t: t.replace(
                '[objects.base]\nkind = "block"\n', '[objects.base]\nkind = "block"\non = "lid"\n'
            ),
            "objects.base.on",
            "loop: base on lid on base",
        ),
        (
            lambda t: t + '\n[objects.cap]\nkind = "block"\non = "base"\n',
            "objects.cap.on",
            "'base' already holds 'lid'",
        ),
        (
            lambda t: t.replace('on = "base"', 'on = "base"\nx = [0.4, 0.5]'),
            "objects.lid.x",
            "drop x and y",
        ),
        (
            lambda t: t.replace('[objects.lid]\nkind = "block"', '[objects.lid]\nkind = "zone"'),
            "objects.lid.on",
            "only a block",
        ),
    ],
)
def test_a_bad_on_names_the_file_the_field_and_the_problem(family_file, change, field, problem):
    path = family_file(change(STACKED))
    with pytest.raises(TaskFileError) as error:
        load_family(path)
    assert str(path) in str(error.value)
    assert repr(field) in str(error.value)
    assert problem in str(error.value)


def test_a_block_may_start_on_another(family_file):
    family = load_family(family_file(STACKED))
    assert {o.role: o.on for o in family.objects} == {"top": None, "base": None, "lid": "base"}


def test_a_file_that_is_not_toml_says_so(family_file):
    path = family_file("name = [unclosed")
    with pytest.raises(TaskFileError, match="not valid TOML"):
        load_family(path)
