"""The scale-out path where it runs: a Ray cluster of two nodes, made on this machine.

``ray start --head`` and a second ``ray start --address ...`` (each with CPUs of its own, in a
process group of its own) form the cluster; ``robolearn run --backend ray --ray-address`` joins
it as a user would. A run spread over both nodes (an actor on each) stores the same episodes as
the local pool; and when the second node is killed mid-run (SIGKILL to everything it runs), no
episode is lost: the dead node's episode runs again on the head. Every wait is bounded.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

from robolearn.workspace import PlannerChoice, WorkspaceRollout
from tests.conftest import stored_episodes
from tests.test_dashboard_browser import free_port
from tests.test_workers import FAMILIES, needs_ray, stored_run

ROOT = Path(__file__).resolve().parents[1]
EPISODES = 40
"""Episodes of each family a run (80 take about 10 s): long enough to kill a node mid-run."""
STARTUP_S = 180
RUN_S = 600
ENV = {
    **os.environ,
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_AUTH_MODE": "token",
    "RAY_AUTH_TOKEN": secrets.token_hex(32),
}
"""Every process of the cluster and its clients: token authentication, with this run's token
(Ray 2.59+ turns it on for local clusters by default, and a client without it is refused)."""


def wait_for(condition: Callable[[], bool], what: str, timeout: float) -> None:
    """Poll ``condition`` until it holds; fail saying ``what`` never happened."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.1)


@dataclass
class Node:
    """One ``ray start --block`` and everything it started, in a session of its own (Ray's
    workers take process groups of their own, but stay in the session)."""

    process: subprocess.Popen

    def members(self) -> list[tuple[int, bytes]]:
        """The processes of this node's session: (pid, command line)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if os.getsid(int(entry.name)) == self.process.pid:
                    found.append((int(entry.name), (entry / "cmdline").read_bytes()))
            except (OSError, ProcessLookupError):
                continue
        return found

    def actors(self) -> int:
        """How many of robolearn's rollout actors run on this node now."""
        return sum(command.startswith(b"ray::_Actor") for _, command in self.members())

    def kill(self) -> None:
        """SIGKILL the node: its raylet, its workers, everything in its session."""
        for pid, _ in self.members():
            with suppress(ProcessLookupError):  # gone already
                os.kill(pid, signal.SIGKILL)
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=60)


def nodes_alive(address: str) -> int:
    """How many nodes ``ray status`` reports active at ``address`` (0 if it cannot say)."""
    result = subprocess.run(
        [shutil.which("ray") or "ray", "status", f"--address={address}"],
        capture_output=True,
        text=True,
        timeout=60,
        env=ENV,
    )
    if result.returncode != 0 or "Active:" not in result.stdout:
        return 0
    active = result.stdout.split("Active:")[1].split("Pending:")[0]
    return active.count("node_")


@contextmanager
def two_node_cluster(logs: Path) -> Iterator[tuple[str, Node, Node]]:
    """A head (2 CPUs) and a second node (1 CPU) on this machine: (address, head, second)."""
    port = free_port()
    address = f"127.0.0.1:{port}"
    temp = Path(tempfile.mkdtemp(prefix="rl-ray-", dir="/tmp"))  # socket paths must be short
    memory = "--object-store-memory=100000000"

    def start(name: str, *flags: str) -> Node:
        with (logs / f"{name}.log").open("w") as log:
            command = [sys.executable, "-m", "ray.scripts.scripts", "start", "--block", *flags]
            return Node(
                subprocess.Popen(
                    command, stdout=log, stderr=subprocess.STDOUT, env=ENV, start_new_session=True
                )
            )

    nodes: list[Node] = []
    try:
        nodes.append(
            start(
                "head",
                "--head",
                f"--port={port}",
                "--num-cpus=2",
                memory,
                f"--temp-dir={temp}",
                "--include-dashboard=false",
                "--disable-usage-stats",
            )
        )
        wait_for(lambda: nodes_alive(address) == 1, "the head node starting", STARTUP_S)
        nodes.append(start("second", f"--address={address}", "--num-cpus=1", memory))
        wait_for(lambda: nodes_alive(address) == 2, "the second node joining", STARTUP_S)
        yield address, nodes[0], nodes[1]
    finally:
        for node in reversed(nodes):
            node.kill()
        shutil.rmtree(temp, ignore_errors=True)


def ray_run(
    workspace: Path, address: str, log: Path, env: dict[str, str] = ENV
) -> subprocess.Popen:
    """``robolearn run`` of the oracle on the cluster at ``address``, with 2 workers."""
    families = [arg for family in FAMILIES for arg in ("--family", family)]
    with log.open("w") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "robolearn",
                "run",
                "--planner",
                "oracle",
                *families,
                "--episodes",
                str(EPISODES),
                "--workers",
                "2",
                "--backend",
                "ray",
                "--ray-address",
                address,
                "--workspace",
                str(workspace),
            ],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )


def stored_rows(workspace: Path) -> list[dict]:
    from robolearn.store import Store

    with Store.open(workspace) as store:
        rows = store.episodes(limit=None)
    return [dict(vars(row), id=None, run_id=None, created=None) for row in rows]


@needs_ray
@pytest.mark.skipif(shutil.which("ray") is None, reason="the ray command is not on the PATH")
def test_a_two_node_cluster_runs_the_local_pools_episodes_and_survives_losing_a_node(tmp_path):
    _, local = stored_run(
        tmp_path / "local",
        WorkspaceRollout(tmp_path / "local", PlannerChoice("oracle")),
        EPISODES,
        workers=2,
    )
    with two_node_cluster(tmp_path) as (address, head, second):
        # Without the cluster's token: refused in one line, nothing stored.
        stranger = {**ENV, "RAY_AUTH_TOKEN": secrets.token_hex(32)}
        run = ray_run(tmp_path / "stranger", address, tmp_path / "stranger.log", stranger)
        try:
            assert run.wait(timeout=RUN_S) == 2
        finally:
            run.kill()
        output = (tmp_path / "stranger.log").read_text()
        assert "error: cannot join the Ray cluster at" in output and "Traceback" not in output
        assert not stored_episodes(tmp_path / "stranger")

        # Spread over both nodes: an actor on each, the same episodes as the local pool.
        run = ray_run(tmp_path / "spread", address, tmp_path / "spread.log")
        try:
            wait_for(lambda: head.actors() and second.actors(), "an actor on each node", RUN_S)
            assert run.wait(timeout=RUN_S) == 0, (tmp_path / "spread.log").read_text()[-2000:]
        finally:
            run.kill()
        assert stored_rows(tmp_path / "spread") == local

        # The second node killed mid-run: its episode runs again on the head, none is lost.
        run = ray_run(tmp_path / "killed", address, tmp_path / "killed.log")
        try:
            wait_for(
                lambda: stored_episodes(tmp_path / "killed") >= 5 and second.actors(),
                "five episodes stored with an actor on the second node",
                RUN_S,
            )
            second.kill()
            assert run.wait(timeout=RUN_S) == 0, (tmp_path / "killed.log").read_text()[-2000:]
        finally:
            run.kill()
        output = (tmp_path / "killed.log").read_text()
        assert "worker(s) died during the run; their episodes ran again" in output, output[-2000:]
        assert stored_rows(tmp_path / "killed") == local
