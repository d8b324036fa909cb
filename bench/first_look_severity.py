"""Which rules may stay default-on warnings, from their precision on first looks. Run by hand:

    python bench/first_look_severity.py [--target 0.85] [--credibility 0.9]

A first look is the one time a batch of real prompts that no rule was tuned on is linted and every
finding judged (``bench/data/heldout-first-look.json``, per rule: judged TP and judged count).
Figures measured after tuning on a batch are an upper bound; the first looks are what a user's own
prompts get. Pooled over every first look with a per-rule breakdown, a rule stays a warning only
when the target precision is still credible: below the ``--credibility`` upper bound of
Beta(1 + TP, 1 + FP). Rules with no first-look finding keep their severity (no evidence either way).
Printed beside it, the severity each rule has now in ``rules/``, so a mismatch is visible.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

from scipy.stats import beta

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def pooled_first_looks(history: dict) -> dict[str, list[int]]:
    pooled: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for part in history.values():
        if isinstance(part, dict):
            for code, (tp, judged) in (part.get("rules") or {}).items():
                pooled[code][0] += tp
                pooled[code][1] += judged
    return pooled


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--history", type=Path, default=ROOT / "bench" / "data" / "heldout-first-look.json")
    parser.add_argument("--target", type=float, default=0.85)
    parser.add_argument("--credibility", type=float, default=0.9)
    args = parser.parse_args(argv)
    from promptlint.rules.catalog import load_catalog

    catalog = load_catalog()
    pooled = pooled_first_looks(json.loads(args.history.read_text()))
    parts = sorted(k for k, v in json.loads(args.history.read_text()).items() if isinstance(v, dict) and v.get("rules"))
    print(f"first looks pooled: {', '.join(parts)}; a warning stays on when {args.target} <= the {args.credibility:.0%} upper bound")
    print(f"{'code':7} {'first looks':>12} {'prec':>5} {'upper':>6}  {'verdict':8} {'now':8}")
    for code in sorted(pooled):
        tp, judged = pooled[code]
        upper = beta.ppf(args.credibility, 1 + tp, 1 + judged - tp)
        verdict = "warning" if upper >= args.target else "info"
        now = catalog[code].severity.name if code in catalog else "?"
        print(f"{code:7} {f'{tp}/{judged}':>12} {tp / judged:>5.2f} {upper:>6.2f}  {verdict:8} {now:8}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
