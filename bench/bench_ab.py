"""One `promptlint` command under two source trees, alternated in one run, beside `python -c pass`.

    python bench/bench_ab.py --base /path/to/main/checkout [--repeat 5] -- check p.txt --no-repo --server never
    python bench/bench_ab.py --base /path/to/main/checkout --server [--repos DJANGO ...] [--repeat 20] -- check p.txt --exit-zero

On a shared machine a figure measured minutes apart from its baseline says little: this runs
`python -c pass`, the base tree and this tree in turn, --repeat times, and prints the best wall time
and the best CPU time (user + system of the process) of each, and its highest peak RSS. CPU time moves far
less with the machine's load than wall time. The trees are chosen with PYTHONPATH, so both run with
this interpreter and its installed packages; give both trees compiled bytecode (python -m compileall)
when PYTHONDONTWRITEBYTECODE is set, or the tree without it pays for compiling its sources each run.

--server: the one-shot command through each tree's own warm server (`promptlint server`, each in
its own runtime folder), once with --no-repo and once per --repos (warm index, the server holding
it), alternated with `python -c pass` in one run. Each command runs twice per round: its output
thrown away (as hyperfine does) and read from a pipe to its end (as pre-commit, an editor or `|
less` do: that waits for every copy of the client's stdout, the server's included). Runs follow
each other at once (--gap to space them). Prints median and best wall time, and the memory of
each server with its spare children (RSS; PSS counts a page shared by n processes as 1/n) beside
the in-process peak RSS.
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
    parser.add_argument("--server", action="store_true", help="through each tree's warm server (see above)")
    parser.add_argument("--repos", type=Path, nargs="*", default=[], help="with --server: repositories to check against, warm")
    parser.add_argument("--gap", type=float, default=0.0, help="with --server: seconds between runs")
    parser.add_argument("--burst", type=int, default=1, help="with --server: runs of one tree in a row (hyperfine's way), per round")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="promptlint's arguments, after --")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if args.server:
        bench_server(args, command)
        return
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


def _timed(argv: list[str], env: dict, piped: bool) -> tuple[float, float]:
    """Wall seconds, and the CPU seconds of the process itself."""
    started = time.perf_counter()
    if piped:
        child = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        child.stdout.read()  # to its end of file: every writer's copy closed
        child.stdout.close()
    else:
        child = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(child.pid, 0)
    child.returncode = 0  # reaped above
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime


def _server_cpu(pid: int) -> float:
    """CPU seconds of a server and of every child it has reaped (its spares and check children)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _status(exe: str, env: dict) -> dict | None:
    import json

    proc = subprocess.run([exe, "server", "--status"], env=env, capture_output=True, text=True)
    try:
        return json.loads(proc.stdout) if proc.returncode == 0 else None
    except ValueError:
        return None


def _memory_kb(pid: int) -> tuple[int, int, int]:
    """RSS, its peak, and PSS of one process, in KiB (0 when it is gone)."""
    fields = {}
    try:
        for name in (f"/proc/{pid}/status", f"/proc/{pid}/smaps_rollup"):
            with open(name) as fh:
                for line in fh:
                    key, _, value = line.partition(":")
                    if key in ("VmRSS", "VmHWM", "Pss"):
                        fields[key] = int(value.split()[0])
    except OSError:
        pass
    return fields.get("VmRSS", 0), fields.get("VmHWM", 0), fields.get("Pss", 0)


