"""Constrained decoding: whatever a language model writes, the plan parses and fits the scene.

The model here is a tiny randomly initialised GPT-2 with a byte-level BPE tokenizer trained in
the test: it knows nothing about plans, so every well-formed plan it writes is the grammar's doing.
"""

import random
import re
from types import SimpleNamespace

import pytest
import torch
from tokenizers import ByteLevelBPETokenizer, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    LogitsProcessorList,
    PreTrainedTokenizerFast,
)

from robolearn.calls import parse_call, parse_calls
from robolearn.planner.grammar import ConstrainedPlanProcessor, PlanGrammar, call_vocabulary
from robolearn.sim.scene import SceneObject
from robolearn.skills.executor import MAX_PLAN_STEPS
from robolearn.skills.library import SkillLibrary
from robolearn.skills.params import SIDES
from robolearn.tasks.sampler import sample_task
from robolearn.tasks.spec import load_families

LIBRARY = SkillLibrary.seed()
FAMILIES = load_families()
EOS = "<|endoftext|>"


def task(family, seed=0):
    return sample_task(FAMILIES[family], seed)


def scene_of(task):
    """What SkillLibrary.expand reads of a world: its objects by name."""
    return SimpleNamespace(objects={obj.name: obj for obj in task.objects})


def training_texts():
    tasks = [sample_task(family, seed) for family in FAMILIES.values() for seed in range(60)]
    texts = [f"{t.instruction}\n{'; '.join(map(str, t.oracle))}" for t in tasks]
    return texts + ["; ".join(call_vocabulary(LIBRARY, t.objects)) for t in tasks[::20]]


