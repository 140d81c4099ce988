"""Prompts: the plain one for the default model, the chat one with worked examples."""

from types import SimpleNamespace

import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from robolearn.calls import parse_calls
from robolearn.planner.demonstrations import LibraryDemonstrations, shorten
from robolearn.planner.prompt import (
    ChatFormat,
    ChatStyle,
    Demonstration,
    PlainFormat,
    build_prompt,
    plannable_skills,
)
from robolearn.skills.library import SkillLibrary
from robolearn.tasks.sampler import phrasings, sample_task
from robolearn.tasks.spec import get_family, load_families

LIBRARY = SkillLibrary.seed()
CHAT = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


@pytest.fixture(scope="module")
def chat_tokenizer():
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(
        ["pick(red_block); place(red_block, blue_block)"],
        trainers.BpeTrainer(
            vocab_size=300,
            show_progress=False,
            special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>", "<|im_end|>"],
    )
    tokenizer.chat_template = CHAT
    return tokenizer


class Remembered:
    """A correction memory's stand-in: one fixed example, and what it was asked."""

    def __init__(self):
        self.asked = []

    def demonstrations(self, instruction, object_names, k):
        self.asked.append((instruction, object_names, k))
        return [
            Demonstration(
                "put the crimson cube on the green one",
                ("red_block", "green_block"),
                ("stack_on(red_block, green_block)",),
            )
        ]


def test_the_plain_prompt_is_unchanged_for_the_default_model():
    assert build_prompt("stack  the red\nblock", ["b", "a"]) == (
        "task: stack the red block\nobjects: a b\nplan:"
    )
    assert PlainFormat.lead == " "


def test_the_chat_prompt_shows_skills_objects_examples_and_the_task(chat_tokenizer):
    source = Remembered()
    chat = ChatFormat(chat_tokenizer, LIBRARY, source, ChatStyle(shots=2))
    prompt = chat.prompt(
        "could you set the crimson cube on top of the blue one?",
        ["red_block", "blue_block", "green_block"],
    )
    assert source.asked == [
        (
            "could you set the crimson cube on top of the blue one?",
            ["red_block", "blue_block", "green_block"],
            2,
        )
    ]
    system, example, answer, task = prompt.split("<|im_start|>")[1:5]
    for name in plannable_skills(LIBRARY):
        assert LIBRARY.get(name).signature in system
    assert "move_to" not in system, "numeric skills are reached through composites"
    assert "blue_block green_block red_block" in system
    assert example.startswith("user\n") and "crimson cube on the green one" in example
    assert answer == "assistant\nstack_on(red_block, green_block)<|im_end|>\n"
    assert task.startswith("user\n") and "on top of the blue one?" in task
    assert prompt.endswith("<|im_start|>assistant\n")
    assert chat.end_token_id == chat_tokenizer.convert_tokens_to_ids("<|im_end|>")


def test_a_tokenizer_without_a_chat_template_gets_the_plain_format():
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.BPE()))
    with pytest.raises(ValueError, match="no chat template"):
        ChatFormat(tokenizer, LIBRARY)


def test_a_plan_is_shortened_to_the_composites_that_do_the_same():
    for family, expected in [
        ("stack", "stack_on"),
        ("place_in_zone", "put_in"),
        ("tower", "build_tower"),
        ("line_up", "line_up_three"),
        ("sort_into_bowls", "sort_into_bowls"),
        ("push_to_zone", "push"),
    ]:
        task = sample_task(get_family(family), 0)
        short = shorten(list(task.oracle), LIBRARY, task.objects)
        assert [c.name for c in short] == [expected], family
        scene = SimpleNamespace(objects={o.name: o for o in task.objects})
        assert [a for c in short for a in LIBRARY.expand(c, scene)] == list(task.oracle)


def test_shortening_respects_the_kinds_a_composite_takes():
    task = sample_task(get_family("place_in_zone"), 0)
    plan = parse_calls(
        f"pick({task.roles['item']}); place({task.roles['item']}, {task.roles['distractor']})"
    )
    assert [c.name for c in shorten(plan, LIBRARY, task.objects)] == ["stack_on"]
    assert shorten(plan[:1], LIBRARY, task.objects) == plan[:1]


def test_library_examples_are_the_closest_phrasings_and_avoid_the_scenes_objects():
    source = LibraryDemonstrations(LIBRARY)
    task = sample_task(get_family("tower"), 201)
    names = [o.name for o in task.objects]
    examples = source.demonstrations(
        "build a tall tower: blue at the bottom, then yellow", names, 3
    )
    assert len(examples) == 3
    assert examples[-1].plan[0].startswith("build_tower("), "the closest comes last"
    templates = {
        text
        for f in load_families().values()
        for seed in range(0, 20, 2)
        for text in phrasings(f, sample_task(f, seed).objects)
    }
    assert all(e.instruction in templates for e in examples)
    assert all(len(set(e.objects) & set(names)) <= 1 for e in examples)
    assert source.demonstrations("anything", names, 0) == []
