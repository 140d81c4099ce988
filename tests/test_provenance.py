"""Every stored episode says where its plan came from and how sure the planner was.

Real planners (a tiny bootstrapped model, the correction memory, the router with an expert's
adapter), real episodes in PyBullet, stored by RunRecorder in a real SQLite workspace.
"""

import sqlite3

import pytest
from sqlite_utils import Database

from robolearn.agent import plan_doubt, plan_origin, run_episode
from robolearn.correction import CorrectionAPI, RepeatedCorrectionError
from robolearn.learn.corrector import SimulatedCorrector
from robolearn.learn.memory import CorrectionMemory, MemoryPlanner
from robolearn.planner.identity import model_identity
from robolearn.planner.lm import LMPlanner
from robolearn.planner.oracle import OraclePlanner
from robolearn.records import PlanOrigin
from robolearn.rollout import RunRecorder
from robolearn.skills.library import SkillLibrary
from robolearn.store import Store
from robolearn.store.schema import MIGRATIONS
from robolearn.tasks.env import TabletopEnv

SEED = 1
"""A stack scene the tiny model plans wrong (it stacks nothing)."""


def run_and_store(workspace, planner, family="stack", seed=SEED, frames=True):
    library = SkillLibrary.open(workspace)
    env = TabletopEnv(family)
    try:
        record = run_episode(env, planner, seed, frames=frames, library=library)
    finally:
        env.close()
    with Store.open(workspace) as store:
        run = store.start_run(planner.name, seed)
        episode_id = RunRecorder(store, run, workspace, frames=frames).save(record)
        return store.episode(episode_id)


def test_a_models_plan_then_the_correction_that_replaces_it(tiny_model, tmp_path):
    model = LMPlanner(tiny_model[0], SkillLibrary.open(tmp_path))
    with Store.open(tmp_path) as store:
        planner = MemoryPlanner(model, CorrectionMemory(store, by_meaning=False))
        failed = run_and_store(tmp_path, planner)
    assert not failed.success
    assert failed.origin == PlanOrigin("model", model=model_identity(tiny_model[0]))
    assert failed.doubt is not None and failed.doubt == model.doubt  # the planner's own figure
    assert 0.0 <= failed.doubt <= 1.0
    assert failed.unmet and all(goal.startswith("on(") for goal in failed.unmet)
    assert (tmp_path / failed.start_frame_path).is_file()  # the scene before the first step
    assert failed.start_frame_path.endswith("stack-1-0.png")

    with Store.open(tmp_path) as store:
        api = CorrectionAPI(store, SkillLibrary.open(tmp_path))
        correction_id, rerun = SimulatedCorrector(api).correct(failed.id)
        api.close()
        assert rerun.success and rerun.unmet == []
        planner = MemoryPlanner(model, CorrectionMemory(store, by_meaning=False))
        fixed = run_and_store(tmp_path, planner)
    assert fixed.success and fixed.unmet == []
    assert fixed.origin == PlanOrigin(
        "memory", correction_id=correction_id, corrected_by="simulated"
    )
    assert fixed.doubt is None  # a person's correction, not the model's guess
    assert fixed.origin.summary() == f"correction #{correction_id} by simulated"


def test_a_scripted_plan_and_an_episode_without_frames(tmp_path):
    episode = run_and_store(tmp_path, OraclePlanner(), frames=False)
    assert episode.success and episode.origin == PlanOrigin("scripted")
    assert episode.doubt is None and episode.start_frame_path is None


