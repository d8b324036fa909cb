"""Latency of the Claude Code hook, side by side in one run (this machine is shared and noisy):

    python bench/bench_hook.py [REPO ...] [--runs 100]     (default: typeorm and django checkouts)

For each repository, with a fresh server:
- the cold first prompt: the command hook with no server running (it starts one and must answer
  within its 2 s deadline, letting the prompt through);
- then, interleaved run by run once the repository is indexed:
  `python -c pass` (the floor of any command hook), the command hook (a process per prompt: what
  Claude Code runs), and the HTTP hook at the client: one POST on a new connection to the warm
  server, as Claude Code sends it (no process start at all); a POST to `/ping` separates the
  transport from the analysis of the prompt.

Goals (issue 14): command hook p50 <= 2x `python -c pass`; HTTP hook p50 <= 15 ms, p99 <= 50 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_REPOS = [Path("/work/cache/checkouts/typeorm"), Path("/work/cache/checkouts/django")]
PROMPTS = [
    "Add a database table for customer orders",
    "Fix the bug in the query builder when a relation is missing",
    "Make the migrations faster",
]


def timed(args: list[str], data: bytes | None, env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(args, input=data, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - started


def http_post(port: int, secret: str, body: bytes, path: str = "/hook/user-prompt-submit") -> tuple[float, int, bytes]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", path, body=body,
                 headers={"Content-Type": "application/json", "X-Promptlint-Secret": secret})
    resp = conn.getresponse()
    out = resp.read()
    conn.close()
    return time.perf_counter() - started, resp.status, out


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))]


def row(name: str, xs: list[float]) -> str:
    return (f"  {name:<40} p50 {statistics.median(xs) * 1000:6.1f} ms   p90 {pct(xs, 0.9) * 1000:6.1f} ms"
            f"   p99 {pct(xs, 0.99) * 1000:6.1f} ms   max {max(xs) * 1000:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("repos", nargs="*", type=Path, default=DEFAULT_REPOS)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--deadline", type=float, default=2.0)
    args = parser.parse_args()
    exe = str(Path(sys.executable).with_name("promptlint"))
    tmp = Path(tempfile.mkdtemp(prefix="pl-bench-hook-"))
    env = {**os.environ, "PROMPTLINT_RUNTIME_DIR": str(tmp / "rt"), "PROMPTLINT_STATE_DIR": str(tmp / "state"),
           "PROMPTLINT_CACHE_DIR": str(tmp / "cache")}
    os.environ.update({k: env[k] for k in ("PROMPTLINT_RUNTIME_DIR", "PROMPTLINT_STATE_DIR")})
    from promptlint.hook import httpd

    secret = httpd.ensure_secret()  # the HTTP transport is on: the server listens on 127.0.0.1 too
    hook = [exe, "hook", "claude-code", "--deadline", str(args.deadline)]
    print(f"{args.runs} runs each, interleaved; Python {sys.version.split()[0]} ({sys.executable})")
    for repo in args.repos:
        repo = repo.resolve()
        files = len(subprocess.run(["git", "-C", str(repo), "ls-files"], capture_output=True, text=True).stdout.splitlines())
        payloads = [json.dumps({"prompt": p, "cwd": str(repo), "session_id": "bench", "hook_event_name": "UserPromptSubmit"}).encode() for p in PROMPTS]
        subprocess.run([exe, "server", "--stop"], env=env, capture_output=True)
        time.sleep(0.5)
        cold = timed(hook, payloads[0], env)  # no server: starts one in the background, passes the prompt
        for _ in range(900):  # until the server is up and has indexed the repo
            out = subprocess.run(hook[:3] + ["--deadline", "30"], input=payloads[0], capture_output=True, env=env).stdout
            if b"additionalContext" in out:
                break
            time.sleep(0.2)
        port = httpd.read_endpoint()["port"]
        status, answer = http_post(port, secret, payloads[0])[1:]
        assert status == 200 and b"additionalContext" in answer, (status, answer[:200])
        bare, command, http_hook, http_ping = [], [], [], []
        for i in range(args.runs):
            body = payloads[i % len(payloads)]
            bare.append(timed([sys.executable, "-c", "pass"], None, env))
            command.append(timed(hook, body, env))
            http_hook.append(http_post(port, secret, body)[0])
            http_ping.append(http_post(port, secret, b"{}", "/ping")[0])
        print(f"\nrepository: {repo} ({files} files)")
        print(row("python -c pass", bare))
        print(row("command hook (promptlint hook claude-code)", command))
        print(row("HTTP hook (POST to the warm server)", http_hook))
        print(row("  of it, the round trip alone (/ping)", http_ping))
        print(f"  {'cold first prompt (command hook, no server)':<40} {cold * 1000:6.0f} ms (deadline {args.deadline * 1000:.0f} ms)")
        print(f"  command hook p50 / python -c pass p50: {statistics.median(command) / statistics.median(bare):.2f}x (goal <= 2x);"
              f" HTTP p50 {statistics.median(http_hook) * 1000:.1f} ms (goal <= 15), p99 {pct(http_hook, 0.99) * 1000:.1f} ms (goal <= 50)")
    subprocess.run([exe, "server", "--stop"], env=env, capture_output=True)


if __name__ == "__main__":
    main()
