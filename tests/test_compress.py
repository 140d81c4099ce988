"""What a round teaches is the plan in the fewest calls the library's composites allow, and the
gate remembers outcomes across rounds in a file that survives a torn line."""

from robolearn.learn.compress import compress
from robolearn.learn.evaluation import OutcomeCache
from robolearn.skills.executor import execute_plan
from robolearn.skills.library import SkillLibrary
from robolearn.tasks.env import TabletopEnv
from robolearn.tasks.sampler import sample_task
from robolearn.tasks.spec import get_family


def test_a_corrected_stack_is_taught_as_one_composite_call_that_does_the_same():
    library = SkillLibrary.seed()
    task = sample_task(get_family("stack"), 1)
    short = compress(task.oracle, library)
    assert [str(c) for c in short] == ["stack_on({top}, {base})".format(**task.roles)]
    env = TabletopEnv("stack")
    try:
        env.reset(seed=1)
        execute_plan(env, list(short), library=library)
        assert env.task.succeeded(env.world)
    finally:
        env.close()


def test_a_plan_no_composite_does_stays_as_it_was():
    library = SkillLibrary.seed()
    task = sample_task(get_family("push_to_zone"), 1)
    assert compress(task.oracle, library) == tuple(task.oracle)


def test_outcomes_are_remembered_across_processes_and_a_torn_line_is_skipped(tmp_path):
    path = tmp_path / "outcomes.jsonl"
    cache = OutcomeCache(path)
    cache.put("a", (("pick(red_block)",), True))
    cache.put("b", ((), False))
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"key": "c", "plan": ["pick(')  # a process killed mid-write
    again = OutcomeCache(path)
    assert len(again) == 2
    assert again.get("a") == (("pick(red_block)",), True) and again.get("c") is None
