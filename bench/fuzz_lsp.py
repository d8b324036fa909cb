"""A fixed-seed, bounded fuzz run against the real `promptlint lsp` process over stdio. Run by hand:

    python bench/fuzz_lsp.py [--n 300] [--seed 0] [--deadline 10] [--per-server 25] [--root REPO]

Each of N sequences mixes malformed frames (the catalogue in tests/lsp_wire.py: wrong, missing,
non-numeric, negative and huge lengths, LF-only headers, bodies that are not JSON, JSON that is not
a request, raw bytes, overlong header lines) with well-formed traffic (didOpen/didChange/didSave/
didClose, hover, codeAction, pull diagnostics, $/cancelRequest, unknown methods), then a probe
request. A server serves `--per-server` sequences and then ends with shutdown+exit (expected code 0)
or exit alone (expected 1), alternately. Printed: N, tracebacks (stderr or an error's data), hangs
(a request with no answer within the deadline), crashes (the process died, or exited with the wrong
code), and answer latency, next to the same probes on a clean server in the same run (baseline).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.lsp_wire import ACTION_KINDS, GARBAGE_KINDS, TEXTS, Hang, Server, Session, garbage, hover_params, tracebacks  # noqa: E402


def sequence(rng: random.Random) -> list[tuple]:
    steps = []
    for _ in range(rng.randint(1, 8)):
        if rng.random() < 0.5:
            blob = bytes(rng.randrange(256) for _ in range(rng.randint(0, 200)))
            steps.append(("garbage", rng.choice(GARBAGE_KINDS), rng.randint(0, 10**6), blob))
        else:
            steps.append(("action", rng.choice(ACTION_KINDS), rng.randint(0, 1000), rng.choice(TEXTS)))
    return steps


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--deadline", type=float, default=10.0)
    parser.add_argument("--per-server", type=int, default=25)
    parser.add_argument("--root", type=Path, default=None, help="a repository for the workspace (default: none)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    root = args.root.resolve() if args.root else None

    # Baseline: the probe on a clean server, in this run.
    baseline = []
    with Server() as clean:
        clean.initialize(root)
        for _ in range(50):
            msg_id = clean.request("textDocument/hover", hover_params("file:///fuzz/never-opened.prompt"))
            clean.response(msg_id, args.deadline)
            baseline.append(clean.latency(msg_id) or 0.0)
        clean.response(clean.request("shutdown"), args.deadline)
        clean.notify("exit")
        clean.wait_exit(args.deadline)

    counts = {"sequences": 0, "tracebacks": 0, "hangs": 0, "crashes": 0, "requests": 0, "servers": 0}
    latencies: list[float] = []
    worst: tuple[float, str] = (0.0, "")
    started = time.perf_counter()
    done = 0
    while done < args.n:
        counts["servers"] += 1
        polite = counts["servers"] % 2 == 1  # alternate shutdown+exit (code 0) and exit alone (code 1)
        with Server() as server:
            session = Session(server)
            try:
                server.initialize(root)
            except Hang:
                counts["hangs"] += 1
                done += 1
                continue
            healthy = True
            for _ in range(min(args.per_server, args.n - done)):
                steps = sequence(rng)
                done += 1
                counts["sequences"] += 1
                before = len(session.requests)
                for step in steps:
                    if step[0] == "garbage":
                        server.send(garbage(*step[1:]))
                    else:
                        session.act(*step[1:])
                probe = server.request("textDocument/hover", hover_params("file:///fuzz/never-opened.prompt"))
                for msg_id in [*session.requests[before:], probe]:
                    counts["requests"] += 1
                    try:
                        server.response(msg_id, args.deadline)
                    except Hang:
                        counts["hangs"] += 1
                        healthy = False
                        break
                    latency = server.latency(msg_id) or 0.0
                    latencies.append(latency)
                    if latency > worst[0]:
                        worst = (latency, json.dumps([s[:2] for s in steps]))
                if server.proc.poll() is not None:
                    counts["crashes"] += 1  # died mid-session
                    healthy = False
                if not healthy:
                    break  # the next sequences get a fresh server
            if healthy:
                try:
                    if polite:
                        server.response(server.request("shutdown"), args.deadline)
                    server.notify("exit")
                    code = server.wait_exit(args.deadline)
                    if code != (0 if polite else 1):
                        counts["crashes"] += 1
                except Hang:
                    counts["hangs"] += 1
            counts["tracebacks"] += tracebacks(server.stderr)
            counts["tracebacks"] += sum(1 for m in server.messages if "traceback" in json.dumps(m.get("error", {})).lower())
    elapsed = time.perf_counter() - started

    print(f"promptlint lsp fuzz: seed {args.seed}, deadline {args.deadline:.0f} s, {counts['servers']} server processes, {elapsed:.0f} s")
    print(f"N sequences: {counts['sequences']}  (requests answered or timed out: {counts['requests']})")
    print(f"tracebacks: {counts['tracebacks']}")
    print(f"hangs (no answer within {args.deadline:.0f} s): {counts['hangs']}")
    print(f"crashes (died, or wrong exit code): {counts['crashes']}")
    print(f"answer latency: median {statistics.median(latencies) * 1000:.1f} ms, p99 {percentile(latencies, 0.99) * 1000:.0f} ms, max {worst[0] * 1000:.0f} ms")
    print(f"baseline, the probe on a clean server: median {statistics.median(baseline) * 1000:.1f} ms, max {max(baseline) * 1000:.1f} ms")
    print(f"slowest sequence: {worst[1][:300]}")


if __name__ == "__main__":
    main()
