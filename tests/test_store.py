"""The store: a real SQLite file in a workspace, written and read the way robolearn uses it."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
from pathlib import Path

import pytest

from robolearn.errors import UserError
from robolearn.records import EpisodeRecord, StepRecord
from robolearn.store import (
    DB_NAME,
    SCHEMA_VERSION,
    CorrectionRow,
    MissingRowError,
    NewerSchemaError,
    Store,
    StoreFileError,
)
from tests.conftest import modules_loaded_by


def stack_episode(seed: int = 3, family: str = "stack", success: bool = False) -> EpisodeRecord:
    return EpisodeRecord(
        family=family,
        seed=seed,
        instruction="stack the red block on the blue block",
        planner="oracle",
        plan=["pick(red_block)", "place(red_block, blue_block)"],
        steps=[
            StepRecord("pick(red_block)", ok=True, ticks=120, frame_path="frames/stack-3-1.png"),
            StepRecord(
                "place(red_block, blue_block)",
                ok=False,
                reason="grasp",
                message="the block slipped",
                ticks=80,
            ),
        ],
        success=success,
        control_steps=200,
        proposal="kept as stack_on",
    )


def raw(workspace: Path) -> sqlite3.Connection:
    """A plain connection, as another tool (or older code) would open the file."""
    return sqlite3.connect(workspace / DB_NAME)


def test_an_episode_comes_back_with_its_steps_as_it_was_saved(tmp_path):
    with Store.open(tmp_path) as store:
        run_id = store.start_run("oracle", seed=0, config={"families": ["stack"]})
        episode_id = store.add_episode(run_id, stack_episode())

        saved = store.episode(episode_id)

    assert (tmp_path / DB_NAME).is_file()
    assert raw(tmp_path).execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert (saved.id, saved.run_id) == (episode_id, run_id)
    assert saved.created is not None
    expected = stack_episode()
    expected.id, expected.run_id, expected.created = saved.id, saved.run_id, saved.created
    assert saved == expected
    assert saved.steps[0].frame_path == "frames/stack-3-1.png"


def test_the_store_keeps_the_agents_episode_record_as_it_is(tmp_path):
    from robolearn.records import EpisodeRecord, StepRecord

    record = EpisodeRecord(
        family="stack",
        seed=5,
        instruction="stack a on b",
        planner="lm",
        plan=["pick(a)"],
        steps=[StepRecord("pick(a)", ok=True, ticks=9)],
        success=True,
        control_steps=9,
    )
    with Store.open(tmp_path) as store:
        episode_id = store.add_episode(store.start_run("lm", seed=5), record)
        saved = store.episode(episode_id)

    assert saved.to_dict()["steps"] == [{**record.steps[0].to_dict(), "frame_path": None}]
    assert (saved.family, saved.seed, saved.success, saved.plan) == ("stack", 5, True, ["pick(a)"])


def test_a_reader_filters_pages_and_counts_episodes(tmp_path):
    with Store.open(tmp_path) as store:
        run_id = store.start_run("oracle", seed=0)
        ids = [
            store.add_episode(run_id, stack_episode(seed, family, success=seed % 2 == 0))
            for family in ("stack", "sort")
            for seed in range(4)
        ]

        assert [e.id for e in store.episodes()] == ids
        assert [e.seed for e in store.episodes("sort")] == [0, 1, 2, 3]
        assert [e.id for e in store.episodes(since_id=ids[5])] == ids[6:]
        assert [e.id for e in store.episodes(limit=2, newest_first=True)] == ids[:-3:-1]
        counts = {c.family: (c.episodes, c.successes) for c in store.success_by_family()}
        assert counts == {"sort": (4, 2), "stack": (4, 2)}
        assert store.integrity_ok()


def test_a_missing_run_or_episode_is_a_clear_error_and_writes_nothing(tmp_path):
    with Store.open(tmp_path) as store:
        with pytest.raises(MissingRowError, match="no run 7"):
            store.add_episode(7, stack_episode())
        with pytest.raises(MissingRowError, match="no episode 9"):
            store.episode(9)
        with pytest.raises(MissingRowError, match="no episode 9"):
            store.add_correction(CorrectionRow(9, 0, ["pick(a)"], ["pick(b)"], who="ann"))
        assert store.episodes() == [] and store.corrections() == []


def test_corrections_are_append_only(tmp_path):
    with Store.open(tmp_path) as store:
        episode_id = store.add_episode(store.start_run("lm", seed=0), stack_episode())
        correction_id = store.add_correction(
            CorrectionRow(
                episode_id,
                1,
                proposed=["pick(red_block)", "place(red_block, blue_block)"],
                corrected=["place(red_block, green_block)"],
                who="ann",
                why="wrong base",
                rerun_success=True,
            )
        )
        before = store.corrections(episode_id)

    connection = raw(tmp_path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        connection.execute("UPDATE corrections SET who = 'mallory'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        connection.execute("DELETE FROM corrections")
    connection.close()

    with Store.open(tmp_path) as store:
        assert store.corrections(episode_id) == before
    assert [c.id for c in before] == [correction_id]
    assert before[0].corrected == ["place(red_block, green_block)"]
    assert before[0].rerun_success is True


V1_SCHEMA = """
CREATE TABLE runs (id INTEGER PRIMARY KEY, started TEXT NOT NULL, planner TEXT NOT NULL,
    seed INTEGER NOT NULL, config TEXT NOT NULL) STRICT;
