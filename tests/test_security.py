"""Security: no code runs from data, the dashboard stays on this machine unless told otherwise,
and no path a database stores can make robolearn read a file outside the workspace.

Paths inside bundles (``..``, absolute, drive letters, backslashes, links) are refused by the
importer; ``test_bundle.py`` tries each.
"""

from __future__ import annotations

import ast
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import robolearn
from robolearn.cli import parse
from robolearn.dashboard.episode_view import stored_frames
from robolearn.learn.adapters import AdapterChoiceError, active
from robolearn.paths import OutsideWorkspaceError, in_workspace
from robolearn.records import EpisodeRecord, StepRecord
from robolearn.store import AdapterRow, RoundRow, Store
from tests.test_dashboard_browser import free_port, wait_healthy

PACKAGE = Path(robolearn.__file__).resolve().parent
PICKLERS = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "marshal", "shelve"}


# ----- no code from data ------------------------------------------------------------------------
def _keyword_is(call: ast.Call, name: str, value: object) -> bool:
    return any(
        k.arg == name and isinstance(k.value, ast.Constant) and k.value.value == value
        for k in call.keywords
    )


def unsafe_calls(source: str, filename: str) -> list[str]:
    """``file:line: what`` for each way ``source`` could run code hidden in data.

    The builtins ``eval`` and ``exec`` (not a torch module's ``.eval()``), any pickle-like
    module, ``torch.load`` without ``weights_only=True``, ``allow_pickle=True`` and
    ``trust_remote_code=True``.
    """
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        line = f"{filename}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in ("eval", "exec"):
                found.append(f"{line}: {func.id}()")
            if (
                isinstance(func, ast.Attribute)
                and func.attr == "load"
                and isinstance(func.value, ast.Name)
                and func.value.id == "torch"
                and not _keyword_is(node, "weights_only", True)
            ):
                found.append(f"{line}: torch.load() without weights_only=True")
            for keyword in ("allow_pickle", "trust_remote_code"):
                if _keyword_is(node, keyword, True):
                    found.append(f"{line}: {keyword}=True")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            modules = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
            found += [f"{line}: imports {m}" for m in modules if m.split(".")[0] in PICKLERS]
        elif isinstance(node, ast.Name) and node.id in PICKLERS:
            found.append(f"{line}: uses {node.id}")
    return found


def test_no_module_of_the_package_can_run_code_from_data():
    found = [
        problem
        for path in sorted(PACKAGE.rglob("*.py"))
        for problem in unsafe_calls(
            path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE.parent))
        )
    ]
    assert found == [], "\n".join(found)


def test_the_check_finds_what_it_looks_for_and_spares_a_module_eval():
    planted = (
        "import pickle\nfrom dill import loads\nimport torch\n"
        "model.eval()\nnet.train().eval()\n"
        "eval(text)\nexec(text)\n"
        "torch.load(path)\ntorch.load(path, weights_only=False)\n"
        "torch.load(path, weights_only=True)\n"
        "np.load(path, allow_pickle=True)\nnp.load(path, allow_pickle=False)\n"
        "AutoModel.from_pretrained(path, trust_remote_code=True)\n"
        "# eval(this) and pickle in a comment are not code\n"
    )
    assert unsafe_calls(planted, "planted.py") == [
        "planted.py:1: imports pickle",
        "planted.py:2: imports dill",
        "planted.py:6: eval()",
        "planted.py:7: exec()",
        "planted.py:8: torch.load() without weights_only=True",
        "planted.py:9: torch.load() without weights_only=True",
        "planted.py:11: allow_pickle=True",
        "planted.py:13: trust_remote_code=True",
    ]


