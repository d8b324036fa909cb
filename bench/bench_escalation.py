"""Escalation and vagueness on labelled real prompts (SWE-bench dev). Run by hand, never in CI:

    python bench/bench_escalation.py --data ../shared/eval-data/swebench-dev.jsonl [--with-repo] [--plot out.png]

Prints, side by side in one run:
  * AUC of advice.score for "Haiku 4.5 failed the task" (resolved_by), against the trivial baseline
    (prompt length) and the human difficulty label;
  * routing: the share of tasks solved when the top x% by score go to Opus and the rest to Haiku, for
    x in 10..50, against random routing;
  * AUC of vagueness for OpenAI's underspecified >= 2 against == 0;
  * the fixture prompts' tier accuracy (labels in fixtures/prompts).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def auc(scores: list[float], positives: list[bool]) -> float:
    """Mann-Whitney AUC with ties counted half: P(score of a positive > score of a negative)."""
    pos = [s for s, p in zip(scores, positives) if p]
    neg = [s for s, p in zip(scores, positives) if not p]
    if not pos or not neg:
        return float("nan")
    ranked = sorted((s, i) for i, s in enumerate(pos + neg))
    ranks = [0.0] * len(ranked)
    i = 0
    while i < len(ranked):
        j = i
        while j + 1 < len(ranked) and ranked[j + 1][0] == ranked[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[ranked[k][1]] = (i + j) / 2 + 1
        i = j + 1
    rank_sum = sum(ranks[: len(pos)])
    return (rank_sum - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def solved_by(row: dict, tier: str) -> bool | None:
    """resolved_by may be a dict of model -> bool or a list of the models that solved the task."""
    value = row.get("resolved_by")
    if value is None:
        return None
    if isinstance(value, dict):
        for key, solved in value.items():
            if tier in key.lower():
                return bool(solved)
        return None
    if isinstance(value, (list, tuple)):
        return any(tier in str(v).lower() for v in value)
    return None


def difficulty_rank(value) -> float:  # type: ignore[no-untyped-def]
    order = {"<15 min fix": 0, "15 min - 1 hour": 1, "1-4 hours": 2, ">4 hours": 3}
    if isinstance(value, (int, float)):
        return float(value)
    return float(order.get(str(value), -1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--with-repo", action="store_true", help="also score with the repository at base_commit (needs fetch mirrors)")
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/promptlint-bench-checkouts"))
    parser.add_argument("--plot", type=Path, help="write the routing curve as a PNG (needs matplotlib)")
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()

    from promptlint.config import Config
    from promptlint.pipeline import Linter

    rows = [json.loads(line) for line in args.data.read_text().splitlines() if line.strip()]
    if args.limit:
        rows = rows[: args.limit]
    linter = Linter(Config())
    text_scores, repo_scores, vague, lengths = [], [], [], []
    for n, row in enumerate(rows, 1):
        text = row["problem_statement"][:100_000]
        report = linter.lint(text, repo=None)
        text_scores.append(report.advice["score"] if report.advice else 0.0)
        vague.append(report.vagueness)
        lengths.append(len(text))
        if args.with_repo:
            sys.path.insert(0, str(ROOT / "bench"))
            from bench_localization import checkout

            mirror = args.mirrors / f"swe-bench+{row['repo'].replace('/', '__')}" / "repo"
            if mirror.exists():
                root = checkout(mirror, args.workdir, row["base_commit"])
                fresh = Linter(Config())  # a new index per commit
                r = fresh.lint(text, repo=root)
                repo_scores.append(r.advice["score"] if r.advice else 0.0)
            else:
                repo_scores.append(float("nan"))
        print(f"[{n}/{len(rows)}]", file=sys.stderr, end="\r")

    labelled = [i for i, row in enumerate(rows) if solved_by(row, "haiku") is not None]
    failed = [not solved_by(rows[i], "haiku") for i in labelled]
    print(f"\n{len(rows)} prompts, {len(labelled)} with resolved_by")
    if labelled:
        print("AUC for 'Haiku 4.5 failed':")
        print(f"  promptlint advice.score (text only)  {auc([text_scores[i] for i in labelled], failed):.3f}")
        if args.with_repo:
            pairs = [(repo_scores[i], f) for i, f in zip(labelled, failed) if repo_scores[i] == repo_scores[i]]
            print(f"  promptlint advice.score (with repo)  {auc([p[0] for p in pairs], [p[1] for p in pairs]):.3f}")
        print(f"  prompt length (baseline)             {auc([float(lengths[i]) for i in labelled], failed):.3f}")
        diff = [difficulty_rank(rows[i].get("difficulty")) for i in labelled]
        print(f"  human difficulty label               {auc(diff, failed):.3f}")
        print("\nRouting: top x% by score to Opus, the rest to Haiku (share solved)")
        print("   x   promptlint   random   all-Haiku   all-Opus")
        opus = [bool(solved_by(rows[i], "opus")) for i in labelled]
        haiku = [not f for f in failed]
        order = sorted(range(len(labelled)), key=lambda k: -text_scores[labelled[k]])
        curve = []
        rng = random.Random(0)
        for x in (10, 20, 30, 40, 50):
            top = set(order[: round(len(order) * x / 100)])
            ours = sum(opus[k] if k in top else haiku[k] for k in range(len(order))) / len(order)
            rand = []
            for _ in range(200):
                pick = set(rng.sample(range(len(order)), len(top)))
                rand.append(sum(opus[k] if k in pick else haiku[k] for k in range(len(order))) / len(order))
            curve.append((x, ours, sum(rand) / len(rand)))
            print(f"  {x:>2}%     {ours:.3f}      {sum(rand) / len(rand):.3f}     {sum(haiku) / len(haiku):.3f}      {sum(opus) / len(opus):.3f}")
        if args.plot:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots(figsize=(6, 4))
            ax.plot([c[0] for c in curve], [c[1] for c in curve], marker="o", label="promptlint score")
            ax.plot([c[0] for c in curve], [c[2] for c in curve], marker="x", label="random")
            ax.set_xlabel("% of tasks routed to Opus")
            ax.set_ylabel("share of tasks solved")
            ax.legend()
            fig.tight_layout()
            fig.savefig(args.plot)
            print(f"plot: {args.plot}")
    under = [i for i, row in enumerate(rows) if row.get("openai_underspecified") is not None and (row["openai_underspecified"] >= 2 or row["openai_underspecified"] == 0)]
    if under:
        vague_auc = auc([vague[i] for i in under], [rows[i]["openai_underspecified"] >= 2 for i in under])
        print(f"\nAUC of vagueness for underspecified >= 2 against == 0: {vague_auc:.3f} ({len(under)} prompts)")

    from promptlint.evaluation import evaluate

    for labels in ("labels.toml", "heldout/labels.toml"):
        result = evaluate(ROOT / "fixtures" / "prompts" / labels, Linter(Config()), ROOT / "fixtures" / "repos")
        print(f"fixture tier accuracy ({labels}): {result.tier_accuracy:.2f} ({result.tiers_right}/{result.tiers_labelled})")


if __name__ == "__main__":
    main()
