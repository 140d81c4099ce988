"""Nothing is lost when robolearn is killed, or when several processes write one workspace.

The stories: a run killed with kill -9 mid-episode, a training round killed mid-epoch, and a
run, training rounds and a person correcting in the dashboard writing the same workspace at
once. Every process is a real one (``python -m robolearn``, or a spawned writer from the soak
benchmark, ``benchmarks/bench_soak.py``) on real SQLite files, PyBullet and the fixtures' model.
"""

import random
import shutil
from pathlib import Path

import pytest
from transformers import GPT2Config, GPT2LMHeadModel

from benchmarks.bench_soak import (
    at_once,
    committed_rows,
    kill_9,
    run_writers,
    start_robolearn,
    tally,
    wait_until,
)
from robolearn.learn.adapters import (
    AdapterChoiceError,
    active,
    planner_in_use,
    use_round,
)
from robolearn.learn.compress import compress
from robolearn.learn.meaning import Meaning
from robolearn.learn.rounds import run_round
from robolearn.paths import WorkspaceLayout
from robolearn.planner.identity import model_identity
from robolearn.planner.lm import LMPlanner
from robolearn.planner.training import Schedule, train
from robolearn.skills.library import SkillLibrary
from robolearn.store import AdapterRow, MissingRowError, RoundRow, Store
from robolearn.tasks.sampler import sample_task
from robolearn.tasks.spec import get_family
from tests.conftest import QUICK, SEEDS, robolearn, run_and_correct, stored_episodes


def test_a_run_killed_mid_episode_keeps_every_stored_episode_and_the_next_run_adds_its_own(
    tmp_path,
):
    workspace = tmp_path / "ws"
    run = start_robolearn(
        tmp_path / "run.log",
        "run",
        "--planner",
        "oracle",
        "--family",
        "stack",
        "--episodes",
        "50",
        "--workspace",
        str(workspace),
    )
    wait_until(lambda: stored_episodes(workspace) >= 5, run, "five stored episodes")
    before = committed_rows(workspace)
    kill_9(run)

    with Store.open(workspace) as store:
        assert store.integrity_ok()  # PRAGMA integrity_check and foreign_key_check
        episodes = store.episodes(limit=None)
    assert before <= committed_rows(workspace)  # every episode committed, with its steps
    assert 5 <= len(episodes) < 50
    assert all(e.success and len(e.steps) == len(e.plan) for e in episodes)  # none half-stored

    again = start_robolearn(
        tmp_path / "run.log",
        "run",
        "--planner",
        "oracle",
        "--family",
        "stack",
        "--episodes",
        "5",
        "--seed",
        "100",
        "--workspace",
        str(workspace),
    )
    assert again.wait() == 0, (tmp_path / "run.log").read_text()
    with Store.open(workspace) as store:
        assert store.integrity_ok()
        added = store.episodes(since_id=episodes[-1].id, limit=None)
    assert [e.seed for e in added] == list(range(100, 105)) and all(e.success for e in added)
    assert len({e.run_id for e in added}) == 1 and added[0].run_id != episodes[0].run_id


def alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie waiting to be reaped does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def children(pid):
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc (Linux)")
def test_a_killed_parallel_run_keeps_its_first_episodes_and_leaves_no_workers(tmp_path):
    workspace = tmp_path / "ws"
    run = start_robolearn(
        tmp_path / "run.log",
        "run",
        "--planner",
        "oracle",
        "--family",
        "stack",
        "--episodes",
        "500",
        "--workers",
        "2",
        "--workspace",
        str(workspace),
    )
    wait_until(lambda: stored_episodes(workspace) >= 5, run, "five stored episodes")
    workers = children(run.pid)
    run.kill()  # kill -9 of the run itself, mid-episode, not of its workers
    run.wait()
    assert workers
    wait_until(lambda: not any(alive(pid) for pid in workers), None, "the workers to end", 30)
    with Store.open(workspace) as store:
        assert store.integrity_ok()
        seeds = [e.seed for e in store.episodes(limit=None)]
    assert seeds == list(range(len(seeds)))  # stored in order: a clean prefix of the run
    robolearn(
        "run",
        "--planner",
        "oracle",
        "--family",
        "stack",
        "--episodes",
        "2",
        "--workers",
        "2",
        workspace=workspace,
    )
    assert stored_episodes(workspace) == len(seeds) + 2