CREATE TABLE episodes (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id),
    family TEXT NOT NULL, seed INTEGER NOT NULL, instruction TEXT NOT NULL,
    planner TEXT NOT NULL, plan TEXT NOT NULL, success INTEGER NOT NULL,
    control_steps INTEGER NOT NULL, error TEXT, proposal TEXT, created TEXT NOT NULL) STRICT;
CREATE TABLE steps (episode_id INTEGER NOT NULL REFERENCES episodes(id),
    step_index INTEGER NOT NULL, call TEXT NOT NULL, ok INTEGER NOT NULL, reason TEXT,
    message TEXT NOT NULL, ticks INTEGER NOT NULL, PRIMARY KEY (episode_id, step_index)) STRICT;
CREATE TABLE corrections (id INTEGER PRIMARY KEY,
    episode_id INTEGER NOT NULL REFERENCES episodes(id), step_index INTEGER NOT NULL,
    proposed TEXT NOT NULL, corrected TEXT NOT NULL, who TEXT NOT NULL, why TEXT NOT NULL,
    rerun_success INTEGER, created TEXT NOT NULL) STRICT;
CREATE TRIGGER corrections_no_update BEFORE UPDATE ON corrections
    BEGIN SELECT RAISE(ABORT, 'corrections are append-only'); END;
CREATE TRIGGER corrections_no_delete BEFORE DELETE ON corrections
    BEGIN SELECT RAISE(ABORT, 'corrections are append-only'); END;
CREATE TABLE _sqlite_migrations (id INTEGER PRIMARY KEY, migration_set TEXT, name TEXT,
    applied_at TEXT);
CREATE UNIQUE INDEX idx__sqlite_migrations_migration_set_name
    ON _sqlite_migrations (migration_set, name);
INSERT INTO _sqlite_migrations VALUES
    (1, 'robolearn', '0001_runs_episodes_corrections', '2026-01-05 10:00:00+00:00');
INSERT INTO runs VALUES (1, '2026-01-05T10:00:00Z', 'oracle', 0, '{}');
INSERT INTO episodes VALUES (1, 1, 'stack', 3, 'stack the red block on the blue block',
    'oracle', '["pick(red_block)"]', 1, 120, NULL, NULL, '2026-01-05T10:00:01Z');
INSERT INTO steps VALUES (1, 0, 'pick(red_block)', 1, NULL, '', 120);
INSERT INTO corrections VALUES (1, 1, 0, '"pick(red_block)"', '"pick(blue_block)"', 'ann',
    'other block', 0, '2026-01-05T10:05:00Z');
