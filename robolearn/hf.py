"""Loading Hugging Face models the robolearn way: offline, from local folders, quietly."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def offline_loading() -> Iterator[None]:
    """Load with no hub access and without transformers' per-file progress bars.

    Nothing may be downloaded at run time (DESIGN.md), so the hub is switched off for the
    process; the progress bar is restored afterwards. peft's loader still calls a transformers
    method that transformers 5.24 deprecated; that warning says nothing to a user, nor do the
    ones about GPT-2's LoRA layers (attention in Conv1D layers, the output layer Linear: peft
    sets each one right and says so) and its tied output layer (an adapter is saved as its
    LoRA matrices alone and never merged into the tied weights).
    """
    os.environ["HF_HUB_OFFLINE"] = "1"
    from transformers.utils import logging as hf_logging

    bar_was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=".*is_gradient_checkpointing", category=FutureWarning
            )
            warnings.filterwarnings("ignore", message="fan_in_fan_out is set to")
            warnings.filterwarnings("ignore", message=".*tie_word_embeddings=True")
            yield
    finally:
        if bar_was_on:
            hf_logging.enable_progress_bar()


def load_causal_lm(folder: Path) -> tuple[Any, Any]:
    """A local folder's tokenizer and causal LM (fp32), loaded the one safe way.

    Offline, from local files only, never running code the folder brings
    (``trust_remote_code=False``) and never unpickling weights (``use_safetensors=True``);
    callers check the folder with ``planner.model_check`` first.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with offline_loading():
        tokenizer = AutoTokenizer.from_pretrained(
            folder, local_files_only=True, trust_remote_code=False
        )
        model = AutoModelForCausalLM.from_pretrained(
            folder,
            local_files_only=True,
            dtype=torch.float32,
            trust_remote_code=False,
            use_safetensors=True,
        )
    return tokenizer, model