def wrap(tokenizer):
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token=EOS, pad_token=EOS)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """A tiny model runs ~10x faster on one thread than on two when the other core is busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module", params=["words", "spans"])
def tokenizer(request):
    """Byte-level BPE: "words" splits text at spaces and punctuation first, as GPT-2 does;
    "spans" does not, so its tokens run across calls (``yellow_block); place(``)."""
    bpe = ByteLevelBPETokenizer()
    if request.param == "spans":
        bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    bpe.train_from_iterator(
        training_texts(), vocab_size=1000, special_tokens=[EOS], show_progress=False
    )
    return wrap(bpe._tokenizer)


@pytest.fixture(scope="module")
def model(tokenizer):
    torch.manual_seed(0)
    eos = tokenizer.eos_token_id
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=512,
        n_embd=64,
        n_layer=2,
        n_head=2,
        bos_token_id=eos,
        eos_token_id=eos,
        pad_token_id=eos,
    )
    return GPT2LMHeadModel(config).eval()


# ----- the calls a scene offers ---------------------------------------------------------------
def test_a_scene_offers_every_call_of_its_skills_on_its_objects():
    sort = task("sort_into_bowls")
    vocabulary = call_vocabulary(LIBRARY, sort.objects)
    blocks = [o.name for o in sort.objects if o.kind == "block"]
    bowls = [o.name for o in sort.objects if o.kind == "bowl"]

    assert vocabulary == sorted(set(vocabulary))
    assert {f"pick({b})" for b in blocks} <= set(vocabulary)
    assert "open_gripper()" in vocabulary
    assert all(str(call) in vocabulary for call in sort.oracle)
    put_in = [parse_call(c) for c in vocabulary if c.startswith("put_in(")]
    assert {c.args[1] for c in put_in} == set(bowls)  # a block is no container
    assert len(put_in) == len(blocks) * len(bowls)
    assert not any(c.startswith("move_to(") for c in vocabulary)  # numbers: via composites


def test_sides_are_enumerated_and_no_call_names_an_object_twice():
    line = task("line_up")
    vocabulary = call_vocabulary(LIBRARY, {o.name: o for o in line.objects})
    beside = [parse_call(c) for c in vocabulary if c.startswith("place_beside(")]
    assert {c.args[2] for c in beside} == set(SIDES)
    assert len(beside) == 3 * 2 * len(SIDES)
    for text in vocabulary:
        named = [a for a in parse_call(text).args if a not in SIDES]
        assert len(named) == len(set(named)), text


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_offered_call_is_one_the_library_accepts_in_that_scene(family):
    instance = task(family, seed=3)
    for text in call_vocabulary(LIBRARY, instance.objects):
        call = parse_call(text)
        assert str(call) == text
        assert LIBRARY.expand(call, scene_of(instance))


def test_a_crowded_scene_still_gets_its_calls_quickly():
    colours = ["red", "green", "blue", "yellow"]
    objects = [
        SceneObject(f"{c}_{kind}", kind, c, 0.5, 0.0)
        for kind, n in [("block", 4), ("bowl", 3), ("zone", 3)]
        for c in colours[:n]
    ]
    vocabulary = call_vocabulary(LIBRARY, objects)
    assert len(vocabulary) > 3000  # sort_into_bowls: 4*3*2 blocks, 6*5*4 containers
    assert PlanGrammar(vocabulary).is_complete(vocabulary[0])


# ----- the plan grammar ----------------------------------------------------------------------
GRAMMAR = PlanGrammar(
    ["pick(red_block)", "place(red_block, blue_bowl)", "open_gripper()"], max_calls=2
)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "pi",
        "pick(red_block)",
        "pick(red_block);",
        "pick(red_block); ",
        "pick(red_block); place(red_",
        "open_gripper(); open_gripper()",
    ],
)
def test_a_plan_can_be_written_one_character_at_a_time(text):
    assert GRAMMAR.is_prefix(text)


@pytest.mark.parametrize(
    "text",
    [
        " pick",
        "pick(green",
        "pick(red_block) ",
        "pick(red_block);pick",
        "pick(red_block);  pick",
        "pick(red_block)\npick(red_block)",
        "pick(red_block, red_block)",
        "move_to(",
        "pick(red_block)x",
        "pick(red_block); pick(red_block); pick(red_block)",
        "pick(red_block); pick(red_block);",
    ],
)
def test_anything_else_is_refused_at_once(text):
    assert not GRAMMAR.is_prefix(text)
    assert not GRAMMAR.is_complete(text)


def test_a_plan_is_complete_only_when_its_last_call_is():
    assert GRAMMAR.is_complete("pick(red_block)")
    assert GRAMMAR.is_complete("pick(red_block); place(red_block, blue_bowl)")
    for dangling in ["", "pick(red_block", "pick(red_block);", "pick(red_block); "]:
        assert not GRAMMAR.is_complete(dangling)


def test_max_calls_bounds_the_plan_and_defaults_to_the_executors_limit():
    one = "pick(red_block)"
    assert PlanGrammar([one]).max_calls == MAX_PLAN_STEPS
    assert PlanGrammar([one]).is_complete("; ".join([one] * MAX_PLAN_STEPS))
    assert not PlanGrammar([one]).is_prefix("; ".join([one] * MAX_PLAN_STEPS) + ";")
    assert GRAMMAR.longest_plan == len("place(red_block, blue_bowl); place(red_block, blue_bowl)")
    with pytest.raises(ValueError, match="max_calls"):
        PlanGrammar([one], max_calls=0)
    with pytest.raises(ValueError, match="';'"):
        PlanGrammar(["pick(a); pick(b)"])


def test_the_text_every_continuation_shares_is_forced():
    grammar = PlanGrammar(["pick(red_block)", "pick(red_bowl)", "push(red_block, blue_zone)"])
    assert grammar.forced("", 0) == "p", "pick or push"
    assert grammar.forced("pick(r", 0) == "ed_b"
    assert grammar.forced("pu", 0) == "sh(red_block, blue_zone)"
    assert grammar.forced("pick(red_block)", 0) == "", "the plan may end or go on"
    assert grammar.forced("", 1) == " p", "after a separator: its space, then a call"
    assert grammar.forced(" pick(red_bl", 1) == "ock)"
    assert grammar.forced("pick(x", 0) == "", "no call goes on from here"


def test_forced_text_is_written_in_the_tokenizers_own_tokens(tokenizer):
    instance = task("sort_into_bowls", seed=5)
    processor = processor_for(instance, tokenizer)
    pick, place = map(str, instance.oracle[:2])
    for text in ["pick(", pick[:-3], place[: place.index(",") + 2], f"{pick}; pl"]:
        forced = processor.grammar.forced(*processor.grammar.read(text)).rstrip(" ")
        ids = processor.forced(tokenizer.encode(text))
        assert forced.startswith(tokenizer.decode(ids))
        assert processor.grammar.is_prefix(text + forced)
    assert processor.forced(tokenizer.encode(pick[:-3])), "the end of an object's name"


def test_a_forced_run_leaves_the_model_the_tokens_that_run_past_its_end(tokenizer):
    # The grammar forces ")" after an object's name, but a call may follow, and a tokenizer may
    # write ")" and the separator as one token. A model that learned its plans in such tokens
    # reads a forced ")" as the end of the plan: it must choose that token itself.
    instance = task("sort_into_bowls", seed=5)
    processor = processor_for(instance, tokenizer)
    generated = tokenizer.encode(str(instance.oracle[0])[:-3])
    ids = processor.forced(generated)
    rest = processor.grammar.forced(*processor.grammar.read(tokenizer.decode(generated)))
    written = tokenizer.decode(ids)
    assert rest.startswith(written) and written != rest
    options = [tokenizer.decode([i]) for i in processor.allowed(generated + ids).tolist()]
    left = rest[len(written) :]
    assert any(o.startswith(left) and len(o) > len(left) for o in options), options


# ----- the logits processor ------------------------------------------------------------------
def processor_for(instance, tokenizer, prompt_length=0, max_calls=3, lead=""):
    grammar = PlanGrammar(call_vocabulary(LIBRARY, instance.objects), max_calls=max_calls)
    return ConstrainedPlanProcessor(
        grammar, tokenizer, prompt_length, tokenizer.eos_token_id, lead=lead
    )


@pytest.mark.parametrize("lead", ["", " "])
def test_allowed_tokens_are_exactly_those_that_keep_the_text_a_plan_prefix(
    tokenizer, lead, request
):
    instance = task("sort_into_bowls", seed=5)
    processor = processor_for(instance, tokenizer, lead=lead)
    grammar, eos = processor.grammar, tokenizer.eos_token_id
    texts = [tokenizer.decode([i]) for i in range(len(tokenizer))]

    def fits(text):
        if len(text) <= len(lead):
            return lead.startswith(text)
        return text.startswith(lead) and grammar.is_prefix(text[len(lead) :])

    answer = lead + "; ".join(map(str, instance.oracle[:3]))
    ends = [i for i, ch in enumerate(answer) if ch == "_"]  # "_bowl); pick(" may come next
    cuts = {0, len(answer), *ends, *random.Random(0).sample(range(len(answer)), 20)}
    seen = set()
    for cut in sorted(cuts):
        text = answer[:cut]
        expected = {i for i, piece in enumerate(texts) if i != eos and piece and fits(text + piece)}
        if text.startswith(lead) and grammar.is_complete(text[len(lead) :]):
            expected.add(eos)
        assert set(processor.allowed(tokenizer.encode(text)).tolist()) == expected, text
        seen |= expected
    if request.node.callspec.params["tokenizer"] == "spans":  # tokens that cross calls
        assert any(re.search(r"\w\); \w", texts[i]) for i in seen)


def test_a_lead_lets_the_first_token_carry_a_space(tokenizer, request):
    # A model trained on "plan: pick(a)" starts its answer with the token " pick".
    spaced = processor_for(task("stack"), tokenizer, lead=" ")
    bare = processor_for(task("stack"), tokenizer)
    first = {tokenizer.decode([i]) for i in spaced.allowed([]).tolist()}
    assert " " in first and all(piece.startswith(" ") for piece in first)
    if request.node.callspec.params["tokenizer"] == "words":
        assert " pick" in first
    assert all(not tokenizer.decode([i]).startswith(" ") for i in bare.allowed([]).tolist())


def test_the_end_is_allowed_only_once_a_plan_is_complete(tokenizer):
    processor = processor_for(task("stack"), tokenizer)
    eos = tokenizer.eos_token_id
    call = str(task("stack").oracle[0])
    assert eos in processor.allowed(tokenizer.encode(call)).tolist()
    assert eos not in processor.allowed(tokenizer.encode(call[:-1])).tolist()
    assert eos not in processor.allowed(tokenizer.encode(call + "; ")).tolist()
    # Text that already left the grammar (a wrong prompt_length, say) can only end.
    assert processor.allowed(tokenizer.encode("hello")).tolist() == [eos]


def test_a_tokenizer_that_does_not_decode_by_concatenation_is_refused():
    sentencepiece_like = Tokenizer(models.BPE(unk_token="<unk>"))
    sentencepiece_like.pre_tokenizer = pre_tokenizers.Metaspace()
    sentencepiece_like.decoder = decoders.Metaspace()
    sentencepiece_like.train_from_iterator(
        training_texts()[:50], trainers.BpeTrainer(vocab_size=300, special_tokens=["<unk>", EOS])
    )
    with pytest.raises(ValueError, match="byte-level BPE"):
        processor_for(task("stack"), wrap(sentencepiece_like))


SCENES = [(family, seed) for seed in range(5) for family in sorted(FAMILIES)]


def test_a_random_model_writes_only_plans_that_parse_and_fit_the_scene(tokenizer, model):
    rng = random.Random(0)
    words = " ".join(t.instruction for t in map(task, FAMILIES)).split()
    eos = tokenizer.eos_token_id
    for n, (family, seed) in enumerate(SCENES):
        instance = task(family, seed)
        lead = " " if n % 3 == 2 else ""
        prompt = f"{' '.join(rng.choices(words, k=rng.randint(3, 12)))}\n"
        inputs = tokenizer(prompt, return_tensors="pt")
        processor = processor_for(instance, tokenizer, inputs.input_ids.shape[1], lead=lead)
        vocabulary = processor.grammar.calls
        sample = n % 2 == 1
        torch.manual_seed(n)
        out = model.generate(
            **inputs,
            logits_processor=LogitsProcessorList([processor]),
            max_new_tokens=len(lead) + processor.grammar.longest_plan + 1,
            do_sample=sample,
        )
        generated = out[0, inputs.input_ids.shape[1] :].tolist()
        text = tokenizer.decode(generated, skip_special_tokens=True)
        where = f"{family}/{seed} ({'sampled' if sample else 'greedy'}): {text!r}"
        assert generated[-1] == eos, where  # it ended by itself
        assert text.startswith(lead), where
        calls = parse_calls(text)
        assert lead + "; ".join(map(str, calls)) == text, where
        assert 1 <= len(calls) <= processor.grammar.max_calls, where
        for call in calls:
            assert str(call) in vocabulary, where
            assert LIBRARY.expand(call, scene_of(instance)), where


def test_without_the_processor_the_same_model_writes_nonsense(tokenizer, model):
    instance = task("stack")
    inputs = tokenizer(f"{instance.instruction}\n", return_tensors="pt")
    out = model.generate(**inputs, max_new_tokens=20, do_sample=False)
    text = tokenizer.decode(out[0, inputs.input_ids.shape[1] :], skip_special_tokens=True)
    grammar = PlanGrammar(call_vocabulary(LIBRARY, instance.objects))
    assert not grammar.is_prefix(text)
