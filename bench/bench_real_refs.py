"""References on real chat prompts: the top-3 files and the REF findings promptlint gives on the
prompts of ../shared/real-prompts/ whose repository is at hand, next to the reviewer's verdicts.

    python bench/bench_real_refs.py --prompts ../shared/real-prompts [--mirrors /work/.mirror] [--workdir DIR]

Repositories come from `fetch` mirrors (/work/.mirror/<owner>+<name>/repo), checked out under
--workdir at the commit the judgment names (`repo_snapshot`), else at the commit of the chat log.
Prints, per prompt: the top-3 references with their reasons, REF001/REF002/REF004 findings, and the
reviewer's top-3 verdict where there is one (judged against the files the agent really edited), so
that new suggestions can be judged the same way; then how often each REF rule fired.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def checkout(mirror: Path, workdir: Path, commit: str) -> Path | None:
    tree = workdir / mirror.parent.name
    if not tree.exists():
        subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout", str(mirror), str(tree)], check=True)
    done = subprocess.run(["git", "-C", str(tree), "checkout", "-q", "-f", commit], capture_output=True)
    if done.returncode != 0:
        return None
    subprocess.run(["git", "-C", str(tree), "clean", "-qfdx"], capture_output=True)
    return tree


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", type=Path, required=True)
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/promptlint-real-checkouts"))
    parser.add_argument("--ids", help="comma-separated prompt ids")
    args = parser.parse_args()
    prompts = [json.loads(line) for line in (args.prompts / "prompts.jsonl").read_text().splitlines() if line.strip()]
    judgments = [json.loads(line) for line in (args.prompts / "judgments.jsonl").read_text().splitlines() if line.strip()]
    snapshot = {j["id"]: j["repo_snapshot"] for j in judgments if j.get("repo_snapshot")}
    top3 = {j["id"]: j for j in judgments if j["type"] == "top3"}
    ref_verdicts = {(j["id"], j["code"]): j for j in judgments if j["type"] == "finding" and j["code"].startswith("REF")}
    if args.ids:
        wanted = set(args.ids.split(","))
        prompts = [p for p in prompts if p["id"] in wanted]
    args.workdir.mkdir(parents=True, exist_ok=True)

    from promptlint.pipeline import Linter

    linter = Linter()
    fired: Counter[str] = Counter()
    linted = 0
    for p in sorted(prompts, key=lambda p: p["id"]):
        repo = p.get("repo") or p["source"]["repo"]
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
        files = set(linter.repo_context(root).index.files)
        for ref in report.references:
            assert ref["path"] in files, ref
        refs = [f"{r['path']} ({r['score']:.2f}: {r['reason'][:90]})" for r in report.references[:3]]
        codes = [f for f in report.findings if f.code in ("REF001", "REF002", "REF003", "REF004")]
        fired.update(f.code for f in codes)
        print(f"\n## {p['id']} {repo}@{commit[:8]} [{p.get('kind')}]")
        print("   " + p["text"][:300].replace("\n", " | "))
        for r in refs:
            print("   ->", r)
        for f in codes:
            old = ref_verdicts.get((p["id"], f.code))
            print(f"   {f.code}: {f.message}" + (f"   [reviewer on the old run: {old['verdict']}: {old['why']}]" if old else ""))
        if p["id"] in top3:
            j = top3[p["id"]]
            print(f"   reviewer's top-3 verdict on the old run: {j['verdict']} (old: {j['span']}); {j['why']}")
    print(f"\n{linted} prompts linted with their repository; REF findings: " + ", ".join(f"{k} {v}" for k, v in sorted(fired.items())))


if __name__ == "__main__":
    main()
