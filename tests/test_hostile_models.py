"""A user's story of hostile model and adapter folders: whatever a folder holds, robolearn runs
none of its code, unpickles nothing, asks nothing on stdin and allocates nothing large for it.

Each case plants one thing into a copy of a real model (or a real LoRA adapter) that loads,
hands it to robolearn the way a user would (``robolearn plan --model FOLDER`` with "y" waiting
on stdin, or an adapter put on a planner) and checks the answer: one line, exit 2 (or a
typed error), no marker file written by the planted code, and a deadline that was never hit.
"""

from __future__ import annotations

import io
import json
import pickle
import shutil
import signal
import struct
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from robolearn.cli import main
from robolearn.errors import UserError
from robolearn.planner.identity import ADAPTER_INFO, model_identity
from robolearn.planner.lm import LMPlanner
from robolearn.planner.model_check import check_model_folder
from robolearn.skills.library import SkillLibrary

DEADLINE_S = 120
"""Longest a refusal may take (a few seconds on a busy machine): past it, the case hung."""


@contextmanager
def deadline(seconds: float = DEADLINE_S):
    """Fail with TimeoutError if the block runs longer than ``seconds`` (main thread only)."""

    def expired(signum, frame):
        raise TimeoutError(f"still running after {seconds} s: it hung")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Touch:
    """Unpickling this creates the marker file: what a hostile pickle would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


CODE = "import pathlib\npathlib.Path({marker!r}).write_text('ran')\n"
"""A module that proves it ran by writing the marker file."""


# ----- planting helpers -------------------------------------------------------------------------
def edit_json(name: str, **changes):
    def plant(folder: Path, marker: Path) -> None:
        path = folder / name
        data = json.loads(path.read_text())
        data.update(changes)
        path.write_text(json.dumps(data))

    return plant


def raw_json(name: str, text: str):
    def plant(folder: Path, marker: Path) -> None:
        (folder / name).write_text(text)

    return plant


def safetensors_bytes(header: dict, data: bytes = b"") -> bytes:
    encoded = json.dumps(header).encode()
    return struct.pack("<Q", len(encoded)) + encoded + data


def weights(content: bytes, name: str = "model.safetensors"):
    def plant(folder: Path, marker: Path) -> None:
        (folder / name).write_bytes(content)

    return plant


def both(*plants):
    def plant(folder: Path, marker: Path) -> None:
        for each in plants:
            each(folder, marker)

    return plant


def code_file(name: str):
    def plant(folder: Path, marker: Path) -> None:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(CODE.format(marker=str(marker)))

    return plant


def pickle_file(name: str, remove: str | None = None):
    def plant(folder: Path, marker: Path) -> None:
        (folder / name).write_bytes(pickle.dumps(Touch(marker)))
        if remove:
            (folder / remove).unlink()

    return plant


def remove(name: str):
    def plant(folder: Path, marker: Path) -> None:
        (folder / name).unlink()

    return plant


def only_embeddings_weights(folder: Path, marker: Path) -> None:
    """Keep the token and position tables, drop the layers: a config may then ask for any
    number of layers without a shape in the file to contradict it."""
    from safetensors.numpy import load_file, save_file

    tensors = load_file(folder / "model.safetensors")
    save_file({k: v for k, v in tensors.items() if ".h." not in k}, folder / "model.safetensors")


DEEP = "[" * 100_000 + "]" * 100_000
F32 = {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}
HOSTILE_MODELS = {
    # code
    "auto_map to the folder's code": (
        both(
            edit_json(
                "config.json",
                model_type="evil",
                auto_map={"AutoConfig": "configuration_evil.EvilConfig"},
            ),
            code_file("configuration_evil.py"),
        ),
        "holds code (configuration_evil.py)",
    ),
    "auto_map to a hub repository": (
        edit_json("config.json", auto_map={"AutoModelForCausalLM": "evil/repo--modeling.Evil"}),
        "maps custom classes (auto_map)",
    ),
    "tokenizer auto_map": (
        edit_json("tokenizer_config.json", auto_map={"AutoTokenizer": ["tok.Evil", None]}),
        "custom tokenizer class (auto_map)",
    ),
    "custom generate folder": (code_file("custom_generate/generate.py"), "holds code"),
    "a compiled extension": (code_file("kernels/attention.so"), "holds code"),
    # pickles
    "pickled weights only": (
        pickle_file("pytorch_model.bin", remove="model.safetensors"),
        "pytorch_model.bin, weights in a format that can run code",
    ),
    "a pickle beside the weights": (pickle_file("training_args.pkl"), "training_args.pkl"),
    "pickled optimizer state": (pickle_file("optimizer.pt"), "optimizer.pt"),
    # types and kernels
    "unknown model type": (edit_json("config.json", model_type="evil"), "model_type 'evil'"),
    "model type not a string": (edit_json("config.json", model_type=["gpt2"]), "model_type"),
    "weights of another architecture": (
        edit_json("config.json", model_type="bert"),
        "the weights hold 0 of the",
    ),
    "quantized": (
        edit_json("config.json", quantization_config={"quant_method": "bitsandbytes"}),
        "quantization",
    ),
    "hub attention kernel": (
        edit_json("config.json", _attn_implementation="kernels-community/flash-attn"),
        "attention kernel 'kernels-community/flash-attn'",
    ),
    "unknown tokenizer class": (
        edit_json("tokenizer_config.json", tokenizer_class="EvilTokenizer"),
        "'EvilTokenizer', which transformers does not ship",
    ),
    # absurd sizes
    "vocabulary of a trillion": (edit_json("config.json", vocab_size=10**12), "vocab_size"),
    "a billion layers": (edit_json("config.json", n_layer=10**9), "n_layer is 1000000000"),
    "negative width": (edit_json("config.json", n_embd=-32), "n_embd is -32"),
    "heads as text": (edit_json("config.json", n_head="2"), "n_head is '2'"),
    "layers as a boolean": (edit_json("config.json", n_layer=True), "n_layer is True"),
    "positions past 2**40": (edit_json("config.json", n_positions=2**40), "n_positions"),
    "width the weights do not have": (
        edit_json("config.json", n_embd=64),
        "the config makes transformer.wte.weight of shape [400, 64], but the weights hold "
        "[400, 32]",
    ),
    "more memory than the machine": (
        both(only_embeddings_weights, edit_json("config.json", n_layer=512, n_inner=2**18)),
        "GiB as float32 and this machine has",
    ),
    "width not divisible by heads": (edit_json("config.json", n_head=3), "cannot be loaded"),
    # config files
    "config deeply nested": (raw_json("config.json", DEEP), "nests 100000 levels deep"),
    "config of 2 MB": (
        raw_json("config.json", json.dumps({"model_type": "gpt2", "pad": "x" * 2_000_000})),
        "the limit is 1,000,000",
    ),
    "config a list": (raw_json("config.json", "[]"), "must hold a JSON object"),
    "config not JSON": (raw_json("config.json", "{model_type: gpt2"), "not valid JSON"),
    "config with NaN": (
        raw_json("config.json", '{"model_type": "gpt2", "n_embd": NaN}'),
        "NaN is not a number JSON allows",
    ),
    "generation config deeply nested": (raw_json("generation_config.json", DEEP), "nests"),
    "tokenizer config deeply nested": (raw_json("tokenizer_config.json", DEEP), "nests"),
    # tokenizer
    "no tokenizer": (remove("tokenizer.json"), "it has no tokenizer (tokenizer.json is missing)"),
    "tokenizer not JSON": (raw_json("tokenizer.json", "{"), "cannot be loaded"),
    "a huge chat template": (
        edit_json("tokenizer_config.json", chat_template="{{ x }}" * 20_000),
        "chat template is over 100,000 characters",
    ),
    # weights
    "no weights": (remove("model.safetensors"), "it has no weights"),
    "empty weights file": (weights(b""), "model.safetensors is empty"),
    "truncated weights file": (weights(b"\x10\x00\x00"), "model.safetensors is truncated"),
    "header longer than the file": (
        weights(struct.pack("<Q", 2**60) + b"{}"),
        "not a safetensors file (header length)",
    ),
    "header deeply nested": (
        weights(struct.pack("<Q", 200_000) + DEEP.encode()),
        "header: it nests",
    ),
    "header not JSON": (weights(struct.pack("<Q", 4) + b"{{{{"), "header: it is not valid JSON"),
    "no tensors": (weights(safetensors_bytes({})), "holds no tensors"),
    "unknown dtype": (
        weights(safetensors_bytes({"w": {**F32, "dtype": "F128"}}, bytes(16))),
        "has no known dtype",
    ),
    "empty tensor": (
        weights(safetensors_bytes({"w": {**F32, "shape": [0, 4], "data_offsets": [0, 0]}})),
        "tensor 'w' is empty",
    ),
    "tensor larger than its bytes": (
        weights(safetensors_bytes({"w": {**F32, "shape": [2**20, 2**20]}}, bytes(16))),
        "is not the size its shape says",
    ),
    "tensor past the end of the file": (
        weights(safetensors_bytes({"w": {**F32, "data_offsets": [16, 32]}}, bytes(16))),
        "overlap or leave gaps",
    ),
    "overlapping tensors": (
        weights(safetensors_bytes({"a": F32, "b": F32}, bytes(16))),
        "overlap or leave gaps",
    ),
    "shard outside the folder": (
        both(
            remove("model.safetensors"),
            raw_json(
                "model.safetensors.index.json",
                json.dumps({"weight_map": {"w": "../../secret.safetensors"}}),
            ),
        ),
        "must map tensors to safetensors files beside it",
    ),
    "missing shard": (
        both(
            remove("model.safetensors"),
            raw_json(
                "model.safetensors.index.json",
                json.dumps({"weight_map": {"w": "model-00001.safetensors"}}),
            ),
        ),
        "the weights file model-00001.safetensors is missing",
    ),
}
"""Each case: how it is planted into a copy of the tiny model, and what the refusal says."""


@pytest.fixture
def hostile(tiny_model, tmp_path):
    """Plant a case into a copy of the tiny model: (folder, marker the planted code writes)."""

    def make(plant) -> tuple[Path, Path]:
        folder = tmp_path / "model"
        shutil.copytree(tiny_model[0], folder)
        marker = tmp_path / "MARKER"
        plant(folder, marker)
        return folder, marker

    return make


def test_the_tiny_model_itself_passes_the_checks(tiny_model):
    check_model_folder(tiny_model[0])


@pytest.mark.parametrize(("plant", "problem"), HOSTILE_MODELS.values(), ids=HOSTILE_MODELS.keys())
def test_robolearn_plan_refuses_a_hostile_model_folder_and_runs_none_of_it(
    hostile, tmp_path, capsys, monkeypatch, plant, problem
):
    folder, marker = hostile(plant)
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n" * 100))  # a "yes" waits for any prompt
    with deadline():
        code = main(
            [
                "plan",
                "stack the red block on the blue one",
                "--family",
                "stack",
                "--model",
                str(folder),
                "--workspace",
                str(tmp_path / "ws"),
            ]
        )
    err = capsys.readouterr().err
    assert code == 2, err
    assert (
        err.startswith("robolearn plan: error: refused the model folder") and err.count("\n") == 1
    )
    assert problem in err
    assert not marker.exists(), "the folder's code ran"
    assert sys_stdin_unread(), "robolearn asked something on stdin"


def sys_stdin_unread() -> bool:
    return sys.stdin.read() == "y\n" * 100


# ----- the chat style a tuned model carries ------------------------------------------------------
CHAT_TEMPLATE = (
    "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}</s>{% endfor %}<assistant>"
)
HOSTILE_STYLES = {
    "an attribute path": ("{skills.__class__.__init__.__globals__}", 1, "{skills.__class__"),
    "a ten-gigabyte width": ("{objects:>9999999999}", 1, "{objects:>9999999999}"),
    "a conversion": ("{skills!r}", 1, "{skills!r}"),
    "a positional field": ("{0}", 1, "the placeholder {0}"),
    "a malformed placeholder": ("{", 1, "a malformed placeholder"),
    "a billion worked examples": ("{skills}", 10**9, "shots must be 0 to 32"),
}
"""A system turn and a number of examples for ``robolearn_chat.json``; what the refusal says."""


@pytest.mark.parametrize(
    ("system", "shots", "problem"), HOSTILE_STYLES.values(), ids=HOSTILE_STYLES
)
def test_a_chat_style_that_formats_more_than_its_words_is_refused(
    hostile, tmp_path, capsys, system, shots, problem
):
    style = {"format": 1, "system": system, "user": "{instruction}", "shots": shots}
    folder, _ = hostile(
        both(
            edit_json("tokenizer_config.json", chat_template=CHAT_TEMPLATE),
            raw_json("robolearn_chat.json", json.dumps(style)),
        )
    )
    with deadline():
        code = main(
            ["plan", "stack the red block on the blue one", "--family", "stack"]
            + ["--model", str(folder), "--workspace", str(tmp_path / "ws")]
        )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert "robolearn_chat.json" in err and problem in err, err


# ----- adapters ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_adapter(tiny_model, tmp_path_factory):
    """A LoRA adapter of the tiny model as robolearn saves one (untrained: zeros in B)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model_dir = tiny_model[0]
    model = AutoModelForCausalLM.from_pretrained(model_dir, trust_remote_code=False)
    config = LoraConfig(
        r=4, lora_alpha=8, target_modules=["c_attn"], fan_in_fan_out=True, task_type="CAUSAL_LM"
    )
    out = tmp_path_factory.mktemp("adapter") / "round-0001"
    get_peft_model(model, config).save_pretrained(out)
    (out / ADAPTER_INFO).write_text(
        json.dumps({"format": 1, "base_model": model_identity(model_dir)})
    )
    return out


