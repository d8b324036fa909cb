"""Latency of the Claude Code hook, end to end (process start included). Run by hand:

    python bench/bench_hook.py /path/to/a/3000-file/repo [--runs 40]

Side by side in one run: `python -c pass`, the hook with a warm server (the repo already indexed),
and the hook's cold first call (no server: it starts one and must stay within its deadline).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(args: list[str], data: bytes | None, env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(args, input=data, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("repo", type=Path)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--deadline", type=float, default=2.0)
    args = parser.parse_args()
    exe = str(Path(sys.executable).with_name("promptlint"))
    env = {**os.environ, "PROMPTLINT_RUNTIME_DIR": tempfile.mkdtemp(prefix="pl-rt-"), "PROMPTLINT_CACHE_DIR": tempfile.mkdtemp(prefix="pl-cache-")}
    payload = json.dumps({"prompt": "Add a database table for customer orders", "cwd": str(args.repo.resolve()), "session_id": "bench", "hook_event_name": "UserPromptSubmit"}).encode()
    hook = [exe, "hook", "claude-code", "--deadline", str(args.deadline)]
    files = sum(1 for _ in subprocess.run(["git", "-C", str(args.repo), "ls-files"], capture_output=True, text=True).stdout.splitlines())

    cold = timed(hook, payload, env)  # no server yet: starts one in the background
    for _ in range(600):  # wait until the server is up and has indexed the repo
        out = subprocess.run(hook[:3] + ["--deadline", "30"], input=payload, capture_output=True, env=env).stdout
        if b"additionalContext" in out:
            break
        time.sleep(0.2)
    warm = sorted(timed(hook, payload, env) for _ in range(args.runs))
    bare = sorted(timed([sys.executable, "-c", "pass"], None, env) for _ in range(args.runs))
    subprocess.run([exe, "server", "--stop"], env=env, capture_output=True)

    def row(name: str, xs: list[float]) -> str:
        return f"{name:<44} p50 {statistics.median(xs) * 1000:6.1f} ms   p90 {xs[int(len(xs) * 0.9) - 1] * 1000:6.1f} ms   max {xs[-1] * 1000:6.1f} ms"

    print(f"repository: {args.repo} ({files} files), {args.runs} runs each")
    print(row("python -c pass", bare))
    print(row("promptlint hook claude-code (warm server)", warm))
    print(f"{'promptlint hook claude-code (cold first call)':<44} {cold * 1000:6.0f} ms (deadline {args.deadline * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
