"""``robolearn dashboard``: serve the Streamlit dashboard of a workspace."""

from __future__ import annotations

from dataclasses import dataclass

from robolearn.cli.command import Command, InWorkspace, note
from robolearn.errors import ConfigError

LOOPBACK = ("127.0.0.1", "localhost", "::1")
"""Addresses only this machine reaches."""


@dataclass(kw_only=True)
class DashboardConfig(InWorkspace):
    """Serve the Streamlit dashboard for a workspace (this machine only unless told otherwise)."""

    address: str = LOOPBACK[0]
    """The address to listen on; another than this machine's lets anyone who reaches it run
    and correct episodes."""
    port: int = 8501
    """The port to listen on."""

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ConfigError("port", f"{{}} must be between 1 and 65535, got {self.port}")


def run(config: DashboardConfig) -> int:
    """Start ``streamlit run app.py`` on the workspace and wait for it; stop it on the way out."""
    import os
    import signal
    import subprocess
    import sys

    from robolearn.paths import WORKSPACE_ENV, app_path
    from robolearn.workspace import Workspace

    workspace = Workspace.open(config.folder)  # refused before the server starts
    if config.address not in LOOPBACK:
        note(
            f"warning: the dashboard listens on {config.address}: anyone who can reach it can "
            "run and correct episodes in this workspace"
        )
    root = workspace.root.resolve()
    note(f"dashboard for {root} at http://{config.address}:{config.port}")
    command = [
        *(sys.executable, "-m", "streamlit", "run", str(app_path())),
        *("--server.headless", "true", "--server.address", config.address),
        *("--server.port", str(config.port), "--browser.gatherUsageStats", "false"),
    ]
    server = subprocess.Popen(command, env={**os.environ, WORKSPACE_ENV: str(root)})
    # A kill (SIGTERM) becomes SystemExit, so the `finally` below stops the server too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return server.wait()
    finally:  # Ctrl-C or a kill of this process must not leave the server on the port
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=10)


COMMAND = Command(
    help="serve the Streamlit dashboard",
    config=DashboardConfig,
    run=run,
    examples=("robolearn dashboard", "robolearn dashboard --port 8600 --workspace lab"),
)
