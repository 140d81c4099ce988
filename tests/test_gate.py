"""The promotion gate's rule on its own: no training, just success tables."""

import pytest

from robolearn.learn.gate import promotion_verdict

BEFORE = {"stack": 0.8, "tower": 0.6, "push_to_zone": 1.0}


def test_a_candidate_that_regresses_nowhere_is_promoted():
    verdict = promotion_verdict(BEFORE, {"stack": 0.9, "tower": 0.6, "push_to_zone": 1.0}, 0.05)
    assert verdict.promoted and verdict.reason == "no family regressed by more than 5%"
    assert verdict.regressed == {}


def test_a_drop_within_the_bound_is_allowed_and_one_past_it_refuses():
    within = promotion_verdict(BEFORE, {**BEFORE, "tower": 0.5}, 0.1)  # exactly the bound
    assert within.promoted
    past = promotion_verdict(BEFORE, {**BEFORE, "tower": 0.45, "stack": 0.0}, 0.1)
    assert not past.promoted
    assert past.regressed == {"stack": (0.8, 0.0), "tower": (0.6, 0.45)}
    assert past.reason == "refused: stack fell from 80% to 0%, tower fell from 60% to 45%"


def test_gains_elsewhere_do_not_buy_a_regression():
    verdict = promotion_verdict(BEFORE, {"stack": 1.0, "tower": 1.0, "push_to_zone": 0.5}, 0.05)
    assert not verdict.promoted and list(verdict.regressed) == ["push_to_zone"]


def test_a_family_the_candidate_was_not_judged_on_counts_as_lost():
    verdict = promotion_verdict(BEFORE, {"stack": 0.8, "tower": 0.6}, 0.05)
    assert verdict.regressed == {"push_to_zone": (1.0, 0.0)}


def test_a_zero_bound_refuses_any_drop_and_a_full_bound_none():
    slightly_worse = {**BEFORE, "stack": 0.75}
    assert not promotion_verdict(BEFORE, slightly_worse, 0.0).promoted
    assert promotion_verdict(BEFORE, dict.fromkeys(BEFORE, 0.0), 1.0).promoted


@pytest.mark.parametrize("bound", [-0.1, 1.5])
def test_the_bound_is_a_fraction(bound):
    with pytest.raises(ValueError, match="fraction between 0 and 1"):
        promotion_verdict(BEFORE, BEFORE, bound)


def test_the_benchmarks_gate_lets_one_scene_of_its_ten_drop_as_trains_5_percent_of_20_does():
    from robolearn.learn.benchmark import CONDITIONS, LearningBenchConfig

    bench = LearningBenchConfig(eval_scenes=10)
    system = bench.round_for(CONDITIONS["system"])
    assert system.max_regression == pytest.approx(0.1) and system.eval_scenes == 10
    lucky_base, one_scene_less = {"put_between": 0.1}, {"put_between": 0.0}
    assert promotion_verdict(lucky_base, one_scene_less, system.max_regression).promoted
    assert not promotion_verdict({"tower": 0.9}, {"tower": 0.7}, system.max_regression).promoted
    assert (
        LearningBenchConfig(eval_scenes=20).round_for(CONDITIONS["system"]).max_regression == 0.05
    )
    assert bench.round_for(CONDITIONS["isolation"]).max_regression == 1.0  # only system is gated
