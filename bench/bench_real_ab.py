"""Findings on collected real prompts under two source trees, side by side in one run. By hand:

    python bench/bench_real_ab.py --base /work/main --head /path/to/branch/checkout \\
        --collection fresh7.jsonl --collection fresh7h.jsonl [--unjudged]

Each tree lints every prompt the way ``bench_real_prompts.py`` does (text only, command files under
their own path, no previous turn unless ``--with-previous-turn``), with its own rules and its own
severities, in a child process whose PYTHONPATH is that tree. The findings are scored against the
same verdicts (``--judgments``, default the collection verdicts ``bench_real_prompts.py`` reads), per
part of the collection: default-on warnings and info findings, each fired / judged TP / judged FP /
unjudged, and the reviewers' misses (miss-review rows) caught by a finding of the right family (as
that tree's ``bench_real_prompts.MISS_RULES`` maps rules to families) and by a warning. ``--unjudged`` lists the findings no verdict covers, to judge them: only for a part whose
first look is over (a held-out part's findings must not steer the rules that are scored on it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_real_prompts import DEFAULT_COLLECTION_JUDGMENTS, FILE_KINDS, MISS_RULES, Verdicts, fmt_p, load_jsonl  # noqa: E402

# Run in the child under the tree's PYTHONPATH: what bench_real_prompts.lint_all does, plus the
# tree's own catalog (a branch may have changed a rule's severity).
CHILD = r"""
import json, os, sys
import promptlint
from promptlint.config import Config
from promptlint.pipeline import Linter

file_kinds, use_previous = set(json.loads(sys.argv[1])), sys.argv[2] == "1"
linter = Linter(Config())
catalog = {code: {"severity": rule.severity.name,
                  "default_on": rule.severity.name in ("warning", "error") and not rule.is_preview and rule.family != "ESC"}
           for code, rule in linter.catalog.items()}
findings = {}
for line in sys.stdin:
    p = json.loads(line)
    kind = p.get("kind", "")
    source = p.get("source") if isinstance(p.get("source"), dict) else p
    path = (source.get("path") or "<prompt>") if kind in file_kinds else "<prompt>"
    previous = (p.get("previous_turn") or "") if use_previous and kind not in file_kinds else None
    report = linter.lint(p["text"], path=path, previous_turn=previous)
    findings[p["id"]] = [{"code": f.code, "span": p["text"][f.start_offset:f.end_offset], "line": f.start.line,
                          "column": f.start.column, "message": f.message} for f in report.findings]
# Which rules catch which family of miss is the tree's own word: a branch adding a rule adds it there.
miss_rules = None
try:
    sys.path.insert(0, os.path.join(sys.argv[3], "bench"))
    from bench_real_prompts import MISS_RULES
    miss_rules = {family: list(codes) for family, codes in MISS_RULES.items()}
except Exception:
    pass
json.dump({"promptlint": promptlint.__file__, "catalog": catalog, "findings": findings, "miss_rules": miss_rules}, sys.stdout)
"""


def lint_under(tree: Path, prompts: list[dict], use_previous: bool = False) -> dict:
    """The child's answer: which promptlint ran, its catalog, and the findings by prompt id."""
    # -P: the current folder is not put first on sys.path, so PYTHONPATH decides which tree runs.
    isolated = ["-P"] if sys.version_info >= (3, 11) else []
    child = subprocess.run([sys.executable, *isolated, "-c", CHILD, json.dumps(sorted(FILE_KINDS)), "1" if use_previous else "0", str(tree)],
                           input="".join(json.dumps(p) + "\n" for p in prompts), capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(tree)})
    if child.returncode != 0:
        raise SystemExit(f"linting under {tree} failed:\n{child.stderr.strip()}")
    answer = json.loads(child.stdout)
    if not Path(answer["promptlint"]).resolve().is_relative_to(tree.resolve()):
        raise SystemExit(f"{tree}: promptlint was imported from {answer['promptlint']}, not from that tree")
    return answer


@dataclass
class Part:
    """One part of the collection under one tree."""

    warnings: list[int] = field(default_factory=lambda: [0, 0, 0, 0])  # fired, TP, FP, unjudged
    info: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    misses: int = 0
    caught: int = 0
    warned: int = 0
    unjudged: list[dict] = field(default_factory=list)


