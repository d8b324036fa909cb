"""The extractor's functions A/B in one process: another checkout's promptlint/repo/extract.py
(--base, e.g. main) against this one's, on every file a repository's index reads, alternating
which goes first each round; CPU seconds (process time), median and best of the rounds.

    python bench/bench_extract_ab.py REPO ROUNDS [--base /work/main]

extract_file() is the whole per-file extraction (parse or lexical read); _vocabulary and
_messages are timed on their own, the word memos cleared before each pass (as a fresh worker's).
Output identity is checked elsewhere (tests; the store is a function of the files).
"""
import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

import promptlint.repo.extract as NEW

ap = argparse.ArgumentParser()
ap.add_argument("repo", type=Path)
ap.add_argument("rounds", type=int)
ap.add_argument("--base", type=Path, default=Path("/work/main"))
args = ap.parse_args()
spec = importlib.util.spec_from_file_location("promptlint.repo.extract_base", args.base / "promptlint/repo/extract.py", submodule_search_locations=None)
OLD = importlib.util.module_from_spec(spec); OLD.__package__ = "promptlint.repo"; sys.modules[spec.name] = OLD; spec.loader.exec_module(OLD)
from promptlint.repo.files import list_files
root, rounds = args.repo, args.rounds
fs = [(f.path, f.lang) for f in list_files(root).files if f.lang]
data = [(p, l, (root / p).read_bytes()) for p, l in fs]
clock = time.process_time
res = {}
def run(mod, what):
    if what == "extract_file":
        t = clock(); [mod.extract_file(p, d, l) for p, l, d in data]; return clock() - t
    if what == "vocabulary":
        t = clock(); [mod._vocabulary(d) for p, l, d in data]; return clock() - t
    if what == "messages":
        texts = [d.decode("utf-8", "replace") for p, l, d in data]
        t = clock(); [mod._messages(s) for s in texts]; return clock() - t
for r in range(rounds):
    for what in ("extract_file", "vocabulary", "messages"):
        for name, mod in (("base", OLD), ("this", NEW)) if r % 2 == 0 else (("this", NEW), ("base", OLD)):
            if what == "vocabulary":  # cold memo each time, as a worker's first files see it
                for m in (NEW, OLD):
                    getattr(m, "_RUN_WORDS", {}).clear()
                NEW.split_chunk.cache_clear()  # words.split_chunk: one function, shared by both
            res.setdefault((what, name), []).append(run(mod, what))
for (what, name), v in sorted(res.items()):
    print(f"{what:14} {name:7} median {statistics.median(v):.3f}  min {min(v):.3f}  (n={len(v)})")
print(f"python {sys.version.split()[0]}; base {args.base}; load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