"""


def test_a_database_from_schema_v1_is_migrated_and_keeps_its_rows(tmp_path):
    old = raw(tmp_path)  # what robolearn with schema v1 left in a workspace
    old.executescript(V1_SCHEMA)
    old.close()

    with Store.open(tmp_path) as store:
        assert store.schema_version == SCHEMA_VERSION == 4
        [episode] = store.episodes()
        [correction] = store.corrections()
        episode_id = store.add_episode(1, stack_episode())  # and the new columns work
        assert store.episode(episode_id).steps[0].frame_path == "frames/stack-3-1.png"
        assert store.integrity_ok()

    assert (episode.id, episode.family, episode.seed, episode.success) == (1, "stack", 3, True)
    assert episode.steps == [StepRecord("pick(red_block)", ok=True, ticks=120)]
    # v1 kept the one step corrected; it reads as a one-call plan
    assert (correction.proposed, correction.corrected, correction.rerun_success) == (
        ["pick(red_block)"],
        ["pick(blue_block)"],
        False,
    )
    tables = {
        name
        for (name,) in raw(tmp_path).execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    assert {"training_rounds", "adapters"} <= tables
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw(tmp_path).execute("DELETE FROM corrections")


def test_a_database_from_a_newer_robolearn_is_refused_untouched(tmp_path):
    Store.open(tmp_path).close()
    newer = raw(tmp_path)
    with newer:
        newer.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
            "VALUES ('robolearn', '0099_from_the_future', '2027-01-01')"
        )
    newer.close()
    before = (tmp_path / DB_NAME).read_bytes()

    with pytest.raises(NewerSchemaError, match=r"0099_from_the_future.*Upgrade robolearn"):
        Store.open(tmp_path)
    assert (tmp_path / DB_NAME).read_bytes() == before


def another_apps_database(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    connection.commit()
    connection.close()


@pytest.mark.parametrize(
    "make_file",
    [
        lambda path: path.write_text("robolearn run log\nepisode 1: ok\n"),
        lambda path: path.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 32),
        another_apps_database,
    ],
    ids=["text", "damaged-sqlite", "another-apps-sqlite"],
)
def test_a_file_that_is_not_robolearns_database_is_refused_and_left_intact(tmp_path, make_file):
    path = tmp_path / DB_NAME
    make_file(path)
    before = path.read_bytes()

    with pytest.raises(StoreFileError) as caught:
        Store.open(tmp_path)

    assert isinstance(caught.value, UserError)
    assert str(path) in str(caught.value) and "move it aside" in str(caught.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [DB_NAME]


def test_damage_inside_a_robolearn_database_is_reported_not_repaired(tmp_path):
    with Store.open(tmp_path) as store:
        run_id = store.start_run("oracle", seed=0)
        for seed in range(200):
            store.add_episode(run_id, stack_episode(seed))
    path = tmp_path / DB_NAME
    damaged = bytearray(path.read_bytes())  # closing checkpointed the WAL into the file
    for page in range(24, len(damaged) // 4096 - 1, 2):  # past the schema's root pages
        damaged[page * 4096 + 8 : page * 4096 + 400] = b"\xff" * 392
    path.write_bytes(bytes(damaged))

    with Store.open(tmp_path) as store:  # the header and the schema are still readable
        assert not store.integrity_ok()
        with pytest.raises(StoreFileError, match=r"is damaged.*move it aside"):
            store.episodes(limit=None)
    assert path.read_bytes() == bytes(damaged)


def write_for_a_while(
    worker: int, workspace: Path, writes: int, start: object, results: object
) -> None:
    """One process's share of the concurrency story: episodes and corrections, alternately."""
    sent = {"episodes": 0, "steps": 0, "corrections": 0}
    errors: list[str] = []
    with Store.open(workspace) as store:
        run_id = store.start_run(f"worker{worker}", seed=worker)
        start.wait()
        began = time.perf_counter()
        episode_id = None
        for i in range(writes):
            try:
                if i % 2 == 0 or episode_id is None:
                    episode = stack_episode(seed=i, family=f"worker{worker}")
                    episode_id = store.add_episode(run_id, episode)
                    sent["episodes"] += 1
                    sent["steps"] += len(episode.steps)
                else:
                    store.add_correction(
                        CorrectionRow(
                            episode_id, 1, ["place(a, b)"], ["place(a, c)"], who=f"worker{worker}"
                        )
                    )
                    sent["corrections"] += 1
                if i % 10 == 0:
                    store.episodes(limit=5, newest_first=True)  # a dashboard reads meanwhile
            except Exception as error:  # counted, not raised: the test reports them all
                errors.append(f"{type(error).__name__}: {error}")
        results.put((worker, sent, errors, time.perf_counter() - began))


