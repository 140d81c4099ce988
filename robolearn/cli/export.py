"""``robolearn export``: data out of a workspace, in formats other tools read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from robolearn.cli.command import Command, InWorkspace, say
from robolearn.cli.flags import flag

EXAMPLES = """examples:
  robolearn export dataset robolearn-dataset
  robolearn export dataset /data/lab-episodes --workspace lab
"""


@dataclass(kw_only=True)
class DatasetConfig(InWorkspace):
    """Write episodes, steps, corrections and frames as a Hugging Face dataset, in a new folder.

    Parquet files, PNG frames and a dataset card; nothing is written if it cannot all be.
    """

    out: Path = flag(positional=True)
    """The folder to write: new, or empty."""


def dataset(config: DatasetConfig) -> int:
    """Export the workspace's store; say what was written."""
    from robolearn.export import ExportError, export_dataset
    from robolearn.workspace import Workspace

    workspace = Workspace.open(config.folder, writing=False)
    if not workspace.db.is_file():
        raise ExportError(
            f"{workspace.root} holds no robolearn database yet, so there is nothing to export; "
            "run some episodes first, or pass --workspace"
        )
    with workspace.store() as store:
        report = export_dataset(store, config.out)
    say(
        f"wrote {report.episodes} episodes, {report.steps} steps, {report.corrections} "
        f"corrections and {report.frames} frames to {report.folder}"
    )
    say(f'load it: datasets.load_dataset("{report.folder}", "episodes")')
    return 0


ACTIONS = {
    "dataset": Command(
        help="write episodes, corrections and frames as a Hugging Face dataset",
        config=DatasetConfig,
        run=dataset,
        examples=("robolearn export dataset robolearn-dataset",),
    ),
}
