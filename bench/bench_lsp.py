"""Time from didOpen to the first diagnostics, cold (a fresh server: spaCy loads) and warm, on a
real repository; then how long hover and shutdown take to answer while a 960 kB document lints
(the lint runs on a worker thread, so they should not wait for it). Run by hand:

    python bench/bench_lsp.py /path/to/a/3000-file/repo [--wait 60]

Side by side in the same run: `python -c pass` (process start) and a hover on a clean server.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.lsp_wire import Hang, Server, hover_params, open_params  # noqa: E402

BIG = ("Update the handler in src/app.ts so that it validates the token and maybe add some tests for it. " * 10_000)[:960_000]


def diagnostics_after_open(server: Server, uri: str, text: str, timeout: float) -> float:
    start = len(server.messages)
    started = time.perf_counter()
    server.notify("textDocument/didOpen", open_params(uri, text))
    server.notification("textDocument/publishDiagnostics", timeout, where=lambda m: m["params"]["uri"] == uri, start=start)
    return time.perf_counter() - started


def answer_time(server: Server, method: str, params: object, wait: float) -> str:
    msg_id = server.request(method, params)
    try:
        server.response(msg_id, wait)
    except Hang:
        return f"no answer within {wait:.0f} s"
    return f"{(server.latency(msg_id) or 0) * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("repo", type=Path)
    parser.add_argument("--wait", type=float, default=60.0, help="the longest to wait for an answer during the big lint")
    args = parser.parse_args()
    root = args.repo.resolve()
    env = {"PROMPTLINT_CACHE_DIR": tempfile.mkdtemp(prefix="pl-lsp-cache-")}
    files = len(subprocess.run(["git", "-C", str(root), "ls-files"], capture_output=True, text=True).stdout.splitlines())

    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    bare = time.perf_counter() - started

    with Server(env=env) as server:
        server.initialize(root)
        timings = []
        for n in range(6):
            uri = (root / f"bench-{n}.prompt").as_uri()
            timings.append(diagnostics_after_open(server, uri, "Add a database table for customer orders\n", 120))
            time.sleep(0.5 if n == 0 else 0.05)
        clean_hover = answer_time(server, "textDocument/hover", hover_params((root / "none.prompt").as_uri()), args.wait)
        big = (root / "bench-big.prompt").as_uri()
        server.notify("textDocument/didOpen", open_params(big, BIG))
        time.sleep(0.5)  # the big lint is under way
        busy_hover = answer_time(server, "textDocument/hover", hover_params((root / "none.prompt").as_uri()), args.wait)
        busy_shutdown = answer_time(server, "shutdown", None, args.wait)
        server.notify("exit")
        try:
            code: object = server.wait_exit(args.wait)
        except Hang:
            code = f"none within {args.wait:.0f} s"
            server.kill()

    warm = sorted(timings[1:])
    print(f"repository: {root} ({files} files)")
    print(f"python -c pass: {bare * 1000:.0f} ms")
    print(f"didOpen -> first diagnostics, cold (fresh server, loads spaCy; index builds in the background): {timings[0] * 1000:.0f} ms")
    print(f"didOpen -> first diagnostics, warm: median {warm[len(warm) // 2] * 1000:.0f} ms, max {warm[-1] * 1000:.0f} ms")
    print(f"hover on an idle server: {clean_hover}")
    print(f"while a {len(BIG) // 1000} kB document lints: hover {busy_hover}, shutdown {busy_shutdown}")
    print(f"server exit code after shutdown/exit: {code}")


if __name__ == "__main__":
    main()
