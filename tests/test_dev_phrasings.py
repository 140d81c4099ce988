"""The development phrasings: what the pretrained planner's prompt and tuning are chosen on.

They are written apart from the test set (``paraphrases.json``), so a choice made on them is
not a choice made on the phrasings the planners are reported on.
"""

from pathlib import Path

from robolearn.paths import paraphrases_path
from robolearn.planner.compare import read_paraphrases
from robolearn.tasks.sampler import sample_task
from tests.test_paraphrases import BOOTSTRAP, FAMILIES, PATTERNS

DEV = read_paraphrases(Path(__file__).parent / "fixtures" / "dev_phrasings.json")
TEST = read_paraphrases(paraphrases_path())


def test_every_bootstrap_family_has_a_dozen_on_held_out_scenes_with_their_oracle_plans():
    assert {p.family for p in DEV} == BOOTSTRAP
    assert min(sum(p.family == name for p in DEV) for name in BOOTSTRAP) >= 12
    for phrasing in DEV:
        task = sample_task(FAMILIES[phrasing.family], phrasing.seed)
        assert phrasing.plan == tuple(map(str, task.oracle)), phrasing
        assert phrasing.seed % 2 == 1, "odd seeds: no model trained on the scene"


def test_no_phrasing_is_a_template_or_shares_a_scene_or_sentence_with_the_test_set():
    test_scenes = {(p.family, p.seed) for p in TEST}
    test_texts = {" ".join(p.instruction.lower().split()) for p in TEST}
    for phrasing in DEV:
        text = " ".join(phrasing.instruction.split())
        assert not any(p.fullmatch(text) for p in PATTERNS), text
        assert (phrasing.family, phrasing.seed) not in test_scenes
        assert text.lower() not in test_texts
    assert len({p.instruction for p in DEV}) == len(DEV)
