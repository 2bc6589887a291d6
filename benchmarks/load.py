"""Bounded load test of `nanoscale serve` on loopback: N concurrent clients for a fixed time.

Starts the server itself, sends /chat requests from each client in a loop
until the time is up, and reports requests/s, latency p50/p95 of answered requests, 503s
(deliberate back-pressure from the bounded queue) and any other 5xx (there should be none).
Only 127.0.0.1 is ever targeted.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import percentile, write_result  # noqa: E402

QUESTIONS = [
    "docker says port is already allocated",
    "Lambda in us-east-1 times out after 3 seconds",
    "terraform plan fails: Error acquiring the state lock",
    "my pod is in CrashLoopBackOff, logs say `Error: Cannot find module 'express'`",
    "S3 GetObject returns 403 Access Denied",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(port: int, model: str, max_new_tokens: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "NANOSCALE_MODEL_PRESET": model,
        "NANOSCALE_MODEL_MAX_NEW_TOKENS": str(max_new_tokens),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "nanoscale.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(1)
    process.terminate()
    raise SystemExit("server did not become ready")


def run_level(url: str, clients: int, duration: float) -> dict:
    latencies: list[float] = []
    codes: dict[int, int] = {}
    lock = threading.Lock()
    stop_at = time.time() + duration

    def client(index: int) -> None:
        with httpx.Client(timeout=300) as session:
            n = 0
            while time.time() < stop_at:
                question = QUESTIONS[(index + n) % len(QUESTIONS)]
                n += 1
                start = time.perf_counter()
                try:
                    code = session.post(f"{url}/chat", json={"message": question}).status_code
                except httpx.HTTPError:
                    code = 0
                elapsed = time.perf_counter() - start
                with lock:
                    codes[code] = codes.get(code, 0) + 1
                    if code == 200:
                        latencies.append(elapsed)
                if code == 503:
                    time.sleep(1.0)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    answered = codes.get(200, 0)
    return {
        "clients": clients,
        "seconds": round(wall, 1),
        "answered": answered,
        "requests_per_s": round(answered / wall, 3),
        "p50_s": round(percentile(latencies, 50), 2) if latencies else None,
        "p95_s": round(percentile(latencies, 95), 2) if latencies else None,
        "status_counts": codes,
        "unexpected_5xx": sum(n for code, n in codes.items() if code >= 500 and code != 503),
        "connection_errors": codes.get(0, 0),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 20])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per level (default 60)")
    parser.add_argument("--model", default="qwen2.5-coder-1.5b", help="preset the server runs")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--port", type=int, default=0, help="loopback port (default: a free one)")
    parser.add_argument(
        "--smoke", action="store_true", help="SmolLM2, 1 and 2 clients, 3 s: checks the script"
    )
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    if args.smoke:
        args.model, args.clients, args.duration, args.max_new_tokens = "smollm2-135m", [1, 2], 3.0, 16
    args.port = args.port or free_port()
    url = f"http://127.0.0.1:{args.port}"
    server = start_server(args.port, args.model, args.max_new_tokens)
    try:
        levels = [run_level(url, clients, args.duration) for clients in args.clients]
    finally:
        server.terminate()
        server.wait(timeout=30)
    path = write_result(
        "load", {"model": args.model, "max_new_tokens": args.max_new_tokens, "levels": levels}, args.out
    )
    print(
        f"{'clients':>7} {'answered':>8} {'req/s':>7} {'p50 s':>7} {'p95 s':>7} {'503s':>5} {'other 5xx':>9}"
    )
    for level in levels:
        print(
            f"{level['clients']:>7} {level['answered']:>8} {level['requests_per_s']:>7} {level['p50_s']!s:>7} "
            f"{level['p95_s']!s:>7} {level['status_counts'].get(503, 0):>5} {level['unexpected_5xx']:>9}"
        )
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
