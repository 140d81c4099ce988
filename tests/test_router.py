"""The router: base model or expert, by the meaning of an instruction in its scene."""

import json

import numpy as np
import pytest
from faults import Faults, injected

from robolearn.durable import DiskError
from robolearn.learn.meaning import Meaning
from robolearn.learn.router import (
    BASE,
    Expert,
    RoutedPlanner,
    Router,
    RouterError,
    family_scenes,
)
from robolearn.planner.bootstrap import bootstrap_families
from robolearn.tasks.sampler import sample_task
from robolearn.tasks.spec import get_family

MEANING = Meaning()
TRAINING = range(0, 20, 2)
"""An expert's training scenes (even seeds); the questions below use odd ones."""


def expert_router(*names):
    """The base model on the bootstrap families, and one expert per family in ``names``."""
    router = Router.for_families(bootstrap_families(), MEANING)
    for name in names:
        expert = Expert(name, provenance={"cluster": name})
        router.add_expert(expert, family_scenes(get_family(name), TRAINING), MEANING)
    return router


def ask(router, family, seed, instruction=None):
    task = sample_task(get_family(family), seed)
    return router.route(instruction or task.instruction, task.objects, MEANING)


def colours(family, seed, *roles):
    task = sample_task(get_family(family), seed)
    return [task.roles[r].split("_")[0] for r in roles]


def test_each_family_goes_to_its_expert_and_the_rest_to_the_base_model_unasked():
    router = expert_router("put_between", "flip_stack")
    x, a, c = colours("put_between", 7, "x", "a", "c")
    route = ask(router, "put_between", 7, f"set the {x} cube down midway between {a} and {c}")
    assert route.expert == "put_between"
    assert (
        route.explain() == f"expert put_between (router similarity {route.nearest.similarity:.2f})"
    )
    assert ask(router, "flip_stack", 7).expert == "flip_stack"
    for family in ("stack", "tower", "line_up"):
        route = ask(router, family, 7)
        assert route.expert is None and route.explain().startswith("base model"), family


def test_a_family_with_no_expert_yet_goes_to_the_base_model():
    router = expert_router("put_between")
    route = ask(router, "swap_blocks", 3)
    assert route.expert is None


def test_adding_an_expert_adds_prototypes_and_moves_none():
    router = expert_router("put_between")
    before = (router.prototypes.vectors.copy(), list(router.prototypes.labels))
    router.add_expert(
        Expert("clear_table"), family_scenes(get_family("clear_table"), TRAINING), MEANING
    )
    rows = len(before[1])
    assert np.array_equal(router.prototypes.vectors[:rows], before[0])
    assert router.prototypes.labels[:rows] == before[1]
    assert set(router.prototypes.labels[rows:]) == {"clear_table"}
    with pytest.raises(RouterError, match="already has an expert called 'put_between'"):
        router.add_expert(
            Expert("put_between"), family_scenes(get_family("put_between"), [0]), MEANING
        )
    with pytest.raises(RouterError, match="at least one instruction"):
        router.add_expert(Expert("empty"), [], MEANING)


def test_a_saved_router_is_json_and_safetensors_and_routes_the_same(tmp_path):
    router = expert_router("flip_stack")
    router.experts["flip_stack"] = Expert("flip_stack", "adapters/round-0001", {"round": "1"})
    router.save(tmp_path / "router")
    assert sorted(p.name for p in (tmp_path / "router").iterdir()) == [
        "prototypes.safetensors",
        "router.json",
    ]
    info = json.loads((tmp_path / "router" / "router.json").read_text())
    assert info["format"] == 1 and info["experts"][0]["adapter"] == "adapters/round-0001"
    loaded = Router.load(tmp_path / "router")
    for family, seed in (("flip_stack", 5), ("stack", 5), ("put_between", 5)):
        assert ask(loaded, family, seed) == ask(router, family, seed)
    assert loaded.experts == router.experts


def test_a_router_save_that_fails_at_any_write_leaves_the_saved_router_whole(tmp_path):
    saved = expert_router("flip_stack")
    saved.save(tmp_path / "router")
    newer = expert_router("flip_stack", "put_between")
    with injected(Faults(roots=[tmp_path])) as counting:
        newer.save(tmp_path / "router")
    for fail_at in range(1, counting.count + 1):
        saved.save(tmp_path / "router")
        with pytest.raises(DiskError), injected(Faults(roots=[tmp_path], fail_at=fail_at)):
            newer.save(tmp_path / "router")
        loaded = Router.load(tmp_path / "router")  # whole: the old one, or the new one
        assert set(loaded.experts) in ({"flip_stack"}, {"flip_stack", "put_between"}), fail_at
        assert sorted(p.name for p in tmp_path.iterdir()) == ["router"], fail_at  # no leftovers


