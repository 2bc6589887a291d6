"""Write a merged model as GGUF (F16, Q8_0; Q4_K_M through llama.cpp's quantizer) and check it against transformers.

No llama.cpp checkout is needed: the base GGUF the model was trained from already holds the
tokenizer and chat template, so its metadata is carried over; the hyperparameters come from the
merged model's config and the tensors from its safetensors, renamed with gguf's own HF -> GGUF
name map. llama.cpp orders the rows of LLaMA's q/k projections differently from HF (rotary
halves vs interleaved pairs), so those two are permuted for the llama architecture.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from nanoscale.errors import InputError
from nanoscale.evals.cases import load_cases
from nanoscale.prompts import SYSTEM_PROMPT
from nanoscale.training.runs import PROVENANCE

ARCHITECTURES = {"qwen2": "QWEN2", "llama": "LLAMA"}
FILE_NAMES = {"f16": "model-f16.gguf", "q8_0": "model-q8_0.gguf", "q4_k_m": "model-q4_k_m.gguf"}
CHATML_TEMPLATE = (
    "{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}"
    "{{ if .Prompt }}<|im_start|>user\n{{ .Prompt }}<|im_end|>\n{{ end }}"
    "<|im_start|>assistant\n{{ .Response }}<|im_end|>\n"
)


def _rows_for_llama_cpp(weight: np.ndarray, heads: int) -> np.ndarray:
    """Reorder each head's rows from HF's [first half; second half] rotary layout to interleaved."""
    out_dim = weight.shape[0]
    return (
        weight.reshape(heads, 2, out_dim // heads // 2, *weight.shape[1:])
        .swapaxes(1, 2)
        .reshape(weight.shape)
    )


def _hyperparameters(config: Any, arch: str) -> dict[str, tuple[Any, str]]:
    rope = getattr(config, "rope_parameters", None) or {}
    theta = rope.get("rope_theta") if isinstance(rope, dict) else None
    theta = theta or getattr(config, "rope_theta", 10000.0)
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    return {
        f"{arch}.block_count": (config.num_hidden_layers, "UINT32"),
        f"{arch}.context_length": (config.max_position_embeddings, "UINT32"),
        f"{arch}.embedding_length": (config.hidden_size, "UINT32"),
        f"{arch}.feed_forward_length": (config.intermediate_size, "UINT32"),
        f"{arch}.attention.head_count": (config.num_attention_heads, "UINT32"),
        f"{arch}.attention.head_count_kv": (config.num_key_value_heads, "UINT32"),
        f"{arch}.attention.layer_norm_rms_epsilon": (float(config.rms_norm_eps), "FLOAT32"),
        f"{arch}.rope.freq_base": (float(theta), "FLOAT32"),
        f"{arch}.rope.dimension_count": (head_dim, "UINT32"),
        f"{arch}.vocab_size": (config.vocab_size, "UINT32"),
    }


def _copy_metadata(reader: Any, writer: Any, config: Any, arch: str, file_type: int) -> None:
    import gguf

    overrides = _hyperparameters(config, arch)
    skip = {"general.architecture", "general.file_type", "general.quantization_version", "general.name"}
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key in skip or key in overrides:
            continue
        kind = field.types[0]
        if kind == gguf.GGUFValueType.ARRAY:
            writer.add_key_value(key, field.contents(), kind, sub_type=field.types[-1])
        else:
            writer.add_key_value(key, field.contents(), kind)
    base_keys = set(reader.fields)
    for key, (value, kind) in overrides.items():
        optional = key.endswith((".rope.dimension_count", ".vocab_size"))
        if optional and key not in base_keys:
            continue
        writer.add_key_value(key, value, gguf.GGUFValueType[kind])
    base_name = reader.fields["general.name"].contents() if "general.name" in reader.fields else arch
    writer.add_name(f"OpenNanoScaleLLM tuned ({base_name})")
    writer.add_file_type(file_type)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)


def _tensors(merged: Path) -> dict[str, np.ndarray]:
    from safetensors import safe_open

    tensors: dict[str, np.ndarray] = {}
    for path in sorted(merged.glob("*.safetensors")):
        with safe_open(str(path), framework="pt") as handle:
            for name in handle.keys():  # noqa: SIM118 (safe_open is not a mapping)
                tensors[name] = handle.get_tensor(name).float().numpy()
    if not tensors:
        raise InputError(f"{merged} has no .safetensors weights; run `nanoscale merge` first")
    return tensors


def export_gguf(merged: Path, out: Path, types: list[str], base_gguf: Path | None = None) -> dict[str, Path]:
    """Write one GGUF per requested type and an Ollama Modelfile; returns {type: path}.

    `base_gguf` supplies tokenizer metadata; by default the GGUF the model was trained from.
    """
    import gguf
    from transformers import AutoConfig

    if not (merged / "config.json").is_file():
        raise InputError(f"{merged} is not a model folder; run `nanoscale merge` first")
    if base_gguf is None:
        provenance_path = merged / PROVENANCE
        recorded = (
            json.loads(provenance_path.read_text()).get("base_gguf") if provenance_path.is_file() else None
        )
        if not recorded:
            raise InputError(
                f"{merged} was not trained from a GGUF; pass --base-gguf with a GGUF of the same tokenizer"
            )
        base_gguf = Path(recorded)
    if not base_gguf.is_file():
        raise InputError(f"the base GGUF '{base_gguf}' is needed for the tokenizer metadata and is missing")
    config = AutoConfig.from_pretrained(merged)
    if config.model_type not in ARCHITECTURES:
        raise InputError(f"GGUF export supports {', '.join(ARCHITECTURES)}, not '{config.model_type}'")
    model_arch = gguf.MODEL_ARCH[ARCHITECTURES[config.model_type]]
    arch = gguf.MODEL_ARCH_NAMES[model_arch]
    names = gguf.get_tensor_name_map(model_arch, config.num_hidden_layers)
    reader = gguf.GGUFReader(str(base_gguf))
    tensors = _tensors(merged)
    if getattr(config, "tie_word_embeddings", False):
        tensors.pop("lm_head.weight", None)

    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    # Q4_K_M (the packaged base's own type, so the tuned model runs as fast on a CPU) is made from F16
    written_types = [t for t in types if t != "q4_k_m"]
    if "q4_k_m" in types and "f16" not in written_types:
        written_types.insert(0, "f16")
    for kind in written_types:
        qtype = gguf.GGMLQuantizationType.F16 if kind == "f16" else gguf.GGMLQuantizationType.Q8_0
        file_type = gguf.LlamaFileType.MOSTLY_F16 if kind == "f16" else gguf.LlamaFileType.MOSTLY_Q8_0
        target = out / FILE_NAMES[kind]
        partial = target.with_name(target.name + ".partial")
        writer = gguf.GGUFWriter(str(partial), arch)
        _copy_metadata(reader, writer, config, arch, int(file_type))
        for hf_name, data in tensors.items():
            name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
            if name is None:
                raise InputError(f"no GGUF name for tensor '{hf_name}'")
            if arch == "llama" and hf_name.endswith("q_proj.weight"):
                data = _rows_for_llama_cpp(data, config.num_attention_heads)
            elif arch == "llama" and hf_name.endswith("k_proj.weight"):
                data = _rows_for_llama_cpp(data, config.num_key_value_heads)
            if data.ndim == 1:
                writer.add_tensor(name, data.astype(np.float32))
            elif qtype == gguf.GGMLQuantizationType.Q8_0 and data.shape[-1] % 32 == 0:
                writer.add_tensor(name, gguf.quants.quantize(data, qtype), raw_dtype=qtype)
            else:
                writer.add_tensor(name, data.astype(np.float16))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file(progress=True)
        writer.close()
        os.replace(partial, target)
        written[kind] = target
    if "q4_k_m" in types:
        written["q4_k_m"] = quantize_q4_k_m(written["f16"], out / FILE_NAMES["q4_k_m"])
        if "f16" not in types:
            written.pop("f16").unlink()
    write_modelfile(out, written, reader)
    return written


def quantize_q4_k_m(source: Path, target: Path) -> Path:
    """llama.cpp's own k-quant mixture (the bundled llama-cpp-python library, every core)."""
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M
    params.nthread = os.cpu_count() or 1
    partial = target.with_name(target.name + ".partial")
    if llama_cpp.llama_model_quantize(str(source).encode(), str(partial).encode(), params) != 0:
        partial.unlink(missing_ok=True)
        raise InputError(f"llama.cpp could not quantize {source} to Q4_K_M")
    os.replace(partial, target)
    return target


