"""Fault injection as a suite (SQLite's way): every writing verb, with its n-th write, fsync,
rename or database commit failing as a full, read-only, broken or forbidden disk, for every n.

Each verb first runs once with faults counted but none injected (it must succeed: that run
gives the range of n). Then, for each n, a fresh copy of the same workspace runs the verb with
the n-th operation failing, and afterwards:

- the command ended with one clear line (``robolearn <verb>: error: ...``) and exit status 2,
  with no traceback;
- the database passes ``PRAGMA integrity_check`` and its foreign-key check;
- nothing acknowledged is lost: every row the workspace held before is still there, unchanged;
- nothing half-written is left referenced or behind: every frame a step names is a whole PNG
  and every frame file is named by a step; no staging folder or temporary file is left; no
  round is left ``running``; every adapter folder belongs to a finished round and loads; the
  library, the model and any exported bundle read back whole;
- the same verb then runs again on that workspace (what the fault left is usable): it
  succeeds, or finds what the failed attempt finished (a skill already saved, a bundle
  already exported).

The default run tries every n of the cheap verbs with one errno each (rotating) and the last n
of ``train``; ``-m slow`` tries every n with every errno for every verb, ``bootstrap`` too.
"""

from __future__ import annotations

import errno
import json
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from robolearn.agent import run_episode
from robolearn.cli import main
from robolearn.errors import UserError
from robolearn.learn.adapters import check_round_folder
from robolearn.planner.bootstrap import build_default_model, default_model_dir
from robolearn.planner.model_check import check_model_folder
from robolearn.planner.oracle import OraclePlanner
from robolearn.rollout import RunRecorder
from robolearn.skills.bundle import export_bundle, import_bundle
from robolearn.skills.composite import skill_from_json
from robolearn.skills.library import SkillLibrary
from robolearn.store import DB_NAME, Store
from robolearn.tasks.env import TabletopEnv
from tests.conftest import TINY, run_and_correct
from tests.faults import ERRNOS, TALLY, Faults, injected
from tests.test_reliability_input import STACK

LEFTOVER_MARKS = (".partial", ".tmp", ".old-")
"""Names that only writers half-way through give their files and folders."""


# ----- the prepared workspaces ------------------------------------------------------------------
def stored_oracle_episode(workspace: Path, seed: int) -> None:
    """One stack episode with its frames, stored as a run does: rows and files to keep."""
    with Store.open(workspace) as store:
        recorder = RunRecorder(store, store.start_run("oracle", seed), workspace, frames=True)
        env = TabletopEnv("stack")
        try:
            recorder.save(run_episode(env, OraclePlanner(), seed, frames=True))
        finally:
            env.close()


def build_workspace(folder: Path) -> None:
    """A used workspace (library, an episode with frames) and the files verbs take as input."""
    workspace = folder / "ws"
    SkillLibrary.open(workspace)
    stored_oracle_episode(workspace, 0)
    inputs = folder / "in"
    inputs.mkdir()
    steps = ["open_gripper()", "pick(top)", "place(top, base)"]  # no duplicate of stack_on
    (inputs / "demo_stack.json").write_text(json.dumps({**STACK, "steps": steps}))
    seed = SkillLibrary.seed()
    changed = skill_from_json(
        {**seed.composites["stack_on"].to_json(), "description": "stack it, the other way"}, ""
    )
    new = skill_from_json({**STACK, "name": "stack_again"}, "")
    others = [s for s in seed.composites.values() if s.name != "stack_on"]
    export_bundle(SkillLibrary([*others, changed, new]), inputs / "bundle.zip")


def build_taught(folder: Path, taught: Path, model: Path) -> None:
    """A workspace that learned a round (in use), has its model, and has new lessons since."""
    workspace = folder / "ws"
    shutil.copytree(taught, workspace)
    shutil.copytree(model, default_model_dir(workspace))
    run_and_correct(workspace, default_model_dir(workspace), "stack", [5, 7])


@pytest.fixture(scope="session")
def prepared(request, tmp_path_factory) -> Callable[[str], Path]:
    """The prepared folder of a kind (``workspace`` or ``taught``), built once, when asked."""
    built: dict[str, Path] = {}

    def get(kind: str) -> Path:
        if kind not in built:
            folder = tmp_path_factory.mktemp(f"prepared-{kind}")
            if kind == "workspace":
                build_workspace(folder)
            else:
                taught = request.getfixturevalue("taught")[0]
                build_taught(folder, taught, request.getfixturevalue("push_only_model"))
            built[kind] = folder
        return built[kind]

    return get


