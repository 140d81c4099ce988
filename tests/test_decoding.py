"""Fast constrained decoding: the plain loop's plans for fewer model passes, and the doubt."""

import pytest
import torch

from robolearn.planner.bootstrap import bootstrap_families
from robolearn.planner.decoding import CausalSteps, constrained_greedy, plain_greedy
from robolearn.planner.lm import LMPlanner
from robolearn.skills.library import SkillLibrary
from robolearn.tasks.sampler import phrasings, sample_task
from tests.tiny_gguf import CHAT_TEMPLATE

LIBRARY = SkillLibrary.seed()


def plain(model, task):
    """The reference loop's ids and chosen-token probabilities for a decoding task."""
    decoded = plain_greedy(model, task.prompt_ids, task.processor.allowed, task.budget, task.end)
    return list(decoded.ids), list(decoded.probabilities)


def scenes(seeds=(1, 3)):
    """(instruction, objects) over every bootstrap family and each of its phrasings."""
    for family in bootstrap_families():
        for seed in seeds:
            task = sample_task(family, seed)
            for text in phrasings(family, task.objects)[:2]:
                yield text, task.objects


class Counting:
    """A model wrapper that counts the tokens the model is run on, and its calls."""

    def __init__(self, model):
        self.model, self.sizes = model, []

    def __call__(self, input_ids, **kwargs):
        self.sizes.append(input_ids.shape[1])
        return self.model(input_ids=input_ids, **kwargs)


def assert_same_as_plain(planner, instruction, objects, steps):
    task = planner.decoding_task(
        planner.format.prompt(instruction, [o.name for o in objects]), objects
    )
    with torch.inference_mode():
        decoded = constrained_greedy(
            steps, task.prompt_ids, task.processor.allowed, task.budget, task.end
        )
    ids, chosen = plain(planner.model, task)
    assert list(decoded.ids) == ids, instruction
    assert decoded.probabilities == pytest.approx(chosen, abs=1e-4)
    return decoded


def test_the_default_model_plans_as_the_plain_loop_did_with_fewer_model_passes(tiny_model):
    planner = LMPlanner(tiny_model[0], LIBRARY)
    counting = Counting(planner.model)
    steps = CausalSteps(counting)
    tokens = passes = 0
    for instruction, objects in scenes():
        decoded = assert_same_as_plain(planner, instruction, objects, steps)
        tokens, passes = tokens + len(decoded.ids), passes + decoded.forward_passes
    assert len(counting.sizes) == passes
    assert passes < tokens, "tokens the grammar forces are not asked of the model"


@pytest.fixture(scope="module")
def tiny_chat_model(tiny_model, tmp_path_factory):
    """A random Llama whose tokenizer has a chat template: prompted like SmolLM2, in seconds."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(tiny_model[0])
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    tokenizer.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    model = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=1,
            max_position_embeddings=8192,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    )
    folder = tmp_path_factory.mktemp("tiny-chat")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_chat_prompts_reuse_the_system_turn_they_share_and_plan_as_the_plain_loop(
    tiny_chat_model,
):
    planner = LMPlanner(tiny_chat_model, LIBRARY)
    counting = Counting(planner.model)
    steps = CausalSteps(counting)
    prompt_tokens = []
    for instruction, objects in scenes(seeds=(1,)):
        first_call = len(counting.sizes)
        assert_same_as_plain(planner, instruction, objects, steps)
        prompt = planner.format.prompt(instruction, [o.name for o in objects])
        prompt_tokens.append((len(planner.encode(prompt)[0]), counting.sizes[first_call]))
    first, *later = prompt_tokens
    assert first[1] == first[0], "the first prompt is read whole"
    assert all(ran < length / 2 for length, ran in later), prompt_tokens


def test_the_planner_says_how_sure_it_was_of_each_plan(tiny_model):
    planner = LMPlanner(tiny_model[0], LIBRARY)
    assert planner.doubt is None, "no plan yet"
    for instruction, objects in list(scenes())[:6]:
        planner.plan_instruction(instruction, objects)
        task = planner.decoding_task(
            planner.format.prompt(instruction, [o.name for o in objects]), objects
        )
        _, chosen = plain(planner.model, task)
        assert planner.doubt == pytest.approx(1 - min(chosen, default=1.0), abs=1e-4)
        assert 0.0 <= planner.doubt < 1.0


@pytest.mark.parametrize("model", ["tiny_model", "tiny_chat_model"])
def test_a_batch_of_plans_is_the_plans_one_at_a_time(model, request):
    folder = request.getfixturevalue(model)
    planner = LMPlanner(folder[0] if isinstance(folder, tuple) else folder, LIBRARY)
    requests = list(scenes())
    one_at_a_time = []
    for instruction, objects in requests:
        one_at_a_time.append((planner.plan_instruction(instruction, objects), planner.doubt))
    batched = planner.plan_many(requests, batch_size=5)
    assert [r.calls for r in batched] == [plan for plan, _ in one_at_a_time]
    assert [r.doubt for r in batched] == pytest.approx([d for _, d in one_at_a_time], abs=1e-4)
    assert all(r.error is None for r in batched)


def test_a_request_that_cannot_be_planned_gets_its_error_and_the_rest_their_plans(tiny_model):
    from robolearn.planner.lm import InstructionError

    planner = LMPlanner(tiny_model[0], LIBRARY)
    (instruction, objects), *_ = scenes()
    results = planner.plan_many([(instruction, objects), ("   ", objects), (instruction, objects)])
    assert isinstance(results[1].error, InstructionError) and results[1].calls == []
    assert results[0].calls == results[2].calls == planner.plan_instruction(instruction, objects)


def test_text_the_grammar_forces_is_written_unasked_for_fewer_passes(tiny_chat_model):
    from robolearn.calls import parse_calls

    planner = LMPlanner(tiny_chat_model, LIBRARY)
    assert planner.format.forces_text, "a chat model's tokenizer splits words first"
    asked = unasked = 0
    for instruction, objects in scenes(seeds=(1,)):
        prompt = planner.format.prompt(instruction, [o.name for o in objects])
        task = planner.decoding_task(prompt, objects)
        plain = constrained_greedy(
            CausalSteps(planner.model),
            task.prompt_ids,
            task.processor.allowed,
            task.budget,
            task.end,
        )
        forced = constrained_greedy(
            CausalSteps(planner.model),
            task.prompt_ids,
            task.processor.allowed,
            task.budget,
            task.end,
            task.processor.forced,
        )
        asked, unasked = asked + plain.forward_passes, unasked + forced.forward_passes
        text = planner.tokenizer.decode(list(forced.ids), skip_special_tokens=True)
        assert task.processor.grammar.is_complete(text), text
        assert parse_calls(text.replace("; ", "\n"))
    assert unasked < asked
