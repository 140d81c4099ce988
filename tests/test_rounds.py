"""LoRA rounds on a real (tiny) planner: a correction is learned and a regression is refused (a
round killed mid-epoch is in test_reliability_crash.py).

The base model knows push_to_zone only. The gate evaluates on the very scenes that were
corrected (``eval_seed_start``), so a few seconds of training show whether they were learned.
"""

import shutil
from dataclasses import replace

import pytest

from robolearn.learn.adapters import active, plan_with_active_adapter
from robolearn.learn.dataset import DataConfig
from robolearn.learn.rounds import NothingToLearnError, run_round
from robolearn.planner.identity import model_identity
from robolearn.planner.lm import LMPlanner
from robolearn.skills.library import SkillLibrary
from robolearn.store import Store
from robolearn.tasks.sampler import sample_task
from robolearn.tasks.spec import get_family
from tests.conftest import QUICK, SEEDS, run_and_correct


def quiet(_message):
    pass


def test_a_round_learns_the_corrected_stacks_and_is_promoted(taught, push_only_model):
    workspace, outcome = taught
    assert outcome.promoted, outcome.reason
    assert outcome.incumbent["stack"] == 0.0 and outcome.candidate["stack"] == 1.0
    assert outcome.candidate["push_to_zone"] >= outcome.incumbent["push_to_zone"] - 0.05

    planner = LMPlanner(push_only_model, SkillLibrary.open(workspace))  # no memory: the model
    with Store.open(workspace) as store:
        assert plan_with_active_adapter(planner, store, workspace).round_id == outcome.round_id
        [round_] = store.rounds()
        examples = store.round_examples([round_.id])
    task = sample_task(get_family("stack"), SEEDS[0])
    assert planner.plan(task) == list(task.oracle)
    assert "LoRA adapter round-0001" in planner.explanation
    # The adapter traces to its data: the corrections, their recoloured copies, the replay.
    assert {(e.role, e.source) for e in examples} == {
        ("new", "correction"),
        ("replay", "bootstrap"),
    }
    assert any(e.augmented for e in examples)
    assert round_.metrics["dataset"]["new"] == sum(e.role == "new" for e in examples)


def test_nothing_new_to_learn_is_said_and_no_round_is_recorded(taught, push_only_model, tmp_path):
    workspace = tmp_path / "copy"
    shutil.copytree(taught[0], workspace)
    with pytest.raises(NothingToLearnError, match="correct some episodes first"):
        run_round(workspace, push_only_model, QUICK, progress=False, log=quiet)
    with Store.open(workspace) as store:
        assert len(store.rounds()) == 1


def test_a_round_that_forgets_an_old_family_is_refused_and_the_adapter_stays(
    taught, push_only_model, tmp_path
):
    workspace = tmp_path / "copy"
    shutil.copytree(taught[0], workspace)
    assert run_and_correct(workspace, push_only_model, "line_up", SEEDS)
    naive = replace(
        QUICK,
        data=DataConfig(replay="none", augment=1),
        lora=replace(QUICK.lora, epochs=50, learning_rate=3e-2),
    )

    outcome = run_round(workspace, push_only_model, naive, progress=False, log=quiet)

    assert not outcome.promoted
    assert "fell from" in outcome.reason
    with Store.open(workspace) as store:
        assert active(store, workspace, model_identity(push_only_model)).round_id == 1
        assert [r.status for r in store.rounds()] == ["promoted", "refused"]
    assert outcome.adapter.is_dir()  # kept for inspection, never used


def test_an_adapter_refuses_a_base_model_it_was_not_trained_on(taught, tiny_model):
    from robolearn.planner.identity import AdapterMismatchError

    planner = LMPlanner(tiny_model[0], SkillLibrary.seed())
    with pytest.raises(AdapterMismatchError, match="was trained on the base model sha256-"):
        planner.use_adapter(taught[1].adapter)
    assert planner.adapter is None  # still planning with its own weights alone
