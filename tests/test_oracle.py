"""Every family's scripted expert is its first test (ravens' habit): it must succeed."""

import pytest

from robolearn.agent import run_episode
from robolearn.planner.oracle import OraclePlanner
from robolearn.skills.library import SkillLibrary
from robolearn.tasks.env import TabletopEnv
from robolearn.tasks.spec import load_families

SEEDS = range(20)


@pytest.mark.parametrize("name", sorted(load_families()))
def test_the_oracle_solves_at_least_95_percent_of_20_seeds(name):
    env = TabletopEnv(name)
    try:
        library = SkillLibrary.seed()  # some experts call the seed library's composites
        records = [run_episode(env, OraclePlanner(), seed, library=library) for seed in SEEDS]
    finally:
        env.close()
    failures = [
        (r.seed, [s.to_dict() for s in r.steps if not s.ok]) for r in records if not r.success
    ]
    assert len(failures) <= 0.05 * len(SEEDS), failures
    assert all(r.error is None for r in records)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(n for n, f in load_families().items() if not f.bootstrap))
def test_the_oracle_of_every_family_learned_later_solves_all_40_seeds(name):
    env = TabletopEnv(name)
    try:
        library = SkillLibrary.seed()
        failed = [
            s
            for s in range(40)
            if not run_episode(env, OraclePlanner(), s, library=library).success
        ]
    finally:
        env.close()
    assert not failed
