"""How a skill fares is the store's record: verdicts kept as rows, runs counted from steps."""

import json
from dataclasses import replace

from sqlite_utils import Database

from robolearn.paths import WorkspaceLayout
from robolearn.records import EpisodeRecord, StepRecord
from robolearn.rollout import RunRecorder
from robolearn.skills.library import SkillLibrary
from robolearn.store import SCHEMA_VERSION, Store
from robolearn.store.schema import MIGRATIONS


def episode(*steps):
    """A stored-to-be episode whose steps are ``(call, ok)``."""
    return EpisodeRecord(
        "place_in_bowl",
        0,
        "put the red block in the blue bowl",
        "lm",
        [call for call, _ in steps],
        [StepRecord(call, ok=ok) for call, ok in steps],
        success=all(ok for _, ok in steps),
    )


def test_a_skills_runs_are_its_stored_steps_and_its_verdicts_are_rows(tmp_path):
    with Store.open(tmp_path) as store:
        recorder = RunRecorder(store, store.start_run("lm", 0), tmp_path)
        recorder.save(episode(("put_in(red_block, blue_bowl)", True)))
        recorder.save(episode(("put_in(red_block, blue_bowl)", False), ("pick(red_block)", True)))
        store.add_evaluation("put_in", True, "ok", "put_in(a, b) ran")
        stats = store.skill_stats()
    put_in = stats["put_in"]
    assert (put_in.evaluations, put_in.passed, put_in.runs, put_in.successes) == (1, 1, 2, 1)
    assert (stats["pick"].runs, "stack_on" in stats) == (1, False)
    assert not (WorkspaceLayout(tmp_path).skills / "put_in" / "stats.json").exists()


def test_a_skill_learned_after_a_run_began_has_its_runs_counted(tmp_path):
    learning = SkillLibrary.open(tmp_path)
    with Store.open(tmp_path) as store:
        recorder = RunRecorder(store, store.start_run("lm", 0), tmp_path)
        learning.save(replace(learning.get("put_in"), name="put_away"))  # mid-run
        recorder.save(episode(("put_away(red_block, blue_bowl)", True)))
        assert store.skill_record("put_away").runs == 1


def old_workspace(workspace):
    """A workspace as robolearn left it before schema v4: runs in the store, counts in files."""
    db = Database(WorkspaceLayout(workspace).db)
    MIGRATIONS.apply(db, stop_before="0004_skill_evaluations")
    db.table("runs").insert(
        {"id": 1, "started": "then", "planner": "lm", "seed": 0, "config": "{}"}
    )
    db.table("episodes").insert(
        {
            **{"id": 1, "run_id": 1, "family": "place_in_bowl", "seed": 0, "instruction": "x"},
            **{"planner": "lm", "plan": "[]", "success": 1, "control_steps": 5, "created": "then"},
        }
    )
    for index, ok in enumerate((1, 0)):
        db.table("steps").insert(
            {"episode_id": 1, "step_index": index, "call": "put_in(a, b)", "ok": ok}
            | {"message": "", "ticks": 1}
        )
    db.close()
    skills = WorkspaceLayout(workspace).skills
    counts = {
        "put_in": {"evaluations": 3, "passed": 2, "runs": 5, "successes": 3},
        "stack_on": {"evaluations": 1, "passed": 1, "runs": 0, "successes": 0},
        "build_tower": {"evaluations": 1, "passed": 2, "runs": 0, "successes": 0},  # impossible
    }
    for name, stats in counts.items():
        (skills / name).mkdir(parents=True, exist_ok=True)
        (skills / name / "stats.json").write_text(json.dumps(stats))
    (skills / "line_up_three").mkdir(parents=True, exist_ok=True)
    (skills / "line_up_three" / "stats.json").write_text("{not json")


def test_the_migration_carries_the_old_stats_files_into_the_store(tmp_path):
    old_workspace(tmp_path)
    with Store.open(tmp_path) as store:  # migrates to v4
        assert store.schema_version == SCHEMA_VERSION
        stats = store.skill_stats()
        assert store.integrity_ok()
    put_in = stats["put_in"]  # the files' counts, the two stored steps not counted twice
    assert (put_in.evaluations, put_in.passed, put_in.runs, put_in.successes) == (3, 2, 5, 3)
    assert (stats["stack_on"].evaluations, stats["stack_on"].passed) == (1, 1)
    assert "build_tower" not in stats and "line_up_three" not in stats  # nonsense is left out

    with Store.open(tmp_path) as store:  # counting goes on from there, once
        RunRecorder(store, store.start_run("lm", 1), tmp_path).save(
            episode(("put_in(red_block, blue_bowl)", True))
        )
        store.add_evaluation("put_in", False, "predicate_false")
        after = store.skill_record("put_in")
    assert (after.evaluations, after.passed, after.runs, after.successes) == (4, 2, 6, 4)
