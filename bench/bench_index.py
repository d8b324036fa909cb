"""Index speed on real repositories, side by side with universal-ctags on the same files. By hand:

    python bench/bench_index.py /path/to/django /path/to/typeorm [--repeat 3]

For each repository: a cold `promptlint index` (empty cache), a no-change `promptlint index`
(warm cache: the process a hook or editor pays on every refresh), and `ctags` over exactly the files
promptlint parsed. Wall time is the median of --repeat runs; peak RSS is the maximum.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import run_process  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("repos", nargs="+", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    exe = str(Path(sys.executable).with_name("promptlint"))
    ctags = shutil.which("ctags") or shutil.which("universal-ctags")
    rows = [("python -c pass", "", *run_process([sys.executable, "-c", "pass"], args.repeat))]
    for repo in args.repos:
        repo = repo.resolve()
        cold_times, cold_peak = [], 0.0
        for _ in range(args.repeat):
            cache = tempfile.mkdtemp(prefix="pl-bench-cache-")
            env = {**os.environ, "PROMPTLINT_CACHE_DIR": cache}
            t, peak = run_process([exe, "index", "--repo", str(repo)], 1, env)
            cold_times.append(t)
            cold_peak = max(cold_peak, peak)
        cold = sorted(cold_times)[len(cold_times) // 2]
        warm, warm_peak = run_process([exe, "index", "--repo", str(repo)], args.repeat, env)
        stats = json.loads(subprocess.run([exe, "index", "--repo", str(repo), "--format", "json"], capture_output=True, text=True, env=env, check=True).stdout)
        shutil.rmtree(cache, ignore_errors=True)
        name = repo.name
        detail = f"{stats['files']} files, {stats['parsed_files']} parsed"
        rows.append((f"{name}: promptlint index, cold", detail, cold, cold_peak))
        rows.append((f"{name}: promptlint index, no change", detail, warm, warm_peak))
        if ctags:
            from promptlint.repo.files import list_files

            parsed = [f.path for f in list_files(repo).files if f.lang]
            with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
                fh.write("\n".join(parsed))
            try:
                t, peak = run_process(["sh", "-c", f"cd {repo} && {ctags} -f /dev/null -L {fh.name}"], args.repeat)
            finally:
                os.unlink(fh.name)
            rows.append((f"{name}: ctags on the same {len(parsed)} files", "", t, peak))
            rows.append((f"{name}: cold / ctags", "", cold / t, 0.0))
    print(f"{'what':<52} {'':<28} {'wall':>9} {'peak RSS':>9}")
    for what, detail, seconds, peak in rows:
        if what.endswith("/ ctags"):
            print(f"{what:<52} {detail:<28} {seconds:>8.2f}x")
        else:
            print(f"{what:<52} {detail:<28} {seconds:>8.2f}s {peak:>7.0f}MB")


if __name__ == "__main__":
    main()
