"""Localization: do the files promptlint ranks for a prompt include the files the real fix edited?

Side by side in one run with a baseline (the paths and modules the prompt names, then BM25 with
bm25s over path + content of the code files, code-aware tokens). Run by hand, never in CI:

    python bench/bench_localization.py --data ../shared/eval-data/swebench-dev.jsonl
    # iterate on a slice: --repos django/django --limit 40; reuse baseline rankings: --baseline-cache F
    # dump candidate features for bench/fit_ranking.py: --dump FILE

Each task's repository is checked out at its base commit from the SWE-bench mirror
(/work/.mirror/swe-bench+<owner>__<name>/repo) into --workdir, outside this repository; blobs the
mirror lacks (large data files) are left out of the checkout. The tasks are split in two halves by
a hash of the instance id: weights are fitted on the "fit" half (bench/fit_ranking.py) and the
"held" half says how well that generalizes. Prints, per repository and overall: Hit@1/5/10 and
All@5 for both rankers, the index build and the warm per-prompt time apart, and an ablation (each
evidence group removed, and each alone). Asserts that every suggested path exists in the checkout.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import pickle
import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CODE_EXT = (".py", ".ts", ".tsx", ".js", ".jsx", ".rs", ".go", ".java")
BASELINE_VERSION = 1


@dataclass
class Task:
    id: str
    repo: str  # owner/name
    commit: str
    prompt: str
    gold: list[str]

    @property
    def half(self) -> str:
        return split_of(self.id)


def split_of(instance_id: str) -> str:
    """'fit' or 'held', by a hash of the id: stable, and independent of repository and difficulty."""
    return "fit" if int(hashlib.sha1(instance_id.encode()).hexdigest(), 16) % 2 == 0 else "held"


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


def checkout(mirror: Path, workdir: Path, commit: str) -> Path:
    """The tree at ``commit`` in a shared clone. A partial mirror lacks some large blobs (data
    files): then the tree is written file by file and the missing ones are left out."""
    tree = workdir / mirror.parent.name
    if not tree.exists():
        subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout", str(mirror), str(tree)], check=True)
    git = ["git", "-C", str(tree)]
    done = subprocess.run([*git, "checkout", "-q", "-f", commit], capture_output=True)
    if done.returncode != 0:
        subprocess.run([*git, "read-tree", commit], check=True, capture_output=True)
        subprocess.run([*git, "checkout-index", "-a", "-f"], capture_output=True)  # fails for the missing blobs only
        subprocess.run([*git, "update-index", "-q", "--refresh"], capture_output=True)
    subprocess.run([*git, "clean", "-qfdx"], check=True, capture_output=True)
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


def metrics(rankings: list[list[str]], golds: list[list[str]]) -> dict[str, float]:
    out = {}
    n = max(1, len(golds))
    for k in (1, 5, 10):
        out[f"Hit@{k}"] = sum(any(g in r[:k] for g in gold) for r, gold in zip(rankings, golds)) / n
    out["All@5"] = sum(all(g in r[:5] for g in gold) for r, gold in zip(rankings, golds)) / n
    return out


def ablation_weights(weights: dict[str, float]) -> list[tuple[str, dict[str, float]]]:
    from promptlint.repo.rank import GROUPS, ablated

    rows = [("all evidence", dict(weights))]
    for group, names in GROUPS.items():
        rows.append((f"without {group}", ablated(weights, drop=names)))
    for group, names in GROUPS.items():
        if group != "priors":
            rows.append((f"{group} (+priors) alone", ablated(weights, only=names + GROUPS["priors"])))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--repos", help="comma-separated owner/name filter")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--half", choices=["fit", "held"], help="only this half of the tasks")
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/promptlint-bench-checkouts"))
    parser.add_argument("--baseline-cache", type=Path, help="reuse (and store) baseline rankings here instead of recomputing them")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--dump", type=Path, help="write candidate features per task here (for bench/fit_ranking.py)")
    parser.add_argument("--no-ablation", action="store_true")
    parser.add_argument("--misses", type=Path, help="write a line per task with promptlint's top 5 and the gold")
    parser.add_argument("--sample", type=int, help="this many tasks, evenly spaced over the (repository, id) order: a fixed subset of every repository")
    parser.add_argument("--defer-parse", action="store_true",
                        help="rank from the index a cold one-shot check answers from (build_index(defer_parse=True)); give it a cache of its own")
    parser.add_argument("--impl", type=Path, help="run another promptlint checkout (e.g. main) with this script, for the same options")
    args = parser.parse_args()
    if args.impl:
        sys.path.insert(0, str(args.impl.resolve()))
    tasks = load_dataset(args.data)
    if args.repos:
        wanted = set(args.repos.split(","))
        tasks = [t for t in tasks if t.repo in wanted]
    if args.half:
        tasks = [t for t in tasks if t.half == args.half]
    tasks.sort(key=lambda t: (t.repo, t.id))
    if args.sample and args.sample < len(tasks):
        tasks = [tasks[i * len(tasks) // args.sample] for i in range(args.sample)]
    if args.limit:
        tasks = tasks[: args.limit]
    args.workdir.mkdir(parents=True, exist_ok=True)

    from promptlint.pipeline import Linter
    from promptlint.repo.index import build_index
    from promptlint.repo.rank import feature_table
    from promptlint.repo.resolve import Resolver
    from promptlint.repo.search import RepoSearch
    from promptlint.text.analysis import analyze
    from promptlint.text.source import PromptSource

    linter = Linter()
    pipeline = linter.pipeline
    baseline_cache: dict[str, list[str]] = {}
    if args.baseline_cache and args.baseline_cache.exists():
        baseline_cache = json.loads(args.baseline_cache.read_text())
    rows = []  # (task, ours, base, ablations)
    dump = []
    index_times, rank_times, analysis_times, skipped = [], [], [], 0
    ablations = None
    for n, task in enumerate(tasks, 1):
        mirror = args.mirrors / f"swe-bench+{task.repo.replace('/', '__')}" / "repo"
        if not mirror.exists():
            skipped += 1
            continue
        root = checkout(mirror, args.workdir, task.commit)
        started = time.perf_counter()
        index = build_index(root, defer_parse=True) if args.defer_parse else build_index(root)
        search = RepoSearch.build(index)
        resolver = Resolver(search)
        # a process that has served one prompt already: lazily built lookups are in place
        resolver.resolve(analyze(PromptSource("Fix the failing test in the parser module, see `main`."), pipeline))
        if hasattr(search, "message_field"):  # built on first need, as a warm server's warm-up does (server.py)
            search.message_field()
        index_times.append(time.perf_counter() - started)
        prompt = task.prompt[:50_000]
        started = time.perf_counter()  # per-prompt time on a warm index: analysis, then resolution + ranking
        analysis = analyze(PromptSource(prompt), pipeline)
        analysed = time.perf_counter()
        res = resolver.resolve(analysis, limit=10)
        rank_times.append(time.perf_counter() - analysed)
        analysis_times.append(analysed - started)
        ours = [p for p, _ in res.ranked][:10]
        for p in ours + [r.path for r in res.references]:
            assert p in index.files and (root / p).is_file(), f"{task.id}: suggested {p} does not exist"
        q = resolver.query(analysis, res.mentions)
        if ablations is None and not args.no_ablation:
            ablations = ablation_weights(resolver.ranker.weights)
        abl = []
        if not args.no_ablation:
            assert ablations is not None
            for _name, weights in ablations:
                ranked = resolver.ranker.rank(q, k=15, weights=weights)
                abl.append([r.path for r in ranked if q.mentions_tests or r.named or not search.is_test[search.path_id[r.path]]][:10])
        if args.dump:
            cands, X = feature_table(resolver.ranker, q)
            dump.append({"id": task.id, "repo": task.repo, "half": task.half, "gold": task.gold, "cands": cands, "X": X,
                         "is_test": [bool(search.is_test[search.path_id[c]]) for c in cands], "mentions_tests": q.mentions_tests})
        key = f"{BASELINE_VERSION}:{task.id}"
        if args.no_baseline:
            base = []
        elif key in baseline_cache:
            base = baseline_cache[key]
        else:
            code_files = [f for f in index.files if f.endswith(CODE_EXT)]
            base = BM25Baseline(root, code_files).rank(task.prompt)
            baseline_cache[key] = base
            if args.baseline_cache and n % 10 == 0:
                args.baseline_cache.write_text(json.dumps(baseline_cache))
        key2 = f"{BASELINE_VERSION}:notests:{task.id}"
        if args.no_baseline:
            base2 = []
        elif key2 in baseline_cache:
            base2 = baseline_cache[key2]
        else:
            from promptlint.repo.search import is_test_path

            code_files = [f for f in index.files if f.endswith(CODE_EXT) and not is_test_path(f)]
            base2 = BM25Baseline(root, code_files).rank(task.prompt)
            baseline_cache[key2] = base2
            if args.baseline_cache and n % 10 == 0:
                args.baseline_cache.write_text(json.dumps(baseline_cache))
        rows.append((task, ours, base, abl, base2))
        hit = "hit" if any(g in ours[:5] for g in task.gold) else "miss"
        bhit = "hit" if any(g in base[:5] for g in task.gold) else "miss"
        print(f"[{n}/{len(tasks)}] {task.id} ({task.half}): promptlint {hit}@5, baseline {bhit}@5, index {index_times[-1]:.2f} s, analysis {analysis_times[-1] * 1000:.0f} ms, ranking {rank_times[-1] * 1000:.0f} ms", file=sys.stderr)
    if args.baseline_cache:
        args.baseline_cache.write_text(json.dumps(baseline_cache))
    if args.dump:
        args.dump.write_bytes(pickle.dumps(dump))
    if args.misses:
        with open(args.misses, "w") as fh:
            for task, ours, base, *_ in rows:
                fh.write(json.dumps({"id": task.id, "half": task.half, "gold": task.gold, "ours": ours[:5], "base": base[:5], "hit5": any(g in ours[:5] for g in task.gold)}) + "\n")
    if not rows:
        sys.exit("no task could be run (missing mirrors?)")
    report(rows, ablations, index_times, rank_times, analysis_times, skipped, args)


def report(rows, ablations, index_times, rank_times, analysis_times, skipped, args) -> None:  # type: ignore[no-untyped-def]
    def table(title: str, subset) -> None:  # type: ignore[no-untyped-def]
        golds = [t.gold for t, *_ in subset]
        a = metrics([r[1] for r in subset], golds)
        line = f"{title:<28} {len(subset):>4}  " + " ".join(f"{v:>6.3f}" for v in a.values())
        if not args.no_baseline:
            for col in (2, 4):
                b = metrics([r[col] for r in subset], golds)
                line += "   | " + " ".join(f"{v:>6.3f}" for v in b.values())
        print(line)

    head = f"{'':<28} {'n':>4}  " + " ".join(f"{k:>6}" for k in ("Hit@1", "Hit@5", "Hit@10", "All@5"))
    print(f"\n{len(rows)} tasks ({skipped} skipped: no mirror); promptlint" + ("   | mention+BM25 over code files   | mention+BM25 over non-test code files (same tasks)" if not args.no_baseline else ""))
    print(head + ("   | " + " ".join(f"{k:>6}" for k in ("Hit@1", "Hit@5", "Hit@10", "All@5"))) * (0 if args.no_baseline else 2))
    by_repo = defaultdict(list)
    for r in rows:
        by_repo[r[0].repo].append(r)
    for repo in sorted(by_repo):
        table(repo, by_repo[repo])
    print("-" * len(head))
    table("fit half (weights fitted)", [r for r in rows if r[0].half == "fit"])
    table("held half (never fitted)", [r for r in rows if r[0].half == "held"])
    table("all", rows)
    if ablations:
        print("\nablation (promptlint, Hit@1 Hit@5 Hit@10 All@5; held half | all)")
        golds = [t.gold for t, *_ in rows]
        held = [i for i, r in enumerate(rows) if r[0].half == "held"]
        for k, (name, _w) in enumerate(ablations):
            ranked = [r[3][k] for r in rows]
            a = metrics([ranked[i] for i in held], [golds[i] for i in held])
            b = metrics(ranked, golds)
            print(f"  {name:<34} " + " ".join(f"{v:>6.3f}" for v in a.values()) + "   | " + " ".join(f"{v:>6.3f}" for v in b.values()))
    print(f"\nindex build (refresh + search structures) per task: median {statistics.median(index_times):.2f} s, max {max(index_times):.2f} s")
    for what, times in (("resolution + ranking", rank_times), ("NLP analysis (text/, not ranking)", analysis_times)):
        ms = sorted(t * 1000 for t in times)
        print(f"per prompt on a warm index, {what}: p50 {statistics.median(ms):.1f} ms, p90 {ms[max(0, math.ceil(0.9 * len(ms)) - 1)]:.1f} ms, max {ms[-1]:.1f} ms")
    print("every suggested path exists in its checkout: checked for all tasks")


if __name__ == "__main__":
    main()
