"""promptlint's hook under the real Claude Code CLI (`claude -p`), against a stand-in Messages API
on 127.0.0.1 that records what reaches the model."""

from __future__ import annotations

import json
import shlex
import socket
import subprocess
import time
from pathlib import Path

import pytest

from .claude_cli import (
    EXE, PINNED, all_texts, claude_env, make_home, make_project, require_claude, run_claude, start_server,
    stop_server, stream_events,
)
from .fake_anthropic import FakeMessagesAPI

VAGUE = "Add a database table for customer orders"
NOTES = "promptlint (a prompt linter) compared this request with the repository"


@pytest.fixture(scope="module")
def claude():
    return require_claude()


@pytest.fixture
def world(tmp_path, claude):
    """A trusted project, a private HOME, the stand-in API and promptlint's dirs."""
    project = make_project(tmp_path)
    home = make_home(tmp_path, [project])
    with FakeMessagesAPI() as api:
        env = claude_env(home, api.url, tmp_path / "rt", tmp_path / "state")
        yield {"project": project, "home": home, "api": api, "env": env, "runtime": tmp_path / "rt", "tmp": tmp_path}
        stop_server(env, None)


@pytest.fixture
def warm(world):
    proc = start_server(world["env"], world["runtime"], warm=world["project"])
    yield proc
    stop_server(world["env"], proc)


