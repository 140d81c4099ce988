"""The paraphrases of move_stack and two_towers: other words, held-out scenes, oracle plans."""

import re
from pathlib import Path

from robolearn.planner.compare import read_paraphrases
from robolearn.tasks.sampler import sample_task
from robolearn.tasks.spec import load_families
from tests.test_paraphrases import PATTERNS

FAMILIES = load_families()
PATH = Path(__file__).parent / "fixtures" / "paraphrases_move_stack_two_towers.json"
PARAPHRASES = read_paraphrases(PATH)
OTHER_WORDS = {"red": "crimson", "cyan": "teal", "purple": "violet"}
"""The colour names this file also writes in other words."""


def test_each_of_the_two_families_has_at_least_ten_in_held_out_scenes():
    counts = {name: sum(p.family == name for p in PARAPHRASES) for name in FAMILIES}
    assert counts["move_stack"] >= 10 and counts["two_towers"] >= 10
    assert {p.family for p in PARAPHRASES} == {"move_stack", "two_towers"}
    assert all(p.seed % 2 == 1 for p in PARAPHRASES), "odd seeds: nothing trains on the scene"


def test_every_plan_is_the_oracle_plan_of_its_scene():
    for paraphrase in PARAPHRASES:
        task = sample_task(FAMILIES[paraphrase.family], paraphrase.seed)
        assert paraphrase.plan == tuple(map(str, task.oracle)), paraphrase
        assert paraphrase.instruction != task.instruction


def test_no_instruction_is_a_rendering_of_any_template_and_none_repeats():
    texts = [p.instruction for p in PARAPHRASES]
    assert len(set(texts)) == len(texts)
    assert all(t == " ".join(t.split()) and t.isascii() for t in texts)
    for text in texts:
        assert not any(pattern.fullmatch(text) for pattern in PATTERNS), text


def test_every_instruction_names_the_colour_of_every_object_its_plan_uses():
    for paraphrase in PARAPHRASES:
        task = sample_task(FAMILIES[paraphrase.family], paraphrase.seed)
        words = set(re.findall(r"[a-z]+", paraphrase.instruction))
        used = {a for call in task.oracle for a in call.args} & set(task.roles.values())
        for name in used:
            colour = name.split("_")[0]
            assert colour in words or OTHER_WORDS.get(colour) in words, (paraphrase, name)