def test_the_router_and_the_experts_adapter_are_recorded(tiny_model, tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from robolearn.learn.meaning import Meaning
    from robolearn.learn.router import Expert, RoutedPlanner, Router, family_scenes
    from robolearn.planner.bootstrap import bootstrap_families
    from robolearn.tasks.spec import get_family

    meaning = Meaning()
    router = Router.for_families(bootstrap_families(), meaning)
    router.add_expert(
        Expert("flip_stack"), family_scenes(get_family("flip_stack"), range(0, 20, 2)), meaning
    )
    lora = get_peft_model(
        AutoModelForCausalLM.from_pretrained(tiny_model[0]),
        LoraConfig(r=4, lora_alpha=8, target_modules=["c_attn"], fan_in_fan_out=True),
    )
    lora.save_pretrained(tmp_path / "adapters" / "flip")
    model = LMPlanner(tiny_model[0], SkillLibrary.open(tmp_path))
    routed = RoutedPlanner(model, router, {"flip_stack": tmp_path / "adapters" / "flip"}, meaning)
    with Store.open(tmp_path) as store:
        planner = MemoryPlanner(routed, CorrectionMemory(store, by_meaning=False))
        flip = run_and_store(tmp_path, planner, family="flip_stack", seed=9, frames=False)
        stack = run_and_store(tmp_path, planner, family="stack", seed=9, frames=False)
    identity = model_identity(tiny_model[0])
    assert flip.origin == PlanOrigin("model", model=identity, adapter="flip", route="flip_stack")
    assert stack.origin == PlanOrigin("model", model=identity, route="base")
    assert flip.origin.summary() == "model + router: flip_stack + flip"
    assert plan_origin(planner) == stack.origin and plan_doubt(planner) == stack.doubt


def test_a_plan_origin_names_a_known_source():
    with pytest.raises(ValueError, match="unknown plan source 'guess'"):
        PlanOrigin("guess")


def test_the_same_correction_twice_is_refused_and_stored_once(tmp_path):
    from tests.conftest import SwappedPlanner

    episode = run_and_store(tmp_path, SwappedPlanner(), frames=False)
    again = run_and_store(tmp_path, SwappedPlanner(), frames=False)  # the same mistake
    with Store.open(tmp_path) as store:
        api = CorrectionAPI(store, SkillLibrary.open(tmp_path))
        correction_id, _ = SimulatedCorrector(api).correct(episode.id)
        plan = "\n".join(store.corrections()[0].corrected)
        for episode_id in (episode.id, again.id):  # this episode, or another of the situation
            with pytest.raises(
                RepeatedCorrectionError, match=f"already correction #{correction_id}"
            ):
                api.propose(episode_id, plan, "ada")
        assert SimulatedCorrector(api).correct(again.id) is None  # nothing new to teach
        other = api.propose(episode.id, "open_gripper()\n" + plan, "ada", "open first")
        second = api.save(other, api.rerun(other))
        # The first plan again is not the latest any more: a change of mind is kept.
        first_again = api.propose(again.id, plan, "ada")
        api.save(first_again, api.rerun(first_again))
        api.close()
        assert [c.id for c in store.corrections()] == [correction_id, second, second + 1]


def v4_database(workspace):
    """A workspace's database as robolearn left it at schema v4, with three kinds of episode."""
    db = Database(workspace / "robolearn.db")
    MIGRATIONS.apply(db, stop_before="0005_plan_provenance")
    db["runs"].insert({"started": "t", "planner": "lm", "seed": 0, "config": "{}"})
    for planner, explanation in (
        ("oracle", "the family's scripted expert"),
        ("lm", "language model default with LoRA adapter round-0001"),
        ("lm", "correction #7 by ada of this instruction in this scene"),
    ):
        db["episodes"].insert(
            {
                "run_id": 1,
                "family": "stack",
                "seed": 0,
                "instruction": "stack",
                "planner": planner,
                "plan": "[]",
                "success": 0,
                "control_steps": 0,
                "created": "t",
                "explanation": explanation,
            }
        )
    db.close()


def test_the_migration_reads_old_episodes_provenance_from_what_they_said(tmp_path):
    v4_database(tmp_path)
    with Store.open(tmp_path) as store:
        scripted, model, memory = store.episodes()
    assert scripted.origin == PlanOrigin("scripted")
    assert model.origin == PlanOrigin("model")  # the model's identity was never stored
    assert memory.origin.source == "memory" and memory.origin.correction_id == 7
    assert memory.doubt is None and memory.unmet is None
    columns = {
        row[1]
        for row in sqlite3.connect(tmp_path / "robolearn.db").execute("PRAGMA table_info(episodes)")
    }
    assert {"plan_source", "plan_correction", "plan_doubt", "unmet_goals", "start_frame"} <= columns