def test_a_round_killed_mid_epoch_keeps_every_row_and_the_adapter_in_use(
    taught, push_only_model, tmp_path
):
    workspace = tmp_path / "ws"
    shutil.copytree(taught[0], workspace)
    run_and_correct(workspace, push_only_model, "place_in_zone", SEEDS)  # new to learn
    log = tmp_path / "train.log"
    training = start_robolearn(
        log,
        "train",
        "--workspace",
        str(workspace),
        "--model",
        str(push_only_model),
        "--epochs",
        "100000",
        "--eval-scenes",
        "2",
        "--threads",
        "1",
    )
    wait_until(
        lambda: "LoRA round" in log.read_text(errors="replace"), training, "training"
    )  # its progress bar: the epochs have begun
    before = committed_rows(workspace)
    kill_9(training)

    assert before <= committed_rows(workspace)  # corrections, rounds, examples, adapter log
    with Store.open(workspace) as store:
        assert store.integrity_ok()
        first, dead = store.rounds()
        assert (first.status, dead.status) == ("promoted", "running")
        assert store.round_examples([dead.id])  # its data was recorded before it trained
        assert active(store, workspace, model_identity(push_only_model)).round_id == first.id
        with pytest.raises(AdapterChoiceError, match=r"never ended .* without an adapter"):
            use_round(store, workspace, push_only_model, dead.id, "use the dead round")
    layout = WorkspaceLayout(workspace)
    assert not layout.round_adapter(dead.id).exists()
    # Its experts were being written beside their final name, in a .partial folder, never used:
    torn = layout.adapters / f"{layout.round_adapter(dead.id).name}.partial"
    assert torn.is_dir()
    (torn / "adapter_model.safetensors").write_bytes(b"\0" * 100)  # as if torn mid-save

    model = LMPlanner(push_only_model, SkillLibrary.open(workspace))
    with Store.open(workspace) as store:
        planner, chosen = planner_in_use(model, store, workspace, Meaning())
        assert chosen.round_id == first.id
    task = sample_task(get_family("stack"), SEEDS[0])
    assert planner.plan(task) == list(compress(task.oracle, model.library))  # round 1's expert

    notes = []  # the lock died with the process: the next round runs
    outcome = run_round(workspace, push_only_model, QUICK, progress=False, log=notes.append)
    assert any(f"round {dead.id} had been interrupted" in note for note in notes)
    with Store.open(workspace) as store:
        assert store.integrity_ok()
        assert [r.status for r in store.rounds()][:2] == ["promoted", "interrupted"]
        assert store.training_round(outcome.round_id).status in ("promoted", "refused")
    assert before <= committed_rows(workspace)
    assert not list(layout.adapters.glob("*.partial"))


def test_a_round_is_recorded_promoted_only_together_with_its_adapter_in_use(tmp_path):
    with Store.open(tmp_path) as store:
        round_id = store.start_round(RoundRow("m", {}))
        promotion = AdapterRow("m", round_id, "adapters/round-0001", "promoted")
        with pytest.raises(MissingRowError):  # the adapter log's write fails mid-promotion
            store.finish_round(
                round_id,
                "promoted",
                "ok",
                {},
                promotion.path,
                use=AdapterRow("m", round_id + 1, promotion.path, "promoted"),
            )
        assert store.training_round(round_id).status == "running"  # neither write happened
        assert store.active_adapter("m") is None

        store.finish_round(round_id, "promoted", "ok", {}, promotion.path, use=promotion)
        assert store.training_round(round_id).status == "promoted"
        assert store.active_adapter("m").round_id == round_id


