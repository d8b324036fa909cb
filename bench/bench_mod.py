"""The mod's prompt.edit handler in the real Claude Code TUI (tmux), next to a mod that does nothing:

    python bench/bench_mod.py [--claude PATH] [--keys 60]

Claude Code's debug log times every hook dispatch ("prompt.edit settled in X ms (worker hop,
next() included)"): the engine's own edit and the hop to the mod's worker are in both figures, so
the difference between promptlint-mod and the no-op mod is what promptlint's handler costs. Keys
are typed one at a time, 120 ms apart (a fast typist), over a draft the server has already linted
(the handler paints from its cache) and one it has not (it paints nothing new and never waits).
Budget: 50 ms per edit for the whole chain; goal for promptlint's own part: <= 5 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.claude_cli import EXE, claude_binary, claude_env, make_home, make_project  # noqa: E402
from tests.fake_anthropic import FakeMessagesAPI  # noqa: E402

NOOP = """import type { Register } from 'claude-code'

export const register: Register = on => {
  on('prompt.edit', async ($, e, next) => next(e))
}
"""
TEXT = "Add a database table for customer orders and make the checkout faster"


def noop_mod(folder: Path) -> Path:
    (folder / ".claude-plugin").mkdir(parents=True)
    (folder / "hooks").mkdir()
    (folder / ".claude-plugin" / "plugin.json").write_text(json.dumps({"name": "noop-mod", "version": "0.0.1", "description": "baseline"}))
    (folder / "hooks" / "hooks.json").write_text('{ "modules": ["./register.ts"] }')
    (folder / "hooks" / "register.ts").write_text(NOOP)
    return folder


def settle_times(log: Path, plugin: str) -> list[float]:
    pattern = re.compile(rf"hooks module {re.escape(plugin)}@inline prompt\.edit settled in ([0-9.]+)ms")
    return [float(m.group(1)) for m in pattern.finditer(log.read_text(errors="replace"))]


def session(claude: str, mod: Path, plugin: str, env: dict, project: Path, log: Path, keys: int) -> list[float]:
    sock = f"pl-bench-{os.getpid()}-{plugin}"
    line = subprocess.list2cmdline([claude, "--plugin-dir", str(mod), "--debug-file", str(log)])
    subprocess.run(["tmux", "-L", sock, "new-session", "-d", "-s", "t", "-x", "150", "-y", "45", "-c", str(project), line], env=env, check=True)
    try:
        for _ in range(300):
            if log.exists() and f"{plugin}@inline loaded" in log.read_text(errors="replace"):
                break
            time.sleep(0.1)
        time.sleep(2)
        for round_ in range(2):  # the second round types over a draft the server has linted
            for ch in TEXT[:keys]:
                subprocess.run(["tmux", "-L", sock, "send-keys", "-t", "t", "-l", ch], check=True)
                time.sleep(0.12)
            time.sleep(1.5)
            if round_ == 0:
                for _ in TEXT[:keys]:
                    subprocess.run(["tmux", "-L", sock, "send-keys", "-t", "t", "BSpace"], check=True)
                    time.sleep(0.05)
                time.sleep(1)
    finally:
        subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True)
    return settle_times(log, plugin)


def row(name: str, xs: list[float]) -> str:
    xs = sorted(xs)
    p99 = xs[min(len(xs) - 1, round(0.99 * (len(xs) - 1)))]
    return f"  {name:<28} n={len(xs):3d}  p50 {statistics.median(xs):6.2f} ms   p90 {xs[round(0.9 * (len(xs) - 1))]:6.2f} ms   p99 {p99:6.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claude", default=claude_binary())
    parser.add_argument("--keys", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3, help="sessions of each, alternated (the machine's load drifts)")
    args = parser.parse_args()
    if not args.claude or not shutil.which("tmux"):
        sys.exit("needs the Claude Code CLI (--claude or PROMPTLINT_CLAUDE) and tmux")
    tmp = Path(tempfile.mkdtemp(prefix="pl-bench-mod-"))
    project = make_project(tmp)
    home = make_home(tmp, [project])
    with FakeMessagesAPI() as api:
        env = claude_env(home, api.url, tmp / "rt", tmp / "state", {"PROMPTLINT_CACHE_DIR": str(tmp / "cache"), "TERM": "xterm-256color"})
        env["PATH"] = f"{os.path.dirname(EXE)}:{env['PATH']}"
        subprocess.run([EXE, "hook", "mod-endpoint"], env=env, capture_output=True, timeout=60)  # a warm server
        noop = noop_mod(tmp / "noop")
        base: list[float] = []
        mine: list[float] = []
        for r in range(args.rounds):
            base += session(args.claude, noop, "noop-mod", env, project, tmp / f"noop-{r}.log", args.keys)
            mine += session(args.claude, ROOT / "mod", "promptlint-mod", env, project, tmp / f"mod-{r}.log", args.keys)
        subprocess.run([EXE, "server", "--stop"], env=env, capture_output=True)
    version = subprocess.run([args.claude, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"Claude Code {version}; prompt.edit dispatch time from its debug log; {args.rounds} sessions of each, alternated, {args.keys} keys typed twice in each")
    print(row("no-op mod (baseline)", base))
    print(row("promptlint-mod", mine))
    print(f"  promptlint's own part (p50 difference): {statistics.median(mine) - statistics.median(base):+.2f} ms (goal <= 5 ms)")


if __name__ == "__main__":
    main()
