"""Continual-learning metrics on matrices worked out by hand."""

import pytest

from robolearn.learn.metrics import MistakeLog, SuccessMatrix, corrections_to_reach


def matrix():
    m = SuccessMatrix(["stack", "swap", "flip"], {"stack": 0, "swap": 1, "flip": 2})
    m.add("base", {"stack": 1.0, "swap": 0.0, "flip": 0.1})
    m.add("swap", {"stack": 0.9, "swap": 0.9, "flip": 0.3})
    m.add("flip", {"stack": 0.8, "swap": 0.7, "flip": 1.0})
    return m


def test_acc_bwt_and_fwt_follow_their_definitions():
    m = matrix()
    assert m.acc == pytest.approx((0.8 + 0.7 + 1.0) / 3)
    # stack learned at stage 0 fell 1.0 -> 0.8; swap learned at stage 1 fell 0.9 -> 0.7
    assert m.bwt == pytest.approx(((0.8 - 1.0) + (0.7 - 0.9)) / 2)
    # before being taught: swap 0.0 (vs base 0.0), flip 0.3 (vs base 0.1)
    assert m.fwt == pytest.approx(((0.0 - 0.0) + (0.3 - 0.1)) / 2)
    assert m.forgetting_curve("swap") == [None, 0.9, 0.7]


def test_a_row_missing_a_family_is_refused():
    with pytest.raises(ValueError, match="no success for"):
        matrix().add("more", {"stack": 1.0})


def test_repeat_mistakes_and_corrections_to_target():
    log = MistakeLog()
    for wrong in (True, False, False, False):
        log.count(wrong)
    assert log.rate == 0.25 and MistakeLog().rate == 0.0
    assert corrections_to_reach([(0, 0.0), (10, 0.6), (20, 0.9)], 0.9) == 20
    assert corrections_to_reach([(0, 0.0), (10, 0.6)], 0.9) is None
