"""MiniLM sentence embeddings through ONNX Runtime, so answering never imports torch.

Importing torch and sentence-transformers costs seconds of every cold `ask`; ONNX Runtime and
`tokenizers` load in a fraction of a second. The ONNX file is exported once from the packaged
safetensors weights (torch is needed for that step only), checked against the torch model's
vectors, and kept in the cache beside a stamp of the weights it came from.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from nanoscale.errors import ModelNotAvailable

log = logging.getLogger(__name__)

# Texts the exported model is checked on: short, long, code-like and unicode, in one padded batch.
PROBES = (
    "ok",
    "kubectl describe pod api-7c9f shows OOMKilled with exit code 137 after the last rollout",
    "aws ecr get-login-password --region eu-west-1 | docker login --username AWS --password-stdin",
    "Die Verbindung wurde abgelehnt: connection refused on port 5432 (pg_hba.conf)",
)
MAX_DIFFERENCE = 1e-4  # largest allowed gap between ONNX and torch vectors (unit length)
# Bumped when the export changes, so cached files from an older export are redone. v2: eager
# attention (the SDPA graph ran at 0.65x torch's speed on long chunks; eager at 0.87x).
EXPORT_VERSION = "v2"


def onnx_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def _stamp(model_dir: Path) -> str:
    weights = model_dir / "model.safetensors"
    if not weights.exists():
        raise ModelNotAvailable(f"{model_dir}: no model.safetensors to export to ONNX")
    stat = weights.stat()
    return f"{EXPORT_VERSION} {weights.resolve()} {stat.st_size} {stat.st_mtime_ns}"


def max_length(model_dir: Path) -> int:
    """The sequence length sentence-transformers truncates at for this model."""
    config = model_dir / "sentence_bert_config.json"
    if config.exists():
        return int(json.loads(config.read_text()).get("max_seq_length", 256))
    return 256


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Average of the token vectors the mask keeps, scaled to unit length (MiniLM's pooling)."""
    weights = mask[..., None].astype(np.float32)
    summed = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    return summed / np.clip(np.linalg.norm(summed, axis=1, keepdims=True), 1e-12, None)


def export(model_dir: Path, target: Path) -> Path:
    """Write `target` from the safetensors model in `model_dir` and check it against torch."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    class Encoder(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    model = AutoModel.from_pretrained(
        model_dir, local_files_only=True, dtype=torch.float32, attn_implementation="eager"
    ).eval()
    batch = tokenizer(list(PROBES), padding=True, return_tensors="pt")
    inputs = (batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial.onnx")
    dims = {0: torch.export.Dim("batch"), 1: torch.export.Dim("sequence", max=512)}
    # the exporter prints its progress; stdout may be a JSON answer (`ask --json`)
    with torch.no_grad(), contextlib.redirect_stdout(sys.stderr):
        torch.onnx.export(
            Encoder(model),
            inputs,
            str(partial),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_shapes=(dims, dims, dims),
            dynamo=True,
            external_data=False,
        )
        expected = mean_pool(model(**batch).last_hidden_state.numpy(), batch["attention_mask"].numpy())
    got = OnnxEmbeddings(partial, model_dir).embed_documents(list(PROBES))
    difference = float(np.abs(np.asarray(got) - expected).max())
    if difference > MAX_DIFFERENCE:
        partial.unlink(missing_ok=True)
        raise ModelNotAvailable(f"ONNX export of {model_dir.name} differs from torch by {difference:.2g}")
    partial.replace(target)
    target.with_suffix(".stamp").write_text(_stamp(model_dir))
    log.info("exported %s to %s (max difference to torch %.1g)", model_dir.name, target, difference)
    return target


def exported(model_dir: Path, cache: Path) -> Path:
    """The ONNX file for `model_dir`, exported on first use or when its weights changed."""
    target = cache / f"{model_dir.parent.name}-{model_dir.name}.onnx"
    stamp = target.with_suffix(".stamp")
    if target.exists() and stamp.exists() and stamp.read_text() == _stamp(model_dir):
        return target
    log.info("exporting the embedding model to ONNX once (a few seconds)")
    try:
        return export(model_dir, target)
    except ModelNotAvailable:
        raise
    except Exception as error:  # torch's exporter fails in many ways; each means: no ONNX here
        raise ModelNotAvailable(f"ONNX export of {model_dir.name} failed: {error}") from error


class OnnxEmbeddings(Embeddings):
    """Normalised mean-pooled sentence vectors from an exported encoder, torch-free."""

    def __init__(self, onnx_file: Path, model_dir: Path, batch_size: int = 32, threads: int = 0) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        # ONNX Runtime's idle worker threads spin-wait by default; in a process that also runs
        # llama.cpp on a few cores, an embedding call must not leave threads busy after it returns.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(
            str(onnx_file), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length(model_dir))
        self.tokenizer.enable_padding()
        self.batch_size = batch_size

    def _batch(self, texts: list[str]) -> np.ndarray:
        encoded = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        return mean_pool(self.session.run(None, feed)[0], mask)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Batched by length (as sentence-transformers does): a batch pads to its longest text, so
        mixing short and long chunks would spend most of the work on padding."""
        if not texts:
            return []
        order = np.argsort([-len(text) for text in texts], kind="stable")
        ranked = [texts[i] for i in order]
        vectors = np.concatenate(
            [self._batch(ranked[i : i + self.batch_size]) for i in range(0, len(ranked), self.batch_size)]
        )
        return vectors[np.argsort(order)].tolist()  # back to the caller's order

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]