@pytest.fixture(scope="module")
def planner(tiny_model):
    return LMPlanner(tiny_model[0], SkillLibrary.seed())


HOSTILE_ADAPTERS = {
    "pickled weights only": (
        pickle_file("adapter_model.bin", remove="adapter_model.safetensors"),
        "adapter_model.bin, weights in a format that can run code",
    ),
    "a module beside it": (code_file("evil.py"), "holds code (evil.py)"),
    "rank of a billion": (edit_json("adapter_config.json", r=10**9), "r must be 1..1024"),
    "rank 0": (edit_json("adapter_config.json", r=0), "r must be 1..1024"),
    "alpha past any scale": (edit_json("adapter_config.json", lora_alpha=1e308), "lora_alpha"),
    "alpha NaN": (
        raw_json("adapter_config.json", '{"peft_type": "LORA", "r": 4, "lora_alpha": NaN}'),
        "NaN is not a number JSON allows",
    ),
    "another kind of adapter": (
        edit_json("adapter_config.json", peft_type="PROMPT_TUNING"),
        "peft_type must be LORA",
    ),
    "a backtracking regular expression": (
        edit_json("adapter_config.json", target_modules="(a+)+$"),
        "target_modules must list module names",
    ),
    "a regex in a rank pattern": (
        edit_json("adapter_config.json", rank_pattern={"(.*)*x": 8}),
        "rank_pattern must map names to ranks",
    ),
    "a module for peft to import": (
        edit_json("adapter_config.json", megatron_config={"a": 1}, megatron_core="evil"),
        "megatron_core must be megatron.core",
    ),
    "a cache file for peft to unpickle": (
        edit_json(
            "adapter_config.json",
            init_lora_weights="corda",
            corda_config={"cache_file": "/tmp/cache.pt"},
        ),
        "init_lora_weights must be true, false or gaussian",
    ),
    "layers replicated": (
        edit_json("adapter_config.json", layer_replication=[[0, 10_000]]),
        "layer_replication must be empty",
    ),
    "whole modules to save": (
        edit_json("adapter_config.json", modules_to_save=["transformer"]),
        "modules_to_save must be empty",
    ),
    "base class to import": (
        edit_json(
            "adapter_config.json",
            auto_mapping={"base_model_class": "Evil", "parent_library": "evil_module"},
        ),
        "auto_mapping must name a class of transformers",
    ),
    "config deeply nested": (raw_json("adapter_config.json", DEEP), "nests 100000"),
    "empty weights": (weights(b"", "adapter_model.safetensors"), "is empty"),
    "no weights": (remove("adapter_model.safetensors"), "adapter_model.safetensors is missing"),
    "a tensor that is no LoRA matrix": (
        weights(safetensors_bytes({"w": F32}, bytes(16)), "adapter_model.safetensors"),
        "tensor 'w' is not a LoRA matrix",
    ),
    "a rank past the limit": (
        weights(
            safetensors_bytes(
                {
                    "x.lora_A.weight": {
                        "dtype": "U8",
                        "shape": [1025, 1025],
                        "data_offsets": [0, 1025**2],
                    }
                },
                bytes(1025**2),
            ),
            "adapter_model.safetensors",
        ),
        "is not of rank <= 1024",
    ),
    "record deeply nested": (raw_json(ADAPTER_INFO, DEEP), "nests 100000"),
    "record with a format as text": (
        edit_json(ADAPTER_INFO, format="1"),
        "must give a whole-number format",
    ),
}


