"""Running the real Claude Code CLI in tests: a private HOME that has finished onboarding, a
stand-in Messages API on 127.0.0.1, no other network, and the project's own promptlint.

The binary comes from `PROMPTLINT_CLAUDE` or PATH. CI installs a pinned one and sets
`PROMPTLINT_REQUIRE_CLAUDE=1`, so a missing binary fails there; elsewhere those tests skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import REPOS

PINNED = "2.1.332"
EXE = str(Path(sys.executable).with_name("promptlint"))
API_KEY = "sk-ant-test-0000000000000000000000000000"


def claude_binary() -> str | None:
    found = os.environ.get("PROMPTLINT_CLAUDE") or shutil.which("claude")
    return found if found and os.access(found, os.X_OK) else None


def require_claude() -> str:
    found = claude_binary()
    if found is None:
        if os.environ.get("PROMPTLINT_REQUIRE_CLAUDE") == "1":
            pytest.fail("the Claude Code CLI is required here (PROMPTLINT_REQUIRE_CLAUDE=1) but neither PROMPTLINT_CLAUDE nor PATH has it")
        pytest.skip("no Claude Code CLI (set PROMPTLINT_CLAUDE, or npm install @anthropic-ai/claude-code)")
    return found


def make_project(root: Path, name: str = "proj") -> Path:
    project = root / name
    shutil.copytree(REPOS / "ts-api", project)
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    subprocess.run(["git", "commit", "-qm", "init"], cwd=project, check=True, env=env)
    return project


def make_home(root: Path, projects: list[Path]) -> Path:
    """A HOME where Claude Code has been set up: onboarding done, the test API key approved,
    the projects trusted (otherwise the TUI stops at dialogs and project hooks do not run)."""
    home = root / "home"
    (home / ".claude").mkdir(parents=True, exist_ok=True)
    state = {
        "hasCompletedOnboarding": True,
        "theme": "dark",
        "customApiKeyResponses": {"approved": [API_KEY[-20:]], "rejected": []},
        "projects": {str(p): {"hasTrustDialogAccepted": True, "hasCompletedProjectOnboarding": True} for p in projects},
    }
    (home / ".claude.json").write_text(json.dumps(state))
    return home


def claude_env(home: Path, api_url: str, runtime: Path, state: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    keep = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL", "TERM", "PROMPTLINT_CACHE_DIR", "TMPDIR") if k in os.environ}
    return {
        **keep,
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": api_url,
        "ANTHROPIC_API_KEY": API_KEY,
        # nothing but the stand-in: no telemetry, updates, error reports or marketplace fetches
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY": "1",
        "PROMPTLINT_RUNTIME_DIR": str(runtime),
        "PROMPTLINT_STATE_DIR": str(state),
        **(extra or {}),
    }


def run_claude(claude: str, prompt: str, cwd: Path, env: dict[str, str], *args: str, timeout: float = 120) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    proc = subprocess.run([claude, "-p", prompt, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return proc, time.monotonic() - started


def stream_events(stdout: str) -> list[dict[str, Any]]:
    events = []
    for line in stdout.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return events


def all_texts(request: dict[str, Any]) -> str:
    """Every text the model request carries, whatever the role (hook context arrives as a
    `<system-reminder>`, in a user or system-role message depending on the build)."""
    out: list[str] = []
    for msg in request.get("messages", []):
        content = msg.get("content")
        if isinstance(content, str):
            out.append(content)
        elif isinstance(content, list):
            out.extend(b.get("text", "") for b in content if isinstance(b, dict))
    return "\n".join(out)


def start_server(env: dict[str, str], runtime: Path, warm: Path | None = None) -> subprocess.Popen:
    proc = subprocess.Popen([EXE, "server", "--idle-timeout", "300"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        if (runtime / "server.sock").exists():
            break
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("promptlint server did not start")
    if warm is not None:  # index the project once, so the timed-out first call does not decide a test
        payload = json.dumps({"prompt": "Add a database table for customer orders", "cwd": str(warm)}).encode()
        for _ in range(100):
            out = subprocess.run([EXE, "hook", "claude-code", "--deadline", "30"], input=payload, env=env, capture_output=True, timeout=60).stdout
            if b"additionalContext" in out:
                break
            time.sleep(0.2)
    return proc


def stop_server(env: dict[str, str], proc: subprocess.Popen | None) -> None:
    subprocess.run([EXE, "server", "--stop"], env=env, capture_output=True, timeout=30)
    if proc is not None:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