# ----- the verbs --------------------------------------------------------------------------------
def correction_api(case: Path) -> None:
    """The correction API as the dashboard uses it: propose, re-run, save."""
    from robolearn.correction import CorrectionAPI

    workspace = case / "ws"
    with Store.open(workspace) as store:
        api = CorrectionAPI(store, SkillLibrary.open(workspace))
        try:
            plan = "\n".join(["open_gripper()", *store.episode(1).plan])
            correction = api.propose(1, plan, who="ada", why="open the gripper first")
            api.save(correction, api.rerun(correction))
        finally:
            api.close()


def bootstrap_tiny(case: Path) -> None:
    """``robolearn bootstrap``'s work (build_default_model) with the tests' seconds-long
    settings: the command line's flags cannot make a build short enough to repeat for every n."""
    workspace = case / "ws"
    build_default_model(default_model_dir(workspace), TINY, progress=False, log=lambda _: None)


@dataclass(frozen=True)
class Verb:
    """A writing verb: its name, where it starts, and its command line (or API story)."""

    name: str
    prepared: str
    argv: Callable[[Path], list[str]] | None = None
    story: Callable[[Path], None] | None = None
    default_cases: str = "every"
    """In the default run: ``every`` n, ``last`` (the verb's last operation) for a slow verb,
    or ``none`` for one whose every run takes minutes (it runs with ``-m slow``)."""

    def run(self, case: Path, capsys: pytest.CaptureFixture) -> tuple[int, str]:
        """Its exit status and stderr (an API story: 2 and the error, as the CLI would print)."""
        if self.argv is not None:
            code = main([*self.argv(case), "--workspace", str(case / "ws")])
            return code, capsys.readouterr().err
        try:
            self.story(case)
        except UserError as error:
            return 2, f"robolearn {self.name}: error: {error}\n"
        return 0, ""


def cli(*words: str) -> Callable[[Path], list[str]]:
    """A command line whose ``{case}`` is the case's folder."""
    return lambda case: [word.format(case=case) for word in words]


RUN = ("run", "--planner", "oracle", "--family", "stack", "--episodes", "2", "--seed", "3")
VERBS = [
    Verb("run", "workspace", cli(*RUN)),
    Verb("run", "workspace", cli(*RUN[:-3], "1", "--seed", "3", "--frames")),
    Verb("skills import", "workspace", cli("skills", "import", "{case}/in/bundle.zip")),
    Verb(
        "skills add",
        "workspace",
        cli(
            "skills", "add", "{case}/in/demo_stack.json", "--family", "stack", "--args", "top,base"
        ),
    ),
    Verb("skills export", "workspace", cli("skills", "export", "{case}/out.zip")),
    Verb("skills export", "workspace", cli("skills", "export", "{case}/out")),
    Verb("correction", "workspace", story=correction_api),
    Verb("adapters use", "taught", cli("adapters", "use", "base")),
    Verb("adapters use", "taught", cli("adapters", "use", "1")),
    Verb(
        "train",
        "taught",
        cli("train", "--epochs", "2", "--eval-scenes", "1", "--threads", "1"),
        default_cases="last",
    ),
    Verb("bootstrap", "empty", story=bootstrap_tiny, default_cases="none"),
]
IDS = [
    "run",
    "run-frames",
    "import",
    "add",
    "export-zip",
    "export-folder",
    "correction",
    "use-base",
    "use-round",
    "train",
    "bootstrap",
]


# ----- what must hold after every case ----------------------------------------------------------
def rows(workspace: Path) -> dict[str, set[tuple]]:
    """Every row of every table, read without robolearn (what "nothing lost" compares)."""
    if not (workspace / DB_NAME).exists():
        return {}
    conn = sqlite3.connect(f"file:{workspace / DB_NAME}?mode=ro", uri=True)
    try:
        tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: set(conn.execute(f'SELECT * FROM "{t}"')) for t in tables}
    finally:
        conn.close()


