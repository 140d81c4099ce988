"""Even seeds train, odd seeds judge: no evaluation plans a scene anything was trained on."""

import pytest

from robolearn.learn.benchmark import CONDITIONS, LearningBenchConfig
from robolearn.learn.rounds import RoundConfig
from robolearn.planner.bootstrap import BootstrapConfig, bootstrap_families
from robolearn.planner.compare import CompareConfig, scene_sets
from robolearn.tasks.seeds import heldout_seeds, is_heldout, training_seeds


def test_training_and_held_out_seeds_never_meet():
    trained = set(training_seeds(BootstrapConfig().scenes_per_family))
    judged = set(heldout_seeds(1000))
    assert not trained & judged
    assert all(is_heldout(seed) for seed in judged) and not any(map(is_heldout, trained))


def test_every_evaluation_plans_held_out_scenes_only():
    gate = RoundConfig()
    bench = LearningBenchConfig().round_for(CONDITIONS["system"])
    compared = scene_sets(CompareConfig(per_family=5), {}, bootstrap_families())["held-out"]
    bootstrap = heldout_seeds(BootstrapConfig().heldout_per_family)
    for seeds in (
        heldout_seeds(gate.eval_scenes, gate.eval_seed_start),
        heldout_seeds(bench.eval_scenes, bench.eval_seed_start),
        [scene.seed for scene in compared],
        bootstrap,
    ):
        assert seeds and all(is_heldout(seed) for seed in seeds)


@pytest.mark.parametrize(("function", "start"), [(heldout_seeds, 2), (training_seeds, 1)])
def test_a_range_that_starts_on_the_wrong_parity_is_refused(function, start):
    with pytest.raises(ValueError, match=r"held-out seeds are odd|training seeds are even"):
        function(3, start)
