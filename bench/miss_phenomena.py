"""What the reviewers' misses are, pooled over every batch, and which are caught now. Run by hand:

    python bench/miss_phenomena.py [--collection FILE ...]

``bench/data/miss-phenomena.jsonl`` gives each miss-review row that found a miss (the dev sample's
``../shared/real-prompts/judgments.jsonl`` and this project's ``bench/data/*judgments.jsonl``) one
phenomenon: what the prompt lacks, in words that cut across the rule families (ids only, no text).
Printed: misses per phenomenon and batch; and, for the prompts whose text is at hand (the dev sample,
and any ``--collection`` built by ``collect_prompts.py``), how many a finding of the right family
catches and how many a warning does, so recall work goes to the phenomena that recur.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from bench_real_prompts import DATA, MISS_RULES, lint_all, load_jsonl  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/real-prompts"))
    parser.add_argument("--collection", type=Path, action="append", default=[])
    args = parser.parse_args(argv)
    rows = load_jsonl(DATA / "miss-phenomena.jsonl")
    prompts = {}
    if (args.data / "prompts.jsonl").is_file():
        prompts.update({p["id"]: p for p in load_jsonl(args.data / "prompts.jsonl")})
    for path in args.collection:
        prompts.update({p["id"]: p for p in load_jsonl(path)})
    wanted = [prompts[r["id"]] for r in {r["id"]: r for r in rows}.values() if r["id"] in prompts]
    linter, reports = lint_all(wanted) if wanted else (None, {})
    severities = {code: rule.severity.name for code, rule in linter.catalog.items()} if linter else {}

    batches = sorted({r["batch"] for r in rows})
    table: dict[str, Counter] = defaultdict(Counter)
    caught: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # at hand, by a finding, by a warning
    for r in rows:
        table[r["phenomenon"]][r["batch"]] += 1
        if r["id"] not in reports:
            continue
        codes = [f.code for f in reports[r["id"]].findings if f.code in MISS_RULES.get(r["family"], ())]
        c = caught[r["phenomenon"]]
        c[0] += 1
        c[1] += bool(codes)
        c[2] += any(severities.get(code) in ("warning", "error") for code in codes)
    print(f"reviewers' misses: {len(rows)} in {len(batches)} batches; text at hand for {sum(c[0] for c in caught.values())}")
    print(f"{'phenomenon':30} {'all':>4} " + " ".join(f"{b:>8}" for b in batches) + f" | {'at hand':>7} {'finding':>7} {'warning':>7}")
    for name in sorted(table, key=lambda n: (-sum(table[n].values()), n)):
        c = caught[name]
        print(f"{name:30} {sum(table[name].values()):>4} " + " ".join(f"{table[name][b]:>8}" for b in batches) + f" | {c[0]:>7} {c[1]:>7} {c[2]:>7}")
    total = [sum(c[i] for c in caught.values()) for i in range(3)]
    print(f"{'total':30} {len(rows):>4} " + " ".join(f"{sum(table[n][b] for n in table):>8}" for b in batches) + f" | {total[0]:>7} {total[1]:>7} {total[2]:>7}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
