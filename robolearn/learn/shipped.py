"""A workspace's rollout shipped as bytes, for workers on machines without its disk (Ray).

The driver packs what planning reads: the store (one consistent image), the skill library,
the workspace's own model and the adapter in use. Each worker unpacks it into a temporary
workspace of its own, builds the same rollout there, and removes it when done. A preset
model (``smollm2``) is not shipped: each machine converts it into its own model cache, as a
first run there would. Corrections saved after the run starts reach these workers only in
the next run.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from robolearn.errors import UserError
from robolearn.learn.adapters import active
from robolearn.learn.planners import WorkspaceRollout
from robolearn.planner.identity import model_identity
from robolearn.planner.pretrained import is_preset, resolve_model
from robolearn.rollout import Rollout
from robolearn.store import Store
from robolearn.store.db import DB_NAME

MAX_SHIPPED_BYTES = 512 * 2**20
"""What a run may ship to each worker; a model past it must be a preset or live on every
machine at the same path."""


class ShippingError(UserError, ValueError):
    """A workspace too large to ship to remote workers."""


SHIPPED_MODEL = ".shipped-model"
"""Where a worker's temporary workspace keeps the model folder it was sent."""


@dataclass(frozen=True)
class ShippedRollout:
    """A :class:`WorkspaceRollout` with the files it reads, as plain picklable data."""

    setup: WorkspaceRollout
    """The setup as the driver prepared it; its paths are rewritten on each worker."""
    files: dict[str, bytes]
    """Workspace-relative path -> content (the model under ``SHIPPED_MODEL/``)."""

    @classmethod
    def pack(cls, setup: WorkspaceRollout) -> ShippedRollout:
        """Pack what ``setup`` (prepared) reads from its workspace."""
        workspace = Path(setup.workspace)
        files: dict[str, bytes] = {}
        _add_folder(files, workspace / "skills", "skills")
        with Store.open(workspace) as store:
            files[DB_NAME] = store.snapshot()
            if setup.planner == "lm" and setup.model is not None:
                model = resolve_model(setup.model)  # a prepared preset is converted already
                if not is_preset(setup.model):
                    _add_folder(files, model, SHIPPED_MODEL)
                adapter = active(store, workspace, model_identity(model))
                if adapter.path is not None:
                    _add_folder(
                        files, adapter.path, adapter.path.resolve().relative_to(workspace.resolve())
                    )
        size = sum(map(len, files.values()))
        if size > MAX_SHIPPED_BYTES:
            raise ShippingError(
                f"the workspace's planning files are {size / 2**20:.0f} MiB, over the "
                f"{MAX_SHIPPED_BYTES / 2**20:.0f} MiB a run ships to each Ray worker; use a "
                "preset model (converted on each machine) or --backend local"
            )
        return cls(setup, files)

    @property
    def name(self) -> str:
        """The planner's name, as its episodes record it."""
        return self.setup.name

    def build(self) -> Rollout:
        """Unpack into a temporary workspace and build the rollout there."""
        root = Path(tempfile.mkdtemp(prefix="robolearn-worker-"))
        for relative, content in self.files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        model = self.setup.model
        if model is not None and not is_preset(model):
            model = str(root / SHIPPED_MODEL)
        try:
            rollout = replace(self.setup, workspace=root, model=model).build()
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        close = rollout.close

        def close_and_remove() -> None:
            close()
            shutil.rmtree(root, ignore_errors=True)

        rollout.close = close_and_remove
        return rollout


def _add_folder(files: dict[str, bytes], folder: Path, as_path: str | Path) -> None:
    """Every file under ``folder``, keyed under ``as_path``."""
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        files[(Path(as_path) / path.relative_to(folder)).as_posix()] = path.read_bytes()