def install(world, *args: str, deadline: float | None = 8.0) -> None:
    """Install the hooks; ``deadline`` (seconds, below Claude Code's 10 s hook timeout) replaces the
    hook's 2 s default, so that tests about what the hook says do not fail open on a loaded machine.
    Only the deadline test keeps the default (``deadline=None``)."""
    proc = subprocess.run([EXE, "install", "claude-code", "--scope", "local", "--project", str(world["project"]), *args],
                          env=world["env"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    settings = world["project"] / ".claude" / "settings.local.json"
    if deadline is None or not settings.exists():
        return
    data = json.loads(settings.read_text())
    for group in data.get("hooks", {}).get("UserPromptSubmit", []):
        for hook in group["hooks"]:
            if hook.get("type") == "command" and " hook claude-code" in hook["command"]:
                hook["command"] += f" --deadline {deadline:g}"
    settings.write_text(json.dumps(data))


def prompt_requests(world, prompt: str) -> list[str]:
    """The recorded model requests that carry this prompt (Claude Code may send others, e.g. a title)."""
    return [t for t in (all_texts(r) for r in world["api"].requests) if prompt in t]


def test_the_pinned_cli_is_the_one_under_test(claude):
    out = subprocess.run([claude, "--version"], capture_output=True, text=True, timeout=60)
    assert out.stdout.split()[0] == PINNED


def test_context_reaches_the_model_request(world, warm, claude):
    install(world)
    proc, _ = run_claude(claude, VAGUE, world["project"], world["env"])
    assert proc.returncode == 0, proc.stderr
    (text,) = prompt_requests(world, VAGUE)
    assert NOTES in text and "src/db/schema.ts" in text
    assert "the details of the new table" in text
    assert "Tests use vitest in tests/" in text


def test_block_mode_stops_the_request_and_shows_the_reason_with_the_rewrite(world, warm, claude):
    install(world, "--mode", "block")
    proc, _ = run_claude(claude, VAGUE, world["project"], world["env"])
    assert proc.returncode == 0
    assert world["api"].requests == []  # nothing reached the model
    shown = proc.stdout + proc.stderr
    assert "promptlint held this prompt back" in shown
    # the warning that stopped it (no file named, the likely one from this repository); the table's
    # missing fields, an info finding, shape the rewrite
    assert "REF001" in shown and "most likely about src/db/schema.ts" in shown
    assert "Fields: <name, type and key" in shown
    assert "A more explicit version" in shown and "src/db/schema.ts" in shown  # the rewrite, with real paths
    assert "submit the same text again" in shown
    # the user insists: the same prompt goes through, with the notes and a word on screen
    proc, _ = run_claude(claude, VAGUE, world["project"], world["env"], "--output-format", "stream-json", "--verbose")
    (text,) = prompt_requests(world, VAGUE)
    assert NOTES in text
    notices = [e.get("content", "") for e in stream_events(proc.stdout) if e.get("type") == "system"]
    assert any("sent as you wrote it" in n for n in notices)
    # an explicit prompt is not blocked
    explicit = ("Add an `orders` table to src/db/schema.ts with columns id (serial primary key), user_id (integer, "
                "references users.id) and total_cents (integer, not null); add a test in tests/orders.test.ts that "
                "inserts an order and reads it back; `npm test` passes.")
    run_claude(claude, explicit, world["project"], world["env"])
    assert len(prompt_requests(world, explicit)) == 1


def test_advise_mode_shows_the_system_message(world, warm, claude):
    install(world, "--mode", "advise")
    prompt = "The checkout test fails intermittently on CI with a deadlock."
    proc, _ = run_claude(claude, prompt, world["project"], world["env"], "--output-format", "stream-json", "--verbose", "--model", "claude-haiku-4-5")
    notices = [e.get("content", "") for e in stream_events(proc.stdout) if e.get("type") == "system" and e.get("subtype") == "informational"]
    assert any("promptlint: consider /model sonnet" in n for n in notices), notices
    assert len(prompt_requests(world, prompt)) == 1  # advice never stops the prompt


def time_the_prompt_hook(world) -> Path:
    """Wrap the installed UserPromptSubmit command so that each run appends its own start and end
    (ns) to a log: the hook's wall time, apart from Claude Code's own start-up and the model call,
    which on a loaded machine take seconds and say nothing about the hook."""
    settings = world["project"] / ".claude" / "settings.local.json"
    data = json.loads(settings.read_text())
    log = world["tmp"] / "hook-times.log"
    wrapper = world["tmp"] / "timed-hook.sh"
    wrapper.write_text('#!/bin/sh\nlog=$1; shift\nstart=$(date +%s%N)\n"$@"\nrc=$?\necho "$start $(date +%s%N)" >> "$log"\nexit $rc\n')
    wrapper.chmod(0o755)
    wrapped = 0
    for group in data["hooks"]["UserPromptSubmit"]:
        for hook in group["hooks"]:
            if hook.get("type") == "command":
                hook["command"] = f"{shlex.quote(str(wrapper))} {shlex.quote(str(log))} {hook['command']}"
                wrapped += 1
    assert wrapped == 1
    settings.write_text(json.dumps(data))
    return log


@pytest.mark.parametrize("kind", ["hung", "crashed"])
def test_a_broken_server_never_delays_the_prompt_past_the_deadline(world, claude, kind):
    """The hook's deadline is 2 s (counted from its process start); Claude Code would wait 10 s for
    a hook that hangs."""
    install(world, deadline=None)
    log = time_the_prompt_hook(world)
    runtime = world["runtime"]
    runtime.mkdir(parents=True, mode=0o700)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(runtime / "server.sock"))
    if kind == "hung":
        listener.listen(8)  # accepts, never answers
    else:
        listener.close()  # a socket file nobody listens on: the server died
        # and no server may start in its place during this test: a start in progress is marked
        (runtime / "server.starting").write_text("0")
    try:
        proc, _ = run_claude(claude, VAGUE, world["project"], world["env"])
    finally:
        listener.close()
    assert proc.returncode == 0
    (text,) = prompt_requests(world, VAGUE)
    assert NOTES not in text  # no notes, but the prompt went through
    ((start, end),) = [tuple(map(int, line.split())) for line in log.read_text().splitlines()]
    seconds = (end - start) / 1e9
    # the deadline plus the interpreter's start and exit (the wrapper's clock starts before them);
    # far below Claude Code's own 10 s hook timeout
    assert seconds < 2.0 + 1.5, f"the hook took {seconds:.2f} s"


def test_slash_commands_and_nolint_pass_untouched(world, warm, claude):
    install(world)
    commands = world["project"] / ".claude" / "commands"
    commands.mkdir(parents=True)
    (commands / "orders.md").write_text("Add a database table for customer orders, as $ARGUMENTS\n")
    run_claude(claude, "/orders quickly", world["project"], world["env"])
    run_claude(claude, "nolint: " + VAGUE, world["project"], world["env"])
    texts = [all_texts(r) for r in world["api"].requests]
    assert any("as quickly" in t for t in texts)  # the command's expansion reached the model
    assert any("nolint: " + VAGUE in t for t in texts)
    assert not any(NOTES in t for t in texts)


def test_no_network_but_the_stand_in(world, warm, claude):
    """The only HTTP requests Claude Code made went to the stand-in, and only to the Messages API."""
    install(world)
    run_claude(claude, VAGUE, world["project"], world["env"])
    assert world["api"].paths and set(world["api"].paths) <= {"/v1/messages", "/v1/messages/count_tokens"}


def test_doctor_agrees_with_the_cli(world, warm, claude):
    install(world)
    bin_dir = world["tmp"] / "bin"
    bin_dir.mkdir()
    (bin_dir / "claude").symlink_to(claude)  # as npm -g or the native installer puts it on PATH
    env = {**world["env"], "PATH": f"{bin_dir}:{world['env']['PATH']}"}
    proc = subprocess.run([EXE, "doctor", "--project", str(world["project"]), "--format", "json"], env=env, capture_output=True, text=True, timeout=120)
    report = json.loads(proc.stdout)
    assert proc.returncode == 0 and report["ok"]
    assert any(c["what"] == "Claude Code" and PINNED in c["detail"] for c in report["checks"])


# --- the HTTP transport -----------------------------------------------------------------------
def test_http_hook_context_reaches_the_model_and_the_secret_stays_private(world, claude):
    install(world, "--transport", "http")
    local = world["project"] / ".claude" / "settings.local.json"
    secret = (world["tmp"] / "state" / "http-secret").read_text().strip()
    assert secret in local.read_text() and oct(local.stat().st_mode & 0o777) == "0o600"
    assert not (world["project"] / ".claude" / "settings.json").exists()
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=world["project"], capture_output=True, text=True).stdout
    assert ".claude/settings.local.json" not in status  # git never offers to commit it
    server = start_server(world["env"], world["runtime"], warm=world["project"])  # the secret exists: it listens
    try:
        proc, _ = run_claude(claude, VAGUE, world["project"], world["env"], "--debug-file", str(world["tmp"] / "debug.log"))
    finally:
        stop_server(world["env"], server)
    assert proc.returncode == 0, proc.stderr
    (text,) = prompt_requests(world, VAGUE)
    assert NOTES in text and "src/db/schema.ts" in text
    for log in (world["runtime"] / "server.log", world["tmp"] / "debug.log"):
        if log.exists():
            assert secret not in log.read_text(errors="replace"), f"the secret is in {log}"


