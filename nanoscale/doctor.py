"""`nanoscale doctor`: what a user pastes into a bug report, each line OK or a one-line fix.

Why a child process for llama.cpp: a build with an instruction the CPU lacks dies with SIGILL,
and the doctor must report that instead of dying with it.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from nanoscale import llama_build
from nanoscale.config import Settings

PACKAGES = ("torch", "transformers", "llama-cpp-python", "onnxruntime", "sentence-transformers", "faiss-cpu",
            "langchain-core", "langgraph", "botocore", "policy-sentry")  # the last two: the AWS name check
MIN_FREE_BYTES = 3 * 1024**3  # the default model assembles to 1.1 GB; a tuned one needs more


@dataclass(frozen=True)
class Check:
    """One line of the report; `needed` marks what the default `make run` cannot do without."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    needed: bool = False

    def line(self) -> str:
        status = "OK  " if self.ok else ("FAIL" if self.needed else "WARN")
        return f"{status} {self.name}: {self.detail}" + ("" if self.ok or not self.fix else f" -> {self.fix}")


def cpu_model() -> str:
    """The CPU's marketing name (results say which machine measured them)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.split(":")[0].strip() in ("model name", "Model", "CPU part"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_check() -> Check:
    flags, machine = llama_build.this_cpu()
    units = llama_build.variant_name(llama_build.cmake_args(flags, machine))
    return Check("cpu", True, f"{cpu_model()} ({machine}, {units} available)")


def llama_build_check() -> Check:
    """The build recorded by `make` against this CPU: a venv moved between machines shows here."""
    record = llama_build.build_record(Path(sys.prefix))
    if record is None:
        return Check("llama.cpp build", True, "no build record (installed outside `make`)")
    flags, _ = llama_build.this_cpu()
    missing = llama_build.missing_units(record["cmake_args"], flags)
    detail = f"{record['variant']}{' (conservative fallback)' if record.get('conservative') else ''}"
    if missing:
        return Check("llama.cpp build", False, f"{detail} uses {', '.join(missing)}, which this CPU lacks",
                     "rm .venv/.installed && make setup", needed=True)
    return Check("llama.cpp build", True, detail)


def llama_run_check(timeout_s: float = 120) -> Check:
    """A few tokens of SmolLM2 in a child process, and the units llama.cpp says it uses."""
    code = llama_build.smoke_code(str(_smollm2())) + (
        "import llama_cpp\nprint(llama_cpp.llama_print_system_info().decode(errors='replace').strip())\n"
    )
    try:
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return Check("llama.cpp run", False, f"no answer in {timeout_s:.0f} s", "run `make setup` again",
                     needed=True)
    if result.returncode != 0:
        why = (f"killed by signal {-result.returncode}" if result.returncode < 0
               else (result.stderr.strip().splitlines() or [f"exit code {result.returncode}"])[-1])
        return Check("llama.cpp run", False, f"4 tokens of SmolLM2 failed ({why})",
                     "rm .venv/.installed && make setup (it falls back to a conservative build)", needed=True)
    info = result.stdout.strip().splitlines()[-1]
    used = [part.split("=")[0].strip() for part in info.replace("CPU :", "|").split("|") if part.strip().endswith("= 1")]
    return Check("llama.cpp run", True, f"4 tokens of SmolLM2 ok; vector units in use: {' '.join(used) or info}")


def _smollm2() -> Path:
    from nanoscale.models import PRESETS, _installed_file

    return _installed_file(*PRESETS["smollm2-135m"].package_file)


def model_checks(settings: Settings, verify_checksums: bool) -> list[Check]:
    """Each preset's file, and the checksum of the assembled ones when asked (about 5 s for 1.6 GB)."""
    from nanoscale.models import PRESETS, _file_sha256, describe_models

    checks = []
    for row in describe_models(settings):
        name, default = row["name"], row["name"] == settings.model.preset
        preset = PRESETS.get(name)
        label = f"model {name}{' (default)' if default else ''}"
        if name == "tuned" or (preset and preset.hub_id):
            detail = row["path"] if row["installed"] else "not present (optional)"
            checks.append(Check(label, True, detail))
            continue
        if not row["installed"]:
            checks.append(Check(label, False, "packages not installed", "make setup", needed=default))
        elif not row["assembled"]:
            checks.append(Check(label, True, "packages installed; assembled on first use (about 10 s)"))
        elif verify_checksums and preset and preset.sha256:
            good = _file_sha256(Path(row["path"])) == preset.sha256
            checks.append(Check(label, good, f"{row['path']} sha256 {'matches' if good else 'MISMATCH'}",
                                f"rm {row['path']} (it is reassembled on next use)", needed=default))
        else:
            checks.append(Check(label, True, row["path"]))
    return checks


def embedding_check(settings: Settings) -> Check:
    from nanoscale.errors import ModelNotAvailable
    from nanoscale.models import embedding_backend, embedding_model_path

    try:
        folder = embedding_model_path(settings)
        backend = embedding_backend(settings)
        return Check("embeddings", True, f"{folder} ({backend}{'' if backend == 'onnx' else ': imports torch'})")
    except ModelNotAvailable as exc:
        return Check("embeddings", False, str(exc), "make setup", needed=True)


def knowledge_base_checks(settings: Settings) -> list[Check]:
    from nanoscale.retrievers.store import KnowledgeBaseStore

    store = KnowledgeBaseStore(settings.index_dir)
    names = store.names()
    if not names:
        return [Check("knowledge bases", True, f"none in {settings.index_dir}; the project's own is built "
                      "on first use (or `nanoscale ingest data/raw`)")]
    checks = []
    for name in names:
        manifest = store.manifest(name)
        if manifest is None:
            checks.append(Check(f"knowledge base {name}", False, "manifest missing or damaged",
                                store.rebuild_hint(name), needed=True))
        else:
            files = len(manifest.get("files", {}))
            checks.append(Check(f"knowledge base {name}", True, f"{manifest.get('count', 0)} chunks from {files} files"))
    return checks


def data_dir_check(settings: Settings) -> Check:
    folder = settings.data_dir
    probe = folder if folder.exists() else next((p for p in folder.parents if p.exists()), Path("/"))
    free = shutil.disk_usage(probe).free
    writable = os.access(probe, os.W_OK)
    detail = f"{folder} ({free / 1024**3:.1f} GB free{'' if writable else ', not writable'})"
    if not writable:
        return Check("data dir", False, detail, "set NANOSCALE_DATA_DIR to a writable folder", needed=True)
    if free < MIN_FREE_BYTES:
        return Check("data dir", False, detail, "free at least 3 GB or set NANOSCALE_DATA_DIR", needed=True)
    return Check("data dir", True, detail)


def versions_check() -> Check:
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} missing")
    return Check("versions", True, f"python {platform.python_version()}; " + ", ".join(found))


def cuda_check() -> Check:
    import torch

    if torch.cuda.is_available():
        return Check("cuda", True, f"{torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda})")
    return Check("cuda", True, "no CUDA GPU (llama.cpp on the CPU is the default)")


def run_checks(settings: Settings, verify_checksums: bool = True) -> list[Check]:
    """Every check, cheapest first; none raises."""
    return [
        cpu_check(),
        llama_build_check(),
        llama_run_check(),
        *model_checks(settings, verify_checksums),
        embedding_check(settings),
        *knowledge_base_checks(settings),
        data_dir_check(settings),
        versions_check(),
        cuda_check(),
    ]


def healthy(checks: list[Check]) -> bool:
    """False when something the default `make run` needs is broken."""
    return all(check.ok or not check.needed for check in checks)
