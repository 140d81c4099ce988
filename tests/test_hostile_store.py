"""A user's story of a database edited behind robolearn's back (``sqlite3 robolearn.db``): a
table or trigger dropped, a trigger of someone else's added, constraints loosened, and rows no
robolearn wrote (plans that are not lists, JSON nested a hundred thousand deep, negative counts,
metrics that are not numbers, a round that continues from itself).

The schema is checked when the store opens and each row when it is read: either problem is one
line naming the table and what is wrong, the file is left byte for byte as it was (never
re-created, never repaired), and nothing hangs.
"""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from robolearn.cli import main
from robolearn.learn.adapters import lineage
from robolearn.records import EpisodeRecord, StepRecord
from robolearn.store import DB_NAME, RoundRow, Store, StoreFileError
from robolearn.store.integrity import DamagedRowError
from tests.test_hostile_models import deadline
from tests.test_reliability_input import assert_clear


def digest(workspace) -> str:
    return hashlib.sha256((workspace / DB_NAME).read_bytes()).hexdigest()


@pytest.fixture
def workspace(tmp_path):
    """A workspace whose store holds a run, an episode with a step, and a correction."""
    from robolearn.store import CorrectionRow

    with Store.open(tmp_path) as store:
        episode = store.add_episode(
            store.start_run("oracle", 0),
            EpisodeRecord(
                family="stack",
                seed=0,
                instruction="stack it",
                planner="oracle",
                plan=["pick(red_block)"],
                steps=[StepRecord("pick(red_block)", ok=True, ticks=10)],
                success=True,
            ),
        )
        store.add_correction(CorrectionRow(episode, 0, ["pick(red_block)"], ["x()"], "ada"))
        first = store.start_round(RoundRow(base_model="base", config={}))
        store.start_round(RoundRow(base_model="base", config={}, parent_round=first))
    return tmp_path


def edit(workspace, *statements: str) -> None:
    """Change the database as a person with the sqlite3 shell would (no foreign keys)."""
    conn = sqlite3.connect(workspace / DB_NAME)
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("PRAGMA legacy_alter_table=ON")  # let a table be renamed under its references
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


def recreated(table: str, columns: str) -> tuple[str, ...]:
    """Statements that rebuild ``table`` with other ``columns`` and its rows copied."""
    return (
        f"ALTER TABLE {table} RENAME TO old_{table}",
        f"CREATE TABLE {table} ({columns})",
        f"INSERT INTO {table} SELECT * FROM old_{table}",
        f"DROP TABLE old_{table}",
    )


STEPS = (
    "episode_id INTEGER NOT NULL, step_index INTEGER NOT NULL, call TEXT NOT NULL, "
    "ok INTEGER NOT NULL, reason TEXT, message TEXT NOT NULL, ticks INTEGER NOT NULL, "
    "frame_path TEXT, PRIMARY KEY (episode_id, step_index)"
)
SCHEMA_EDITS = {
    "corrections dropped": (("DROP TABLE corrections",), "table corrections is missing"),
    "append-only trigger dropped": (
        ("DROP TRIGGER corrections_no_delete",),
        "trigger corrections_no_delete is missing",
    ),
    "a trigger of someone else's": (
        ("CREATE TRIGGER wipe AFTER INSERT ON episodes BEGIN DELETE FROM steps; END",),
        "trigger wipe is not robolearn's",
    ),
    "append-only trigger made harmless": (
        (
            "DROP TRIGGER corrections_no_update",
            "CREATE TRIGGER corrections_no_update BEFORE UPDATE ON corrections BEGIN SELECT 1; END",
        ),
        "trigger corrections_no_update is changed",
    ),
    "a column dropped": (("ALTER TABLE episodes DROP COLUMN explanation",), "table episodes"),
    "a column added": (("ALTER TABLE runs ADD COLUMN note TEXT",), "table runs is changed"),
    "steps not STRICT and without their foreign key": (
        recreated("steps", STEPS),
        "table steps is changed",
    ),
    "an index dropped": (("DROP INDEX idx_episodes_family",), "index idx_episodes_family"),
    "a view added": (("CREATE VIEW everything AS SELECT * FROM episodes",), "view everything"),
    "a table added": (("CREATE TABLE notes (x TEXT)",), "table notes is not robolearn's"),
}


