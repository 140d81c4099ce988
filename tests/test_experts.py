"""Expert adapters and the router as a user meets them: teach one family, then another.

The base model knows push_to_zone only. Round 1 (the session's ``taught`` workspace) taught
stacking from two corrections; here line_up is corrected and taught in round 2. The stack
expert is frozen, so every stack scene is planned exactly as before, and the router, told no
family, sends each instruction to its family's expert or to the base model.
"""

import shutil

import pytest

from robolearn.learn.adapters import active, planner_in_use
from robolearn.learn.evaluation import SuccessEvaluator
from robolearn.learn.heldout import own_questions, router_accuracy
from robolearn.learn.meaning import Meaning
from robolearn.learn.rounds import run_round
from robolearn.learn.router import Router
from robolearn.planner.identity import model_identity
from robolearn.planner.lm import LMPlanner
from robolearn.skills.library import SkillLibrary
from robolearn.store import Store
from tests.conftest import QUICK, SEEDS, robolearn, run_and_correct

HELDOUT = [5, 7, 9, 11, 13, 15]
"""Scenes no round was taught or judged on."""


@pytest.fixture(scope="module")
def second_family(taught, push_only_model, tmp_path_factory):
    """The taught workspace after line_up was corrected and taught too (round 2); the
    stack plans of round 1 on the held-out scenes; the outcome."""
    workspace = tmp_path_factory.mktemp("second") / "ws"
    shutil.copytree(taught[0], workspace)
    stack_before = plans(workspace, push_only_model, "stack")
    assert run_and_correct(workspace, push_only_model, "line_up", SEEDS)
    outcome = run_round(workspace, push_only_model, QUICK, progress=False, log=lambda _: None)
    return workspace, stack_before, outcome


def plans(workspace, model_dir, family):
    """What the workspace's planner in use plans for ``family``'s held-out scenes."""
    model = LMPlanner(model_dir, SkillLibrary.open(workspace))
    with Store.open(workspace) as store:
        planner, _ = planner_in_use(model, store, workspace, Meaning())
    evaluator = SuccessEvaluator(model.library, HELDOUT)
    try:
        return evaluator.evaluate(planner, [family]).plans
    finally:
        evaluator.close()


def test_a_second_family_gets_its_own_expert_and_the_first_is_planned_as_before(
    second_family, push_only_model
):
    workspace, stack_before, outcome = second_family
    assert outcome.promoted, outcome.reason
    assert outcome.experts == ["line_up-r2"]
    assert outcome.candidate["stack"] >= outcome.incumbent["stack"]
    assert outcome.candidate["line_up"] > outcome.incumbent["line_up"]
    # The stack expert is frozen and the router still sends stacking to it: same plans.
    assert plans(workspace, push_only_model, "stack") == stack_before


def test_the_router_sends_each_family_to_its_expert_without_being_told(
    second_family, push_only_model
):
    workspace = second_family[0]
    with Store.open(workspace) as store:
        chosen = active(store, workspace, model_identity(push_only_model))
    router = Router.load(chosen.router)
    assert sorted(router.experts) == ["line_up-r2", "stack-r1"]
    asked = own_questions(["stack", "line_up", "push_to_zone"], HELDOUT)
    tally = router_accuracy(router, Meaning(), asked)["own"]
    assert tally["asked"] == 18 and tally["right"] / tally["asked"] >= 0.95


def test_experts_load_once_into_one_model_and_switch_without_a_reload(
    second_family, push_only_model
):
    from robolearn.tasks.sampler import sample_task
    from robolearn.tasks.spec import get_family

    workspace = second_family[0]
    model = LMPlanner(push_only_model, SkillLibrary.open(workspace))
    with Store.open(workspace) as store:
        planner, _ = planner_in_use(model, store, workspace, Meaning())
    chosen = []
    for family in ["stack", "line_up", "push_to_zone", "stack", "line_up"]:
        planner.plan(sample_task(get_family(family), 5))
        chosen.append(planner.last_route.expert)
        peft_model = model.model
    assert chosen == ["stack-r1", "line_up-r2", None, "stack-r1", "line_up-r2"]
    assert model.model is peft_model and len(model.model.peft_config) == 2


def test_adapters_list_shows_the_experts_and_the_router(second_family, push_only_model):
    workspace = second_family[0]
    out = robolearn("adapters", "list", "--model", str(push_only_model), workspace=workspace)
    assert "router: 2 experts" in out.stdout
    assert "expert stack-r1: stack, round 1" in out.stdout
    assert "expert line_up-r2: line_up, round 2" in out.stdout


def test_an_expert_learns_to_write_calls_its_base_model_never_wrote(push_only_model, tmp_path):
    import random

    from safetensors import safe_open

    from robolearn.learn.examples import Lesson, Situation
    from robolearn.learn.lora import LoraSettings, train_adapter
    from robolearn.tasks.sampler import sample_task
    from robolearn.tasks.spec import get_family

    family = get_family("put_between")  # pick(x); place_between(x, a, c): never in its data
    rng = random.Random(0)
    examples = []
    for seed in (0, 2, 4, 6):
        task = sample_task(family, seed)
        situation = Situation(task.instruction, tuple(o.name for o in task.objects))
        lesson = Lesson(situation, tuple(task.oracle), family.name, "correction", seed, seed)
        examples += lesson.examples(15, rng)
    settings = LoraSettings(epochs=12, batch_size=8, learning_rate=1e-2, threads=1)
    out = tmp_path / "expert"
    result = train_adapter(
        push_only_model,
        None,
        examples,
        settings,
        out,
        model_identity(push_only_model),
        rng,
        progress=False,
    )
    assert result.final_loss < 1.0  # 1.8 without LoRA on the output layer
    with safe_open(out / "adapter_model.safetensors", "pt") as weights:
        names = list(weights.keys())
    assert any("lm_head.lora_A" in n for n in names) and any("lm_head.lora_B" in n for n in names)
    assert all("lora_" in n for n in names)  # no copy of the (tied) embeddings
    planner = LMPlanner(push_only_model, SkillLibrary.seed())
    planner.use_adapter(out)
    task = sample_task(family, 9)
    assert [c.name for c in planner.plan(task)] == ["pick", "place_between"]
