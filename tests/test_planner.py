"""The language-model planner: a model robolearn builds itself, plans that always parse."""

import json
import subprocess
import sys

import pytest

from robolearn.agent import run_episode
from robolearn.calls import Call
from robolearn.planner.bootstrap import bootstrap_families
from robolearn.planner.lm import LMPlanner, ModelNotFoundError
from robolearn.planner.phrasing import load_language
from robolearn.skills.library import SkillLibrary
from robolearn.tasks.env import TabletopEnv
from robolearn.tasks.sampler import sample_task
from robolearn.tasks.spec import get_family, load_families
from tests.test_benchmarks import run_benchmark


def test_a_tiny_bootstrap_saves_a_hugging_face_folder_with_its_report(tiny_model):
    out, report = tiny_model
    for name in ("config.json", "model.safetensors", "tokenizer.json", "bootstrap.json"):
        assert (out / name).is_file(), name
    saved = json.loads((out / "bootstrap.json").read_text())
    # 8 scenes a family, each in one template's words and its family's share of other words
    language = load_language()
    expected = sum(8 * (1 + language.count(f.name, 1)) for f in bootstrap_families())
    assert saved["examples"] == report.examples == expected
    assert 0.0 <= saved["exact_match"] <= 1.0


def test_even_an_untrained_model_writes_plans_that_parse_and_fit_the_scene(tiny_model):
    planner = LMPlanner(tiny_model[0], SkillLibrary.seed())
    for family in load_families().values():
        task = sample_task(family, 1)
        plan = planner.plan(task)
        assert plan and all(isinstance(call, Call) for call in plan)
        names = {o.name for o in task.objects}
        for call in plan:
            assert call.name in SkillLibrary.seed()
            assert all(
                arg in names or arg in ("left", "right", "front", "back") for arg in call.args
            ), call


def test_an_episode_with_the_lm_planner_is_recorded_whatever_the_plan(tiny_model):
    env = TabletopEnv("stack")
    try:
        record = run_episode(
            env, LMPlanner(tiny_model[0], SkillLibrary.seed()), seed=3, library=SkillLibrary.seed()
        )
    finally:
        env.close()
    assert record.planner == "lm" and record.plan
    assert record.error is None or "step" in record.error


def test_any_local_llama_style_folder_can_plan(tmp_path, tiny_model):
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(tiny_model[0])
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    folder = tmp_path / "my-llama"
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    task = sample_task(get_family("sort_into_bowls"), 2)
    plan = LMPlanner(folder, SkillLibrary.seed()).plan(task)
    names = {o.name for o in task.objects}
    assert all(
        isinstance(a, str) and (a in names or a in ("left", "right", "front", "back"))
        for call in plan
        for a in call.args
    )


def test_a_missing_model_says_how_to_get_one(tmp_path):
    with pytest.raises(ModelNotFoundError, match="robolearn bootstrap"):
        LMPlanner(tmp_path / "nothing", SkillLibrary.seed())


def test_plan_prints_a_plan_without_running_it(tiny_model, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "robolearn.cli",
            "plan",
            "stack the red block on the blue one",
            "--family",
            "stack",
            "--model",
            str(tiny_model[0]),
            "--workspace",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    scene = result.stdout.splitlines()[0]
    assert scene.startswith("scene (stack, seed ")
    assert "red_block" in scene and "blue_block" in scene, "a scene with the colours named"
    assert "  1. " in result.stdout


def test_the_planner_benchmark_runs_on_any_model_folder(tiny_model, tmp_path):
    markdown = tmp_path / "planners.md"
    args = ["--model", str(tiny_model[0]), "--per-family", "1", "--markdown", str(markdown)]
    stdout, results = run_benchmark("bench_planners", tmp_path, *args)
    assert "success per family" in stdout
    (model,) = results["models"]
    assert model["name"] == str(tiny_model[0]) and model["threads"] == 1
    families = {p["family"] for p in model["plans"] if p["set"] == "held-out"}
    assert families == {f.name for f in bootstrap_families()}
    assert all(p["error"] is None or "invalid" in p["error"] for p in model["plans"])
    tables = markdown.read_text()
    assert "| model | scenes |" in tables and "Most common failures" in tables


def test_adapters_switch_without_reloading_the_base_model(tiny_model, tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_model[0])
    lora = get_peft_model(
        base,
        LoraConfig(
            r=4,
            lora_alpha=8,
            target_modules=["c_attn"],
            fan_in_fan_out=True,
            init_lora_weights=False,
        ),
    )
    lora.save_pretrained(tmp_path / "adapter")

    planner = LMPlanner(tiny_model[0], SkillLibrary.seed())
    task = sample_task(get_family("stack"), 5)
    plain = planner.plan(task)
    planner.use_adapter(tmp_path / "adapter")
    assert planner.adapter == tmp_path / "adapter"
    with_adapter = planner.plan(task)
    assert with_adapter, "a plan comes out with the adapter on"
    planner.use_adapter(None)
    assert planner.plan(task) == plain, "the base model is untouched by the adapter"
    with pytest.raises(ModelNotFoundError, match="no LoRA adapter"):
        planner.use_adapter(tmp_path / "nothing")
