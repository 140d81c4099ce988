"""What a round learns from: lessons out of the store, colour-renamed copies, and replay."""

import random
import re
from collections import Counter

import pytest

from robolearn.calls import parse_calls
from robolearn.learn.examples import Lesson, Situation, lessons
from robolearn.learn.replay import replay_sample
from robolearn.planner.phrasing import load_language
from robolearn.planner.training import Example
from robolearn.records import EpisodeRecord
from robolearn.store import CorrectionRow, Store
from robolearn.tasks.sampler import sample_task
from robolearn.tasks.spec import get_family


def stored_episode(store, family, seed, plan, success):
    task = sample_task(get_family(family), seed)
    return store.add_episode(
        store.start_run("lm", seed),
        EpisodeRecord(
            family=family,
            seed=seed,
            instruction=task.instruction,
            planner="lm",
            plan=plan,
            success=success,
        ),
    )


def test_colour_renaming_keeps_instruction_objects_and_plan_consistent():
    task = sample_task(get_family("sort_into_bowls"), 2)
    situation = Situation(task.instruction, tuple(o.name for o in task.objects))
    mapping = {
        "red": "pink",
        "pink": "red",
        "green": "cyan",
        "cyan": "green",
        "blue": "yellow",
        "yellow": "blue",
        "purple": "orange",
        "orange": "purple",
    }
    renamed = situation.recoloured(mapping)
    for before, after in zip(situation.objects, renamed.objects, strict=True):
        colour, kind = before.split("_", 1)
        assert after == f"{mapping[colour]}_{kind}"
    for colour in {o.split("_")[0] for o in situation.objects} & set(task.instruction.split()):
        assert mapping[colour] in renamed.instruction.split()
    # sort_into_bowls pairs each block with the bowl of its colour; renaming keeps the pairs.
    assert sorted(o.split("_")[0] for o in renamed.objects if o.endswith("bowl")) == sorted(
        o.split("_")[0] for o in renamed.objects if o.endswith("block")
    )


def test_rephrased_copies_ask_for_the_same_task_in_other_words_of_their_own_scene():
    task = sample_task(get_family("put_between"), 3)
    names = tuple(o.name for o in task.objects)
    lesson = Lesson(
        Situation(task.instruction, names), tuple(task.oracle), "put_between", "c", 1, 3
    )
    kept = lesson.examples(20, random.Random(0), rephrase=0.0)
    rephrased = lesson.examples(20, random.Random(0), rephrase=1.0)
    templates = {" ".join(Situation(e.prompt, names).template[0]) for e in kept}
    other = [
        e
        for e in rephrased[1:]
        if " ".join(Situation(e.prompt, names).template[0]) not in templates
    ]
    assert len(other) >= 10  # not only the correction's words with other colours
    colours = load_language().colours  # crimson, tomato...: other names of the plan's red

    def names_the_plans_colours(example):
        text = example.prompt.split("\n")[-3].lower()
        planned = {arg.split("_")[0] for arg in re.findall(r"\w+_block", example.answer)}
        return all(any(name in text for name in colours[c]) for c in planned)

    named = [names_the_plans_colours(e) for e in rephrased[1:]]
    assert sum(named) >= 0.9 * len(named)  # the rest: a typo in a colour's name


def test_a_correction_becomes_a_lesson_with_copies_and_the_latest_correction_wins(tmp_path):
    task = sample_task(get_family("stack"), 5)
    top, base = task.roles["top"], task.roles["base"]
    with Store.open(tmp_path) as store:
        wrong = stored_episode(
            store, "stack", 5, [f"pick({base})", f"place({base}, {top})"], success=False
        )
        for corrected, worked in ((["pick(x)"], False), ([str(c) for c in task.oracle], True)):
            store.add_correction(
                CorrectionRow(wrong, 0, ["x()"], corrected, who="ann", rerun_success=worked)
            )
        stored_episode(
            store,
            "tower",
            2,
            [str(c) for c in sample_task(get_family("tower"), 2).oracle],
            success=True,
        )
        found = lessons(store)

    assert [(lesson.source, lesson.family) for lesson in found] == [
        ("correction", "stack"),
        ("episode", "tower"),
    ]
    assert found[0].plan == task.oracle  # the failed re-run was not learned
    examples = found[0].examples(copies=5, rng=random.Random(0))
    assert examples[0].answer == f" pick({top}); place({top}, {base})"
    assert not examples[0].augmented and all(e.augmented for e in examples[1:])
    assert len({e.prompt for e in examples}) == len(examples)  # no copy twice
    for example in examples[1:]:  # every copy still names only objects of its own prompt
        objects = example.prompt.split("objects: ")[1].split("\n")[0].split()
        for call in parse_calls(example.answer.strip().replace("; ", "\n")):
            assert set(call.args) <= set(objects)


def pool(counts):
    return [Example(f"p{family}{i}", "a", family) for family, n in counts.items() for i in range(n)]


def test_balanced_replay_gives_every_family_an_equal_share():
    chosen = replay_sample(
        pool({"stack": 600, "tower": 600, "swap_blocks": 20}), 90, "balanced", random.Random(0)
    )
    assert Counter(e.family for e in chosen) == {"stack": 35, "tower": 35, "swap_blocks": 20}


def test_reservoir_replay_is_a_uniform_sample_so_small_families_are_rarely_replayed():
    chosen = replay_sample(
        pool({"stack": 600, "tower": 600, "swap_blocks": 20}), 90, "reservoir", random.Random(0)
    )
    counts = Counter(e.family for e in chosen)
    assert len(chosen) == 90 and len(set(chosen)) == 90
    assert counts["swap_blocks"] < 10 < counts["stack"]
    assert chosen == replay_sample(
        pool({"stack": 600, "tower": 600, "swap_blocks": 20}), 90, "reservoir", random.Random(0)
    )  # seeded: the same sample


def test_replay_takes_the_whole_pool_when_it_is_small_and_refuses_unknown_strategies():
    small = pool({"stack": 3})
    assert replay_sample(small, 10, "balanced", random.Random(0)) == small
    with pytest.raises(ValueError, match="unknown replay strategy 'fifo'"):
        replay_sample(small, 2, "fifo", random.Random(0))
