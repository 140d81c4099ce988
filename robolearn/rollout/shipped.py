"""A rollout setup shipped as bytes, for workers on machines without its disk (Ray).

The driver packs the files a setup plans from (for a workspace: the store as one consistent
image, the skill library, its own model and the adapter in use; ``ShippableSetup.
shipped_files``). Each worker unpacks them into a temporary folder of its own, builds the same
rollout there (``ShippableSetup.relocated``), and removes the folder when done. Corrections
saved after the run starts reach these workers only in the next run.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from robolearn.errors import UserError
from robolearn.rollout.jobs import Rollout, RolloutSetup

MAX_SHIPPED_BYTES = 512 * 2**20
"""What a run may ship to each worker; a model past it must be a preset or live on every
machine at the same path."""


class ShippingError(UserError, ValueError):
    """A workspace too large to ship to remote workers."""


class ShippableSetup(RolloutSetup, Protocol):
    """A setup that can say which files it reads and be rebuilt where those files were put."""

    def shipped_files(self) -> dict[str, bytes]:
        """Path (relative to the folder a worker unpacks into) -> content."""
        ...

    def relocated(self, root: Path) -> RolloutSetup:
        """The same setup reading its files from ``root``, where a worker unpacked them."""
        ...


@dataclass(frozen=True)
class ShippedRollout:
    """A setup with the files it reads, as plain picklable data."""

    setup: ShippableSetup
    """The setup as the driver prepared it; its paths are rewritten on each worker."""
    files: dict[str, bytes]
    """Relative path -> content."""

    @classmethod
    def pack(cls, setup: ShippableSetup) -> ShippedRollout:
        """Pack what ``setup`` (prepared) reads."""
        files = setup.shipped_files()
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
        """Unpack into a temporary folder and build the rollout there."""
        root = Path(tempfile.mkdtemp(prefix="robolearn-worker-"))
        try:
            for relative, content in self.files.items():
                path = root / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
            rollout = self.setup.relocated(root).build()
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        close = rollout.close

        def close_and_remove() -> None:
            close()
            shutil.rmtree(root, ignore_errors=True)

        rollout.close = close_and_remove
        return rollout


def folder_files(folder: Path, as_path: str | Path) -> dict[str, bytes]:
    """Every file under ``folder``, keyed under ``as_path``."""
    return {
        (Path(as_path) / path.relative_to(folder)).as_posix(): path.read_bytes()
        for path in sorted(p for p in Path(folder).rglob("*") if p.is_file())
    }
