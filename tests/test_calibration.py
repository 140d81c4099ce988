"""The recall and routing thresholds are what the calibration pairs give, and the pairs are
calibration data only."""

from pathlib import Path

import pytest

from robolearn.learn import memory, router
from robolearn.learn.calibration import (
    CalibrationFileError,
    read_asked,
    recall_rule,
    route_rule,
    score,
)
from robolearn.learn.meaning import SCENE_BONUS, Meaning
from robolearn.planner.compare import read_paraphrases
from robolearn.tasks.spec import load_families

FAMILIES = load_families()
ASKED = read_asked()


def test_the_thresholds_in_the_code_are_the_calibrated_ones():
    scored = score(ASKED, FAMILIES, Meaning())
    rule = recall_rule(scored)
    assert (rule.scene_bonus, rule.threshold, rule.margin) == (
        SCENE_BONUS,
        memory.RECALL_THRESHOLD,
        memory.RECALL_MARGIN,
    )
    assert rule.false <= 0.02 * rule.different
    assert route_rule(scored, FAMILIES)[:2] == (router.ROUTE_SCENE_BONUS, router.EXPERT_THRESHOLD)


def test_the_pairs_cover_every_family_in_training_scenes_and_share_nothing_with_a_test_set():
    tests = Path(__file__).parent / "fixtures"
    held_out = {p.instruction for f in tests.glob("paraphrases*.json") for p in read_paraphrases(f)}
    assert all(a.seed % 2 == 0 for a in ASKED), "even seeds: no held-out scene"
    assert not {a.instruction for a in ASKED} & held_out
    for name in FAMILIES:
        assert sum(a.task == name for a in ASKED) >= 8, name
    assert sum(a.task is None for a in ASKED) >= 10, "tasks no family does, in like words"
    assert all(a.scene in FAMILIES and (a.task is None or a.task in FAMILIES) for a in ASKED)


def test_a_broken_calibration_file_says_what_is_wrong(tmp_path):
    path = tmp_path / "pairs.json"
    path.write_text('{"asked": [{"task": "stack"}]}')
    with pytest.raises(CalibrationFileError, match=r"pairs\.json"):
        read_asked(path)
