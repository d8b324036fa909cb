"""Growth order of the text analysis on hostile prompt text, beside ordinary prose of the same sizes.

    python bench/bench_pathological.py [--base /work/main] [--sizes 10,20,40,80] [--only NAME,...] [--max-seconds 60]

A prompt is untrusted text: a paste of brackets, quotes, fences or '#' rules must not make the
analysis superlinear (the hook fails open at its deadline, but `check`, the LSP and a server child
are held). Each generator below is timed as `promptlint check --no-repo` does it (Linter.lint with no
repository, in-process, after a warm-up lint), at each size in kB, and the ratio to the previous size
is printed: ~2 per doubling is linear, ~4 quadratic. Time is CPU time of the process (it moves far
less with the machine's load than wall time). With --base, the same inputs run under the base tree
too, alternated input by input in one run; `python -c pass` is timed beside them. A size whose lint
takes longer than --max-seconds ends that input's series (the larger sizes print as '-').
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _fill(unit: str, n: int) -> str:
    return (unit * (n // len(unit) + 1))[:n]


_PROSE_WORDS = (
    "the handler returns a stale value when the cache is cold so add a check before the lookup and "
    "keep the public signature of load_config unchanged update the tests in tests/test_cache.py that "
    "cover the expiry path then run pytest and report what fails if anything is unclear ask me first "
    "the migration adds a column to the orders table with a default of zero and an index on created_at"
).split()


def _prose(n: int) -> str:
    """Sentences of ordinary request words (a fixed seed, so every run and tree lints the same text)."""
    rng = random.Random(19)
    out: list[str] = []
    size = 0
    while size < n:
        words = [rng.choice(_PROSE_WORDS) for _ in range(rng.randint(6, 22))]
        sentence = " ".join(words).capitalize() + rng.choice([". ", ". ", "? ", ".\n", ".\n\n"])
        out.append(sentence)
        size += len(sentence)
    return "".join(out)[:n]


GENERATORS = {
    "prose": _prose,
    "brackets_quotes": lambda n: _fill("([{`\"'< ", n),
    "hash_lines": lambda n: _fill("#" * 200 + "\n", n),
    "fence_lines": lambda n: _fill("```\n", n),
    "dquotes": lambda n: _fill('"', n),
    "open_then_close": lambda n: "[" * (n // 2) + "]" * (n - n // 2),
    "nested_json": lambda n: _fill('{"a":', n),
}

_CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2])
from bench_pathological import GENERATORS
from promptlint.pipeline import Linter
name, sizes, budget = sys.argv[3], [int(s) for s in sys.argv[4].split(",")], float(sys.argv[5])
linter = Linter(); linter.lint("Fix the login bug in src/auth.py and add a test.")
for kb in sizes:
    text = GENERATORS[name](kb * 1000)
    t = time.process_time(); linter.lint(text); spent = time.process_time() - t
    print(json.dumps([kb, spent]), flush=True)
    if spent > budget:
        break
"""


def _run_child(tree: Path, name: str, sizes: list[int], budget: float, env: dict[str, str]) -> dict[int, float]:
    out = subprocess.run([sys.executable, "-c", _CHILD, str(ROOT / "bench"), str(tree), name, ",".join(map(str, sizes)), str(budget)],
                         capture_output=True, text=True, env=env, cwd=tempfile.gettempdir())
    if out.returncode != 0:
        sys.exit(f"bench_pathological: {tree} failed on {name}: {out.stderr.strip().splitlines()[-1:]}")
    return {kb: spent for kb, spent in (json.loads(line) for line in out.stdout.splitlines() if line.startswith("["))}


def _row(label: str, sizes: list[int], times: dict[int, float]) -> str:
    cells = []
    for k, kb in enumerate(sizes):
        if kb not in times:
            cells.append(f"{'-':>8} {'':>6}")
            continue
        ratio = f"x{times[kb] / times[sizes[k - 1]]:.1f}" if k and sizes[k - 1] in times and times[sizes[k - 1]] > 0 else ""
        cells.append(f"{times[kb]:8.2f} {ratio:>6}")
    return f"{label:<26}" + " ".join(cells)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", type=Path, help="a source tree to compare with (a checkout of main)")
    parser.add_argument("--sizes", default="10,20,40,80", help="kB, comma-separated")
    parser.add_argument("--only", default="", help="generator names, comma-separated (default: all)")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="a size slower than this ends the input's series")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    names = [n for n in GENERATORS if not args.only or n in args.only.split(",")]
    env = dict(os.environ)
    # PYTHONDONTWRITEBYTECODE is set in these shells: give each tree compiled bytecode of its own,
    # or the fresher tree pays for compiling its sources in every child.
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / f"bench_pathological_pycache_{os.getuid()}")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONHASHSEED"] = "0"
    trees = [("this", ROOT)] + ([("base", args.base.resolve())] if args.base else [])
    t = time.perf_counter(); subprocess.run([sys.executable, "-c", "pass"], check=True); idle = time.perf_counter() - t
    print(f"python -c pass: {idle * 1000:.0f} ms wall; load average {os.getloadavg()[0]:.2f}")
    print(f"{'input / tree (CPU s)':<26}" + " ".join(f"{str(kb) + ' kB':>8} {'ratio':>6}" for kb in sizes))
    for round_no, name in enumerate(names):
        order = trees if round_no % 2 == 0 else trees[::-1]  # alternate which tree runs first
        results = {label: _run_child(tree, name, sizes, args.max_seconds, env) for label, tree in order}
        for label, _tree in trees:
            print(_row(f"{name} [{label}]", sizes, results[label]), flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
