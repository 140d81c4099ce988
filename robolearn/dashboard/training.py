"""A training round started from the dashboard, run in its own process: ``robolearn train``.

The dashboard stays usable while it runs: the round is a subprocess (one torch thread, so a
run beside it keeps the other core), its output goes to ``logs/round-<time>.log`` in the
workspace, and the Learning page polls the store's round row (running, then its verdict) and
the log's progress bars (training, then the two evaluations). Nothing here touches Streamlit.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

PHASES = (
    ("LoRA round", 0.5),
    ("evaluating the adapter in use", 0.25),
    ("evaluating the new adapter", 0.25),
)
"""What a round prints progress bars for, in order, and the share of the round each takes."""
_BAR = re.compile(r"(?P<desc>[^\r\n:]+):\s+\d+%\|[^|]*\|\s*(?P<n>\d+)/(?P<total>\d+)")
LOG_FOLDER = "logs"
"""The workspace folder that keeps the output of rounds started from the dashboard."""


@dataclass(frozen=True)
class Progress:
    """How far a round has come, by its log."""

    fraction: float
    """0 to 1 over the whole round."""
    phase: str
    """What it is doing: ``starting``, or a progress bar's description."""


@dataclass
class TrainingJob:
    """A ``robolearn train`` process this dashboard started."""

    process: subprocess.Popen[bytes]
    log: Path
    started: float
    """``time.time()`` when it started."""

    @property
    def running(self) -> bool:
        """Whether the process has not ended yet."""
        return self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        """Its exit status, once it ended."""
        return self.process.poll()

    def progress(self) -> Progress:
        """How far it has come, from the progress bars in its log."""
        return log_progress(self.log.read_text(encoding="utf-8", errors="replace"))

    def last_line(self) -> str:
        """The last line of its output (what a failed round said)."""
        lines = self.log.read_text(encoding="utf-8", errors="replace").replace("\r", "\n")
        text = [line.strip() for line in lines.splitlines() if line.strip()]
        return text[-1] if text else ""


def start_round(workspace: Path, threads: int = 1) -> TrainingJob:
    """Start ``robolearn train`` on ``workspace`` in a process of its own; the job.

    It is a new session, so stopping the dashboard's server does not stop a round midway
    (a round that dies is marked ``interrupted`` by the next one).
    """
    logs = Path(workspace) / LOG_FOLDER
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"round-{time.strftime('%Y%m%d-%H%M%S')}.log"
    command = [
        *(sys.executable, "-m", "robolearn.cli", "train"),
        *("--workspace", str(workspace), "--threads", str(threads)),
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return TrainingJob(process, log, time.time())


def log_progress(text: str) -> Progress:
    """The round's progress by the last progress bar in its output."""
    bars = list(_BAR.finditer(text))
    if not bars:
        return Progress(0.0, "starting")
    last = bars[-1]
    description = last["desc"].strip()
    done = 0.0
    for name, share in PHASES:
        if description.startswith(name):
            total = max(int(last["total"]), 1)
            return Progress(min(1.0, done + share * int(last["n"]) / total), description)
        done += share
    return Progress(0.0, description)
