"""Findings on real prompts, scored against a reviewer's verdicts. Run by hand, never in CI:

    python bench/bench_real_prompts.py [--data ../shared/real-prompts] [--collection FILE]

Lints every prompt of ``prompts.jsonl`` text-only (the reviewer judged with ``--no-repo``), then
scores each finding against ``judgments.jsonl``, per rule: fired, judged TP, judged FP, unjudged,
and precision. A finding the reviewer never saw (new behaviour) is looked up in this project's own
verdicts, ``bench/data/own-judgments.jsonl`` (ids, codes, spans, verdict and reason; no prompt
text), judged against each rule's own ``promptlint rule CODE`` text; the table says which verdicts
are whose. Printed next to it, in the same run, the baseline: main's behaviour as the reviewer
judged it (every finding of promptlint 0.1.0 on these prompts).

Also printed: the precision of default-on warnings with its sample size, and the share of the
reviewer's misses (``miss-review`` rows) now caught by a finding of the right family.

``--collection FILE`` (repeatable) adds prompts collected from other public repositories (``collect_prompts.py``
builds the file; it stays outside the repository), scored against
``bench/data/collection-judgments.jsonl``, with the tuning part and the held-out part reported
separately. ``--unjudged`` lists findings nobody has judged yet, to judge them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT / "bench" / "data"

# Verdicts on collected prompts: the first round's collection, and the fresh held-out batches
# (bench/data/fresh*-manifest.jsonl), each judged the first time its findings were looked at.
DEFAULT_COLLECTION_JUDGMENTS = [DATA / "collection-judgments.jsonl", DATA / "fresh-judgments.jsonl", DATA / "fresh3-judgments.jsonl", DATA / "fresh4-judgments.jsonl", DATA / "fresh5-judgments.jsonl",
                                DATA / "fresh7-judgments.jsonl", DATA / "fresh9-judgments.jsonl"]
# Prompt kinds that are files with a name of their own; the other prompts were typed into a chat.
FILE_KINDS = {"claude-command", "copilot-prompt-file", "continue-prompt-file", "claude-md", "agents-md"}
# A reviewer's miss (MISS:<family>) and the rules whose finding counts as catching it.
MISS_RULES = {
    "subjective-term": ("VAG002", "CLD010"),
    "no-acceptance-criterion": ("CON001",),
    "over-broad-scope": ("SCO001", "SCO002"),
    "missing-detail": ("CON004", "CON009", "CON010", "CON011", "CON012", "CON013", "CON014"),
    "missing-reference": ("REF001", "REF002", "REF003", "REF004"),
    "vague-verb/unclear-request": ("VAG001", "VAG005"),
    "open-ended-list": ("VAG003",),
}
# Rules that report once per prompt: a verdict is about the prompt, wherever the span starts.
PROMPT_LEVEL = {"CON001", "CON002", "CON003", "CON005", "SCO002", "CON009", "CON010", "CON011"}


def load_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@dataclass
class Verdicts:
    """Verdicts keyed for lookup: by (id, code, span, line), by (id, code, line, column), and, for
    prompt-level rules, by (id, code)."""

    by_span: dict = field(default_factory=dict)
    by_position: dict = field(default_factory=dict)
    by_prompt: dict = field(default_factory=lambda: defaultdict(list))

    def add(self, row: dict, source: str) -> None:
        verdict = (row["verdict"], source, row.get("why") or row.get("reason") or "")
        self.by_span[(row["id"], row["code"], row.get("span", ""), row.get("line"))] = verdict
        if row.get("column") is not None:
            self.by_position[(row["id"], row["code"], row.get("line"), row.get("column"))] = verdict
        self.by_prompt[(row["id"], row["code"])].append(verdict)

    def find(self, pid: str, code: str, span: str, line: int, column: int):
        hit = self.by_span.get((pid, code, span, line)) or self.by_position.get((pid, code, line, column))
        if hit is None and code in PROMPT_LEVEL and len(self.by_prompt.get((pid, code), [])) == 1:
            hit = self.by_prompt[(pid, code)][0]
        return hit


@dataclass
class Tally:
    fired: int = 0
    tp: int = 0
    fp: int = 0
    own_tp: int = 0
    own_fp: int = 0
    unjudged: int = 0

    @property
    def judged(self) -> int:
        return self.tp + self.fp + self.own_tp + self.own_fp

    @property
    def precision(self) -> float | None:
        return (self.tp + self.own_tp) / self.judged if self.judged else None


def fmt_p(tp: int, n: int) -> str:
    return f"{tp / n:.2f} ({tp}/{n})" if n else "-"


def lint_all(prompts: list[dict]):
    from promptlint.config import Config
    from promptlint.pipeline import Linter

    linter = Linter(Config())
    out = {}
    for p in prompts:
        kind = p.get("kind", "")
        path = p["source"]["path"] if isinstance(p.get("source"), dict) and kind in FILE_KINDS else (p.get("path") if kind in FILE_KINDS else "<prompt>")
        previous = None
        if USE_PREVIOUS and kind not in FILE_KINDS:
            previous = p.get("previous_turn") or ""  # a first turn has no previous turn: ""
        report = linter.lint(p["text"], path=path or "<prompt>", previous_turn=previous)
        out[p["id"]] = report
    return linter, out


USE_PREVIOUS = False


def score(prompts, reports, verdicts: Verdicts, severities: dict[str, str], unjudged_out: list | None):
    tallies: dict[str, Tally] = defaultdict(Tally)
    by_prompt: dict[str, list] = {}
    for p in prompts:
        report = reports[p["id"]]
        by_prompt[p["id"]] = report.findings
        for f in report.findings:
            span = p["text"][f.start_offset : f.end_offset]
            t = tallies[f.code]
            t.fired += 1
            hit = verdicts.find(p["id"], f.code, span, f.start.line, f.start.column)
            if hit is None:
                t.unjudged += 1
                if unjudged_out is not None:
                    unjudged_out.append({"id": p["id"], "code": f.code, "span": span, "line": f.start.line, "column": f.start.column, "message": f.message})
                continue
            verdict, source, _ = hit
            if source == "reviewer":
                t.tp += verdict == "TP"
                t.fp += verdict == "FP"
            else:
                t.own_tp += verdict == "TP"
                t.own_fp += verdict == "FP"
    return tallies, by_prompt


def print_table(title: str, tallies: dict[str, Tally], base: dict[str, Tally] | None, severities: dict[str, str], default_on: set[str], base_default_on: set[str] | None = None) -> None:
    """Per rule, and the precision of the warnings a default run reports (``default_on``; the
    baseline's own default-on set is ``base_default_on``: a rule since demoted still counts there)."""
    print(f"\n{title}")
    head = f"{'code':7} {'sev':7} |"
    if base is not None:
        head += f" {'baseline fired':>14} {'TP':>3} {'FP':>3} {'prec':>5} |"
    head += f" {'fired':>5} {'rev TP':>6} {'rev FP':>6} {'own TP':>6} {'own FP':>6} {'unjudged':>8} {'prec':>5}"
    print(head)
    print("-" * len(head))
    codes = sorted(set(tallies) | set(base or {}))
    for code in codes:
        t = tallies.get(code, Tally())
        line = f"{code:7} {severities.get(code, '?'):7} |"
        if base is not None:
            b = base.get(code, Tally())
            bp = f"{b.precision:.2f}" if b.precision is not None else "-"
            line += f" {b.fired:>14} {b.tp:>3} {b.fp:>3} {bp:>5} |"
        p = f"{t.precision:.2f}" if t.precision is not None else "-"
        line += f" {t.fired:>5} {t.tp:>6} {t.fp:>6} {t.own_tp:>6} {t.own_fp:>6} {t.unjudged:>8} {p:>5}"
        print(line)

    def summary(ts: dict[str, Tally], on: set[str] = default_on) -> tuple[int, int, int]:
        tp = sum(ts[c].tp + ts[c].own_tp for c in ts if c in on)
        n = sum(ts[c].judged for c in ts if c in on)
        un = sum(ts[c].unjudged for c in ts if c in on)
        return tp, n, un

    tp, n, un = summary(tallies)
    msg = f"precision of default-on warnings: {fmt_p(tp, n)}"
    if un:
        msg += f", {un} unjudged"
    if base is not None:
        btp, bn, _ = summary(base, base_default_on if base_default_on is not None else default_on)
        msg += f"   [baseline {fmt_p(btp, bn)}]"
    print(msg)


def print_misses(title: str, misses: list[dict], by_prompt: dict[str, list], severities: dict[str, str], baseline: str = "") -> None:
    """The misses caught by a finding of the right family, and by a warning of it (an info finding
    is shown, a warning is what a default run fails on)."""
    caught, warned = [], 0
    for m in misses:
        family = m["code"].split(":", 1)[1] if ":" in m["code"] else ""
        rules = MISS_RULES.get(family, ())
        hit = [f.code for f in by_prompt.get(m["id"], []) if f.code in rules]
        warned += any(severities.get(code) in ("warning", "error") for code in hit)
        caught.append((m, hit))
    n_caught = sum(1 for _, hit in caught if hit)
    print(f"\n{title} caught by a finding of the right family: {fmt_p(n_caught, len(caught))}, by a warning: {fmt_p(warned, len(caught))}   {baseline}".rstrip())
    for m, hit in caught:
        print(f"  {'caught' if hit else 'missed'} {m['id']} {m['code']:36} {','.join(hit) or '-':14} {m['span'][:60]!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent.parent / "shared" / "real-prompts")
    parser.add_argument("--own", type=Path, default=DATA / "own-judgments.jsonl")
    parser.add_argument("--collection", type=Path, action="append", help="prompts collected by collect_prompts.py (jsonl; repeatable)")
    parser.add_argument("--collection-judgments", type=Path, action="append", help=f"verdicts on collected prompts (repeatable; default: {', '.join(p.name for p in DEFAULT_COLLECTION_JUDGMENTS)})")
    parser.add_argument("--unjudged", action="store_true", help="list the findings nobody has judged")
    parser.add_argument("--with-previous-turn", action="store_true", help="collection only: pass each turn's previous assistant message")
    parser.add_argument("--list-heldout", action="append", metavar="SPLIT", help="with --unjudged: also list that held-out part's unjudged findings (only once tuning is over)")
    args = parser.parse_args(argv)
    data = args.data if args.data.is_dir() else Path("/work/shared/real-prompts")
    if not (data / "prompts.jsonl").is_file():
        print(f"no prompts.jsonl under {args.data}", file=sys.stderr)
        return 2

    prompts = load_jsonl(data / "prompts.jsonl")
    judgments = load_jsonl(data / "judgments.jsonl")
    verdicts = Verdicts()
    base: dict[str, Tally] = defaultdict(Tally)
    for j in judgments:
        if j["type"] != "finding":
            continue
        verdicts.add(j, "reviewer")
        b = base[j["code"]]
        b.fired += 1
        b.tp += j["verdict"] == "TP"
        b.fp += j["verdict"] == "FP"
    own_rows = load_jsonl(args.own) if args.own.is_file() else []
    for row in own_rows:
        verdicts.add(row, "own")

    linter, reports = lint_all(prompts)
    severities = {code: rule.severity.name for code, rule in linter.catalog.items()}
    default_on = {code for code, rule in linter.catalog.items() if rule.severity.name in ("warning", "error") and not rule.is_preview and rule.family != "ESC"}
    unjudged: list | None = [] if args.unjudged else None
    tallies, by_prompt = score(prompts, reports, verdicts, severities, unjudged)

    print(f"real prompts: {len(prompts)} ({data}), text only; verdicts: reviewer {sum(1 for j in judgments if j['type'] == 'finding')}, own {len(own_rows)} ({args.own.relative_to(ROOT) if args.own.is_relative_to(ROOT) else args.own})")
    print("baseline = main 39f7c1e as the reviewer judged it (info rules CON002/CON005 judged on a random half in rq*)")
    # The baseline's warnings are the ones it reported as warnings (the judged rows carry their severity).
    base_default_on = {j["code"] for j in judgments if j["type"] == "finding" and j.get("severity") in ("warning", "error")}
    print_table("per rule (rev = the reviewer's verdicts, own = this project's, judged against `promptlint rule CODE`)", tallies, base, severities, default_on, base_default_on)

    # Recall against what the reviewer confirmed: the baseline's warnings judged TP that still fire (any
    # span), at any severity and as a default-on warning (a rule since demoted reports them at info).
    confirmed = [j for j in judgments if j["type"] == "finding" and j["verdict"] == "TP" and j["code"] in base_default_on and j.get("severity") in ("warning", "error")]
    kept = [j for j in confirmed if any(f.code == j["code"] for f in by_prompt.get(j["id"], []))]
    kept_warned = [j for j in kept if j["code"] in default_on]
    print(f"\nreviewer-confirmed warnings (TP) still reported: {fmt_p(len(kept), len(confirmed))}, as a warning: {fmt_p(len(kept_warned), len(confirmed))}")
    for j in confirmed:
        if j not in kept:
            print(f"  no longer reported: {j['id']} {j['code']} {j['span']!r}")

    misses = [j for j in judgments if j["type"] == "miss-review" and j["verdict"] == "miss"]
    print_misses("reviewer's misses", misses, by_prompt, severities, baseline=f"[baseline 0.00 (0/{len(misses)})]")

    from promptlint.text.analysis import analyze
    from promptlint.text.source import PromptSource

    kinds: Counter = Counter()
    for p in prompts:
        path = p["source"]["path"] if p.get("kind") in FILE_KINDS else "<prompt>"
        kinds[analyze(PromptSource(p["text"], path), linter.pipeline).message_kind] += 1
    print("\nmessage kinds (Analysis.message_kind): " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))

    if args.collection:
        global USE_PREVIOUS
        USE_PREVIOUS = args.with_previous_turn
        coll = [row for path in args.collection for row in load_jsonl(path)]
        cverdicts = Verdicts()
        crows = [row for path in (args.collection_judgments or DEFAULT_COLLECTION_JUDGMENTS) if path.is_file() for row in load_jsonl(path)]
        for row in crows:
            if row.get("type", "finding") == "finding":
                cverdicts.add(row, "own")
        _, creports = lint_all(coll)
        history = DATA / "heldout-first-look.json"
        first_look = json.loads(history.read_text()) if history.is_file() else {}
        for split in sorted({p.get("split", "tune") for p in coll}, key=lambda x: (x != "tune", x)):
            part = [p for p in coll if p.get("split") == split]
            # Held-out findings are listed only when asked for by name, once tuning is over.
            listing = unjudged if split == "tune" or split in (args.list_heldout or []) else None
            ctallies, cby_prompt = score(part, creports, cverdicts, severities, listing)
            repos = len({p["repo"] for p in part})
            print_table(f"own collection, {split} part: {len(part)} prompts from {repos} repositories (verdicts: own)", ctallies, None, severities, default_on)
            first = first_look.get(split)
            if first:
                base = first.get("baseline")
                versus = f"   [baseline {fmt_p(base['tp'], base['judged'])} at {base['commit']}]" if base else ""
                print(f"  first look (held out until then, at the commit {first['commit']}): {fmt_p(first['tp'], first['judged'])}{versus}; {first['comment']}")
                if first.get("rules"):
                    print("    per rule: " + ", ".join(f"{code} {fmt_p(*first['rules'][code])}" for code in sorted(first["rules"])))
            ids = {p["id"] for p in part}
            reviewed = [r for r in crows if r.get("type") == "miss-review" and r["id"] in ids]
            if reviewed:
                print_misses(f"{split} miss review ({len({r['id'] for r in reviewed})} random prompts)", [r for r in reviewed if r["verdict"] == "miss"], cby_prompt, severities)

    if unjudged is not None:
        print(f"\nunjudged findings ({len(unjudged)}):")
        for u in unjudged:
            print(json.dumps(u, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