@pytest.mark.parametrize(
    ("plant", "problem"), HOSTILE_ADAPTERS.values(), ids=HOSTILE_ADAPTERS.keys()
)
def test_a_hostile_adapter_is_refused_and_the_planner_keeps_planning(
    planner, real_adapter, tmp_path, plant, problem
):
    folder, marker = tmp_path / "round-0002", tmp_path / "MARKER"
    shutil.copytree(real_adapter, folder)
    plant(folder, marker)
    before = planner.adapter
    with deadline(), pytest.raises(UserError) as error:
        planner.use_adapter(folder)
    message = str(error.value)
    assert "\n" not in message and problem in message, message
    assert not marker.exists(), "the adapter's code ran"
    assert planner.adapter == before


def test_the_real_adapter_goes_on_and_comes_off(planner, real_adapter):
    planner.use_adapter(real_adapter)
    assert planner.adapter == real_adapter
    planner.use_adapter(None)
    assert planner.adapter is None


def test_the_checks_refuse_before_anything_large_is_allocated(hostile):
    """The refused model would need ~34 GiB; the check that refuses it stays small."""
    folder, _ = hostile(
        both(only_embeddings_weights, edit_json("config.json", n_layer=512, n_inner=2**18))
    )
    code = (
        "import resource, sys\n"
        "from pathlib import Path\n"
        "from robolearn.planner.folder_check import UnsafeModelError\n"
        "from robolearn.planner.model_check import check_model_folder\n"
        "try:\n"
        f"    check_model_folder(Path({str(folder)!r}))\n"
        "except UnsafeModelError as error:\n"
        "    print(error, file=sys.stderr)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=DEADLINE_S
    )
    assert "GiB as float32 and this machine has" in result.stderr, result.stderr
    peak_gib = int(result.stdout) / 2**20
    assert peak_gib < 2, f"the check itself peaked at {peak_gib:.1f} GiB"
