"""Throughput of two source trees, alternated in one run: bench_throughput.py of the base tree, then of
this tree, --rounds times, each in a fresh process, beside `python -c pass` and the load average.

    python bench/bench_throughput_ab.py --base /path/to/main/checkout REPO... [--n 1000] [--rounds 3] [--real PROMPTS_JSONL]

On a shared 2-core machine one throughput figure moves by a third from run to run; alternating the
trees and printing every round (and the median) shows whether a difference is the code or the load.
Each tree runs its own bench/bench_throughput.py, which puts that tree first on sys.path.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_LINE = re.compile(r"^(\S+) \(\d+ files\): .* = (\d+) prompts/s", re.M)
_PASS = re.compile(r"python -c pass: (\d+) ms")


def run_tree(tree: Path, repos: list[str], n: int, real: str | None) -> tuple[dict[str, int], int]:
    argv = [sys.executable, "-P", str(tree / "bench" / "bench_throughput.py"), *repos, "--n", str(n)]
    if real:
        argv += ["--real", real]
    out = subprocess.run(argv, check=True, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(tree)}).stdout
    rates = {repo: int(rate) for repo, rate in _LINE.findall(out)}
    started = _PASS.search(out)
    return rates, int(started.group(1)) if started else -1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("repos", nargs="+")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--real", default=None)
    args = parser.parse_args()
    trees = {"base": args.base.resolve(), "this tree": ROOT}
    got: dict[str, dict[str, list[int]]] = {name: {} for name in trees}
    for r in range(args.rounds):
        for name, tree in trees.items():
            rates, started = run_tree(tree, args.repos, args.n, args.real)
            load = os.getloadavg()
            print(f"round {r + 1} {name:<9} " + "  ".join(f"{Path(repo).name} {rate}/s" for repo, rate in rates.items())
                  + f"   (python -c pass {started} ms, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})", flush=True)
            for repo, rate in rates.items():
                got[name].setdefault(repo, []).append(rate)
    print(f"\nprompts/s, {args.n} different prompts in one process, {args.rounds} alternated rounds: median (min-max)")
    for name, tree in trees.items():
        print(f"  {name:<9} ({tree}): " + "  ".join(
            f"{Path(repo).name} {statistics.median(v):.0f} ({min(v)}-{max(v)})" for repo, v in got[name].items()))


if __name__ == "__main__":
    main()
