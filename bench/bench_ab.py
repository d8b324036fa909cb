"""One `promptlint` command under two source trees, alternated in one run, beside `python -c pass`.

    python bench/bench_ab.py --base /path/to/main/checkout [--repeat 5] -- check p.txt --no-repo --server never

On a shared machine a figure measured minutes apart from its baseline says little: this runs
`python -c pass`, the base tree and this tree in turn, --repeat times, and prints the best wall time
and the best CPU time (user + system of the process) of each, and its highest peak RSS. CPU time moves far
less with the machine's load than wall time. The trees are chosen with PYTHONPATH, so both run with
this interpreter and its installed packages; give both trees compiled bytecode (python -m compileall)
when PYTHONDONTWRITEBYTECODE is set, or the tree without it pays for compiling its sources each run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", type=Path, required=True, help="the source tree to compare with (a checkout of main)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="promptlint's arguments, after --")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    # -P: not the current folder first on sys.path (run from a checkout, it would win over PYTHONPATH)
    isolated = ["-P"] if sys.version_info >= (3, 11) else []
    runs = {
        "python -c pass": ([sys.executable, "-c", "pass"], ""),
        f"base ({args.base})": ([sys.executable, *isolated, "-m", "promptlint", *command], str(args.base)),
        f"this tree ({ROOT})": ([sys.executable, *isolated, "-m", "promptlint", *command], str(ROOT)),
    }
    best = {name: (float("inf"), float("inf"), 0) for name in runs}
    for _ in range(args.repeat):
        for name, (argv, tree) in runs.items():
            env = {**os.environ, "PYTHONPATH": tree}
            started = time.perf_counter()
            child = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # wait4: this child's own CPU time and peak RSS (RUSAGE_CHILDREN's peak is over all children)
            _, _, usage = os.wait4(child.pid, 0)
            wall = time.perf_counter() - started
            child.returncode = 0  # reaped above; keeps Popen from waiting again
            cpu = usage.ru_utime + usage.ru_stime
            rss_kb = usage.ru_maxrss  # KiB on Linux
            b = best[name]
            best[name] = (min(b[0], wall), min(b[1], cpu), max(b[2], rss_kb))
    load = os.getloadavg()
    print(f"promptlint {' '.join(command)}  (best of {args.repeat}, alternated; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})")
    for name, (wall, cpu, rss_kb) in best.items():
        print(f"  {name:<60} wall {wall * 1000:7.0f} ms   CPU {cpu * 1000:7.0f} ms   peak RSS {rss_kb / 1024:6.1f} MB")


if __name__ == "__main__":
    main()
