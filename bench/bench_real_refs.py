"""References on real chat prompts: the top-3 files and the REF findings promptlint gives on the
prompts of ../shared/real-prompts/ whose repository is at hand, next to a baseline and to verdicts.

    python bench/bench_real_refs.py --prompts ../shared/real-prompts [--mirrors /work/.mirror] [--workdir DIR]
        [--verdicts bench/data/real-refs-verdicts.jsonl] [--unjudged OUT.jsonl] [--ids a,b] [--quiet]
        [--part tuned|held-out]

Repositories come from `fetch` mirrors (/work/.mirror/<owner>+<name>/repo), checked out under
--workdir at the commit the judgment names (`repo_snapshot`), else at the commit of the chat log.
Prints, per prompt: the top-3 references with their reasons, REF001/REF002/REF004 findings, and the
reviewer's old top-3 verdict where there is one; then how often each REF rule fired.

On the prompts that name no file (no path, traceback frame or dotted module in the text) it also
prints the top-3 of a baseline computed in the same run, BM25 (bm25s, identifiers split, path words
counted thrice) over the repository's non-test code files, and scores both against the verdicts
file: one row per (prompt id, suggested path) with `verdict` plausible|implausible and a short
reason, judged by reading the repository (or against the files the agent really edited, where the
shared judgments give them). A path is judged once whichever ranker suggested it. The figures:

- plausible top-3: prompts whose top-3 holds at least one plausible file, among the prompts that
  got a suggestion (a prompt with none is counted apart: silence is not a wrong path);
- precision: plausible suggestions among all suggestions shown (junk counts against it);
- REF001 rate on the prompts that name no file.

A suggestion nobody judged is marked `?` and counted; --unjudged writes them out to judge. Each
verdict row says its `round`: tuned-1 (main's and the baseline's suggestions, judged blind to the
ranker), tuned-2 (new suggestions of a changed ranker: necessarily known to be its own),
held-out-1 (both rankers at the final code, blind, judged once),
tuned-3 (new suggestions once agent tooling stopped ranking, judged from (prompt, path) rows
without the ranker's scores or reasons; on held-out prompts too, which are no longer a first look).
The REF findings themselves (REF001-REF004; REF003 only with --preview) are scored against
bench/data/real-refs-finding-verdicts.jsonl: TP/FP by `promptlint rule CODE`'s definition, judged
from a shuffled list showing the prompt, the finding's message and span and the tree at the commit
(round blind-1: every finding of main 225e545, 2026-12-03); REF001/REF004 are keyed by prompt and
rule, REF002/REF003 by their span offsets. --findings-out writes every finding out to judge.
Repositories listed in bench/data/real-refs-split.json under "held-out" are reported apart: they
were judged for the first time after the ranking changes (a first look), the rest were tuned on.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

# Code in the languages these repositories are written in (wider than the SWE-bench bench's set:
# Godot C#, Vue, Svelte, Kotlin, Swift, C, PHP, Ruby).
CODE_EXT = (".py", ".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".rs", ".go", ".java", ".kt", ".cs", ".gd", ".swift",
            ".vue", ".svelte", ".astro", ".rb", ".php", ".c", ".h", ".cpp", ".hpp", ".cc", ".m", ".dart", ".lua", ".sh")
NAMING_KINDS = ("path", "frame", "module")


def checkout(mirror: Path, workdir: Path, commit: str) -> Path | None:
    tree = workdir / mirror.parent.name
    if not tree.exists():
        subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout", str(mirror), str(tree)], check=True)
    done = subprocess.run(["git", "-C", str(tree), "checkout", "-q", "-f", commit], capture_output=True)
    if done.returncode != 0:
        return None
    subprocess.run(["git", "-C", str(tree), "clean", "-qfdx"], capture_output=True)
    return tree


def load_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def finding_key(row: dict) -> tuple:
    """REF001 and REF004 are verdicts on the prompt (it names no file / no pattern), so the prompt and
    the rule identify them; REF002 and REF003 are about one span. The message is not part of the key:
    it names candidate paths that a ranker change reorders."""
    if row["code"] in ("REF001", "REF004"):
        return (row["id"], row["code"])
    return (row["id"], row["code"], row["start"], row["end"])


class Tally:
    def __init__(self) -> None:
        self.prompts = 0  # prompts that name no file
        self.suggested = 0  # ... and got at least one suggestion
        self.plausible = 0  # ... whose top-3 holds a plausible file
        self.shown = 0
        self.right = 0
        self.unjudged = 0
        self.unjudged_prompts = 0

    def add(self, paths: list[str], verdict_of) -> str:  # type: ignore[no-untyped-def]
        self.prompts += 1
        if not paths:
            return ""
        self.suggested += 1
        marks = [verdict_of(p) for p in paths]
        self.shown += len(paths)
        self.right += sum(1 for m in marks if m == "plausible")
        self.unjudged += sum(1 for m in marks if m is None)
        if "plausible" in marks:
            self.plausible += 1
        elif None in marks:
            self.unjudged_prompts += 1
        return "".join({"plausible": "+", "implausible": "x", None: "?"}[m] for m in marks)

    def line(self) -> str:
        share = self.plausible / self.suggested if self.suggested else 0.0
        prec = self.right / self.shown if self.shown else 0.0
        return (f"plausible top-3 {self.plausible}/{self.suggested} = {share:.2f} (of {self.prompts} prompts; "
                f"{self.prompts - self.suggested} got none); precision {self.right}/{self.shown} = {prec:.2f}; "
                f"unjudged {self.unjudged} suggestions" + (f" ({self.unjudged_prompts} prompts undecided)" if self.unjudged_prompts else ""))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", type=Path, required=True)
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/promptlint-real-checkouts"))
    parser.add_argument("--verdicts", type=Path, default=ROOT / "bench" / "data" / "real-refs-verdicts.jsonl")
    parser.add_argument("--split", type=Path, default=ROOT / "bench" / "data" / "real-refs-split.json")
    parser.add_argument("--unjudged", type=Path, help="write the unjudged (id, repo, path) rows here")
    parser.add_argument("--ids", help="comma-separated prompt ids")
    parser.add_argument("--quiet", action="store_true", help="print only the prompts that name no file")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--finding-verdicts", type=Path,
                        default=ROOT / "bench" / "data" / "real-refs-finding-verdicts.jsonl",
                        help="verdicts (TP/FP) on the REF findings, keyed by prompt id, code and span")
    parser.add_argument("--findings-out", type=Path,
                        help="write every REF finding (id, repo, commit, code, span, message) here, to judge")
    parser.add_argument("--preview", action="store_true", help="also run preview rules (REF003 ambiguous-reference)")
    parser.add_argument("--part", choices=("tuned", "held-out"),
                        help="lint only this part's repositories (keep the held-out ones unseen while tuning)")
    args = parser.parse_args()
    prompts = load_jsonl(args.prompts / "prompts.jsonl")
    judgments = load_jsonl(args.prompts / "judgments.jsonl")
    snapshot = {j["id"]: j["repo_snapshot"] for j in judgments if j.get("repo_snapshot")}
    top3 = {j["id"]: j for j in judgments if j["type"] == "top3"}
    ref_verdicts = {(j["id"], j["code"]): j for j in judgments if j["type"] == "finding" and j["code"].startswith("REF")}
    verdicts = {(v["id"], v["path"]): v for v in load_jsonl(args.verdicts)}
    finding_verdicts = {finding_key(v): v for v in load_jsonl(args.finding_verdicts)}
    finding_rows: list[dict] = []
    finding_tally: dict[tuple[str, str], Counter[str]] = {}
    held_out = set(json.loads(args.split.read_text()).get("held-out", [])) if args.split.exists() else set()
    if args.ids:
        wanted = set(args.ids.split(","))
        prompts = [p for p in prompts if p["id"] in wanted]
    args.workdir.mkdir(parents=True, exist_ok=True)

    from bench_localization import BM25Baseline

    from promptlint.pipeline import Linter
    from promptlint.repo.search import is_test_path
    from promptlint.text.analysis import analyze
    from promptlint.text.source import PromptSource

    from promptlint.config import Config

    linter = Linter(Config(preview=True)) if args.preview else Linter()
    fired: Counter[str] = Counter()
    by_level: dict[tuple[str, str], Counter[str]] = {}  # (code, severity reported) -> verdicts, both parts
    tallies = {(who, part): Tally() for who in ("promptlint", "baseline") for part in ("tuned", "held-out")}
    ref001 = {part: [0, 0] for part in ("tuned", "held-out")}
    unjudged: list[dict] = []
    baselines: dict[tuple[str, str], BM25Baseline] = {}
    linted = 0
    for p in sorted(prompts, key=lambda p: p["id"]):
        repo = p.get("repo") or p["source"]["repo"]
        if args.part and args.part != ("held-out" if repo in held_out else "tuned"):
            continue
        mirror = args.mirrors / repo.replace("/", "+") / "repo"
        if not mirror.exists():
            continue
        commit = snapshot.get(p["id"], {}).get("commit") or p["source"]["commit"]
        root = checkout(mirror, args.workdir, commit)
        if root is None:
            continue
        linter.refresh_repo(root)  # the same folder now holds another commit
        report = linter.lint(p["text"], repo=root)
        linted += 1
        ctx = linter.repo_context(root)
        files = set(ctx.index.files)
        for ref in report.references:
            assert ref["path"] in files, ref
        mentions = ctx.resolver.mentions(analyze(PromptSource(p["text"]), linter.pipeline))
        names_file = any(m.kind in NAMING_KINDS for m in mentions)
        codes = [f for f in report.findings if f.code in ("REF001", "REF002", "REF003", "REF004")]
        fired.update(f.code for f in codes)
        part = "held-out" if repo in held_out else "tuned"
        for f in codes:
            row = {"id": p["id"], "repo": repo, "commit": commit, "code": f.code, "start": f.start_offset,
                   "end": f.end_offset, "span": p["text"][f.start_offset:f.end_offset], "message": f.message,
                   "names_file": names_file, "part": part, "severity": f.severity.name}
            finding_rows.append(row)
            v = finding_verdicts.get(finding_key(row))
            finding_tally.setdefault((f.code, part), Counter())[v["verdict"] if v else "unjudged"] += 1
            by_level.setdefault((f.code, f.severity.name), Counter())[v["verdict"] if v else "unjudged"] += 1
        if args.quiet and names_file:
            continue
        print(f"\n## {p['id']} {repo}@{commit[:8]} [{p.get('kind')}]" + ("" if names_file else f" names no file ({part})"))
        print("   " + re.sub(r"\s+", " ", p["text"][:300]))
        mine = [r["path"] for r in report.references[:3]]
        for r in report.references[:3]:
            mark = "" if names_file else {"plausible": "+ ", "implausible": "x ", None: "? "}[(verdicts.get((p["id"], r["path"])) or {}).get("verdict")]
            print(f"   -> {mark}{r['path']} ({r['score']:.2f}: {r['reason'][:110]})")
        for f in codes:
            old = ref_verdicts.get((p["id"], f.code))
            v = finding_verdicts.get(finding_key({"id": p["id"], "code": f.code, "start": f.start_offset, "end": f.end_offset}))
            print(f"   {f.code} [{v['verdict'] if v else '?'}]: {f.message}" + (f"   [reviewer on the old run: {old['verdict']}: {old['why']}]" if old else ""))
        if p["id"] in top3:
            j = top3[p["id"]]
            print(f"   reviewer's top-3 verdict on the old run: {j['verdict']} (old: {j['span']}); {j['why']}")
        if names_file:
            continue

        def verdict_of(path: str, pid: str = p["id"]) -> str | None:
            v = verdicts.get((pid, path))
            return v["verdict"] if v else None

        tallies[("promptlint", part)].add(mine, verdict_of)
        ref001[part][1] += 1
        ref001[part][0] += any(f.code == "REF001" for f in codes)
        base: list[str] = []
        if not args.no_baseline:
            key = (repo, commit)
            if key not in baselines:
                code_files = sorted(f for f in files if f.endswith(CODE_EXT) and not is_test_path(f))
                baselines.clear()  # one repository's corpus at a time
                baselines[key] = BM25Baseline(root, code_files) if code_files else None  # type: ignore[assignment]
            b = baselines[key]
            base = b.rank(p["text"], k=3) if b is not None else []
            for path in base:
                assert path in files, path
            marks = tallies[("baseline", part)].add(base, verdict_of)
            print(f"   baseline: {', '.join(f'{m} {x}' for m, x in zip(marks, base)) or '-'}")
        for path in dict.fromkeys(mine + base):
            if verdict_of(path) is None:
                unjudged.append({"id": p["id"], "repo": repo, "commit": commit, "path": path})
    print(f"\n{linted} prompts linted with their repository; REF findings: " + ", ".join(f"{k} {v}" for k, v in sorted(fired.items())))
    print("\nPrompts that name no file, top-3 against the verdicts (" + str(args.verdicts.name) + "):")
    for part in ("tuned", "held-out"):
        if not tallies[("promptlint", part)].prompts:
            continue
        print(f"  {part}:")
        print(f"    promptlint: {tallies[('promptlint', part)].line()}")
        if not args.no_baseline:
            print(f"    BM25 over non-test code files (same prompts, same run): {tallies[('baseline', part)].line()}")
        fired_n, of = ref001[part]
        print(f"    REF001 fired on {fired_n} of {of} prompts that name no file ({fired_n / of if of else 0:.2f})")
    print("\nREF findings against the verdicts (" + args.finding_verdicts.name + "): fired / TP / FP / unjudged, precision of the judged")
    for part in ("tuned", "held-out"):
        for code in ("REF001", "REF002", "REF003", "REF004"):
            c = finding_tally.get((code, part))
            if not c:
                continue
            judged = c["TP"] + c["FP"]
            prec = f"{c['TP'] / judged:.2f}" if judged else "-"
            print(f"  {part:8} {code}: fired {sum(c.values())}, TP {c['TP']}, FP {c['FP']}, unjudged {c['unjudged']}; precision {prec}")
    print("  by the severity each finding was reported at (both parts):")
    for (code, level), c in sorted(by_level.items()):
        judged = c["TP"] + c["FP"]
        prec = f"{c['TP'] / judged:.2f}" if judged else "-"
        print(f"    {code} at {level}: fired {sum(c.values())}, TP {c['TP']}, FP {c['FP']}, unjudged {c['unjudged']}; precision {prec}")
    if args.findings_out:
        args.findings_out.write_text("".join(json.dumps(r) + "\n" for r in finding_rows))
        print(f"\n{len(finding_rows)} REF findings written to {args.findings_out}")
    if args.unjudged:
        args.unjudged.write_text("".join(json.dumps(u) + "\n" for u in unjudged))
        print(f"\n{len(unjudged)} unjudged suggestions written to {args.unjudged}")


if __name__ == "__main__":
    main()
