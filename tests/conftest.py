"""Shared helpers for the tests: a family file writer for the bad-input stories, and a tiny
default planner model trained once per test session."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from robolearn.calls import parse_calls
from robolearn.planner.bootstrap import BootstrapConfig, build_default_model

VALID_FAMILY = """
name = "demo"
description = "Stack one block on another."
instructions = ["stack the {top} on the {base}"]
success = ["on(top, base)"]
oracle = ["pick(top)", "place(top, base)"]

[objects.top]
kind = "block"

[objects.base]
kind = "block"
"""


@pytest.fixture
def family_file(tmp_path: Path):
    """Write a family file named demo.toml with ``text`` and return its path."""

    def write(text: str = VALID_FAMILY, name: str = "demo") -> Path:
        path = tmp_path / f"{name}.toml"
        path.write_text(text)
        return path

    return write


class SwappedPlanner:
    """Always stacks the base on the top: the kind of mistake a person corrects."""

    name = "swapped"
    explanation = "the swapped test planner"

    def plan(self, task):
        top, base = task.roles["top"], task.roles["base"]
        return parse_calls(f"pick({base}); place({base}, {top})")


def pytest_terminal_summary(terminalreporter):
    """The fault-injection sweep's counts (tests/test_faults.py), when it ran."""
    from tests.faults import TALLY

    if TALLY.cases:
        terminalreporter.write_line(
            f"fault injection: {TALLY.cases} cases, {TALLY.injected} faults injected"
        )


def robolearn(*args, workspace=None, check=True, timeout=300):
    """Run the robolearn command as a user would, in a subprocess; its CompletedProcess."""
    command = [sys.executable, "-m", "robolearn.cli", *args]
    if workspace is not None:
        command += ["--workspace", str(workspace)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def stored_episodes(workspace):
    """How many episodes the workspace's store holds (0 before a run has created it)."""
    from robolearn.store import DB_NAME, Store

    if not (workspace / DB_NAME).exists():
        return 0
    with Store.open(workspace) as store:
        return len(store.episodes(limit=None))


def shown(markdown: str) -> str:
    """What a person reads when Streamlit renders ``markdown``: its text, tags stripped and
    entities decoded (CommonMark, by markdown-it). Fails if the rendering holds an image, a link
    or any HTML but emphasis, code and headings: markup that came from data."""
    import html
    import re

    from markdown_it import MarkdownIt

    rendered = MarkdownIt("commonmark", {"html": True}).render(markdown)
    tags = set(re.findall(r"<([a-z]+)", rendered)) - {"p", "strong", "em", "code", "h1", "h2", "h3"}
    assert not tags, f"{markdown!r} renders {sorted(tags)}: {rendered}"
    return html.unescape(re.sub(r"<[^>]+>", "", rendered)).strip()


def modules_loaded_by(statement: str, candidates: tuple[str, ...]) -> list[str]:
    """Which of ``candidates`` a fresh interpreter has imported after running ``statement``."""
    code = (
        f"import json, sys; {statement}; "
        f"print(json.dumps([m for m in {candidates!r} if m in sys.modules]))"
    )
    return json.loads(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
    )


TINY = BootstrapConfig(
    scenes_per_family=8,
    phrasings_per_scene=1,
    paraphrases_per_scene=1,
    epochs=1,
    width=32,
    heads=2,
    layers=1,
    vocab_size=400,
    heldout_per_family=1,
)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A default-model folder from a seconds-long bootstrap: (folder, report)."""
    out = tmp_path_factory.mktemp("models") / "default"
    report = build_default_model(out, TINY, progress=False, log=lambda _: None)
    return out, report


PUSH_ONLY = dict(
    scenes_per_family=30,
    phrasings_per_scene=2,
    paraphrases_per_scene=0,
    split_words=False,  # plans in fewer tokens: a seconds-long round learns the stacks
    epochs=4,
    width=128,
    heads=4,
    layers=2,
    vocab_size=300,
    heldout_per_family=2,
    families=("push_to_zone",),
    batch_size=8,
)
"""A base model that knows one family (push_to_zone, one call a plan) well, in seconds."""


@pytest.fixture(scope="session")
def push_only_model(tmp_path_factory):
    """The folder of a default-style model bootstrapped on push_to_zone alone."""
    from robolearn.planner.bootstrap import BootstrapConfig, build_default_model

    out = tmp_path_factory.mktemp("push-only") / "models" / "default"
    build_default_model(out, BootstrapConfig(**PUSH_ONLY), progress=False, log=lambda _: None)
    return out


def run_and_correct(workspace: Path, model_dir: Path, family: str, seeds) -> list[int]:
    """Episodes of ``family`` planned by the model (with the adapter in use, no memory) and
    stored; the simulated corrector fixes the failures. The corrections' ids."""
    from robolearn.agent import run_episode
    from robolearn.correction import CorrectionAPI
    from robolearn.learn.adapters import planner_in_use
    from robolearn.learn.corrector import SimulatedCorrector
    from robolearn.learn.meaning import Meaning
    from robolearn.planner.lm import LMPlanner
    from robolearn.rollout import RunRecorder
    from robolearn.skills.library import SkillLibrary
    from robolearn.store import Store
    from robolearn.tasks.env import TabletopEnv

    library = SkillLibrary.open(workspace)
    env = TabletopEnv(family)
    with Store.open(workspace) as store:
        planner, _ = planner_in_use(LMPlanner(model_dir, library), store, workspace, Meaning())
        recorder = RunRecorder(store, store.start_run("lm", seeds[0]), workspace)
        ids = [recorder.save(run_episode(env, planner, seed, library=library)) for seed in seeds]
        env.close()
        api = CorrectionAPI(store, library)
        corrector = SimulatedCorrector(api)
        fixed = [corrector.correct(episode_id) for episode_id in ids]
        api.close()
    return [correction_id for correction_id, _ in filter(None, fixed)]


SEEDS = [1, 3]
"""The stack scenes that are corrected, and the held-out scenes the quick rounds judge on."""


def quick_round():
    """Round settings that learn a few corrected scenes in seconds, judged on those scenes."""
    from robolearn.learn.dataset import DataConfig
    from robolearn.learn.lora import LoraSettings
    from robolearn.learn.rounds import RoundConfig

    return RoundConfig(
        data=DataConfig(augment=3, replay_ratio=3),
        expert_replay=3,
        lora=LoraSettings(epochs=40, learning_rate=1e-2, batch_size=8),
        eval_scenes=len(SEEDS),
        eval_seed_start=SEEDS[0],
    )


QUICK = quick_round()


@pytest.fixture(scope="session")
def taught(push_only_model, tmp_path_factory):
    """A workspace whose stack mistakes were corrected and learned in round 1 (copy it before
    changing it); the round's outcome."""
    from robolearn.learn.rounds import run_round

    workspace = tmp_path_factory.mktemp("taught")
    assert run_and_correct(workspace, push_only_model, "stack", SEEDS)  # it knew no stacking
    outcome = run_round(workspace, push_only_model, QUICK, progress=False, log=lambda _: None)
    return workspace, outcome