def score_part(prompts: list[dict], answer: dict, verdicts: Verdicts, misses: list[dict]) -> Part:
    part, catalog = Part(), answer["catalog"]
    miss_rules = answer.get("miss_rules") or MISS_RULES
    for p in prompts:
        for f in answer["findings"].get(p["id"], []):
            row = part.warnings if catalog.get(f["code"], {}).get("default_on") else part.info
            row[0] += 1
            hit = verdicts.find(p["id"], f["code"], f["span"], f["line"], f["column"])
            if hit is None:
                row[3] += 1
                part.unjudged.append({"id": p["id"], **f})
            else:
                row[1 if hit[0] == "TP" else 2] += 1
    ids = {p["id"] for p in prompts}
    for m in misses:
        if m["id"] not in ids:
            continue
        family = m["code"].split(":", 1)[1] if ":" in m["code"] else ""
        codes = [f["code"] for f in answer["findings"].get(m["id"], []) if f["code"] in miss_rules.get(family, ())]
        part.misses += 1
        part.caught += bool(codes)
        part.warned += any(catalog.get(code, {}).get("severity") in ("warning", "error") for code in codes)
    return part


def revision(tree: Path) -> str:
    out = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip() or "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", type=Path, required=True, help="the tree to compare with (a checkout of main)")
    parser.add_argument("--head", type=Path, default=ROOT, help="the tree under test (default: this one)")
    parser.add_argument("--collection", type=Path, action="append", required=True, help="prompts collected by collect_prompts.py (repeatable)")
    parser.add_argument("--judgments", type=Path, action="append", help="verdicts (repeatable; default: the collection verdicts of bench_real_prompts.py)")
    parser.add_argument("--with-previous-turn", action="store_true", help="pass each typed turn's previous assistant message")
    parser.add_argument("--unjudged", action="store_true", help="list the findings no verdict covers, per tree")
    args = parser.parse_args(argv)
    for tree in (args.base, args.head):
        if not (tree / "promptlint" / "__init__.py").is_file():
            print(f"{tree}: not a promptlint source tree", file=sys.stderr)
            return 2
    prompts = [p for path in args.collection for p in load_jsonl(path)]
    rows = [r for path in (args.judgments or DEFAULT_COLLECTION_JUDGMENTS) if path.is_file() for r in load_jsonl(path)]
    verdicts = Verdicts()
    for r in rows:
        if r.get("type", "finding") == "finding":
            verdicts.add(r, "own")
    misses = [r for r in rows if r.get("type") == "miss-review" and r["verdict"] == "miss"]
    trees = {"base": args.base, "head": args.head}
    answers = {name: lint_under(tree, prompts, args.with_previous_turn) for name, tree in trees.items()}

    print(f"{len(prompts)} prompts; verdicts from {', '.join(p.name for p in (args.judgments or DEFAULT_COLLECTION_JUDGMENTS))}; "
          f"{'with' if args.with_previous_turn else 'without'} the previous turn")
    for name, tree in trees.items():
        print(f"  {name}: {tree} at {revision(tree)}")
    head = f"{'part':10} {'tree':4} | {'warnings: fired':>15} {'TP':>3} {'FP':>3} {'unj':>3} {'prec':>5} | {'info: fired':>11} {'TP':>3} {'FP':>3} {'unj':>3} {'prec':>5} | misses caught by a finding, by a warning"
    print(head)
    print("-" * len(head))
    by_split = defaultdict(list)
    for p in prompts:
        by_split[p.get("split", "?")].append(p)
    listing = []
    for split, part_prompts in by_split.items():
        for name in trees:
            s = score_part(part_prompts, answers[name], verdicts, misses)
            w, i = s.warnings, s.info
            wp = f"{w[1] / (w[1] + w[2]):.2f}" if w[1] + w[2] else "-"
            ip = f"{i[1] / (i[1] + i[2]):.2f}" if i[1] + i[2] else "-"
            print(f"{split:10} {name:4} | {w[0]:>15} {w[1]:>3} {w[2]:>3} {w[3]:>3} {wp:>5} | {i[0]:>11} {i[1]:>3} {i[2]:>3} {i[3]:>3} {ip:>5} | "
                  f"{fmt_p(s.caught, s.misses)}, {fmt_p(s.warned, s.misses)}")
            listing += [{"tree": name, "split": split, **u} for u in s.unjudged]
    if args.unjudged:
        print(f"\nunjudged findings ({len(listing)}):")
        for u in listing:
            print(json.dumps(u, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
