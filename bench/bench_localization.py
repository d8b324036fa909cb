"""Localization: do the files promptlint ranks for a prompt include the files the real fix edited?

Side by side in one run with a BM25 baseline (bm25s over path + content of code files, code-aware
tokens, literally mentioned paths/modules ranked first). Run by hand, never in CI:

    # the SWE-bench dev data (problem_statement, repo, base_commit, files_edited)
    python bench/bench_localization.py --data ../shared/eval-data/swebench-dev.jsonl
    # a proxy built from a repository's own history: commit message -> files the commit changed
    # (the newest 40 bug-fix commits were used for tuning: measure on the ones after them)
    python bench/bench_localization.py --proxy-git /path/to/repo.git --skip 40 --n 100

Repositories come from `fetch` mirrors (/work/.mirror/swe-bench+<owner>__<name>/repo) and are
checked out under --workdir (outside this repository). Prints Hit@1/5/10 and All@5 for both
rankers, and promptlint's time per prompt on a warm index.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CODE_EXT = (".py", ".ts", ".tsx", ".js", ".jsx", ".rs", ".go", ".java")


@dataclass
class Task:
    id: str
    repo: str  # owner/name
    commit: str
    prompt: str
    gold: list[str]


def load_dataset(path: Path) -> list[Task]:
    tasks = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        gold = [f for f in row["files_edited"] if f.endswith(CODE_EXT)]
        if gold:
            tasks.append(Task(row.get("instance_id", str(len(tasks))), row["repo"], row["base_commit"], row["problem_statement"], gold))
    return tasks


def proxy_from_git(git_dir: Path, n: int, repo_name: str, skip: int = 0) -> list[Task]:
    """Bug-fix commits that touch 1-3 non-test code files; the prompt is the message without its ticket prefix."""
    log = subprocess.run(
        ["git", "--git-dir", str(git_dir), "log", "--no-merges", "--format=%x00%H %P%x01%B%x02", "--name-only", "-n", str((n + skip) * 20)],
        capture_output=True, text=True, check=True,
    ).stdout
    tasks = []
    for chunk in log.split("\x00")[1:]:
        head, _, rest = chunk.partition("\x01")
        message, _, names = rest.partition("\x02")
        shas = head.split()
        if len(shas) != 2 or not message.startswith("Fixed #"):
            continue
        files = [f for f in names.split("\n") if f.strip()]
        code = [f for f in files if f.endswith(CODE_EXT) and not re.search(r"(^|/)tests?/|test_", f)]
        if not 1 <= len(code) <= 3:
            continue
        prompt = re.sub(r"^Fixed #\d+(, #\d+)* -- ", "", message.strip())
        prompt = re.sub(r"\n\s*(Thanks|Co-authored-by|Backport).*", "", prompt, flags=re.S).strip()
        tasks.append(Task(shas[0][:12], repo_name, shas[1], prompt, code))
        if len(tasks) >= n + skip:
            break
    return tasks[skip:]


def checkout(mirror: Path, workdir: Path, commit: str) -> Path:
    tree = workdir / mirror.parent.name
    if not tree.exists():
        subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout", str(mirror), str(tree)], check=True)
    subprocess.run(["git", "-C", str(tree), "checkout", "-q", "-f", commit], check=True, capture_output=True)
    subprocess.run(["git", "-C", str(tree), "clean", "-qfdx"], check=True, capture_output=True)
    return tree


class BM25Baseline:
    """bm25s over path + content; paths or modules named in the prompt go first."""

    def __init__(self, root: Path, files: list[str]):
        import bm25s

        from promptlint.repo.words import split_identifier

        self.split = split_identifier
        self.files = files
        corpus = []
        for f in files:
            try:
                text = (root / f).read_text(encoding="utf-8", errors="replace")[:200_000]
            except OSError:
                text = ""
            corpus.append(self.split(f) * 3 + self.split(text))
        self.retriever = bm25s.BM25()
        self.retriever.index(corpus, show_progress=False)

    def rank(self, prompt: str, k: int = 10) -> list[str]:
        named = []
        for m in re.finditer(r"[\w./-]+\.(?:py|ts|tsx|js|jsx|rs|go|java)\b|\b[a-z_]\w*(?:\.[a-z_]\w*){2,}\b", prompt):
            text = m.group(0)
            candidates = [text] if "/" in text or text.endswith(CODE_EXT) else [text.replace(".", "/") + ".py", text.replace(".", "/") + "/__init__.py"]
            for c in candidates:
                named += [f for f in self.files if f == c or f.endswith("/" + c)]
        query = self.split(prompt)
        if not query:
            return list(dict.fromkeys(named))[:k]
        docs, _scores = self.retriever.retrieve([query], k=min(k + len(named), len(self.files)), show_progress=False)
        ranked = named + [self.files[i] for i in docs[0]]
        return list(dict.fromkeys(ranked))[:k]


def promptlint_rank(linter, root: Path, prompt: str) -> tuple[list[str], float]:
    from promptlint.repo.index import build_index
    from promptlint.repo.resolve import Resolver
    from promptlint.repo.search import RepoSearch
    from promptlint.text.analysis import analyze
    from promptlint.text.source import PromptSource

    index = build_index(root)
    resolver = Resolver(RepoSearch.build(index))
    started = time.perf_counter()  # per-prompt time on a warm index: analysis + resolution
    analysis = analyze(PromptSource(prompt[:50_000]), linter.pipeline)
    res = resolver.resolve(analysis, limit=10)
    named = [p for m in res.mentions for p in m.paths if p in index.files]
    ranked = list(dict.fromkeys(named + [p for p, _ in res.ranked]))[:10]
    return ranked, time.perf_counter() - started


def metrics(rankings: list[list[str]], golds: list[list[str]]) -> dict[str, float]:
    out = {}
    for k in (1, 5, 10):
        out[f"Hit@{k}"] = sum(any(g in r[:k] for g in gold) for r, gold in zip(rankings, golds)) / len(golds)
    out["All@5"] = sum(all(g in r[:5] for g in gold) for r, gold in zip(rankings, golds)) / len(golds)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path)
    parser.add_argument("--proxy-git", type=Path)
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--skip", type=int, default=0, help="proxy: leave out the newest SKIP tasks (the slice used for tuning)")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/promptlint-bench-checkouts"))
    args = parser.parse_args()
    if args.data:
        tasks = load_dataset(args.data)
    elif args.proxy_git:
        tasks = proxy_from_git(args.proxy_git, args.n, args.proxy_git.parent.name, args.skip)
    else:
        parser.error("give --data or --proxy-git")
    if args.limit:
        tasks = tasks[: args.limit]
    args.workdir.mkdir(parents=True, exist_ok=True)

    from promptlint.pipeline import Linter

    linter = Linter()
    ours, base, golds, times, skipped = [], [], [], [], 0
    for n, task in enumerate(sorted(tasks, key=lambda t: (t.repo, t.commit)), 1):
        mirror = args.proxy_git if args.proxy_git else args.mirrors / f"swe-bench+{task.repo.replace('/', '__')}" / "repo"
        if not mirror.exists():
            skipped += 1
            continue
        root = checkout(mirror, args.workdir, task.commit)
        ranked, seconds = promptlint_rank(linter, root, task.prompt)
        from promptlint.repo.files import list_files

        code_files = [f.path for f in list_files(root).files if f.path.endswith(CODE_EXT)]
        baseline = BM25Baseline(root, code_files).rank(task.prompt)
        ours.append(ranked)
        base.append(baseline)
        golds.append(task.gold)
        times.append(seconds)
        print(f"[{n}/{len(tasks)}] {task.id}: promptlint {'hit' if any(g in ranked[:5] for g in task.gold) else 'miss'}@5, "
              f"bm25 {'hit' if any(g in baseline[:5] for g in task.gold) else 'miss'}@5", file=sys.stderr)
    if not golds:
        sys.exit("no task could be run (missing mirrors?)")
    a, b = metrics(ours, golds), metrics(base, golds)
    print(f"\n{len(golds)} tasks ({skipped} skipped: no mirror)")
    print(f"{'ranker':<12} " + " ".join(f"{k:>7}" for k in a))
    print(f"{'promptlint':<12} " + " ".join(f"{v:>7.3f}" for v in a.values()))
    print(f"{'bm25':<12} " + " ".join(f"{v:>7.3f}" for v in b.values()))
    print(f"promptlint per prompt on a warm index: median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
