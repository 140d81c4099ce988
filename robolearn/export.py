"""Data out: a workspace's episodes, steps, corrections and frames as a Hugging Face dataset.

``datasets.load_dataset("parquet", data_files=...)`` reads its files, and
``load_dataset(OUT, "corrections")`` its configs (the card names them). The folder it writes::

    OUT/
      README.md                   the dataset card: configs, columns, counts, how to load it
      data/episodes.parquet       one row an episode: task, plan, outcome, provenance, doubt
      data/steps.parquet          one row a step run: its call, outcome and frame
      data/corrections.parquet    one row a correction: who, why, the plans, the re-run
      frames/run<id>/<family>-<seed>-<step>.png    step 0 is the scene before the first step

Frame columns hold paths relative to OUT. Everything is written into a new folder beside OUT
and renamed into place at the end, so a refused or failed export leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robolearn.errors import UserError
from robolearn.paths import OutsideWorkspaceError, in_workspace

if TYPE_CHECKING:
    from robolearn.records import EpisodeRecord
    from robolearn.store import CorrectionRow, Store

FORMAT_VERSION = 1
"""The layout of the folder this module writes; a change of columns or files is a new one."""


class ExportError(UserError, ValueError):
    """A dataset export that cannot be written where asked; nothing was written."""


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote."""

    folder: Path
    episodes: int
    steps: int
    corrections: int
    frames: int


def export_dataset(store: Store, out: str | os.PathLike[str]) -> ExportReport:
    """Write the store's episodes, steps, corrections and frames under ``out`` (a new folder).

    Raises ExportError, writing nothing, if ``out`` is a file or a folder that is not empty,
    or cannot be written.
    """
    target = Path(out).expanduser()
    _check_target(target)
    staging = target.parent / f".{target.name}.partial-{uuid.uuid4().hex[:12]}"
    try:
        staging.mkdir()  # as any new folder of this user's: the umask's permissions
    except OSError as error:
        raise ExportError(
            f"cannot write the dataset at {target} ({error.strerror or error}); choose a "
            "folder you may write"
        ) from None
    try:
        report = _write(store, staging)
        if target.exists():
            target.rmdir()  # empty, as checked
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExportReport(target, *report)


def _check_target(target: Path) -> None:
    if target.is_file() or (target.exists() and not target.is_dir()):
        raise ExportError(f"{target} is a file; name a new folder for the dataset")
    if target.is_dir() and any(target.iterdir()):
        raise ExportError(
            f"{target} exists and is not empty; name a new folder (an export never mixes "
            "with other files)"
        )
    if not target.parent.is_dir():
        raise ExportError(f"the folder {target.parent} does not exist; create it first")


def _write(store: Store, folder: Path) -> tuple[int, int, int, int]:
    """Write the dataset into the empty ``folder``; its episodes, steps, corrections, frames."""
    episodes = store.episodes(limit=None)
    corrections = store.corrections()
    copy = _FrameCopier(store.workspace, folder)
    episode_rows = [_episode_row(e, copy) for e in episodes]
    step_rows = [row for e in episodes for row in _step_rows(e, copy)]
    correction_rows = [_correction_row(c) for c in corrections]
    data = folder / "data"
    data.mkdir()
    for name, rows, schema in (
        ("episodes", episode_rows, _episode_schema),
        ("steps", step_rows, _step_schema),
        ("corrections", correction_rows, _correction_schema),
    ):
        _write_parquet(data / f"{name}.parquet", rows, schema())
    (folder / "README.md").write_text(
        dataset_card(len(episode_rows), len(step_rows), len(correction_rows), copy.count),
        encoding="utf-8",
    )
    return len(episode_rows), len(step_rows), len(correction_rows), copy.count


class _FrameCopier:
    """Copies each stored frame into the dataset once; its path there, or None if unreadable."""

    def __init__(self, workspace: Path, folder: Path) -> None:
        self.workspace, self.folder = workspace.resolve(), folder
        self.copied: dict[str, str | None] = {}

    @property
    def count(self) -> int:
        """Frames copied so far."""
        return sum(path is not None for path in self.copied.values())

    def __call__(self, stored: str | None) -> str | None:
        if stored is None:
            return None
        if stored not in self.copied:
            self.copied[stored] = self._copy(stored)
        return self.copied[stored]

    def _copy(self, stored: str) -> str | None:
        try:
            source = in_workspace(self.workspace, stored)
        except OutsideWorkspaceError:
            return None  # a path an edited database points elsewhere: not exported
        if not source.is_file():
            return None
        relative = source.relative_to(self.workspace)
        (self.folder / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, self.folder / relative)
        return relative.as_posix()