@pytest.mark.parametrize(("statements", "problem"), SCHEMA_EDITS.values(), ids=SCHEMA_EDITS.keys())
def test_a_database_whose_schema_was_edited_is_refused_and_left_as_it_is(
    workspace, statements, problem
):
    edit(workspace, *statements)
    before = digest(workspace)
    with pytest.raises(StoreFileError) as error:
        Store.open(workspace)
    assert_clear(error.value, "its schema is not the one robolearn's migrations make", problem)
    assert digest(workspace) == before, "never re-created, never repaired"


def test_a_run_on_an_edited_database_is_one_line_and_writes_nothing(workspace, capsys):
    edit(workspace, "DROP TABLE corrections")
    before = digest(workspace)
    code = main(
        [
            "run",
            "--planner",
            "oracle",
            "--family",
            "stack",
            "--episodes",
            "1",
            "--workspace",
            str(workspace),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "table corrections is missing" in err, err
    assert digest(workspace) == before


DEEP = "[" * 100_000 + "]" * 100_000
ROW_EDITS = {
    "a plan that is an object": (
        "UPDATE episodes SET plan = '{\"a\": 1}'",
        "episodes",
        "plan is not a list",
    ),
    "a plan of numbers": ("UPDATE episodes SET plan = '[1, 2]'", "episodes", "plan is not a list"),
    "a plan that is no JSON": ("UPDATE episodes SET plan = 'pick('", "episodes", "not readable"),
    "a plan nested 100,000 deep": (
        f"UPDATE episodes SET plan = '{DEEP}'",
        "episodes",
        "nests 100000 levels deep",
    ),
    "success 7": ("UPDATE episodes SET success = 7", "episodes", "success is 7, not 0 or 1"),
    "negative control steps": (
        "UPDATE episodes SET control_steps = -1",
        "episodes",
        "control_steps is -1",
    ),
    "negative ticks": ("UPDATE steps SET ticks = -5", "steps", "ticks is -5"),
    "a correction of numbers": (
        "INSERT INTO corrections (episode_id, step_index, proposed, corrected, who, why, created) "
        "VALUES (1, 0, '[]', '[1]', 'eve', '', 'now')",
        "corrections",
        "corrected is not a list",
    ),
    "a round that continues from itself": (
        "UPDATE training_rounds SET parent_round = id",
        "training_rounds",
        "a round can only continue from an earlier one",
    ),
    "two rounds that continue from each other": (
        "UPDATE training_rounds SET parent_round = 2 WHERE id = 1",
        "training_rounds",
        "is 2: a round can only continue from an earlier one",
    ),
    "an unknown status": (
        "UPDATE training_rounds SET status = 'hacked'",
        "training_rounds",
        "status is 'hacked'",
    ),
    "metrics that are not rates": (
        'UPDATE training_rounds SET metrics = \'{"candidate": {"stack": "x"}}\'',
        "training_rounds",
        "candidate is not success rates by family",
    ),
    "an adapter of round -1": (
        "INSERT INTO adapters (created, base_model, round_id, path, why) "
        "VALUES ('now', 'base', -1, 'x', 'why')",
        "adapters",
        "round_id is -1, not a row id",
    ),
}
READERS = {
    "episodes": lambda store: store.episodes(),
    "steps": lambda store: store.episode(1),
    "corrections": lambda store: store.corrections(),
    "training_rounds": lambda store: store.rounds(),
    "adapters": lambda store: store.adapter_log(),
}


@pytest.mark.parametrize(("statement", "table", "problem"), ROW_EDITS.values(), ids=ROW_EDITS)
def test_a_row_no_robolearn_wrote_is_refused_when_read(workspace, statement, table, problem):
    edit(workspace, statement)
    before = digest(workspace)
    with Store.open(workspace) as store, deadline(60), pytest.raises(DamagedRowError) as error:
        READERS[table](store)
    assert_clear(error.value, f"damaged {table}", problem)
    assert digest(workspace) == before


def test_a_lineage_through_a_damaged_round_ends_with_one_line(workspace):
    edit(workspace, "UPDATE training_rounds SET parent_round = 2 WHERE id = 1")
    with Store.open(workspace) as store, deadline(60), pytest.raises(DamagedRowError):
        lineage(store, 2)


def test_the_store_as_robolearn_wrote_it_reads_back(workspace):
    with Store.open(workspace) as store:
        assert [e.plan for e in store.episodes()] == [["pick(red_block)"]]
        assert lineage(store, 2) == [1, 2]
        assert store.integrity_ok()
