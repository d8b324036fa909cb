"""The mod (mod/) under the real Claude Code: its own tests under `claude plugin test` (the engine's
`$`, the kit's mocks), and the interactive TUI under tmux, typing a vague prompt and reading the
screen: underlines, the band with Apply rewrite, the rewrite only on a press, the facts on submit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid

import pytest

from .claude_cli import EXE, all_texts, claude_env, make_home, make_project, require_claude, stop_server
from .conftest import ROOT
from .fake_anthropic import FakeMessagesAPI

VAGUE = "Add a database table for customer orders"
# Two warnings (no file named; an error announced and not pasted), so the band counts the rest; the
# table's missing fields are an info finding that still shapes the rewrite.
VAGUE_TWO_WARNINGS = "Add a database table for customer orders. Here is the error I get:"


@pytest.fixture(scope="module")
def claude():
    return require_claude()


def test_the_mods_own_tests_pass_under_the_engine(claude, tmp_path):
    env = claude_env(make_home(tmp_path, []), "http://127.0.0.1:9", tmp_path / "rt", tmp_path / "state")
    proc = subprocess.run([claude, "plugin", "test", str(ROOT / "mod")], env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert " 0 fail" in out and "(fail)" not in out


class Screen:
    """A tmux server of our own (its own socket), one window running the command."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: str, columns: int = 150, rows: int = 45):
        if shutil.which("tmux") is None:
            if os.environ.get("PROMPTLINT_REQUIRE_CLAUDE") == "1":
                pytest.fail("tmux is required for the TUI tests")
            pytest.skip("no tmux")
        self.socket = f"promptlint-test-{uuid.uuid4().hex[:8]}"
        line = " ".join(subprocess.list2cmdline([c]) for c in command)
        subprocess.run(["tmux", "-L", self.socket, "new-session", "-d", "-s", "t", "-x", str(columns), "-y", str(rows), "-c", cwd, line],
                       env=env, check=True, timeout=30)

    def text(self, escapes: bool = False) -> str:
        args = ["tmux", "-L", self.socket, "capture-pane", "-p", "-t", "t"] + (["-e"] if escapes else [])
        return subprocess.run(args, capture_output=True, text=True, timeout=30).stdout

    def keys(self, *keys: str, literal: bool = False) -> None:
        subprocess.run(["tmux", "-L", self.socket, "send-keys", "-t", "t", *(["-l"] if literal else []), *keys], check=True, timeout=30)

    def wait_for(self, needle: str, seconds: float = 30.0, escapes: bool = False) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            screen = self.text(escapes)
            if needle in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{needle!r} never appeared; the screen:\n{self.text()}")

    def prompt_box(self) -> str:
        """The first line of the prompt box (the terminal draws a no-break space after the ❯)."""
        for line in self.text().splitlines():
            if line.startswith("❯"):
                return line[1:].replace("\u00a0", " ").strip()
        return ""

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=30)


def wait_for_log(path, needle: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and needle in path.read_text(errors="replace"):
            return
        time.sleep(0.2)
    raise AssertionError(f"{needle!r} never reached {path}")


@pytest.fixture
def tui(tmp_path, claude):
    project = make_project(tmp_path)
    home = make_home(tmp_path, [project])
    with FakeMessagesAPI() as api:
        env = claude_env(home, api.url, tmp_path / "rt", tmp_path / "state")
        env["PATH"] = f"{os.path.dirname(EXE)}:{env['PATH']}"  # the engine, as pipx puts it on PATH
        env.setdefault("TERM", "xterm-256color")
        # the server the mod will find, warm, with this project indexed
        said = json.loads(subprocess.run([EXE, "hook", "mod-endpoint"], env=env, capture_output=True, text=True, timeout=60).stdout)
        assert "url" in said, said
        payload = json.dumps({"prompt": VAGUE, "cwd": str(project)}).encode()
        for _ in range(100):
            if b"additionalContext" in subprocess.run([EXE, "hook", "claude-code", "--deadline", "30"], input=payload, env=env, capture_output=True, timeout=60).stdout:
                break
        debug = tmp_path / "claude-debug.log"
        screen = Screen([claude, "--plugin-dir", str(ROOT / "mod"), "--debug-file", str(debug)], env, str(project))
        try:
            screen.wait_for("❯", 60)
            wait_for_log(debug, "promptlint-mod@inline session.start settled", 60)
            yield {"screen": screen, "api": api, "env": env, "project": project, "debug": debug}
        finally:
            screen.close()
            stop_server(env, None)


def test_typing_a_vague_prompt_underlines_it_and_offers_the_rewrite(tui):
    screen, api = tui["screen"], tui["api"]
    screen.keys(VAGUE_TWO_WARNINGS, literal=True)
    shown = screen.wait_for("Apply rewrite", 30)
    assert "promptlint REF001" in shown and "more)" in shown, shown
    painted = screen.wait_for("\x1b[4m", 10, escapes=True)  # an underline in the prompt box
    assert "\x1b[4mAdd" in painted  # REF001's span: the verb of the task that names no file
    assert screen.prompt_box() == VAGUE_TWO_WARNINGS  # nothing replaced the draft by itself
    assert not any(VAGUE_TWO_WARNINGS in all_texts(r) for r in api.requests)  # and nothing was sent
    # the person presses Apply rewrite (ctrl+x tab focuses the band, Enter presses its button)
    screen.keys("C-x", "Tab")
    time.sleep(0.5)
    screen.keys("Enter")
    replaced = screen.wait_for("To fill in before sending", 15)
    assert "Fields: <name, type and key" in replaced and "npm test" in replaced  # this repository's facts
    assert not any(VAGUE_TWO_WARNINGS in all_texts(r) for r in api.requests)  # filled, not sent


def test_submitting_adds_the_facts_for_the_model(tui):
    screen, api = tui["screen"], tui["api"]
    screen.keys(VAGUE, literal=True)
    screen.wait_for("Apply rewrite", 30)
    screen.keys("Enter")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(VAGUE in all_texts(r) for r in api.requests):
        time.sleep(0.2)
    (text,) = [all_texts(r) for r in api.requests if VAGUE in all_texts(r)]
    assert "promptlint (a prompt linter) compared this request with the repository" in text
    assert "src/db/schema.ts" in text
    assert VAGUE in text  # the prompt itself is unchanged


def test_the_mod_fails_open_without_the_engine(tmp_path, claude):
    project = make_project(tmp_path)
    home = make_home(tmp_path, [project])
    with FakeMessagesAPI() as api:
        env = claude_env(home, api.url, tmp_path / "rt", tmp_path / "state")
        env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p != os.path.dirname(EXE))
        if shutil.which("promptlint", path=env["PATH"]):
            pytest.skip("a promptlint launcher is on the system PATH")
        screen = Screen([claude, "--plugin-dir", str(ROOT / "mod")], env, str(project))
        try:
            screen.wait_for("❯", 60)
            screen.keys(VAGUE, literal=True)
            time.sleep(2)
            assert "Apply rewrite" not in screen.text()
            screen.keys("Enter")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not any(VAGUE in all_texts(r) for r in api.requests):
                time.sleep(0.2)
            (text,) = [all_texts(r) for r in api.requests if VAGUE in all_texts(r)]
            assert "promptlint (a prompt linter)" not in text
        finally:
            screen.close()
