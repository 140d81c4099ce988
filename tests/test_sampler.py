import itertools

import numpy as np
import pytest

from robolearn.records import EpisodeRecord
from robolearn.sim.scene import SceneObject
from robolearn.tasks.sampler import SceneChangedError, rebuild_task, sample_task
from robolearn.tasks.spec import load_families, load_family
from tests.conftest import VALID_FAMILY

FAMILIES = load_families()


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_the_same_seed_gives_the_same_task(name):
    family = FAMILIES[name]
    assert sample_task(family, 7) == sample_task(family, 7)
    instances = {sample_task(family, seed).objects for seed in range(10)}
    assert len(instances) == 10


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_scenes_keep_objects_apart_and_names_unique(name):
    for seed in range(20):
        task = sample_task(FAMILIES[name], seed)
        names = [o.name for o in task.objects]
        assert len(set(names)) == len(names)
        for a, b in itertools.combinations(task.objects, 2):
            if a.on == b.name or b.on == a.name:
                assert (a.x, a.y) == (b.x, b.y), "an object rests centred on its support"
                continue
            gap = np.hypot(a.x - b.x, a.y - b.y)
            assert gap > (a.size + b.size) / 2, (seed, a, b)
        assert all(isinstance(o, SceneObject) for o in task.objects)


def test_instructions_name_the_objects_by_colour():
    task = sample_task(FAMILIES["stack"], 0)
    top, base = task.roles["top"], task.roles["base"]
    assert top.replace("_", " ") in task.instruction or top.split("_")[0] in task.instruction
    assert base.split("_")[0] in task.instruction
    assert [str(c) for c in task.oracle] == [f"pick({top})", f"place({top}, {base})"]


def test_sorting_pairs_each_block_with_the_bowl_of_its_colour():
    task = sample_task(FAMILIES["sort_into_bowls"], 3)
    for i in (1, 2, 3):
        assert task.roles[f"b{i}"].split("_")[0] == task.roles[f"bowl{i}"].split("_")[0]


def test_a_block_that_starts_on_another_shares_its_place_and_names_it(family_file):
    family = load_family(family_file(VALID_FAMILY + '[objects.lid]\nkind = "block"\non = "top"\n'))
    for seed in range(10):
        top, _, lid = sample_task(family, seed).objects
        assert lid.on == top.name and (lid.x, lid.y) == (top.x, top.y)
        assert top.on is None


def test_a_stored_episode_rebuilds_the_task_it_ran_unless_its_family_changed():
    task = sample_task(load_families()["stack"], 7)
    episode = EpisodeRecord("stack", 7, task.instruction, "oracle", [], id=3)
    assert rebuild_task(episode) == task
    with pytest.raises(SceneChangedError, match="episode 3: the 'stack' family file has changed"):
        rebuild_task(EpisodeRecord("stack", 7, "juggle the blocks", "oracle", [], id=3))
    with pytest.raises(SceneChangedError, match="its family 'juggle' is gone"):
        rebuild_task(EpisodeRecord("juggle", 7, task.instruction, "oracle", [], id=3))
