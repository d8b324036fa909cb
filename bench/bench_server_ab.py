"""`check` through the warm server under several source trees, alternated in one run, beside
`python -c pass`:

    python bench/bench_server_ab.py --tree before=/path/a --tree after=/path/b [--repeat 30] [--gap 0.3] -- check p.txt --no-repo

Each tree gets its own warm server (its own PROMPTLINT_RUNTIME_DIR, started from that tree with
PYTHONPATH) and its own index cache folder; then, run by run, `python -c pass` and the same command
under each tree in turn (`--server auto`, so it goes through that tree's server), the order rotated
every round and a pause before each run. Prints the best
and median wall time of each and the load average before and after. Made to see whether the
handshake a check child sends before it runs the request (server.py, audit17) costs a measurable
round trip: compare a tree from before that commit with one after it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            found += [int(x) for x in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except OSError:
            pass
    return sorted(found)


def _rollup(pid: int) -> dict[str, int]:
    """kB figures of /proc/PID/smaps_rollup (Pss counts a page shared by n processes as 1/n)."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[-1] == "kB":
            values[parts[0].rstrip(":")] = int(parts[1])
    return values


def print_memory(pids: dict[str, int]) -> None:
    """Per tree: the server and each child (spares waiting for a check), PSS and private dirty
    pages in MB; the PSS sum is the physical memory the server costs in all."""
    print(f"{'memory':<20} {'processes':>9} {'PSS MB':>8} {'server PSS':>10} {'server priv':>11} {'child PSS':>16} {'child priv':>16}")
    for name, pid in pids.items():
        try:
            kids = _children(pid)
            rolls = [_rollup(pid)] + [_rollup(kid) for kid in kids]
        except OSError as exc:
            print(f"{name:<20} gone ({exc})")
            continue
        total = sum(r["Pss"] for r in rolls) / 1024
        child_pss = " ".join(f"{r['Pss'] / 1024:.1f}" for r in rolls[1:]) or "-"
        child_priv = " ".join(f"{r['Private_Dirty'] / 1024:.1f}" for r in rolls[1:]) or "-"
        print(f"{name:<20} {len(rolls):>9} {total:>8.1f} {rolls[0]['Pss'] / 1024:>10.1f} {rolls[0]['Private_Dirty'] / 1024:>11.1f} {child_pss:>16} {child_priv:>16}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", action="append", required=True, help="NAME=PATH of a source tree (repeat)")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--gap", type=float, default=0.3, help="seconds between runs (the server's next spare is made then)")
    parser.add_argument("--memory", action="store_true",
                        help="also print each server's memory once its spares wait: PSS of the server and its children (/proc/PID/smaps_rollup)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="promptlint's arguments, after --")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    trees = dict(t.split("=", 1) for t in args.tree)
    scratch = Path(tempfile.mkdtemp(prefix="bench-server-ab-"))
    isolated = ["-P"] if sys.version_info >= (3, 11) else []
    envs: dict[str, dict[str, str]] = {}
    servers: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, path in trees.items():
            env = {**os.environ, "PYTHONPATH": str(path), "PROMPTLINT_RUNTIME_DIR": str(scratch / name / "rt"),
                   "PROMPTLINT_CACHE_DIR": str(scratch / name / "cache"), "PROMPTLINT_SERVER": "auto"}
            envs[name] = env
            # In-process first: the index is built into this tree's cache before its server runs
            # (a first check through a server would wait for the build in a child).
            subprocess.run([sys.executable, *isolated, "-m", "promptlint", *command, "--server", "never"], env=env,
                           capture_output=True, timeout=900)
            servers[name] = subprocess.Popen([sys.executable, *isolated, "-m", "promptlint", "server", "--idle-timeout", "600"],
                                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for name, env in envs.items():
            sock = Path(env["PROMPTLINT_RUNTIME_DIR"]) / "server.sock"
            for _ in range(600):
                if sock.exists():
                    break
                time.sleep(0.05)
            else:
                raise SystemExit(f"{name}: the server did not start")
            for _ in range(3):  # warm: the server's spare child and its caches
                subprocess.run([sys.executable, *isolated, "-m", "promptlint", *command], env=env, capture_output=True, timeout=120)
        runs = {"python -c pass": ([sys.executable, "-c", "pass"], dict(os.environ))}
        runs.update({name: ([sys.executable, *isolated, "-m", "promptlint", *command], env) for name, env in envs.items()})
        times: dict[str, list[float]] = {name: [] for name in runs}
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        order = list(runs)
        for round_no in range(args.repeat):
            # Rotated each round, with a pause between runs: a server forks and warms its next spare
            # child right after a check, and whichever tree ran next used to compete with that work
            # every time (a fixed order favoured the tree after `python -c pass`).
            shift = round_no % len(order)
            for name in order[shift:] + order[:shift]:
                argv, env = runs[name]
                time.sleep(args.gap)
                started = time.perf_counter()
                proc = subprocess.run(argv, env=env, capture_output=True, timeout=120)
                times[name].append(time.perf_counter() - started)
                if proc.returncode not in (0, 1):
                    raise SystemExit(f"{name}: exit {proc.returncode}: {proc.stderr.decode()[-500:]}")
        print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if args.memory:
            time.sleep(max(3.0, args.gap * 10))  # the spares forked after the last run finish their warm-up lint
            print_memory({name: proc.pid for name, proc in servers.items()})
        print(f"{'run':<20} {'best ms':>8} {'median ms':>10} {'p90 ms':>8}  ({args.repeat} runs each, alternated, order rotated, {args.gap} s apart)")
        for name, values in times.items():
            values.sort()
            p90 = values[min(len(values) - 1, int(len(values) * 0.9))]
            print(f"{name:<20} {values[0] * 1000:>8.1f} {statistics.median(values) * 1000:>10.1f} {p90 * 1000:>8.1f}")
    finally:
        for name, env in envs.items():
            subprocess.run([sys.executable, *isolated, "-m", "promptlint", "server", "--stop"], env=env, capture_output=True, timeout=60)
        for proc in servers.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
