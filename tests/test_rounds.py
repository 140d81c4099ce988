"""LoRA rounds on a real (tiny) planner: a correction is learned by a new expert and a regression
is refused (a round killed mid-epoch is in test_reliability_crash.py; a second family taught
after the first, in test_experts.py).

The base model knows push_to_zone only. The gate evaluates on the very scenes that were
corrected (``eval_seed_start``), so a few seconds of training show whether they were learned.
"""

import shutil
from dataclasses import replace

import pytest

from robolearn.learn.adapters import active, planner_in_use, use_round
from robolearn.learn.dataset import DataConfig
from robolearn.learn.meaning import Meaning
from robolearn.learn.rounds import AdapterInUseError, NothingToLearnError, run_round
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

    assert outcome.experts == ["stack-r1"]
    model = LMPlanner(push_only_model, SkillLibrary.open(workspace))  # no memory: the model
    with Store.open(workspace) as store:
        planner, chosen = planner_in_use(model, store, workspace, Meaning())
        assert chosen.round_id == outcome.round_id
        [round_] = store.rounds()
        examples = store.round_examples([round_.id])
    task = sample_task(get_family("stack"), SEEDS[0])
    # Learned in the fewest calls the library allows: stack_on is pick, then place on.
    assert [str(call) for call in planner.plan(task)] == [
        "stack_on({top}, {base})".format(**task.roles)
    ]
    assert "LoRA adapter stack-r1; expert stack-r1 (router similarity" in planner.explanation
    push = sample_task(get_family("push_to_zone"), 5)
    planner.plan(push)  # the router sends the family it was built on to the base model
    assert planner.last_route.expert is None and "with LoRA adapter" not in planner.explanation
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


def test_one_adapter_that_forgets_an_old_family_is_refused_and_the_experts_stay(
    taught, push_only_model, tmp_path
):
    workspace = tmp_path / "copy"
    shutil.copytree(taught[0], workspace)
    assert run_and_correct(workspace, push_only_model, "line_up", SEEDS)
    naive = replace(
        QUICK,
        method="adapter",
        data=DataConfig(replay="none", augment=1),
        lora=replace(QUICK.lora, epochs=50, learning_rate=3e-2),
    )
    with pytest.raises(AdapterInUseError, match="one adapter cannot continue them"):
        run_round(workspace, push_only_model, naive, progress=False, log=quiet)
    with Store.open(workspace) as store:  # from the base model: no replay, it forgets
        use_round(store, workspace, push_only_model, None, "a test of the gate")

    outcome = run_round(workspace, push_only_model, naive, progress=False, log=quiet)

    assert not outcome.promoted
    assert "fell from" in outcome.reason
    with Store.open(workspace) as store:
        assert active(store, workspace, model_identity(push_only_model)).round_id is None
        assert [r.status for r in store.rounds()] == ["promoted", "refused"]
        use_round(store, workspace, push_only_model, 1, "back to the experts")
    assert outcome.adapter.is_dir()  # kept for inspection, never used


def test_an_adapter_refuses_a_base_model_it_was_not_trained_on(taught, tiny_model):
    from robolearn.planner.identity import AdapterMismatchError

    planner = LMPlanner(tiny_model[0], SkillLibrary.seed())
    with pytest.raises(AdapterMismatchError, match="was trained on the base model sha256-"):
        planner.use_adapter(taught[1].adapter / "experts" / "stack-r1")
    assert planner.adapter is None  # still planning with its own weights alone
