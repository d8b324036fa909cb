"""Index speed and memory on real repositories, side by side with universal-ctags and a bare
interpreter start in one run (the machine is shared: only ratios measured together mean much).

    python bench/bench_index.py /path/to/django /path/to/typeorm [--repeat 3] [--work DIR]
        [--compare-with /path/to/other/promptlint/checkout] [--other-commit HEAD~50] [--profile]

Each repository is cloned once into --work (`git clone --shared`: the source is only read) so the
one-file change can edit a file there. For each: ctags over exactly the files promptlint parses,
a cold `promptlint index` (empty cache), a no-change `promptlint index` (the refresh a hook or
editor pays; also its in-process time, the rescan itself), a one-file change (one file edited:
exactly one file must be re-parsed), and a checkout of another commit indexed with the first
checkout's cache (the content store is shared by roots). `--compare-with` runs the same commands
with another checkout of promptlint (e.g. main) in the same run. `--profile` splits a
single-process extraction of the same files into read, tree-sitter parse, query and Python work,
and the lexical read of test suites (see promptlint.repo.extract.is_lexical_path).

A checkout whose `index` takes --defer-parse also gets, in the same alternating rounds, the cold
build a first `check` makes (`index --defer-parse`, empty cache: the code read lexically, the state
that answers the first prompt) and the run that completes it (`index` in that cache: the parse the
check's detached process does), with both against ctags: time to first answer, time to the
complete index.

Wall time is the median of --repeat runs; peak RSS is the largest of any one process (the probe
reads RUSAGE_CHILDREN), and "parent" is the indexing process alone. The cold builds of every
implementation and ctags' runs alternate (one of each per round), the other figures follow.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

# Wall, peak RSS (largest single process) and CPU seconds (user + sys of the whole process tree):
# on a shared machine the wall time of a CPU-bound run mostly says how busy the other users are.
_PROBE = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter(); out = subprocess.run(sys.argv[1:], capture_output=True, text=True).stdout\n"
    "r = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "sys.stdout.write(repr((time.perf_counter() - t, r.ru_maxrss, r.ru_utime + r.ru_stime, out)))"
)


def probe(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float, str]:
    """One run of ``cmd``: (wall seconds, peak MB, CPU seconds, its stdout)."""
    import ast

    raw = subprocess.run([sys.executable, "-c", _PROBE, *cmd], capture_output=True, text=True, check=True, env=env).stdout
    seconds, peak_kb, cpu, out = ast.literal_eval(raw)
    return seconds, peak_kb / 1024, cpu, out


def run_process(cmd: list[str], repeat: int = 1, env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """Median wall, largest peak MB and median CPU seconds of ``repeat`` runs."""
    runs = [probe(cmd, env) for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs), statistics.median(r[2] for r in runs)

def _git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"}).stdout.strip()


def working_copy(src: Path, work: Path, rev: str = "HEAD", suffix: str = "") -> Path:
    """A clone of ``src`` at ``rev`` under ``work`` (objects shared with the source, read-only)."""
    commit = _git("-C", str(src), "rev-parse", rev)
    dst = work / (src.name + suffix)
    if dst.exists():
        try:
            if _git("-C", str(dst), "rev-parse", "HEAD") == commit and not _git("-C", str(dst), "status", "--porcelain"):
                return dst
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(dst)
    _git("clone", "-q", "--shared", "--no-checkout", str(src), str(dst))
    _git("-C", str(dst), "checkout", "-q", commit)
    return dst


def index_cmd(impl: Path | None, repo: Path, *extra: str) -> tuple[list[str], dict[str, str]]:
    # The commands run from --work (see main): `python -m` puts the current folder first on sys.path.
    env = dict(os.environ)
    env["PYTHONPATH"] = str(impl if impl is not None else HERE)
    return [sys.executable, "-m", "promptlint", "index", "--repo", str(repo), *extra], env



def timed_json(cmd: list[str], env: dict[str, str]) -> tuple[float, float, float, dict]:
    """One timed run of an `index --format json` command: (wall, peak MB, CPU, its JSON)."""
    seconds, peak, cpu, out = probe(cmd, env)
    return seconds, peak, cpu, json.loads(out)


_RESCAN = (
    "import statistics, sys, time\nfrom pathlib import Path\nfrom promptlint.repo.index import build_index\n"
    "root = Path(sys.argv[1]); build_index(root); runs = []\n"
    "for _ in range(int(sys.argv[2])):\n"
    "    t, c = time.perf_counter(), time.process_time(); build_index(root)\n"
    "    runs.append((time.perf_counter() - t, time.process_time() - c))\n"
    "print(min(r[0] for r in runs), statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))"
)


def in_process_rescan(impl: Path | None, repo: Path, cache: str, n: int) -> tuple[float, float, float]:
    """The no-change refresh inside one process, as a server or editor pays it: (best wall, median
    wall, median CPU of this process; git's own CPU runs beside it)."""
    env = {**os.environ, "PYTHONPATH": str(impl if impl is not None else HERE), "PROMPTLINT_CACHE_DIR": cache}
    out = subprocess.run([sys.executable, "-c", _RESCAN, str(repo), str(n)], capture_output=True, text=True, env=env, check=True).stdout
    best, median, cpu = (float(x) for x in out.split())
    return best, median, cpu


def one_file_target(repo: Path, files: list[str]) -> Path:
    """A mid-sized parsed source file outside tests: the kind of file a developer edits."""
    candidates = sorted((p for p in files if "test" not in p), key=lambda p: (repo / p).stat().st_size)
    return repo / candidates[len(candidates) // 2]


def cold_run(impl: Path | None, repo: Path) -> tuple[tuple[float, float, float, dict], str]:
    """One cold `promptlint index` (an empty cache of its own): (its timing, the cache folder)."""
    cmd, env = index_cmd(impl, repo, "--format", "json")
    cache = tempfile.mkdtemp(prefix="pl-bench-cache-")
    env["PROMPTLINT_CACHE_DIR"] = cache
    return timed_json(cmd, env), cache


def defers_parse(impl: Path | None) -> bool:
    """Whether this checkout's `index` takes --defer-parse (the cold build a first `check` makes)."""
    return "--defer-parse" in ((impl if impl is not None else HERE) / "promptlint" / "cli.py").read_text()


def deferred_cold_run(impl: Path | None, repo: Path) -> tuple[tuple[float, float, float, dict], tuple[float, float, float, dict]]:
    """A cold build as a first `check` makes it (`index --defer-parse`, empty cache: the state
    that answers the first prompt), then the run that completes it (`index`, the parse the
    detached process does): both timings."""
    cmd, env = index_cmd(impl, repo, "--format", "json", "--defer-parse")
    cache = tempfile.mkdtemp(prefix="pl-bench-cache-")
    env["PROMPTLINT_CACHE_DIR"] = cache
    try:
        first = timed_json(cmd, env)
        complete_cmd, _ = index_cmd(impl, repo, "--format", "json")
        rest = timed_json(complete_cmd, env)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return first, rest


def bench_impl(label: str, impl: Path | None, repo: Path, other: Path | None, parsed: list[str], repeat: int,
               cold: list[tuple[float, float, float, dict]], cache: str) -> list[tuple]:
    """Rows of (what, detail, wall, peak MB, CPU s) for one implementation on one repository, given
    its cold runs (measured alternately with the other implementations and ctags, see main) and the
    cache the last of them filled."""
    rows = []
    name = repo.name
    cmd, env = index_cmd(impl, repo, "--format", "json")
    env["PROMPTLINT_CACHE_DIR"] = cache
    stats = cold[-1][3]
    detail = f"{stats['files']} files, {stats['parsed_files']} parsed"
    rows.append((f"{name}: {label} cold", detail, *_summary(cold)))
    warm = [timed_json(cmd, env) for _ in range(repeat)]
    rows.append((f"{name}: {label} no change", f"parsed now {sorted({w[3]['parsed_now'] for w in warm})}, parent "
                 f"{max(w[3].get('peak_rss_mb', 0) for w in warm):.0f} MB", *_summary(warm)))
    best, median, cpu = in_process_rescan(impl, repo, cache, max(5, 3 * repeat))
    rows.append((f"{name}: {label} no change, in-process rescan", f"median {median:.3f}s, best (wall)", best, 0.0, cpu))
    target = one_file_target(repo, parsed)
    original = target.read_bytes()
    comment = "#" if target.suffix == ".py" else "//"
    one = []
    try:
        for i in range(repeat):
            target.write_bytes(original + f"\n{comment} bench edit {i} {time.time_ns()}\n".encode())
            one.append(timed_json(cmd, env))
    finally:
        target.write_bytes(original)
    rows.append((f"{name}: {label} one-file change", f"parsed now {sorted({o[3]['parsed_now'] for o in one})}", *_summary(one)))
    if other is not None:
        ocmd, oenv = index_cmd(impl, other, "--format", "json")
        oenv["PROMPTLINT_CACHE_DIR"] = cache
        got = timed_json(ocmd, oenv)
        rows.append((f"{name}: {label} other commit, same cache", f"parsed {got[3]['parsed_now']} of {got[3]['parsed_files']}", *_summary([got])))
    shutil.rmtree(cache, ignore_errors=True)
    return rows


def _summary(runs: list[tuple[float, float, float, dict]]) -> tuple[float, float, float]:
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs), statistics.median(r[2] for r in runs)


# One process, CPU time (less disturbed by neighbours than wall time), over the files the index
# parses: read, tree-sitter parse, query captures and extract() as a whole, file by file, and for
# the phases of extract() that are Python (vocabulary, message literals, the line patterns of test
# suites) the same functions timed on their own. Run with the implementation under PYTHONPATH, so
# two checkouts can be profiled alternately; prints a JSON object of seconds.
_PROFILE = r"""
import dataclasses, json, sys, time
from pathlib import Path
from tree_sitter import QueryCursor
from promptlint.repo import extract as X
from promptlint.repo.languages import language_of, toolkit
repo = Path(sys.argv[1]); parsed = Path(sys.argv[2]).read_text().split("\n")
clock = time.process_time
# An index that no longer extracts message literals (they are read on a prompt's first need) has
# no message phase: timing X._messages anyway would count work extract() does not do.
with_messages = "messages" in {f.name for f in dataclasses.fields(X.FileSymbols)}
t = dict.fromkeys(("read", "parse", "query", "extract", "vocabulary", "messages", "lexical", "lines", "lexical_vocabulary", "lexical_messages"), 0.0)
n = {"parsed_files": 0, "lexical_files": 0, "parsed_bytes": 0, "lexical_bytes": 0}
for p in parsed:
    lang = language_of(p)
    kit = toolkit(lang)
    a = clock(); data = (repo / p).read_bytes(); b = clock(); t["read"] += b - a
    lexical = X.is_lexical_path(p)
    if lexical:
        X.extract_lexical(data, lang); c = clock(); t["lexical"] += c - b
        if lang == "python":
            X._python_lines(data)
        d = clock(); t["lines"] += d - c
        n["lexical_files"] += 1; n["lexical_bytes"] += len(data)
    else:
        tree = kit.parser.parse(data); c = clock()
        QueryCursor(kit.query).captures(tree.root_node); d = clock()
        X.extract(data, lang); e = clock()
        t["parse"] += c - b; t["query"] += d - c; t["extract"] += e - d
        n["parsed_files"] += 1; n["parsed_bytes"] += len(data)
    if X.generated_reason(data) != "minified":
        e = clock(); X._vocabulary(data); f = clock()
        if with_messages:
            X._messages(data.decode("utf-8", "replace"))
        g = clock()
        t["lexical_vocabulary" if lexical else "vocabulary"] += f - e
        t["lexical_messages" if lexical else "messages"] += g - f
print(json.dumps({**t, **n, "with_messages": with_messages}))
"""


def profile_once(impl: Path | None, repo: Path, list_file: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(impl if impl is not None else HERE)}
    # From a neutral folder: `python -c` puts the current one first on sys.path, ahead of PYTHONPATH.
    out = subprocess.run([sys.executable, "-c", _PROFILE, str(repo), list_file], capture_output=True, text=True, env=env, check=True,
                         cwd=tempfile.gettempdir()).stdout
    return json.loads(out)


def profile(repo: Path, parsed: list[str], impls: list[tuple[str, Path | None]], rounds: int = 2) -> list[str]:
    """The extraction's phases per implementation, the implementations alternating, median of rounds."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write("\n".join(parsed))
    try:
        runs: dict[str, list[dict[str, float]]] = {label: [] for label, _ in impls}
        for _ in range(rounds):
            for label, impl in impls:
                runs[label].append(profile_once(impl, repo, fh.name))
    finally:
        os.unlink(fh.name)
    lines = []
    for label, got in runs.items():
        m = {k: statistics.median(r[k] for r in got) for k in got[0]}
        mb, lmb = m["parsed_bytes"] / 1e6, m["lexical_bytes"] / 1e6
        python = max(0.0, m["extract"] - m["parse"] - m["query"] - m["vocabulary"] - m["messages"])
        lexical_rest = max(0.0, m["lexical"] - m["lines"] - m["lexical_vocabulary"] - m["lexical_messages"])
        lines.append(
            f"{repo.name}: {label} profile, one process, CPU seconds (median of {rounds}, alternating): read {m['read']:.2f} ({len(parsed)} files); "
            f"{m['parsed_files']:.0f} files parsed ({mb:.1f} MB): tree-sitter parse {m['parse']:.2f} ({mb / max(m['parse'], 1e-9):.1f} MB/s), "
            f"query captures {m['query']:.2f}, vocabulary {m['vocabulary']:.2f}, messages {m['messages']:.2f}{'' if m['with_messages'] else ' (not at index time)'}, "
            f"the rest of extract()'s Python {python:.2f}, "
            f"extract() in all {m['extract']:.2f}; {m['lexical_files']:.0f} test-suite files read lexically ({lmb:.1f} MB) {m['lexical']:.2f}: "
            f"line patterns {m['lines']:.2f}, vocabulary {m['lexical_vocabulary']:.2f}, messages {m['lexical_messages']:.2f}, the rest {lexical_rest:.2f}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("repos", nargs="+", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "pl-bench-index")
    parser.add_argument("--compare-with", type=Path, help="another promptlint checkout to run in the same session (e.g. main)")
    parser.add_argument("--other-commit", default="HEAD~50", help="a second checkout at this commit shares the cache ('' to skip)")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    args.repos = [r.resolve() for r in args.repos]
    args.work = args.work.resolve()
    if args.compare_with:
        args.compare_with = args.compare_with.resolve()
    os.chdir(args.work)
    impls: list[tuple[str, Path | None]] = [("promptlint", None)]
    if args.compare_with:
        impls.append((f"[{args.compare_with.name}]", args.compare_with))
    # Every implementation runs from bytecode, as an installed package does, compiled into a folder
    # of the bench's own: with PYTHONDONTWRITEBYTECODE set (some shells and CI set it) a checkout
    # without __pycache__ would recompile its sources in every process (40-100 ms here) while one
    # that has it would not, and the comparison would measure that.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(args.work / "pycache")
    for _, impl in impls:
        subprocess.run([sys.executable, "-m", "compileall", "-q", str((impl if impl is not None else HERE) / "promptlint")], check=True)
    ctags = shutil.which("ctags") or shutil.which("universal-ctags")
    load_at_start = os.getloadavg()[0]
    rows: list[tuple] = [("python -c pass", "", *run_process([sys.executable, "-c", "pass"], args.repeat))]
    notes: list[str] = []
    from promptlint.repo.files import list_files

    for src in args.repos:
        repo = working_copy(src, args.work)
        other = working_copy(src, args.work, args.other_commit, "-other") if args.other_commit else None
        parsed = [f.path for f in list_files(repo).files if f.lang]
        ctags_cmd = None
        list_file = None
        if ctags:
            with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
                fh.write("\n".join(parsed))
            list_file = fh.name
            ctags_cmd = ["sh", "-c", f"cd {repo} && {ctags} -f /dev/null -L {list_file}"]
        # Cold builds are the figure compared with ctags: ctags and every implementation take turns,
        # round by round, so a neighbour's burst of load falls on all of them alike.
        ctags_runs: list[tuple[float, float, float, str]] = []
        colds: dict[str, list[tuple[float, float, float, dict]]] = {label: [] for label, _ in impls}
        # The deferred cold build (first answer) and its completion, for the checkouts that have it.
        firsts: dict[str, list[tuple[tuple, tuple]]] = {label: [] for label, impl in impls if defers_parse(impl)}
        caches: dict[str, str] = {}
        try:
            for _ in range(args.repeat):
                if ctags_cmd:
                    ctags_runs.append(probe(ctags_cmd))
                for label, impl in impls:
                    got_cold, cache = cold_run(impl, repo)
                    colds[label].append(got_cold)
                    if label in caches:
                        shutil.rmtree(caches[label], ignore_errors=True)
                    caches[label] = cache
                    if label in firsts:
                        firsts[label].append(deferred_cold_run(impl, repo))
        finally:
            if list_file:
                os.unlink(list_file)
        ctags_row = None
        if ctags_runs:
            ctags_row = (statistics.median(r[0] for r in ctags_runs), max(r[1] for r in ctags_runs), statistics.median(r[2] for r in ctags_runs))
            rows.append((f"{repo.name}: ctags on the same {len(parsed)} files", "", *ctags_row))
        for label, impl in impls:
            got = bench_impl(label, impl, repo, other, parsed, args.repeat, colds[label], caches[label])
            rows.extend(got)
            if ctags_row:
                rows.append((f"{repo.name}: {label} cold / ctags", "wall and CPU ratios", got[0][2] / ctags_row[0], None, got[0][4] / ctags_row[2]))
            if firsts.get(label):
                first = [f for f, _ in firsts[label]]
                rest = [r for _, r in firsts[label]]
                both = [(f[0] + r[0], max(f[1], r[1]), f[2] + r[2], r[3]) for f, r in firsts[label]]
                rows.append((f"{repo.name}: {label} cold, first answer (deferred parse)", f"{first[-1][3].get('deferred', 0)} files deferred", *_summary(first)))
                rows.append((f"{repo.name}: {label} its completion (next `index`)", f"parsed now {sorted({r[3]['parsed_now'] for r in rest})}", *_summary(rest)))
                rows.append((f"{repo.name}: {label} first answer + completion", "per round", *_summary(both)))
                if ctags_row:
                    f_sum, b_sum = _summary(first), _summary(both)
                    rows.append((f"{repo.name}: {label} first answer / ctags", "wall and CPU ratios", f_sum[0] / ctags_row[0], None, f_sum[2] / ctags_row[2]))
                    rows.append((f"{repo.name}: {label} complete index / ctags", "wall and CPU ratios", b_sum[0] / ctags_row[0], None, b_sum[2] / ctags_row[2]))
        if len(impls) > 1:
            base = _summary(colds[impls[1][0]])
            mine = _summary(colds[impls[0][0]])
            rows.append((f"{repo.name}: promptlint cold / {impls[1][0]} cold", "wall and CPU ratios", mine[0] / base[0], None, mine[2] / base[2]))
        if args.profile:
            notes.extend(profile(repo, parsed, impls))
    print(f"{'what':<58} {'':<30} {'wall':>9} {'peak RSS':>9} {'CPU':>8}")
    for what, detail, seconds, peak, cpu in rows:
        cpu_s = "" if cpu is None else f"{cpu:>7.2f}s"
        if peak is None:
            print(f"{what:<58} {detail:<30} {seconds:>8.2f}x {'':>9} {cpu:>7.2f}x")
        elif peak == 0.0:
            print(f"{what:<58} {detail:<30} {seconds:>8.3f}s {'':>9} {cpu_s:>8}")
        else:
            print(f"{what:<58} {detail:<30} {seconds:>8.3f}s {peak:>7.0f}MB {cpu_s:>8}")
    print(f"load average at the start {load_at_start:.1f}, at the end {os.getloadavg()[0]:.1f}, on {os.cpu_count()} CPUs")
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
