"""The paraphrase fixtures: instructions nobody templated, each with a checkable plan.

Five files, one format: ``paraphrases.json`` (the test set of the six bootstrap families),
``paraphrases_new_families.json`` (the test set of the four families learned from corrections),
``paraphrases_dev.json`` (the development set the default planner's design was chosen on) and
``paraphrases_dev_pretrained.json`` (the one the pretrained planner's prompt and tuning were
chosen on) and ``paraphrases_dev_new_families.json`` (the one how rounds learn the six new
families was chosen on).
"""

import re

import pytest

from robolearn.paths import paraphrases_path
from robolearn.planner.paraphrases import ParaphraseFileError, read_paraphrases
from robolearn.sim.scene import COLOURS, OBJECT_KINDS
from robolearn.tasks.sampler import sample_task
from robolearn.tasks.spec import load_families

FAMILIES = load_families()
BOOTSTRAP = {"stack", "place_in_zone", "push_to_zone", "sort_into_bowls", "tower", "line_up"}
NEW = {"put_between", "clear_table", "flip_stack", "swap_blocks"}
STREAM = NEW | {"move_stack", "two_towers"}
FILES = {
    # file: (the families it covers, the fewest phrasings a family has, the fewest in all)
    "paraphrases.json": (BOOTSTRAP, 15, 100),
    "paraphrases_new_families.json": (NEW, 10, 40),
    "paraphrases_dev.json": (BOOTSTRAP, 10, 60),
    "paraphrases_dev_pretrained.json": (BOOTSTRAP, 12, 72),
    "paraphrases_dev_new_families.json": (STREAM, 6, 36),
}
PARAPHRASES = {name: read_paraphrases(paraphrases_path(name)) for name in FILES}
EVERY = [(name, p) for name, entries in PARAPHRASES.items() for p in entries]


def template_pattern(template):
    """A regex for every rendering of a template, whatever the colours: ``{top}`` is any
    "colour kind", ``{top.colour}`` any colour."""
    colour = "(?:" + "|".join(COLOURS) + ")"
    pattern, last = "", 0
    for match in re.finditer(r"\{(\w+)(\.colour)?\}", template):
        pattern += re.escape(template[last : match.start()])
        pattern += colour if match.group(2) else f"{colour} (?:{'|'.join(OBJECT_KINDS)})"
        last = match.end()
    return re.compile(pattern + re.escape(template[last:]), re.IGNORECASE)


PATTERNS = [template_pattern(t) for f in FAMILIES.values() for t in f.instructions]


@pytest.mark.parametrize("name", FILES)
def test_every_file_covers_its_families_with_enough_phrasings(name):
    families, per_family, total = FILES[name]
    entries = PARAPHRASES[name]
    assert len(entries) >= total
    counts = {family: sum(p.family == family for p in entries) for family in families}
    assert min(counts.values()) >= per_family, counts
    assert {p.family for p in entries} == families


def test_no_paraphrase_is_a_rendering_of_any_template_of_any_family():
    for family in FAMILIES.values():  # the patterns do catch renderings
        for seed in range(5):
            assert any(p.fullmatch(sample_task(family, seed).instruction) for p in PATTERNS)
    for name, paraphrase in EVERY:
        text = " ".join(paraphrase.instruction.split())
        assert not any(p.fullmatch(text) for p in PATTERNS), (name, text)


def test_every_plan_is_the_oracle_plan_of_its_scene_and_scenes_are_held_out():
    for name, paraphrase in EVERY:
        task = sample_task(FAMILIES[paraphrase.family], paraphrase.seed)
        assert paraphrase.plan == tuple(map(str, task.oracle)), (name, paraphrase)
        assert paraphrase.seed % 2 == 1, "odd seeds: no model trained on the scene"
        assert paraphrase.instruction != task.instruction


def test_instructions_are_distinct_and_plain_text():
    texts = [p.instruction for _, p in EVERY]
    assert len(set(texts)) == len(texts)
    assert all(t == " ".join(t.split()) and t.isascii() for t in texts)


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        '{"paraphrases": [{"family": "stack"}]}',
        '{"paraphrases": [{"family": "stack", "seed": 1, "instruction": "x", "plan": ["pick("]}]}',
        "[]",
    ],
)
def test_a_bad_paraphrase_file_says_what_is_wrong(tmp_path, content):
    path = tmp_path / "p.json"
    path.write_text(content)
    with pytest.raises(ParaphraseFileError, match=r"p\.json"):
        read_paraphrases(path)