def write_modelfile(out: Path, written: dict[str, Path], reader: Any) -> Path:
    """An Ollama Modelfile for the smallest file written, with the project's system prompt."""
    chosen = written.get("q4_k_m") or written.get("q8_0") or next(iter(written.values()))
    template = reader.fields.get("tokenizer.chat_template")
    lines = [f"FROM ./{chosen.name}", ""]
    if template is not None and "<|im_start|>" in str(template.contents()):
        lines += [f'TEMPLATE """{CHATML_TEMPLATE}"""', 'PARAMETER stop "<|im_end|>"']
    lines += [
        f'SYSTEM """{SYSTEM_PROMPT}"""',
        "PARAMETER temperature 0.2",
        "PARAMETER num_ctx 4096",
        "",
    ]
    path = out / "Modelfile"
    path.write_text("\n".join(lines))
    return path


def check_agreement(merged: Path, gguf_path: Path, questions: list[str], tokens: int = 32) -> dict[str, Any]:
    """Share of positions where llama.cpp's greedy token is transformers' argmax on the same prefix.

    llama.cpp generates greedily from the chat-templated prompt; transformers then reads
    prompt + those tokens in one pass, and its argmax at each position is compared.
    """
    import torch
    from llama_cpp import Llama
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(merged)
    model = AutoModelForCausalLM.from_pretrained(merged, dtype=torch.float32).eval()
    llm = Llama(model_path=str(gguf_path), n_ctx=2048, n_threads=os.cpu_count(), verbose=False)
    matches = positions = 0
    for question in questions:
        messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": question}]
        encoded = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        ids = list(encoded["input_ids"] if hasattr(encoded, "keys") else encoded)
        generated: list[int] = []
        for token in llm.generate(ids, top_k=1, top_p=1.0, min_p=0.0, temp=0.0, repeat_penalty=1.0):
            generated.append(token)
            if token == llm.token_eos() or len(generated) >= tokens:
                break
        with torch.no_grad():
            logits = model(torch.tensor([ids + generated])).logits[0]
        predicted = logits[len(ids) - 1 : len(ids) - 1 + len(generated)].argmax(-1).tolist()
        matches += sum(int(a == b) for a, b in zip(predicted, generated, strict=True))
        positions += len(generated)
    return {"agreement": matches / max(positions, 1), "positions": positions, "prompts": len(questions)}


def check_exports(
    merged: Path, files: dict[str, Path], cases: Path, prompts: int, min_agreement: float, tokens: int = 32
) -> dict[str, dict[str, Any]]:
    """Check every exported file on `prompts` eval questions spread over the cases; writes check.json
    next to them after each file. Each result says whether it reached `min_agreement` (`ok`)."""
    questions = [case.question for case in load_cases(cases, sample=prompts)]
    checks: dict[str, dict[str, Any]] = {}
    for kind, path in files.items():
        result = check_agreement(merged, path, questions, tokens)
        checks[kind] = {**result, "ok": result["agreement"] >= min_agreement}
        (path.parent / "check.json").write_text(json.dumps(checks, indent=2))
    return checks
