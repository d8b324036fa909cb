"""`promptlint hook claude-code`: the UserPromptSubmit hook. Claude Code runs it before every prompt.

It reads the hook input on stdin, asks the warm `promptlint server` over a Unix socket, and prints
what the server says. It imports only the standard library, starts the server in the background
when it is not running, and fails open: on malformed input, a missing cwd, any error or a missed
deadline it exits 0 with one line on stderr, so the prompt always goes through.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import time

from . import runtime

DEFAULT_DEADLINE = 2.0  # seconds for the whole hook; Claude Code's own limit is 30 s
_MARGIN = 0.15  # leave time to print and exit
_MAX_INPUT = 2_000_000
_TRANSCRIPT_TAIL = 256_000


def _say(message: str) -> None:
    sys.stderr.write(f"promptlint: {message}\n")


def _read_stdin(deadline: float) -> bytes:
    data = b""
    fd = sys.stdin.fileno()
    while len(data) <= _MAX_INPUT:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no hook input before the deadline")
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            raise TimeoutError("no hook input before the deadline")
        chunk = os.read(fd, 65536)
        if not chunk:
            return data
        data += chunk
    raise ValueError("hook input over 2 MB")


def current_model(transcript_path: object) -> str | None:
    """The model of the last assistant entry in the session transcript (the hook input has none)."""
    if not isinstance(transcript_path, str) or not transcript_path:
        return None
    try:
        with open(transcript_path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - _TRANSCRIPT_TAIL))
            tail = fh.read().decode("utf-8", "replace")
    except OSError:
        return None
    for line in reversed(tail.splitlines()):
        if '"assistant"' not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        message = entry.get("message") if isinstance(entry, dict) else None
        if entry.get("type") == "assistant" and isinstance(message, dict) and isinstance(message.get("model"), str):
            return message["model"]
    return None


def _ask(request: dict, deadline: float) -> dict:
    remaining = deadline - time.monotonic() - _MARGIN
    if remaining <= 0:
        raise TimeoutError("deadline reached before asking the server")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(remaining)
        while True:
            try:
                sock.connect(str(runtime.socket_path()))
                break
            except BlockingIOError:  # the server's backlog is full: it is busy, not gone
                if time.monotonic() > deadline - 2 * _MARGIN:
                    raise
                time.sleep(0.01)
        sock.sendall(json.dumps(request).encode() + b"\n")
        chunks = []
        while True:
            sock.settimeout(max(0.01, deadline - time.monotonic() - _MARGIN))
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            if chunk.endswith(b"\n"):
                break
    return json.loads(b"".join(chunks) or b"{}")


def _start_server() -> None:
    """Start `promptlint server` detached, unless another hook is already starting one."""
    runtime.ensure_runtime_dir()
    marker = runtime.starting_path()
    try:
        if marker.exists() and time.time() - marker.stat().st_mtime < 30:
            return
        marker.write_text(str(os.getpid()))
    except OSError:
        return
    subprocess.Popen(
        [sys.executable, "-m", "promptlint", "server", "--background"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, close_fds=True,
    )


def run(argv: list[str]) -> int:
    started = time.monotonic()
    mode = None
    deadline_s = DEFAULT_DEADLINE
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == "--mode" and args:
            mode = args.pop(0)
        elif arg.startswith("--mode="):
            mode = arg.split("=", 1)[1]
        elif arg == "--deadline" and args:
            deadline_s = float(args.pop(0))
        elif arg.startswith("--deadline="):
            deadline_s = float(arg.split("=", 1)[1])
    if mode not in (None, "context", "block", "advise"):
        _say(f"unknown --mode {mode!r}; passing the prompt through")
        return 0
    deadline = started + max(0.2, deadline_s)
    try:
        raw = _read_stdin(deadline)
        data = json.loads(raw.decode("utf-8", "replace") or "null")
    except (ValueError, TimeoutError, OSError) as exc:
        _say(f"hook input unreadable ({exc}); passing the prompt through")
        return 0
    if not isinstance(data, dict):
        _say("hook input is not a JSON object; passing the prompt through")
        return 0
    prompt = data.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return 0
    if prompt.lstrip().startswith(("/", "#")):
        return 0  # slash commands and memory notes are not prompts to lint
    cwd = os.environ.get("CLAUDE_PROJECT_DIR") or data.get("cwd")
    if not isinstance(cwd, str) or not os.path.isdir(cwd):
        _say("hook input has no usable cwd; passing the prompt through")
        return 0
    request = {
        "op": "hook", "prompt": prompt, "cwd": cwd, "mode": mode,
        "session_model": current_model(data.get("transcript_path")), "deadline": deadline - time.monotonic(),
    }
    try:
        try:
            reply = _ask(request, deadline)
        except (FileNotFoundError, ConnectionRefusedError):
            _start_server()
            reply = None
            while time.monotonic() < deadline - 2 * _MARGIN:
                time.sleep(0.05)
                try:
                    reply = _ask({**request, "deadline": deadline - time.monotonic()}, deadline)
                    break
                except (FileNotFoundError, ConnectionRefusedError):
                    continue
            if reply is None:
                _say("starting the promptlint server in the background; no advice for this prompt")
                return 0
    except Exception as exc:  # fail open, always
        _say(f"server did not answer in time ({type(exc).__name__}); passing the prompt through")
        return 0
    if not isinstance(reply, dict):
        return 0
    out, err = reply.get("stdout"), reply.get("stderr")
    if isinstance(err, str) and err:
        sys.stderr.write(err if err.endswith("\n") else err + "\n")
    if isinstance(out, str) and out:
        sys.stdout.write(out)
    return 0


def main(argv: list[str] | None = None) -> None:
    try:
        code = run(sys.argv[3:] if argv is None else argv)
    except Exception as exc:  # noqa: BLE001 - the hook must never break a prompt
        _say(f"internal error ({type(exc).__name__}); passing the prompt through")
        code = 0
    sys.stdout.flush()
    os._exit(code)  # skip interpreter teardown: every millisecond is on the user's prompt