def bench_server(args: argparse.Namespace, command: list[str]) -> None:
    import statistics
    import tempfile

    exe = str(Path(sys.executable).with_name("promptlint"))
    trees = {"base": str(args.base.resolve()), "this": str(ROOT)}
    targets = [("--no-repo", ["--no-repo"])] + [(repo.name, ["--repo", str(repo.resolve())]) for repo in args.repos]
    with tempfile.TemporaryDirectory() as tmp:
        envs = {name: {**os.environ, "PYTHONPATH": tree, "PROMPTLINT_RUNTIME_DIR": str(Path(tmp) / name)} for name, tree in trees.items()}
        servers = {name: subprocess.Popen([exe, "server", "--idle-timeout", "900"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                   for name, env in envs.items()}
        try:
            for name, env in envs.items():
                for _ in range(1200):
                    status = _status(exe, env)
                    if status is not None and status.get("spare"):
                        break
                    time.sleep(0.1)
                for repo in args.repos:  # the server indexes a repository after a first check there
                    subprocess.run([exe, *command, "--repo", str(repo), "--server", "auto"], env=env, capture_output=True)
                    for _ in range(1200):
                        if str(repo.resolve()) in (_status(exe, env) or {}).get("warm", []):
                            break
                        time.sleep(0.1)
                time.sleep(2.0)  # its spares forked and warmed after that
            memory = {}
            for name, env in envs.items():
                status = _status(exe, env) or {}
                spares = status.get("spares") or ([status["spare"]] if status.get("spare") else [])  # an older server: one spare
                memory[name] = [_memory_kb(servers[name].pid)] + [_memory_kb(pid) for pid in spares]
            in_process = {}
            for name, env in envs.items():
                for label, extra in targets:
                    child = subprocess.Popen([exe, *command, *extra, "--server", "never"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    in_process[name, label] = os.wait4(child.pid, 0)[2].ru_maxrss
                    child.returncode = 0
            samples: dict[tuple, list[tuple[float, float]]] = {}
            served = {name: 0 for name in trees}
            cpu_before = {name: _server_cpu(servers[name].pid) for name in trees}
            load = [os.getloadavg()]
            for round_ in range(args.repeat):
                order = list(trees) if round_ % 2 == 0 else list(reversed(trees))  # neither tree always goes first
                samples.setdefault(("python -c pass", ""), []).append(_timed([sys.executable, "-c", "pass"], os.environ, False))
                # what pip's console script imports before any promptlint code runs (`import re`)
                samples.setdefault(("python -c 'import re'", ""), []).append(_timed([sys.executable, "-c", "import re"], os.environ, False))
                time.sleep(args.gap)
                for label, extra in targets:
                    for piped in (False, True):
                        for name in order:
                            argv = [exe, *command, *extra, "--server", "auto"]
                            for _ in range(args.burst):
                                samples.setdefault((f"{label}, {'piped' if piped else 'to /dev/null'}", name), []).append(_timed(argv, envs[name], piped))
                                served[name] += 1
                                time.sleep(args.gap)
            load.append(os.getloadavg())
            time.sleep(1.0)  # the last children reaped
            server_cpu = {name: (_server_cpu(servers[name].pid) - cpu_before[name]) / served[name] for name in trees}
        finally:
            for name, env in envs.items():
                subprocess.run([exe, "server", "--stop"], env=env, capture_output=True)
                servers[name].wait(timeout=60)
    floor = statistics.median(wall for wall, _ in samples["python -c pass", ""])
    print(f"promptlint {' '.join(command)} --server auto, {args.repeat} rounds alternated, {args.burst} run(s) in a row, gap {args.gap} s; "
          f"load average {' '.join(f'{x:.2f}' for x in load[0])} before, {' '.join(f'{x:.2f}' for x in load[1])} after")
    print(f"  {'what':<40} {'tree':<5} {'median':>9} {'best':>9} {'median/python':>14} {'client CPU':>11}")
    for (what, name), runs in samples.items():
        times = [wall for wall, _ in runs]
        median = statistics.median(times)
        cpu = statistics.median(c for _, c in runs)
        print(f"  {what:<40} {name:<5} {median * 1000:7.1f}ms {min(times) * 1000:7.1f}ms {median / floor:13.2f}x {cpu * 1000:9.1f}ms")
    print("  server-side CPU per check (the server, and the spare that ran it with its warm-up lint): "
          + ", ".join(f"{name} {cpu * 1000:.1f} ms" for name, cpu in server_cpu.items()))
    print("  memory (MB): server RSS / peak RSS / PSS, then each spare's RSS / PSS; in-process peak RSS per target")
    for name, rows in memory.items():
        server, spares = rows[0], rows[1:]
        inproc = ", ".join(f"{label} {in_process[name, label] / 1024:.0f}" for label, _ in targets)
        spare_text = "; ".join(f"{r / 1024:.0f} / {p / 1024:.0f}" for r, _, p in spares)
        total = (server[2] + sum(p for _, _, p in spares)) / 1024
        print(f"  {name:<5} server {server[0] / 1024:.0f} / {server[1] / 1024:.0f} / {server[2] / 1024:.0f}; spares {spare_text}; "
              f"PSS total {total:.0f}; in-process {inproc}")


if __name__ == "__main__":
    main()
