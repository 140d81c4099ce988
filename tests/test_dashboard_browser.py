"""The dashboard in a real browser: ``streamlit run app.py`` served on localhost, Chromium clicks.

Needs Debian's Chromium (``apt-get install -y chromium``) and playwright from PyPI (no
``playwright install``); skipped, with the reason, where either is missing.
"""

import importlib.util
import os
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from robolearn.agent import run_episode
from robolearn.rollout import RunRecorder
from robolearn.store import Store
from robolearn.tasks.env import TabletopEnv
from tests.conftest import SwappedPlanner

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.is_file(), reason="needs Debian's Chromium: apt-get install -y chromium"
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("playwright") is None,
        reason="needs playwright: pip install playwright",
    ),
]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url, server, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"streamlit exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"streamlit was not healthy at {url} within {timeout:.0f} s")


@pytest.fixture
def server(tmp_path):
    """The dashboard served on a free localhost port, with one stored episode; always stopped."""
    workspace = tmp_path / "workspace"
    with Store.open(workspace) as store:
        recorder = RunRecorder(store, store.start_run("swapped", 4), workspace, frames=True)
        env = TabletopEnv("stack")
        try:
            record = run_episode(env, SwappedPlanner(), 4, frames=True)
        finally:
            env.close()
        recorder.save(record)
    port = free_port()
    log = (tmp_path / "streamlit.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env={**os.environ, "ROBOLEARN_WORKSPACE": str(workspace)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
        yield url, record
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_a_person_opens_a_stored_episode_in_the_browser(server, tmp_path):
    from playwright import sync_api

    url, record = server
    screenshot = tmp_path / "episodes.png"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1800})
            page.set_default_timeout(20_000)
            page.goto(f"{url}/run")
            page.get_by_role("heading", name="Run a task").wait_for()
            page.get_by_role("link", name="Episodes").click()
            page.get_by_role("heading", name="Episodes").wait_for()
            page.get_by_text("#1 stack seed 4 (swapped): failed").first.wait_for()
            page.get_by_text(record.instruction).first.wait_for()
            frame = page.locator("[data-testid='stImage'] img").last
            frame.wait_for()
            page.wait_for_function(
                "img => img.complete && img.naturalWidth > 0", arg=frame.element_handle()
            )
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    data = screenshot.read_bytes()
    width, height = png_size(data)
    assert width >= 1000 and height >= 600
    assert len(data) > 30_000, "the screenshot looks blank"
