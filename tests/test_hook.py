"""The Claude Code hook as a real subprocess fed real payloads, and the warm server behind it."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import REPOS

TS = REPOS / "ts-api"
EXE = str(Path(sys.executable).with_name("promptlint"))


@pytest.fixture
def runtime_dir(tmp_path, monkeypatch):
    folder = tmp_path / "rt"
    monkeypatch.setenv("PROMPTLINT_RUNTIME_DIR", str(folder))
    yield folder
    subprocess.run([EXE, "server", "--stop"], capture_output=True, timeout=30)


@pytest.fixture
def server(runtime_dir):
    proc = subprocess.Popen([EXE, "server", "--idle-timeout", "120"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sock = runtime_dir / "server.sock"
    for _ in range(300):
        if sock.exists():
            break
        time.sleep(0.05)
    assert sock.exists(), "server did not start"
    yield proc
    subprocess.run([EXE, "server", "--stop"], capture_output=True, timeout=30)
    proc.wait(timeout=30)


def hook(payload, *args: str, deadline: float = 5.0, raw: bytes | None = None):
    data = raw if raw is not None else json.dumps(payload).encode()
    started = time.monotonic()
    proc = subprocess.run([EXE, "hook", "claude-code", "--deadline", str(deadline), *args], input=data, capture_output=True, timeout=60)
    return proc, time.monotonic() - started


def payload(prompt: str, cwd: Path = TS, **extra):
    return {"session_id": "s1", "transcript_path": "", "cwd": str(cwd), "permission_mode": "default", "hook_event_name": "UserPromptSubmit", "prompt": prompt, **extra}


def test_context_mode_gives_facts_for_a_vague_prompt(server):
    proc, _ = hook(payload("Add a database table for customer orders"))
    assert proc.returncode == 0
    out = json.loads(proc.stdout)
    assert out["hookSpecificOutput"]["hookEventName"] == "UserPromptSubmit"
    context = out["hookSpecificOutput"]["additionalContext"]
    assert "src/db/schema.ts" in context and "the details of the new table" in context
    assert "Tests use vitest in tests/" in context
    assert len(context) <= 10_000
    assert "decision" not in out


def test_explicit_prompt_gets_nothing(server):
    prompt = (REPOS.parent / "prompts" / "orders-table-explicit.prompt").read_text()
    proc, _ = hook(payload(prompt))
    assert proc.returncode == 0 and proc.stdout == b""


def test_block_mode_blocks_error_findings_with_the_rewrite(server):
    proc, _ = hook(payload("Fix the token check in src/lib/authentication.ts."), "--mode", "block")
    out = json.loads(proc.stdout)
    assert out["decision"] == "block"
    assert "REF002" in out["reason"] and "A more explicit version" in out["reason"]
    # warnings block too (hook.block-on defaults to "warning"); tests/test_block.py has the rest
    proc, _ = hook(payload("Add a database table for customer orders"), "--mode", "block")
    assert json.loads(proc.stdout)["decision"] == "block"


def test_advise_mode_reads_the_session_model_from_the_transcript(server, tmp_path):
    transcript = tmp_path / "t.jsonl"
    lines = [
        {"type": "user", "message": {"role": "user", "content": "hi"}},
        {"type": "assistant", "message": {"model": "claude-haiku-4-5-20251001", "content": [{"type": "text", "text": "hello"}]}},
        "not json at all",
    ]
    transcript.write_text("\n".join(l if isinstance(l, str) else json.dumps(l) for l in lines) + "\n")
    proc, _ = hook(payload("The checkout test fails intermittently on CI with a deadlock.", transcript_path=str(transcript)), "--mode", "advise")
    out = json.loads(proc.stdout)
    assert out["systemMessage"].startswith("promptlint: consider /model sonnet")
    # already on Sonnet: no advice to switch to Sonnet
    lines[1]["message"]["model"] = "claude-sonnet-4-5"
    transcript.write_text("\n".join(l if isinstance(l, str) else json.dumps(l) for l in lines) + "\n")
    proc, _ = hook(payload("The checkout test fails intermittently on CI with a deadlock.", transcript_path=str(transcript)), "--mode", "advise")
    assert "systemMessage" not in json.loads(proc.stdout or b"{}")
    # a Haiku-sized task on an Opus session
    lines[1]["message"]["model"] = "claude-opus-4-5"
    transcript.write_text("\n".join(l if isinstance(l, str) else json.dumps(l) for l in lines) + "\n")
    prompt = "Add `DELETE /products/:id` to src/routes/products.ts; return 204, or 404 for an unknown id. Add tests in tests/products.test.ts."
    proc, _ = hook(payload(prompt, transcript_path=str(transcript)), "--mode", "advise")
    assert "Haiku-sized" in json.loads(proc.stdout)["systemMessage"]


@pytest.mark.parametrize("prompt", ["/review", "  /model sonnet", "# remember to use pnpm", "", "   ", "nolint: fix it"])
def test_pass_untouched(server, prompt):
    proc, _ = hook(payload(prompt))
    assert proc.returncode == 0 and proc.stdout == b""


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2, 3]", b"", b'{"cwd": "/"}'])
def test_input_without_a_prompt_passes_at_once(runtime_dir, raw):
    proc, _ = hook(None, raw=raw)
    assert proc.returncode == 0 and proc.stdout == b""
    assert proc.stderr == b"promptlint: hook input has no prompt; passing it through\n"
    assert not runtime_dir.exists()  # no server started for nothing


@pytest.mark.parametrize(
    "raw,complaint",
    [
        (b'{"prompt": "Fix it." not json', "hook input unreadable (JSONDecodeError)"),
        (b'["prompt"]', "not a JSON object"),
        (json.dumps({"prompt": "Fix it.", "cwd": "/definitely/not/here"}).encode(), "no usable cwd"),
        (json.dumps({"prompt": "Fix it.", "cwd": 42}).encode(), "no usable cwd"),
        (json.dumps({"prompt": "Fix it.", "cwd": "relative/dir"}).encode(), "no usable cwd"),
        (json.dumps({"prompt": 7, "cwd": "/"}).encode(), ""),
    ],
)
def test_bad_input_fails_open(server, raw, complaint):
    proc, _ = hook(None, raw=raw)
    assert proc.returncode == 0 and proc.stdout == b""
    assert complaint.encode() in proc.stderr
    assert proc.stderr.count(b"\n") <= 1


def test_first_call_starts_the_server_within_the_deadline(runtime_dir):
    proc, seconds = hook(payload("Add a database table for customer orders"), deadline=1.0)
    assert proc.returncode == 0 and seconds < 1.5
    # the server comes up in the background and answers the next prompts
    for _ in range(200):
        if (runtime_dir / "server.sock").exists():
            break
        time.sleep(0.1)
    proc, _ = hook(payload("Add a database table for customer orders"), deadline=10)
    assert "additionalContext" in proc.stdout.decode()


def test_a_server_that_never_answers_does_not_hold_the_prompt(runtime_dir):
    runtime_dir.mkdir(parents=True, mode=0o700)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(runtime_dir / "server.sock"))
    listener.listen(8)  # accepts connections, never replies
    try:
        proc, seconds = hook(payload("Fix it."), deadline=0.8)
    finally:
        listener.close()
    assert proc.returncode == 0 and proc.stdout == b"" and seconds < 1.5
    assert b"did not answer in time" in proc.stderr


def test_socket_and_folder_permissions_and_status(server, runtime_dir):
    assert stat.S_IMODE(os.stat(runtime_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(runtime_dir / "server.sock").st_mode) == 0o600
    status = subprocess.run([EXE, "server", "--status"], capture_output=True, text=True, timeout=30)
    assert status.returncode == 0 and json.loads(status.stdout)["pid"] == server.pid


def test_concurrent_clients(server):
    results = []

    def one(i: int) -> None:
        proc, _ = hook(payload(f"Add a database table number {i} for customer orders"), deadline=20)
        results.append(proc.returncode == 0 and b"additionalContext" in proc.stdout)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 12


def test_stale_socket_is_replaced(runtime_dir):
    runtime_dir.mkdir(parents=True, mode=0o700)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(runtime_dir / "server.sock"))
    dead.close()  # the file stays, nobody listens
    proc = subprocess.Popen([EXE, "server", "--idle-timeout", "60"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            if subprocess.run([EXE, "server", "--status"], capture_output=True, timeout=30).returncode == 0:
                break
            time.sleep(0.1)
        else:
            pytest.fail("server did not replace the stale socket")
    finally:
        subprocess.run([EXE, "server", "--stop"], capture_output=True, timeout=30)
        proc.wait(timeout=30)


def test_second_server_exits_and_idle_server_stops(runtime_dir):
    first = subprocess.Popen([EXE, "server", "--idle-timeout", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        if (runtime_dir / "server.sock").exists():
            break
        time.sleep(0.05)
    second = subprocess.run([EXE, "server", "--idle-timeout", "60"], capture_output=True, timeout=60)
    assert second.returncode == 0  # the lock is taken: it leaves at once
    assert first.wait(timeout=30) == 0  # idle for 2 s: exits by itself
    assert not (runtime_dir / "server.sock").exists()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=300), st.dictionaries(st.sampled_from(["prompt", "cwd", "transcript_path", "session_id"]), st.one_of(st.text(max_size=40), st.integers(), st.none(), st.lists(st.integers(), max_size=3)), max_size=4).map(lambda d: json.dumps(d).encode())))
def test_fuzzed_input_never_blocks_or_crashes(runtime_dir, raw):
    proc, _ = hook(None, raw=raw, deadline=0.6)
    assert proc.returncode == 0
    assert b"block" not in proc.stdout
    assert b"Traceback" not in proc.stderr