def _episode_row(episode: EpisodeRecord, copy: Callable[[str | None], str | None]) -> dict:
    origin = episode.origin
    failed = next((i for i, s in enumerate(episode.steps) if not s.ok), None)
    return {
        "episode_id": episode.id,
        "run_id": episode.run_id,
        "created": episode.created,
        "family": episode.family,
        "seed": episode.seed,
        "instruction": episode.instruction,
        "planner": episode.planner,
        "plan": list(episode.plan),
        "success": episode.success,
        "failed_step": None if failed is None else failed + 1,
        "error": episode.error,
        "unmet_goals": episode.unmet,
        "control_steps": episode.control_steps,
        "explanation": episode.explanation,
        "plan_source": origin.source if origin else None,
        "plan_correction_id": origin.correction_id if origin else None,
        "plan_model": origin.model if origin else None,
        "plan_adapter": origin.adapter if origin else None,
        "plan_route": origin.route if origin else None,
        "doubt": episode.doubt,
        "start_frame": copy(episode.start_frame_path),
        "frames": [copy(step.frame_path) for step in episode.steps],
    }


def _step_rows(episode: EpisodeRecord, copy: Callable[[str | None], str | None]) -> list[dict]:
    return [
        {
            "episode_id": episode.id,
            "step": index + 1,
            "call": step.call,
            "ok": step.ok,
            "reason": step.reason,
            "message": step.message,
            "ticks": step.ticks,
            "frame": copy(step.frame_path),
        }
        for index, step in enumerate(episode.steps)
    ]


def _correction_row(correction: CorrectionRow) -> dict:
    return {
        "correction_id": correction.id,
        "episode_id": correction.episode_id,
        "created": correction.created,
        "who": correction.who,
        "why": correction.why,
        "first_changed_step": correction.step_index + 1,
        "proposed": list(correction.proposed),
        "corrected": list(correction.corrected),
        "rerun_success": correction.rerun_success,
    }


def _write_parquet(path: Path, rows: list[dict], schema: Any) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(rows, schema=schema)
    pq.write_table(table, path)


def _episode_schema() -> Any:
    import pyarrow as pa

    text, number, strings = pa.string(), pa.int64(), pa.list_(pa.string())
    return pa.schema(
        [
            ("episode_id", number), ("run_id", number), ("created", text), ("family", text),
            ("seed", number), ("instruction", text), ("planner", text), ("plan", strings),
            ("success", pa.bool_()), ("failed_step", number), ("error", text),
            ("unmet_goals", strings), ("control_steps", number), ("explanation", text),
            ("plan_source", text), ("plan_correction_id", number), ("plan_model", text),
            ("plan_adapter", text), ("plan_route", text), ("doubt", pa.float64()),
            ("start_frame", text), ("frames", strings),
        ]
    )  # fmt: skip


def _step_schema() -> Any:
    import pyarrow as pa

    text, number = pa.string(), pa.int64()
    return pa.schema(
        [
            ("episode_id", number), ("step", number), ("call", text), ("ok", pa.bool_()),
            ("reason", text), ("message", text), ("ticks", number), ("frame", text),
        ]
    )  # fmt: skip


def _correction_schema() -> Any:
    import pyarrow as pa

    text, number, strings = pa.string(), pa.int64(), pa.list_(pa.string())
    return pa.schema(
        [
            ("correction_id", number), ("episode_id", number), ("created", text),
            ("who", text), ("why", text), ("first_changed_step", number),
            ("proposed", strings), ("corrected", strings), ("rerun_success", pa.bool_()),
        ]
    )  # fmt: skip


def dataset_card(episodes: int, steps: int, corrections: int, frames: int) -> str:
    """The dataset's README.md: the Hub's YAML header (configs), then what it holds.

    Only counts and fixed text: nothing from the data (instructions, who, why) is written
    into Markdown, which a Hub page would render.
    """
    return f"""---
pretty_name: robolearn episodes and corrections
tags:
- robotics
- robolearn
- corrections
configs:
- config_name: episodes
  data_files: data/episodes.parquet
  default: true
- config_name: steps
  data_files: data/steps.parquet
- config_name: corrections
  data_files: data/corrections.parquet
---

# robolearn episodes and corrections

Exported by `robolearn export dataset` (format version {FORMAT_VERSION}): {episodes} episodes
with {steps} steps, {corrections} corrections and {frames} camera frames (PNG, 256 x 256) of a
robolearn workspace. A PyBullet Panda ran each episode's plan of skill calls, written by a
language-model planner, recalled from a person's correction, or scripted.

## Files

- `data/episodes.parquet`: one row an episode: `family`, `seed` (the scene), `instruction`,
  `plan` (calls), `success`, `failed_step`, `unmet_goals`, where the plan came from
  (`plan_source` memory, model or scripted; `plan_correction_id`, `plan_model`,
  `plan_adapter`, `plan_route`), the planner's `doubt` (0 sure to 1), `start_frame` and
  `frames` (one a step run).
- `data/steps.parquet`: one row a step run: `episode_id`, `step` (from 1), `call`, `ok`,
  `reason`, `message`, `ticks` (control steps) and its `frame`.
- `data/corrections.parquet`: one row a correction: `episode_id`, `who`, `why`,
  `first_changed_step`, the `proposed` and `corrected` plans and `rerun_success`.
- `frames/`: the PNG files the frame columns name, relative to this folder.

## Load it

```python
from datasets import load_dataset

episodes = load_dataset("parquet", data_files="OUT/data/episodes.parquet")["train"]
corrections = load_dataset("OUT", "corrections")["train"]
```
"""