def test_a_router_that_cannot_be_read_says_so(tmp_path):
    with pytest.raises(RouterError, match="no usable router"):
        Router.load(tmp_path)
    expert_router().save(tmp_path / "router")
    info = json.loads((tmp_path / "router" / "router.json").read_text())
    (tmp_path / "router" / "router.json").write_text(json.dumps({**info, "format": 99}))
    with pytest.raises(RouterError, match="format 99"):
        Router.load(tmp_path / "router")
    (tmp_path / "router" / "router.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(RouterError, match="nests 100000 levels deep"):  # not RecursionError
        Router.load(tmp_path / "router")
    router = expert_router()
    router.embedder_id = "another-model-000000000000"
    with pytest.raises(RouterError, match="rebuild the router"):
        ask(router, "stack", 1)


def routed_flip_expert(model_dir, folder):
    """The seed library's planner on ``model_dir`` behind a router with one expert, flip_stack:
    a LoRA of large random weights saved in ``folder``, so it plans otherwise than the base."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from robolearn.planner.lm import LMPlanner
    from robolearn.skills.library import SkillLibrary

    torch.manual_seed(0)
    expert = get_peft_model(
        AutoModelForCausalLM.from_pretrained(model_dir),
        LoraConfig(
            r=4,
            lora_alpha=64,
            target_modules=["c_attn", "c_fc"],
            fan_in_fan_out=True,
            init_lora_weights=False,
        ),
    )
    expert.save_pretrained(folder)
    return RoutedPlanner(
        LMPlanner(model_dir, SkillLibrary.seed()),
        expert_router("flip_stack"),
        {"flip_stack": folder},
        MEANING,
    )


def test_the_routed_planner_plans_with_the_chosen_experts_adapter(tiny_model, tmp_path):
    planner = routed_flip_expert(tiny_model[0], tmp_path / "flip")
    planner.plan(sample_task(get_family("flip_stack"), 9))
    assert planner.planner.adapter == tmp_path / "flip"
    assert "expert flip_stack (router similarity" in planner.explanation
    planner.plan(sample_task(get_family("stack"), 9))
    assert planner.planner.adapter is None and planner.last_route.expert is None
    with pytest.raises(RouterError, match="no adapter given"):
        RoutedPlanner(planner.planner, expert_router("flip_stack"), {}, MEANING)
    assert BASE not in planner.router.experts


def test_a_batch_routed_over_experts_gets_the_plans_asked_one_at_a_time(tiny_model, tmp_path):
    from robolearn.planner.lm import LMPlanner
    from robolearn.skills.library import SkillLibrary

    planner = routed_flip_expert(tiny_model[0], tmp_path / "flip")
    tasks = [sample_task(get_family(f), s) for s in (3, 5, 7) for f in ("flip_stack", "stack")]
    batched = [r.calls for r in planner.plan_tasks(tasks)]
    assert batched == [planner.plan(task) for task in tasks]
    flips, stacks = batched[0::2], batched[1::2]
    base = LMPlanner(tiny_model[0], SkillLibrary.seed())
    assert stacks == [base.plan(t) for t in tasks[1::2]]  # the base model's own plans
    assert flips != [base.plan(t) for t in tasks[0::2]]  # the expert's


def test_an_expert_is_asked_in_its_familys_own_words(tiny_model, tmp_path):
    from dataclasses import replace

    from robolearn.tasks.sampler import phrasings

    planner = routed_flip_expert(tiny_model[0], tmp_path / "flip")
    task = sample_task(get_family("flip_stack"), 9)
    bottom, top = colours("flip_stack", 9, "a", "b")
    asked = replace(task, instruction=f"the {bottom} and {top} pile: turn it upside down")
    plan = planner.plan(asked)
    assert planner.last_route.expert == "flip_stack"
    read_as = planner.explanation.split("; read as ")[1].strip("'")
    assert read_as in phrasings(get_family("flip_stack"), task.objects)
    assert plan == planner.plan(replace(task, instruction=read_as))
    assert "read as" not in planner.explanation, "its own words are asked as they are"
    assert [r.calls for r in planner.plan_tasks([asked])] == [plan]
    assert planner.source(asked) != planner.source(task), "outcomes remembered apart"
