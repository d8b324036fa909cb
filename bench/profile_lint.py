"""cProfile of the whole lint loop in one process, on bench_throughput's prompts (real prompts + prompts
built from the repository's names): where per-prompt time goes.

    PROMPTLINT_CACHE_DIR=... python bench/profile_lint.py REPO [N] [REAL_PROMPTS_JSONL]  (default ../shared/real-prompts/prompts.jsonl)
"""
import cProfile, pstats, sys, json, time
from pathlib import Path
ROOT = Path(__file__).resolve().parent.parent; sys.path.insert(0, str(ROOT / "bench")); sys.path.insert(0, str(ROOT))
from bench_throughput import prompts_for
from promptlint.pipeline import Linter
repo = Path(sys.argv[1])
real = [json.loads(l)["text"] for l in open(sys.argv[3] if len(sys.argv) > 3 else ROOT.parent / "shared" / "real-prompts" / "prompts.jsonl") if l.strip()]
real = [t for t in real if len(t) < 4000]
linter = Linter(); ctx = linter.repo_context(repo); s = ctx.resolver.search
names = [n for n in s.defs_by_name if len(n) > 4][:: max(1, len(s.defs_by_name) // 3000)]
prompts = prompts_for(sorted(ctx.index.files)[:: max(1, len(ctx.index.files) // 3000)], names, real, int(sys.argv[2]) if len(sys.argv) > 2 else 300)
linter.lint("warm", repo=repo)
pr = cProfile.Profile(); t = time.perf_counter(); pr.enable()
for p in prompts: linter.lint(p, repo=repo)
pr.disable(); print(len(prompts)/(time.perf_counter()-t), "prompts/s")
st = pstats.Stats(pr); st.sort_stats("cumulative").print_stats(35); st.sort_stats("tottime").print_stats(25)