def test_http_hook_block_mode(world, claude):
    install(world, "--transport", "http", "--mode", "block")
    server = start_server(world["env"], world["runtime"], warm=world["project"])
    try:
        proc, _ = run_claude(claude, VAGUE, world["project"], world["env"])
    finally:
        stop_server(world["env"], server)
    assert "promptlint held this prompt back" in proc.stdout + proc.stderr
    assert prompt_requests(world, VAGUE) == []


def test_http_hook_fails_open_when_no_server_listens(world, claude):
    # the same prompt with no hook at all, in the same run: Claude Code's own start-up and model
    # call take seconds on a loaded machine; the hook may add little to them
    _, bare = run_claude(claude, "hello", world["project"], world["env"])
    install(world, "--transport", "http")
    # no SessionStart server either: this test is about the prompt hook alone
    local = world["project"] / ".claude" / "settings.local.json"
    settings = json.loads(local.read_text())
    del settings["hooks"]["SessionStart"]
    local.write_text(json.dumps(settings))
    proc, seconds = run_claude(claude, VAGUE, world["project"], world["env"])
    assert proc.returncode == 0
    (text,) = prompt_requests(world, VAGUE)
    assert NOTES not in text
    assert seconds < bare + 3.0, f"{seconds:.1f} s with the hook, {bare:.1f} s without"


def test_session_start_hook_starts_the_server(world, claude):
    install(world)
    assert not (world["runtime"] / "server.sock").exists()
    run_claude(claude, "hello", world["project"], world["env"])
    for _ in range(300):
        if (world["runtime"] / "server.sock").exists():
            break
        time.sleep(0.1)
    assert (world["runtime"] / "server.sock").exists(), "SessionStart did not start the server"


def test_claude_code_reads_front_matter_that_is_not_valid_yaml(world, claude):
    """CLD005's status rests on this: the real CLI loads a command, a subagent and a skill whose
    front matter is not valid YAML (an unquoted `: `, `[a] [b]`, an unclosed `[`), fields as written.
    Were it to skip them, CLD005 would be an error again."""
    project = world["project"]
    claude_dir = project / ".claude"
    (claude_dir / "commands").mkdir(parents=True)
    (claude_dir / "commands" / "hint.md").write_text("---\nargument-hint: [a] [b] [c]\ndescription: Fixes bugs: fast\n---\nHINTBODY $ARGUMENTS\n")
    (claude_dir / "agents").mkdir()
    (claude_dir / "agents" / "fixer.md").write_text("---\nname: fixeragentxq\ndescription: Fixes bugs: fast\n---\nYou fix.\n")
    (claude_dir / "skills" / "charts").mkdir(parents=True)
    (claude_dir / "skills" / "charts" / "SKILL.md").write_text("---\nname: chartskillxq\ndescription: [unclosed\n---\nDo charts.\n")
    proc, _ = run_claude(claude, "/hint zzz", project, world["env"])
    assert proc.returncode == 0, proc.stderr
    sent = json.dumps(world["api"].requests)
    assert "HINTBODY zzz" in sent  # the command expanded
    assert "fixeragentxq" in sent and "Fixes bugs: fast" in sent  # the subagent offered, description as written
    assert "chartskillxq" in sent  # the skill offered
