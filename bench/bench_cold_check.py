"""A one-shot `promptlint check` on a repository not indexed yet (empty cache, no server): the time to
the first answer, this checkout against another (e.g. main) in alternating rounds, beside
`python -c pass` and universal-ctags over the files the index reads. The detached process that
completes a deferred index (repo/index.py, complete_in_background) is waited for after each run,
outside the timing, so it never loads the next run; its own time is printed apart.

    python bench/bench_cold_check.py REPO PROMPT_FILE --compare-with /work/main [--rounds 3]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE / "bench"))
from bench_index import probe  # noqa: E402  (wall, peak MB, CPU of the process tree, stdout)


def wait_for_completion(cache: str, timeout: float = 120.0) -> float:
    """Seconds until no completion lock in ``cache`` is held (0 when none was started)."""
    started = time.perf_counter()
    locks = []
    for folder, _, names in os.walk(cache):
        locks += [os.path.join(folder, n) for n in names if n.startswith("complete-") and n.endswith(".lock")]
    for lock in locks:
        fd = os.open(lock, os.O_RDONLY)
        try:
            while time.perf_counter() - started < timeout:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError:
                    time.sleep(0.05)
        finally:
            os.close(fd)
    return time.perf_counter() - started if locks else 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("repo", type=Path)
    parser.add_argument("prompt", type=Path)
    parser.add_argument("--compare-with", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "pl-bench-cold-check")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    os.chdir(args.work)  # `python -m` puts the current folder first on sys.path
    impls = [("promptlint", HERE)] + ([(f"[{args.compare_with.name}]", args.compare_with.resolve())] if args.compare_with else [])
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # both from bytecode compiled here (see bench_index)
    os.environ["PYTHONPYCACHEPREFIX"] = str(args.work / "pycache")
    for _, impl in impls:
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(impl / "promptlint")], check=True)
    from promptlint.repo.files import list_files

    parsed = [f.path for f in list_files(args.repo.resolve()).files if f.lang]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write("\n".join(parsed))
    ctags = shutil.which("ctags")
    load_start = os.getloadavg()[0]
    runs: dict[str, list[tuple[float, float, float]]] = {label: [] for label, _ in impls}
    completions: list[float] = []
    outputs: dict[str, set[str]] = {label: set() for label, _ in impls}
    base = {"pass": [], "ctags": []}
    for _ in range(args.rounds):
        base["pass"].append(probe([sys.executable, "-c", "pass"])[:3])
        if ctags:
            base["ctags"].append(probe(["sh", "-c", f"cd {args.repo.resolve()} && {ctags} -f /dev/null -L {fh.name}"])[:3])
        for label, impl in impls:
            cache = tempfile.mkdtemp(prefix="pl-cold-check-", dir=args.work)
            env = {**os.environ, "PYTHONPATH": str(impl), "PROMPTLINT_CACHE_DIR": cache, "PROMPTLINT_SERVER": "never"}
            cmd = [sys.executable, "-m", "promptlint", "check", str(args.prompt.resolve()), "--repo", str(args.repo.resolve()),
                   "--server", "never", "--format", "concise", "--exit-zero"]
            env_cmd = ["env", *(f"{k}={v}" for k, v in env.items() if k in ("PYTHONPATH", "PROMPTLINT_CACHE_DIR", "PROMPTLINT_SERVER"))] + cmd
            seconds, peak, cpu, out = probe(env_cmd)
            runs[label].append((seconds, peak, cpu))
            outputs[label].add(out)
            done = wait_for_completion(cache)
            if label == "promptlint" and done:
                completions.append(done)
            shutil.rmtree(cache, ignore_errors=True)
    os.unlink(fh.name)
    print(f"{'what':<52} {'wall':>8} {'CPU':>8}")
    for name, got in base.items():
        if got:
            print(f"{name:<52} {statistics.median(r[0] for r in got):>7.3f}s {statistics.median(r[2] for r in got):>7.2f}s")
    for label, got in runs.items():
        print(f"{label + ' cold check, first answer':<52} {statistics.median(r[0] for r in got):>7.3f}s {statistics.median(r[2] for r in got):>7.2f}s"
              f"   ({len(outputs[label])} distinct output(s))")
    if completions:
        print(f"{'promptlint detached completion, after the answer':<52} {statistics.median(completions):>7.3f}s (wall, waited for)")
    print(f"load average at the start {load_start:.1f}, at the end {os.getloadavg()[0]:.1f}, on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