def problems_after(case: Path, before: dict[str, set[tuple]]) -> list[str]:
    """What is wrong with the case's workspace after a verb failed (empty: nothing)."""
    workspace, found = case / "ws", []
    after = rows(workspace)
    for table, old in before.items():
        if lost := old - after.get(table, set()):
            found.append(f"{len(lost)} acknowledged rows of {table} lost")
    if (workspace / DB_NAME).exists():
        with Store.open(workspace) as store:
            if not store.integrity_ok():
                found.append("the database fails its integrity check")
            running = [r.id for r in store.rounds() if r.status == "running"]
            if running:
                found.append(f"rounds left running: {running}")
            episodes = store.episodes(limit=None)
            named = {s.frame_path for e in episodes for s in e.steps if s.frame_path}
            named |= {e.start_frame_path for e in episodes if e.start_frame_path}
            in_use = {r.path for r in store.rounds() if r.path and r.status != "failed"}
        for path in sorted(named):
            data = (workspace / path).read_bytes() if (workspace / path).is_file() else b""
            if not data.startswith(b"\x89PNG") or not data.rstrip().endswith(b"IEND\xaeB`\x82"):
                found.append(f"frame {path} is named by an episode but not a whole PNG")
        for file in sorted((workspace / "frames").rglob("*.png")):
            if file.relative_to(workspace).as_posix() not in named:
                found.append(f"frame {file.relative_to(workspace)} is named by no episode")
        adapters = workspace / "adapters"
        for folder in sorted(adapters.iterdir()) if adapters.is_dir() else []:
            if folder.name.startswith("."):
                continue
            relative = folder.relative_to(workspace).as_posix()
            if relative not in in_use:
                found.append(f"adapter {relative} belongs to no finished round")
            else:
                check_round_folder(folder, workspace)
    for path in sorted(case.rglob("*")):
        if any(mark in path.name for mark in LEFTOVER_MARKS):
            found.append(f"left behind: {path.relative_to(case)}")
    if (workspace / "skills").exists():
        SkillLibrary.open(workspace)  # every version whole
    if default_model_dir(workspace).exists():
        check_model_folder(default_model_dir(workspace))
    for out in (case / "out.zip", case / "out"):
        if out.exists():
            import_bundle(SkillLibrary.open(case / "check"), out)  # a whole bundle
            shutil.rmtree(case / "check")
    return found


# ----- the sweep --------------------------------------------------------------------------------
def new_case(prepared: Callable[[str], Path], verb: Verb, tmp_path: Path, name: str) -> Path:
    case = tmp_path / name
    if verb.prepared == "empty":
        (case / "ws").mkdir(parents=True)
    else:
        shutil.copytree(prepared(verb.prepared), case)
    return case


def sweep(verb: Verb, prepared, tmp_path: Path, capsys, exhaustive: bool) -> None:
    """Run ``verb`` once counting, then with each chosen operation failing; assert each case."""
    case = new_case(prepared, verb, tmp_path, "count")
    with injected(Faults(roots=[case.absolute()])) as counted:
        code, err = verb.run(case, capsys)
    assert code == 0, f"without faults {verb.name} fails: {err}"
    assert counted.count > 0, f"{verb.name} wrote nothing"
    if exhaustive:
        plan = [(n, e) for n in range(1, counted.count + 1) for e in ERRNOS]
    elif verb.default_cases == "last":
        plan = [(counted.count, errno.ENOSPC)]
    else:
        plan = [(n, ERRNOS[n % len(ERRNOS)]) for n in range(1, counted.count + 1)]
    failures = []
    for n, code_ in plan:
        case = new_case(prepared, verb, tmp_path, f"n{n}-{errno.errorcode[code_]}")
        before = rows(case / "ws")
        faults = Faults(roots=[case.absolute()], fail_at=n, errno=code_)
        with injected(faults):
            code, err = verb.run(case, capsys)
        TALLY.cases += 1
        TALLY.injected += faults.injected is not None
        where = (
            f"{verb.name} with {faults.injected or f'operation {n} (never reached)'} "
            f"failing as {errno.errorcode[code_]}"
        )
        lines = err.strip().splitlines()
        if faults.injected is None:
            if code != 0:
                failures.append(f"{where}: exit {code} with no fault: {err.strip()}")
            continue
        if code != 2 or "Traceback" in err or not lines:
            failures.append(f"{where}: exit {code}: {err.strip()[-600:]}")
            continue
        errors = [line for line in lines if ": error: " in line]
        if errors != [lines[-1]] or not lines[-1].startswith(f"robolearn {verb.name}: error: "):
            failures.append(f"{where}: not one clear last line: {lines[-3:]}")
        failures += [f"{where}: {p}" for p in problems_after(case, before)]
        with injected(Faults(roots=[])):  # what the fault left is usable: the verb runs again
            again, err = verb.run(case, capsys)
        settled = ("already", "nothing new to learn")  # what the failed attempt did finish
        if "Traceback" in err or (again == 2 and not any(words in err for words in settled)):
            failures.append(f"{where}: then fails again without a fault: {err.strip()[-300:]}")
        shutil.rmtree(case, ignore_errors=True)
    assert failures == [], "\n".join(failures)


DEFAULT = [
    (verb, name) for verb, name in zip(VERBS, IDS, strict=True) if verb.default_cases != "none"
]


@pytest.mark.parametrize("verb", [v for v, _ in DEFAULT], ids=[n for _, n in DEFAULT])
def test_every_writing_verb_survives_a_failing_disk(verb, prepared, tmp_path, capsys):
    sweep(verb, prepared, tmp_path, capsys, exhaustive=False)


@pytest.mark.slow
@pytest.mark.parametrize("verb", VERBS, ids=IDS)
def test_every_writing_verb_survives_every_fault_at_every_n(verb, prepared, tmp_path, capsys):
    sweep(verb, prepared, tmp_path, capsys, exhaustive=True)
