"""Benchmark `promptlint check` on the fixtures: wall time and peak memory. Run by hand, not in CI.

    python bench/bench_check.py [--repeat 5]

Measures, side by side in one run:
  * `python -c pass` (the floor for any Python process),
  * `promptlint --version` (the CLI without spaCy),
  * `promptlint check` on all fixture prompts in one process (cold: imports spaCy),
  * in-process warm latency per prompt (pipeline loaded once), p50 and max,
  * one large generated prompt (1 MB, the default size limit).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import run_process  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PROMPTS = sorted((ROOT / "fixtures" / "prompts").rglob("*.prompt"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    exe = str(Path(sys.executable).with_name("promptlint"))
    rows = []
    rows.append(("python -c pass", *run_process([sys.executable, "-c", "pass"], args.repeat)))
    rows.append(("promptlint --version", *run_process([exe, "--version"], args.repeat)))
    rows.append(("promptlint rules", *run_process([exe, "rules"], args.repeat)))
    rows.append((f"promptlint check ({len(PROMPTS)} fixture prompts, one process)", *run_process([exe, "check", "--exit-zero", "--format", "json", *map(str, PROMPTS)], args.repeat)))

    random.seed(7)
    words = "fix the bug in the login page and make it fast etc. please add tests for src/app.ts if possible".split()
    lines, size = [], 0
    while size < 990_000:
        line = " ".join(random.choice(words) for _ in range(12)) + ".\n"
        lines.append(line)
        size += len(line)
    with tempfile.NamedTemporaryFile("w", suffix=".prompt", delete=False) as fh:
        fh.write("".join(lines))
    try:
        rows.append(("promptlint check (one 1 MB prompt)", *run_process([exe, "check", "--exit-zero", "--format", "json", fh.name], 1)))
    finally:
        os.unlink(fh.name)

    from promptlint.pipeline import Linter

    linter = Linter()
    texts = [p.read_text() for p in PROMPTS]
    load = time.perf_counter()
    linter.lint(texts[0])
    load = time.perf_counter() - load
    samples = []
    for _ in range(args.repeat):
        for text in texts:
            t = time.perf_counter()
            linter.lint(text)
            samples.append(time.perf_counter() - t)
    samples.sort()

    print(f"{'what':<58} {'wall':>9} {'peak RSS':>9}")
    for name, seconds, peak in rows:
        print(f"{name:<58} {seconds * 1000:>7.0f}ms {peak:>7.0f}MB")
    print(f"{'in-process: first lint (loads spaCy pipeline)':<58} {load * 1000:>7.0f}ms")
    print(f"{'in-process warm lint per prompt, p50':<58} {samples[len(samples) // 2] * 1000:>7.1f}ms")
    print(f"{'in-process warm lint per prompt, max':<58} {samples[-1] * 1000:>7.1f}ms")


if __name__ == "__main__":
    main()