def open_library(workspace):
    return sorted(SkillLibrary.open(workspace).composites)


def test_processes_opening_a_new_workspace_at_once_each_get_the_whole_seed_library(tmp_path):
    seen = [names for names, _ in at_once([(open_library, (tmp_path,))] * 3)]

    seed = sorted(SkillLibrary.seed().composites)
    assert seen == [seed] * 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["skills"]  # no staging left behind
    assert sorted(SkillLibrary.open(tmp_path).composites) == seed


def count_verdicts(workspace, times):
    with Store.open(workspace) as store:
        for _ in range(times):
            store.add_evaluation("stack_on", True, "ok")
    return "done"


def test_processes_counting_the_same_skill_at_once_lose_no_count(tmp_path):
    Store.open(tmp_path).close()
    assert [done for done, _ in at_once([(count_verdicts, (tmp_path, 200))] * 2)] == ["done"] * 2
    with Store.open(tmp_path) as store:
        stats = store.skill_record("stack_on")
    assert (stats.evaluations, stats.passed) == (400, 400)


def test_a_run_training_rounds_and_a_person_correcting_at_once_lose_nothing(
    push_only_model, tmp_path
):
    workspace = tmp_path / "ws"  # new: the three also race to create it
    reports = run_writers(workspace, 15, push_only_model)

    assert [f"{r.writer}: {e}" for r in reports for e in r.errors] == []  # none locked
    wrote = {r.writer: r for r in reports}
    assert wrote["episodes"].episodes and wrote["corrections"].corrections
    assert wrote["rounds"].rounds  # at least one round ran from start to end
    tallies = tally(workspace, reports)
    assert {t.table for t in tallies if t.sent} >= {
        "episodes",
        "steps",
        "corrections",
        "training_rounds",
        "round_examples",
    }
    assert [t for t in tallies if t.lost] == []
    with Store.open(workspace) as store:
        assert store.integrity_ok()
        assert all(r.status in ("promoted", "refused") for r in store.rounds())


@pytest.mark.parametrize("batches", [9, 10, 11])
def test_training_of_exactly_ten_steps_trains(batches):
    # Found by the soak: rounds of 72-76 examples (5 batches, 2 epochs) failed in OneCycleLR.
    model = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=8, n_head=2, n_positions=8, vocab_size=12))
    rows = [([1, 2, 3, 4], 2)] * batches
    result = train(
        model,
        rows,
        0,
        Schedule(epochs=1, batch_size=1, learning_rate=1e-3),
        random.Random(0),
        "ten steps",
        progress=False,
    )
    assert result.steps == batches


def test_a_round_of_much_data_stops_at_its_step_cap_and_a_small_one_takes_every_pass():
    # An expert's second round (its first expert's successful episodes, renamed) has 3-4 times
    # the data of its first; the cap keeps the round's time, not its passes.
    model = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=8, n_head=2, n_positions=8, vocab_size=12))
    rows = [([1, 2, 3, 4], 2)] * 40

    def steps(epochs):
        schedule = Schedule(epochs=epochs, batch_size=8, learning_rate=1e-3, max_steps=25)
        return train(model, rows, 0, schedule, random.Random(0), "cap", progress=False).steps

    assert steps(12) == 25
    assert steps(3) == 15


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc (Linux)")
def test_a_killed_learning_benchmark_takes_its_condition_workers_with_it(push_only_model, tmp_path):
    bench = start_robolearn(
        tmp_path / "bench.log", "bench", "learning", "--quick", "--model", str(push_only_model),
        "--out", str(tmp_path / "out"), "--condition", "naive", "--condition", "isolation",
        "--workers", "2", "--workspace", str(tmp_path / "ws"),
    )  # fmt: skip
    wait_until(lambda: len(children(bench.pid)) >= 2, bench, "the condition workers' start")
    workers = children(bench.pid)
    bench.kill()  # kill -9 of the benchmark itself, not of its process group
    bench.wait()
    wait_until(lambda: not any(alive(pid) for pid in workers), None, "the workers to end", 30)