def transformers_loads_without_refusal(source: str, filename: str) -> list[str]:
    """``file:line`` of each transformers load (``Auto*.from_pretrained`` / ``from_config``)
    that does not pass ``trust_remote_code=False``: without it a folder's config can make
    transformers ask on stdin whether to run the folder's code."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("from_pretrained", "from_config")
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id.startswith("Auto")
            and not _keyword_is(node, "trust_remote_code", False)
        ):
            found.append(f"{filename}:{node.lineno}: {node.func.value.id}.{node.func.attr}")
    return found


def test_every_transformers_load_refuses_remote_code():
    found = [
        problem
        for path in sorted(PACKAGE.rglob("*.py"))
        for problem in transformers_loads_without_refusal(
            path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE.parent))
        )
    ]
    assert found == [], "\n".join(found)
    planted = (
        "AutoTokenizer.from_pretrained(path)\n"
        "AutoModelForCausalLM.from_pretrained(path, trust_remote_code=True)\n"
        "AutoModel.from_pretrained(path, trust_remote_code=False)\n"
        "PeftModel.from_pretrained(model, path)\n"
    )
    assert transformers_loads_without_refusal(planted, "p.py") == [
        "p.py:1: AutoTokenizer.from_pretrained",
        "p.py:2: AutoModelForCausalLM.from_pretrained",
    ]


# ----- the dashboard listens on this machine only, unless told ----------------------------------
def listening_addresses(port: int) -> set[str]:
    """The local addresses with a socket listening on ``port`` (from /proc/net/tcp{,6})."""
    addresses = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        if not Path(table).exists():
            continue
        for row in Path(table).read_text().splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)  # 32-bit words, each little-endian
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                addresses.add(socket.inet_ntop(family, words))
    return addresses


def test_the_dashboard_command_defaults_to_localhost():
    assert parse(["dashboard"]).address == "127.0.0.1"


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads /proc/net/tcp (Linux)")
@pytest.mark.parametrize(
    ("flags", "address", "warns"),
    [
        ([], "127.0.0.1", False),
        (["--address", "127.0.0.2"], "127.0.0.2", True),  # another address, still on loopback
    ],
)
def test_the_dashboard_listens_where_it_says_and_warns_when_exposed(
    tmp_path, flags, address, warns
):
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "robolearn.cli",
        "dashboard",
        "--port",
        str(port),
        "--workspace",
        str(tmp_path / "ws"),
        *flags,
    ]
    with (tmp_path / "stderr.log").open("w") as log:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
        try:
            wait_healthy(f"http://{address}:{port}", process, timeout=60)
            assert listening_addresses(port) == {address}
        finally:
            process.send_signal(signal.SIGTERM)  # the command stops its server on the way out
            process.wait(timeout=30)
    assert listening_addresses(port) == set(), "the server stopped with the command"
    stderr = (tmp_path / "stderr.log").read_text()
    assert f"at http://{address}:{port}" in stderr
    assert (
        "warning: the dashboard listens on 127.0.0.2: anyone who can reach it" in stderr
    ) is warns


# ----- stored paths stay inside the workspace ---------------------------------------------------
@pytest.fixture
def workspace(tmp_path):
    """A workspace with one frame of its own, beside a secret file and a link to it."""
    workspace = tmp_path / "ws"
    (workspace / "frames").mkdir(parents=True)
    (workspace / "frames" / "ok.png").write_bytes(b"\x89PNG")
    (tmp_path / "secret.png").write_bytes(b"secret")
    os.symlink(tmp_path / "secret.png", workspace / "frames" / "link.png")
    return workspace


OUTSIDE = [
    "../secret.png",
    "frames/../../secret.png",
    "{tmp}/secret.png",
    "/etc/passwd",
    "frames/link.png",
    "frames/\x00.png",
]
"""Stored frame paths that lead out of the workspace: climbing, absolute, through a link, NUL."""


@pytest.mark.parametrize("stored", OUTSIDE)
def test_a_stored_path_out_of_the_workspace_is_refused(workspace, stored):
    stored = stored.format(tmp=workspace.parent)
    with pytest.raises(OutsideWorkspaceError, match="leads outside the workspace"):
        in_workspace(workspace, stored)


def test_the_dashboard_shows_only_frames_inside_the_workspace(workspace):
    paths = [
        "frames/ok.png",
        "frames/missing.png",
        *(p.format(tmp=workspace.parent) for p in OUTSIDE),
    ]
    with Store.open(workspace) as store:
        episode_id = store.add_episode(
            store.start_run("oracle", 0),
            EpisodeRecord(
                family="stack",
                seed=0,
                instruction="stack",
                planner="oracle",
                plan=["open_gripper()"] * len(paths),
                steps=[StepRecord("open_gripper()", ok=True, frame_path=p) for p in paths],
            ),
        )
        episode = store.episode(episode_id)

    ok, missing, *refused = stored_frames(episode, workspace)
    assert ok.image == (workspace / "frames" / "ok.png").resolve()
    assert missing.image is None and "frames/missing.png is missing" in missing.caption
    for frame in refused:
        assert frame.image is None and "not shown: the stored path" in frame.caption
        assert "leads outside the workspace" in frame.caption


def test_an_adapter_the_store_places_outside_the_workspace_is_not_loaded(workspace, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "adapter_config.json").write_text("{}")
    with Store.open(workspace) as store:
        round_id = store.start_round(RoundRow(base_model="base-1", config={}))
        store.finish_round(round_id, "promoted", "", {}, path="../elsewhere")
        store.use_adapter(AdapterRow("base-1", round_id, "../elsewhere", "an edited database"))
        with pytest.raises(
            AdapterChoiceError,
            match=f"round {round_id}'s adapter: the stored "
            "path '../elsewhere' leads outside the workspace",
        ):
            active(store, workspace, "base-1")
