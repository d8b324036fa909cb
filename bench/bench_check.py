"""Benchmark `promptlint check`: wall time and peak memory, side by side with `python -c pass` (and
ruff on the same tree where it is installed). Run by hand, not in CI:

    python bench/bench_check.py [--repeat 5] [--repos /path/to/django /path/to/typeorm ...] [--throughput 1000]

Measures, side by side in one run:
  * `python -c pass` (the floor for any Python process),
  * `promptlint --version` (the CLI without spaCy),
  * `promptlint check` on all fixture prompts in one process (cold: imports spaCy),
  * in-process warm latency per prompt (pipeline loaded once), p50 and max,
  * one large generated prompt (1 MB, the default size limit),
  * with --repos: per repository, a one-shot `check` on a warm index in-process (--server never)
    and through a running warm server, `--no-repo`, ruff over the tree as a reference, and the
    throughput of --throughput different prompts linted in one process against the repository.
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
    parser.add_argument("--repos", type=Path, nargs="*", default=[])
    parser.add_argument("--throughput", type=int, default=1000, help="prompts linted in one process per repository")
    args = parser.parse_args()
    if args.repos:
        bench_repos(args)
        return
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


PROMPT = "Fix the pagination bug in the users list and add a test for it; keep the public API unchanged.\n"


def _prompts(n: int) -> list[str]:
    rng = random.Random(11)
    verbs = ["Fix", "Add", "Refactor", "Rename", "Remove", "Speed up", "Document", "Test", "Explain"]
    things = ["the login form", "pagination", "the cache layer", "error handling in the parser", "the migration for orders",
              "the CLI flags", "retry logic", "the config loader", "logging", "the query builder", "date parsing", "the auth middleware"]
    extra = ["", " in the admin", " for the API", " without breaking the tests", "; it crashes with a KeyError", " like the users module does"]
    return [f"{rng.choice(verbs)} {rng.choice(things)}{rng.choice(extra)} ({i})" for i in range(n)]


def _wait_until_warm(exe: str, env: dict, repo: Path, timeout: float = 120.0) -> None:
    """Until the server holds ``repo`` warm (or ``timeout``): the steady state being measured."""
    import json
    import subprocess

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        status = subprocess.run([exe, "server", "--status"], env=env, capture_output=True, text=True)
        try:
            if str(repo.resolve()) in json.loads(status.stdout).get("warm", []):
                time.sleep(1.0)  # and its spare child forked after that
                return
        except ValueError:
            pass
        time.sleep(0.2)


def bench_repos(args: argparse.Namespace) -> None:
    import shutil
    import subprocess

    exe = str(Path(sys.executable).with_name("promptlint"))
    with tempfile.TemporaryDirectory() as tmp:
        prompt = Path(tmp) / "task.prompt"
        prompt.write_text(PROMPT)
        env = {**os.environ, "PROMPTLINT_RUNTIME_DIR": str(Path(tmp) / "rt")}
        server = subprocess.Popen([exe, "server", "--idle-timeout", "900"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(600):
                if subprocess.run([exe, "server", "--status"], env=env, capture_output=True).returncode == 0:
                    break
                time.sleep(0.1)
            print(f"{'what':<62} {'wall':>9} {'peak RSS':>9}")
            base = run_process([sys.executable, "-c", "pass"], args.repeat, env=env)
            print(f"{'python -c pass':<62} {base[0] * 1000:>7.0f}ms {base[1]:>7.0f}MB")
            seconds, peak = run_process([exe, "check", "--no-repo", "--exit-zero", "--server", "never", str(prompt)], args.repeat, env=env)
            print(f"{'check --no-repo, in-process':<62} {seconds * 1000:>7.0f}ms {peak:>7.0f}MB")
            seconds, peak = run_process([exe, "check", "--no-repo", "--exit-zero", "--server", "auto", str(prompt)], args.repeat, env=env)
            print(f"{'check --no-repo, warm server':<62} {seconds * 1000:>7.0f}ms {peak:>7.0f}MB   {seconds / base[0]:.1f}x python")
            for repo in args.repos:
                check = [exe, "check", "--exit-zero", "--repo", str(repo), str(prompt)]
                subprocess.run([*check, "--server", "never"], env=env, capture_output=True)  # warm the index cache
                subprocess.run([*check, "--server", "auto"], env=env, capture_output=True)  # ... and the server's
                _wait_until_warm(exe, env, repo)  # the server indexes it in the background after that first check
                seconds, peak = run_process([*check, "--server", "never"], args.repeat, env=env)
                print(f"{repo.name + ': check, warm index, in-process':<62} {seconds * 1000:>7.0f}ms {peak:>7.0f}MB")
                seconds, peak = run_process([*check, "--server", "auto"], args.repeat, env=env)
                print(f"{repo.name + ': check, warm server':<62} {seconds * 1000:>7.0f}ms {peak:>7.0f}MB   {seconds / base[0]:.1f}x python")
                if shutil.which("ruff"):
                    seconds, peak = run_process(["ruff", "check", "--no-cache", "--exit-zero", "--quiet", str(repo)], 1, env=env)
                    print(f"{repo.name + ': ruff check (reference)':<62} {seconds * 1000:>7.0f}ms {peak:>7.0f}MB")
                if args.throughput:
                    code = (
                        "import sys, time, json; from pathlib import Path; from promptlint.pipeline import Linter; "
                        "l = Linter(); root = Path(sys.argv[1]); l.lint('warm up', repo=root); prompts = json.loads(sys.argv[2]); "
                        "t = time.perf_counter(); [l.lint(p, repo=root) for p in prompts]; print(time.perf_counter() - t)"
                    )
                    import json

                    prompts = _prompts(args.throughput)
                    out = subprocess.run([sys.executable, "-c", code, str(repo), json.dumps(prompts)], env=env, capture_output=True, text=True, check=True)
                    total = float(out.stdout)
                    print(f"{repo.name + f': {len(prompts)} prompts in one process':<62} {total:>8.1f}s   {len(prompts) / total:.0f} prompts/s")
        finally:
            subprocess.run([exe, "server", "--stop"], env=env, capture_output=True)
            server.wait(timeout=60)


if __name__ == "__main__":
    main()