def test_three_processes_write_at_once_and_lose_nothing(tmp_path):
    workers, writes = 3, 200
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(workers), context.Queue()
    processes = [
        context.Process(target=write_for_a_while, args=(k, tmp_path, writes, start, results))
        for k in range(workers)
    ]
    for process in processes:  # they also race to create and migrate the new database
        process.start()
    reports = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0

    errors = [error for _, _, worker_errors, _ in reports for error in worker_errors]
    assert errors == []
    wall = max(seconds for *_, seconds in reports)
    print(
        f"\n{workers * writes} writes by {workers} processes in {wall:.2f} s "
        f"({workers * writes / wall:.0f} writes/s), {len(errors)} errors"
    )
    with Store.open(tmp_path) as store:
        for worker, sent, _, _ in reports:
            stored = store.episodes(f"worker{worker}", limit=None)
            corrections = [c for c in store.corrections() if c.who == f"worker{worker}"]
            assert len(stored) == sent["episodes"]
            assert sum(len(e.steps) for e in stored) == sent["steps"]
            assert len(corrections) == sent["corrections"]
        assert store.integrity_ok()


def test_the_store_loads_no_ml_stack_simulator_or_other_robolearn_package():
    heavy = (
        "torch",
        "transformers",
        "peft",
        "pybullet",
        "robolearn.agent",
        "robolearn.planner",
        "robolearn.skills",
        "robolearn.sim",
    )
    assert modules_loaded_by("import robolearn.store", heavy) == []


def test_a_training_round_is_recorded_from_start_to_outcome_with_its_examples(tmp_path):
    from robolearn.store import AdapterRow, RoundExampleRow, RoundRow

    with Store.open(tmp_path) as store:
        round_id = store.start_round(
            RoundRow(base_model="gpt2-abc", config={"epochs": 3}, last_correction_id=7)
        )
        assert store.training_round(round_id).status == "running"
        store.add_round_examples(
            round_id,
            [
                RoundExampleRow("new", "correction", 4, "swap_blocks", "task: swap", " pick(a)"),
                RoundExampleRow(
                    "new",
                    "correction",
                    4,
                    "swap_blocks",
                    "task: swap b",
                    " pick(b)",
                    augmented=True,
                ),
                RoundExampleRow("replay", "bootstrap", 10, "stack", "task: stack", " pick(c)"),
            ],
        )
        store.finish_round(
            round_id, "promoted", "no family regressed", {"stack": 1.0}, path="adapters/round-1"
        )
        store.use_adapter(AdapterRow("gpt2-abc", round_id, "adapters/round-1", "promoted"))

        finished = store.training_round(round_id)
        new = store.round_examples([round_id], role="new")
        active = store.active_adapter("gpt2-abc")

    assert (finished.status, finished.reason, finished.metrics) == (
        "promoted",
        "no family regressed",
        {"stack": 1.0},
    )
    assert finished.finished is not None and finished.config == {"epochs": 3}
    assert [(e.source, e.source_id, e.augmented) for e in new] == [
        ("correction", 4, False),
        ("correction", 4, True),
    ]
    assert (active.round_id, active.path) == (round_id, "adapters/round-1")


def test_a_round_whose_process_died_is_marked_interrupted_and_the_adapter_log_is_kept(tmp_path):
    from robolearn.store import AdapterRow, RoundRow

    with Store.open(tmp_path) as store:
        first = store.start_round(RoundRow("m", {}))
        store.finish_round(first, "promoted", "ok", {}, "adapters/round-1")
        store.use_adapter(AdapterRow("m", first, "adapters/round-1", "promoted"))
        dead = store.start_round(RoundRow("m", {}, parent_round=first))
        assert store.mark_interrupted() == [dead]
        store.use_adapter(AdapterRow("m", None, None, "rolled back to the base model"))
        assert [r.status for r in store.rounds("m")] == ["promoted", "interrupted"]
        assert store.active_adapter("m").round_id is None
        assert store.active_adapter("other model") is None
        with pytest.raises(MissingRowError, match="no training round 99"):
            store.use_adapter(AdapterRow("m", 99, "x", "typo"))
        with pytest.raises(ValueError, match="running"):
            store.finish_round(first, "running", "", {})

    connection = raw(tmp_path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        connection.execute("DELETE FROM adapters")
    connection.close()
