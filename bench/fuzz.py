"""A bounded, fixed-seed fuzz run of every untrusted input (issue 9): hook payloads against the real
hook and server, 50 concurrent hook clients, config files, prompt files; and the language server's
frames through bench/fuzz_lsp.py when it is there. Run by hand, never in CI:

    python bench/fuzz.py --n 200 --seed 1

Prints, per input kind: cases, tracebacks, hangs, crashes (a non-zero exit where 0 is promised, or
an exception other than a clear error), and for the hook the share of exits within the deadline +
100 ms, measured from the moment the process was spawned (the deadline counts from process start).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
EXE = str(Path(sys.executable).with_name("promptlint"))
REPO = ROOT / "fixtures" / "repos" / "ts-api"
DEADLINE = 1.0
SLACK = 0.1


def _words(rng: random.Random, n: int) -> str:
    vocab = ["fix", "it", "the", "login", "bug", "add", "a", "table", "make", "faster", "etc.", "src/app.ts", "`getUser`",
             "all", "files", "refactor", "everything", "?", "\n", "\n\n", "1.", "-", "```", "Traceback", "ok", "now", "please"]
    return " ".join(rng.choice(vocab) for _ in range(n))


def _odd_text(rng: random.Random, n: int) -> str:
    pools = [string.printable, "\x00\x1b\x07\x08\x7f\x85\u2028\u202e\u200b\ufeff\ud800\udfff", "éß漢字🎉ـ", "{}[]\":,\\"]
    return "".join(rng.choice(rng.choice(pools)) for _ in range(n))


def hook_payloads(rng: random.Random, n: int, scratch: Path) -> list[bytes]:
    fifo = scratch / "fifo"
    os.mkfifo(fifo)
    big = scratch / "big.jsonl"
    big.write_bytes(b'{"type":"assistant","message":{"model":"claude-sonnet-4-5"}}\n' * 40_000)
    transcripts = ["", str(fifo), "/dev/zero", str(scratch), "/nonexistent", str(big), 42, None, ["x"], "\x00"]
    cwds = [str(REPO), str(REPO), str(scratch / "missing"), str(big), "/", 7, None, "\x00", str(REPO) + "/../ts-api"]
    out: list[bytes] = []
    for i in range(n):
        kind = i % 5
        if kind == 0:
            out.append(rng.randbytes(rng.randint(0, 400)))
            continue
        prompt: object
        if kind == 1:
            prompt = _words(rng, rng.randint(1, 60))
        elif kind == 2:
            prompt = _odd_text(rng, rng.randint(0, 300))
        elif kind == 3:
            prompt = rng.choice([None, 3, [], {"a": 1}, "", " ", "/help", "# note", "nolint: fix it", "x" * rng.randint(40_000, 120_000)])
        else:
            prompt = _words(rng, 20) + _odd_text(rng, 20)
        data = {"session_id": _odd_text(rng, 8), "hook_event_name": "UserPromptSubmit", "prompt": prompt,
                "cwd": rng.choice(cwds), "transcript_path": rng.choice(transcripts), "permission_mode": rng.choice(["default", 1, None])}
        for key in rng.sample(list(data), rng.randint(0, 2)):
            del data[key]
        text = json.dumps(data)
        if rng.random() < 0.1:
            text = text[: rng.randint(0, len(text))]  # cut short
        out.append(text.encode("utf-8", "surrogatepass"))
    return out


def _started_at(pid: int) -> float | None:
    """When process ``pid`` started, on our monotonic clock (the hook's deadline counts from there)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - int(fields[19]) / os.sysconf("SC_CLK_TCK")
        return time.monotonic() - age
    except (OSError, ValueError, IndexError):
        return None


def run_hook(raw: bytes, results: list, timeout: float = DEADLINE + 10) -> None:
    """(seconds from spawn, seconds from process start, exit code, traceback?, hang?)"""
    spawned = time.monotonic()
    proc = subprocess.Popen([EXE, "hook", "claude-code", "--deadline", str(DEADLINE)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    started = _started_at(proc.pid) or spawned
    try:
        _out, err = proc.communicate(raw, timeout=timeout)
        ended = time.monotonic()
        results.append((ended - spawned, ended - started, proc.returncode, b"Traceback" in err, False))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        results.append((timeout, timeout, None, False, True))


def _timed(cmd: list[str]) -> float:
    spawned = time.monotonic()
    proc = subprocess.Popen(cmd)
    started = _started_at(proc.pid) or spawned
    proc.wait()
    return time.monotonic() - started


def summarize(name: str, results: list) -> None:
    from_spawn = [r[0] for r in results]
    from_start = [r[1] for r in results]
    within = sum(1 for r in results if not r[4] and r[1] <= DEADLINE + SLACK)
    print(f"{name:<28} {len(results):>6} {sum(r[3] for r in results):>10} {sum(r[4] for r in results):>6} "
          f"{sum(1 for r in results if r[2] not in (0, None)):>7} {within / len(results):>9.1%} "
          f"{statistics.median(from_start) * 1000:>8.0f} {max(from_start) * 1000:>8.0f} {max(from_spawn) * 1000:>9.0f}")


def fuzz_hook(rng: random.Random, n: int, clients: int, rounds: int) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="promptlint-fuzz-"))
    os.environ["PROMPTLINT_RUNTIME_DIR"] = str(scratch / "rt")
    server = subprocess.Popen([EXE, "server", "--idle-timeout", "600"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            if subprocess.run([EXE, "server", "--status"], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        # warm the repository's index so the concurrency figure is about the hook, not a cold index
        run_hook(json.dumps({"prompt": "Add a table", "cwd": str(REPO)}).encode(), [], timeout=60)
        print("hook exits, timed from each process's start (the clock its deadline uses); the last column from spawn")
        print(f"{'input':<28} {'cases':>6} {'tracebacks':>10} {'hangs':>6} {'crashes':>7} {'<=dl+100ms':>9} {'p50 ms':>8} {'max ms':>8} {'spawn max':>9}")
        python: list = []
        threads = [threading.Thread(target=lambda: python.append(_timed([sys.executable, "-c", "pass"]))) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        results: list = []
        for raw in hook_payloads(rng, n, scratch):
            run_hook(raw, results)
        summarize("hook payloads (1 at a time)", results)
        results = []
        for r in range(rounds):
            threads = [threading.Thread(target=run_hook, args=(json.dumps({"prompt": _words(rng, 30), "cwd": str(REPO)}).encode(), results)) for _ in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        summarize(f"{clients} concurrent clients x{rounds}", results)
        print(f"{f'({clients} x python -c pass)':<28} {'':>6} {'':>10} {'':>6} {'':>7} {'':>9} {statistics.median(python) * 1000:>8.0f} {max(python) * 1000:>8.0f}")
    finally:
        subprocess.run([EXE, "server", "--stop"], capture_output=True)
        server.wait(timeout=30)
        shutil.rmtree(scratch, ignore_errors=True)


def config_texts(rng: random.Random, n: int) -> list[bytes]:
    keys = ["select", "extend-select", "ignore", "fail-on", "preview", "nlp-pipeline", "max-size", "index-max-file-size", "rules-dir", "bogus"]
    tables = {"severity": ["VAG001", "CON", "x"], "advice": ["sonnet-at", "opus-at", "prices"], "llm": ["enabled", "base-url", "context", "timeout", "model", "max-tokens"],
              "hook": ["mode", "idle-timeout", "opt-out-prefix"]}
    values = ['"VAG"', '["VAG", "CON004"]', "[]", '""', "true", "1", "-1", "1e999", "nan", "inf", '"2MB"', '"99999GB"', '"error"', '"../.."', '"/etc"',
              '"./model"', '"http://127.0.0.1:9"', '"files"', "[[1]]", "{a = 1}", '"\\u0000"', "0.5", '"block"']
    out = []
    for i in range(n):
        if i % 7 == 0:
            out.append(rng.randbytes(rng.randint(0, 200)))
            continue
        if i % 11 == 0:
            out.append(b"a = " + b"[" * rng.randint(100, 3000))
            continue
        lines = [f"{rng.choice(keys)} = {rng.choice(values)}" for _ in range(rng.randint(0, 4))]
        for table in rng.sample(list(tables), rng.randint(0, 2)):
            lines.append(f"[{table}]")
            lines += [f"{rng.choice(tables[table])} = {rng.choice(values)}" for _ in range(rng.randint(1, 3))]
        text = "\n".join(lines)
        if rng.random() < 0.3:
            text = "[tool.promptlint]\n" + text
        out.append(text.encode())
    return out


def fuzz_files(rng: random.Random, n: int) -> None:
    from click.testing import CliRunner

    from promptlint.cli import main

    scratch = Path(tempfile.mkdtemp(prefix="promptlint-fuzz-files-"))
    rows = []
    try:
        for label, items in (("config files", config_texts(rng, n)), ("prompt files", prompt_texts(rng, n))):
            tracebacks = crashes = 0
            times = []
            for i, data in enumerate(items):
                case = scratch / f"{label[:6]}-{i}"
                case.mkdir()
                if label == "config files":
                    (case / rng.choice(["promptlint.toml", ".promptlint.toml", "pyproject.toml"])).write_bytes(data)
                    (case / "p.prompt").write_text("Fix the login bug in src/app.ts\n")
                    target = case / "p.prompt"
                else:
                    name = rng.choice(["p.prompt", "p.prompt.md", ".claude/agents/a.md", ".claude/skills/s/SKILL.md", ".claude/commands/c.md", "CLAUDE.md"])
                    target = case / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
                started = time.monotonic()
                try:
                    result = CliRunner().invoke(main, ["check", "--no-repo", "--format", "json", str(case if "claude" in str(target) else target)], catch_exceptions=True)
                    if result.exception is not None and not isinstance(result.exception, SystemExit):
                        tracebacks += 1
                    elif result.exit_code not in (0, 1, 2) or "internal error" in (result.stderr or ""):
                        crashes += 1
                except Exception:  # noqa: BLE001
                    tracebacks += 1
                times.append(time.monotonic() - started)
            rows.append((label, len(items), tracebacks, crashes, statistics.median(times), max(times)))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"\n{'input':<28} {'cases':>6} {'tracebacks':>10} {'crashes':>7} {'p50 ms':>8} {'max ms':>8}")
    for label, cases, tb, cr, p50, mx in rows:
        print(f"{label:<28} {cases:>6} {tb:>10} {cr:>7} {p50 * 1000:>8.0f} {mx * 1000:>8.0f}")


def prompt_texts(rng: random.Random, n: int) -> list[bytes]:
    fronts = ["name: a\ndescription: 2026-13-45", "name: !!float nanx", "a: " + "[" * 3000, "a: &x [1]\nb: [*x, *x]", "name: x\nmodel: opus\ntools: [1, 2]",
              "description: " + "y" * 2000, ":::", "- a\n- b", "name: " + "\udcff"]
    out = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            text = "---\n" + rng.choice(fronts) + "\n---\n" + _words(rng, rng.randint(0, 40))
        elif kind == 1:
            text = _odd_text(rng, rng.randint(0, 2000))
        elif kind == 2:
            text = _words(rng, rng.randint(1, 3000))
        else:
            text = "<!-- promptlint: disable-file -->" * rng.randint(0, 1) + "```\n" + _odd_text(rng, 200) + "\n" + _words(rng, 50)
        data = text.encode("utf-8", "surrogatepass")
        if rng.random() < 0.1:
            data = rng.choice([b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf", b""]) + data
        out.append(data)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200, help="cases per input kind")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(f"promptlint fuzz: seed {args.seed}, {args.n} cases per kind, hook deadline {DEADLINE} s, {os.cpu_count()} cores\n")
    fuzz_hook(rng, args.n, args.clients, args.rounds)
    fuzz_files(rng, args.n)
    lsp = ROOT / "bench" / "fuzz_lsp.py"
    if lsp.exists():
        print()
        subprocess.run([sys.executable, str(lsp), "--n", str(args.n), "--seed", str(args.seed)], check=False)


if __name__ == "__main__":
    main()
