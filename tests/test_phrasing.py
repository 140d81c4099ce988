"""The phrasing data: the default model learns to read many ways of saying each task."""

import random
import shutil

import pytest

from robolearn.errors import ConfigError
from robolearn.paths import data_dir
from robolearn.planner.bootstrap import BootstrapConfig, bootstrap_demonstrations
from robolearn.planner.phrasing import PhrasingError, load_language
from robolearn.tasks.sampler import sample_task
from robolearn.tasks.spec import load_families

FAMILIES = load_families()
LANGUAGE = load_language()


def test_every_family_has_a_pattern_file_that_renders_on_every_scene():
    assert set(LANGUAGE.patterns) == set(FAMILIES)
    rng = random.Random(0)
    for name, patterns in LANGUAGE.patterns.items():
        # the bootstrap's families are taught from them; the others' rephrase corrections
        assert len(patterns) >= (20 if FAMILIES[name].bootstrap else 10), name
        for seed in range(30):
            task = sample_task(FAMILIES[name], seed)
            text = LANGUAGE.phrase(FAMILIES[name], task.objects, rng)
            assert text and "{" not in text and "<" not in text and "|" not in text, text


def test_every_stack_pattern_names_the_top_block_by_some_name_of_its_colour():
    family, rng = FAMILIES["stack"], random.Random(1)
    for seed, pattern in enumerate(LANGUAGE.patterns["stack"]):
        task = sample_task(family, seed)
        text = LANGUAGE.render(pattern, family, task.objects, rng)
        top = next(o for o in task.objects if o.name == task.roles["top"])
        assert any(name in text for name in LANGUAGE.colours[top.colour]), (text, top.colour)


def test_a_role_keeps_its_words_within_one_phrasing():
    family, rng = FAMILIES["stack"], random.Random(2)
    task = sample_task(family, 0)
    pattern = "{top.colour} {top.kind} and {top.colour} {top.kind} on {base}"
    said = [LANGUAGE.render(pattern, family, task.objects, rng) for _ in range(50)]
    for text in said:
        first, second = text.split(" on ")[0].split(" and ")
        assert first == second, text
    assert len(set(said)) > 5, "the words themselves vary from phrasing to phrasing"


def test_the_same_seed_gives_the_same_phrasings():
    family = FAMILIES["tower"]
    task = sample_task(family, 4)
    first = [LANGUAGE.phrase(family, task.objects, random.Random(7)) for _ in range(3)]
    assert first == [LANGUAGE.phrase(family, task.objects, random.Random(7)) for _ in range(3)]


def test_the_default_bootstrap_says_each_task_in_far_more_ways_than_its_templates():
    config = BootstrapConfig(scenes_per_family=20)
    examples = bootstrap_demonstrations(config)
    for family in config.trained_families():
        mine = [e for e in examples if e.family == family.name]
        weight = LANGUAGE.weights[family.name]
        assert len(mine) == 20 * (2 + round(8 * weight)), family.name
        texts = {e.prompt.splitlines()[0] for e in mine}
        assert len(texts) >= 8 * len(family.instructions), family.name
    # a tower's words must be read in order: it is taught more than a push
    assert LANGUAGE.weights["tower"] > 1 > LANGUAGE.weights["push_to_zone"]


@pytest.mark.parametrize(
    "pattern, message",
    [
        ("put the (red|blue block", "never closed"),
        ("put the [red block", "never closed"),
        ("put the red) block", "unexpected ')'"),
        ("<fly> the {top}", "<fly>, which no word class is"),
    ],
)
def test_a_bad_pattern_is_refused_with_its_file_and_why(tmp_path, pattern, message):
    folder = tmp_path / "language"
    shutil.copytree(data_dir("envs") / "language", folder)
    (folder / "stack.toml").write_text(f"patterns = [{pattern!r}]".replace("'", '"'))
    with pytest.raises(PhrasingError, match=r"stack\.toml") as error:
        load_language(folder)
    assert message in str(error.value) and len(str(error.value).splitlines()) == 1


def test_a_missing_words_file_is_one_clear_error(tmp_path):
    with pytest.raises(PhrasingError, match="cannot read the phrasing data"):
        load_language(tmp_path)


def test_a_bootstrap_setting_out_of_range_names_the_setting():
    with pytest.raises(ConfigError, match="paraphrases_per_scene must be 0 or more, got -1"):
        BootstrapConfig(paraphrases_per_scene=-1)
    with pytest.raises(ConfigError, match=r"width \(30\) must be a multiple of heads \(4\)"):
        BootstrapConfig(width=30, heads=4)
