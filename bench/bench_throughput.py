"""Throughput and latency of linting with a repository, and the share that is ranking.

    python bench/bench_throughput.py /work/cache/checkouts/typeorm /work/cache/checkouts/django [--n 1000]

For each repository, in one process with a warm index: lints N different prompts (the real chat
prompts of ../shared/real-prompts, then prompts built from the repository's own names and paths,
so that they hit its files) and prints prompts/s for the whole lint, the time inside resolution and
ranking (p50, max), did-you-mean lookups (a misspelt definition name and file name, p50 and max),
and the share of the lint spent ranking; next to `python -c pass` measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TEMPLATES = [
    "Fix `{name}` so that it handles an empty input.",
    "Why does {name} fail when the value is None?",
    "Add a {word} option to {path}.",
    "Refactor {path} to remove the duplicated {word} logic.",
    "The {word} {word2} is slow, make it faster.",
    "Add tests for {name}.",
    "Rename {name} to {name}_v2 everywhere.",
    "{name} raises TypeError: unsupported operand type(s) for +: 'int' and 'NoneType'",
    "Make the {word} handling in {path} more robust.",
    "Create a {word} {word2} service like the existing ones.",
]


def prompts_for(repo_files: list[str], names: list[str], real: list[str], n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    out = list(dict.fromkeys(real))[: n // 3]
    words = sorted({w for p in repo_files for w in Path(p).stem.replace("-", "_").split("_") if w.isalpha() and len(w) > 3})
    while len(out) < n:
        t = rng.choice(TEMPLATES)
        out.append(t.format(name=rng.choice(names), word=rng.choice(words), word2=rng.choice(words), path=rng.choice(repo_files)))
    return list(dict.fromkeys(out))[:n]


def misspell(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word + "x"
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def python_pass() -> float:
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("repos", nargs="+", type=Path)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--real", type=Path, default=ROOT.parent / "shared" / "real-prompts" / "prompts.jsonl")
    args = parser.parse_args()
    real = []
    if args.real.exists():
        real = [json.loads(line)["text"] for line in args.real.read_text().splitlines() if line.strip()]
        real = [t for t in real if len(t) < 4000]

    from promptlint.pipeline import Linter

    print(f"python -c pass: {python_pass() * 1000:.0f} ms (best of 5, same run)")
    for repo in args.repos:
        linter = Linter()
        ctx = linter.repo_context(repo)
        resolver = ctx.resolver
        search = resolver.search
        names = [n for n in search.defs_by_name if len(n) > 4][:: max(1, len(search.defs_by_name) // 3000)]
        prompts = prompts_for(sorted(ctx.index.files)[:: max(1, len(ctx.index.files) // 3000)], names, real, args.n)
        linter.lint("warm up the pipeline", repo=repo)
        resolve_times: list[float] = []
        original = resolver.resolve

        def timed(analysis, limit=10):  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            try:
                return original(analysis, limit)
            finally:
                resolve_times.append(time.perf_counter() - t)

        resolver.resolve = timed  # type: ignore[method-assign]
        started = time.perf_counter()
        for text in prompts:
            report = linter.lint(text, repo=repo)
            for ref in report.references:
                assert ref["path"] in ctx.index.files
        total = time.perf_counter() - started
        resolver.resolve = original  # type: ignore[method-assign]
        rng = random.Random(3)
        dym = []
        for name in rng.sample(names, min(200, len(names))):
            t = time.perf_counter()
            search.close_names(misspell(name, rng))
            dym.append(time.perf_counter() - t)
        files = sorted(ctx.index.files)
        for path in rng.sample(files, min(200, len(files))):
            t = time.perf_counter()
            resolver.resolve_path(misspell(path, rng))
            dym.append(time.perf_counter() - t)
        ms = sorted(t * 1000 for t in resolve_times)
        dms = sorted(t * 1000 for t in dym)
        print(f"\n{repo} ({len(ctx.index.files)} files): {len(prompts)} different prompts in {total:.1f} s = {len(prompts) / total:.0f} prompts/s for the whole lint")
        print(f"  resolution + ranking: {sum(resolve_times):.1f} s = {100 * sum(resolve_times) / total:.0f}% of the lint; per prompt p50 {statistics.median(ms):.1f} ms, max {ms[-1]:.1f} ms")
        p99 = dms[min(len(dms) - 1, int(0.99 * len(dms)))]
        print(f"  did-you-mean (misspelt names and paths, {len(dms)} lookups): p50 {statistics.median(dms):.2f} ms, p99 {p99:.2f} ms, max {dms[-1]:.2f} ms")


if __name__ == "__main__":
    main()
