"""`promptlint hook claude-code`: the UserPromptSubmit hook. Claude Code runs it before every prompt.

It reads the hook input on stdin, asks the warm `promptlint server` over a Unix socket, and prints
what the server says. It imports only the standard library, starts the server in the background
when it is not running, and fails open: on malformed input, a missing cwd, any error or a missed
deadline it exits 0 with one line on stderr, so the prompt always goes through.

The deadline counts from the start of this process (not from the first line of Python, which a
loaded machine can reach hundreds of milliseconds later), and every wait checks it: reading stdin,
connecting, reading the reply (capped in size), waiting for a server that is starting.
"""

from __future__ import annotations

import json
import os
import select
import sys
import time

from . import runtime

DEFAULT_DEADLINE = 2.0  # seconds for the whole hook; Claude Code's own limit is 30 s
_MARGIN = 0.1  # leave time to print and exit
_MAX_INPUT = 2_000_000  # hook input (the prompt plus a few fields)
_MAX_REPLY = 1_000_000  # the server's answer: Claude Code caps hook output at 10,000 characters
_TRANSCRIPT_TAIL = 256_000
_PREVIOUS_TURN_MAX = 8_000  # characters of the previous assistant message sent along (pronouns)
_FAILED_BACKOFF = 60.0  # seconds during which a failed server start is not retried or waited for


def _say(message: str) -> None:
    sys.stderr.write(f"promptlint: {message}\n")


def process_started() -> float:
    """When this process started, on the time.monotonic() clock (Linux: /proc, 10 ms resolution,
    rounded towards earlier, so the deadline errs on the safe side). Elsewhere: now."""
    now = time.monotonic()
    try:
        with open("/proc/self/stat", "rb") as fh:
            stat_line = fh.read(4096)
        fields = stat_line[stat_line.rindex(b")") + 2 :].split()
        started_since_boot = int(fields[19]) / os.sysconf("SC_CLK_TCK")
        since_boot = time.clock_gettime(time.CLOCK_BOOTTIME)
        age = since_boot - started_since_boot
    except (OSError, ValueError, IndexError, AttributeError):
        return now
    return now - age if 0 <= age < 60 else now


def _read_stdin(deadline: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    fd = sys.stdin.fileno()
    while size <= _MAX_INPUT:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no hook input before the deadline")
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            raise TimeoutError("no hook input before the deadline")
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
    raise ValueError("hook input over 2 MB")


def read_transcript(transcript_path: object) -> tuple[str | None, str | None]:
    """(model of the last assistant entry, text of the last assistant message) from the session
    transcript: the hook input carries neither. Only a regular file is read, and only its tail."""
    if not isinstance(transcript_path, str) or not transcript_path:
        return None, None
    from ..fsutil import read_regular

    try:
        tail = read_regular(transcript_path, _TRANSCRIPT_TAIL, tail=True).decode("utf-8", "replace")
    except (OSError, ValueError):
        return None, None
    model = text = None
    for line in reversed(tail.splitlines()):
        if '"assistant"' not in line:
            continue
        try:
            entry = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if not isinstance(entry, dict) or entry.get("type") != "assistant":
            continue
        message = entry.get("message")
        if not isinstance(message, dict):
            continue
        if model is None and isinstance(message.get("model"), str):
            model = message["model"]
        if text is None:
            parts = [b.get("text") for b in message.get("content") or () if isinstance(b, dict) and b.get("type") == "text"]
            joined = "\n".join(p for p in parts if isinstance(p, str)).strip()
            if joined:
                text = joined[-_PREVIOUS_TURN_MAX:]
        if model is not None and text is not None:
            break
    return model, text


def current_model(transcript_path: object) -> str | None:
    return read_transcript(transcript_path)[0]


def _ask(request: dict, deadline: float) -> dict:
    remaining = deadline - time.monotonic() - _MARGIN
    if remaining <= 0:
        raise TimeoutError("deadline reached before asking the server")
    while True:
        try:
            sock = runtime.connect(timeout=remaining)
            break
        except BlockingIOError:  # the server's backlog is full: it is busy, not gone
            if time.monotonic() > deadline - 2 * _MARGIN:
                raise
            time.sleep(0.01)
    with sock:
        sock.sendall(json.dumps(request).encode() + b"\n")
        chunks: list[bytes] = []
        size = 0
        while True:
            remaining = deadline - time.monotonic() - _MARGIN
            if remaining <= 0:
                raise TimeoutError("the server did not answer before the deadline")
            sock.settimeout(remaining)
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > _MAX_REPLY:
                raise ValueError("the server's answer is over 1 MB")
            if chunk.endswith(b"\n"):
                break
    return json.loads(b"".join(chunks) or b"{}")


def server_command() -> list[str]:
    """`promptlint server --background` by absolute path, in an isolated interpreter (-I: no
    current folder, no user site, no PYTHON* variables on sys.path) that imports promptlint from
    where this process imported it: a repository holding promptlint/ or spacy.py runs nothing."""
    from pathlib import Path

    here = str(Path(__file__).resolve().parents[2])  # the folder holding the promptlint package
    cwd = os.getcwd()
    path = [here] + [p for p in sys.path if p and os.path.isabs(p) and p != cwd and p != here]
    code = "import sys; sys.path[:] = %r; from promptlint._entry import main; sys.argv = ['promptlint', 'server', '--background']; main()" % (path,)
    return [os.path.realpath(sys.executable), "-I", "-c", code]


def _recently_failed() -> str | None:
    try:
        path = runtime.failed_path()
        st = os.lstat(path)
        if time.time() - st.st_mtime < _FAILED_BACKOFF:
            from ..fsutil import read_regular

            return read_regular(path, 2000).decode("utf-8", "replace").strip() or "unknown reason"
    except OSError:
        pass
    return None


def _start_server() -> bool:
    """Start `promptlint server` detached, unless another hook is already starting one. False when
    no server is coming (its last start failed moments ago)."""
    import subprocess

    folder = runtime.ensure_runtime_dir()
    if _recently_failed() is not None:
        return False
    marker = runtime.starting_path()
    try:
        if os.path.lexists(marker) and time.time() - os.lstat(marker).st_mtime < 30:
            return True
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(str(os.getpid()))
    except OSError:
        return False
    subprocess.Popen(
        server_command(), cwd=str(folder),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, close_fds=True,
    )
    return True


def _parse_args(argv: list[str]) -> tuple[str | None, float]:
    mode = None
    deadline_s = DEFAULT_DEADLINE
    args = list(argv)
    while args:
        arg = args.pop(0)
        try:
            if arg == "--mode" and args:
                mode = args.pop(0)
            elif arg.startswith("--mode="):
                mode = arg.split("=", 1)[1]
            elif arg == "--deadline" and args:
                deadline_s = float(args.pop(0))
            elif arg.startswith("--deadline="):
                deadline_s = float(arg.split("=", 1)[1])
        except ValueError:
            pass  # a bad --deadline keeps the default
    if not deadline_s == deadline_s or deadline_s <= 0:  # NaN or not positive
        deadline_s = DEFAULT_DEADLINE
    return mode, min(deadline_s, 25.0)  # Claude Code kills a hook at 30 s


def run(argv: list[str], started: float | None = None) -> int:
    started = process_started() if started is None else started
    mode, deadline_s = _parse_args(argv)
    if mode not in (None, "context", "block", "advise"):
        _say(f"unknown --mode {mode!r}; passing the prompt through")
        return 0
    deadline = started + max(0.2, deadline_s)
    try:
        raw = _read_stdin(deadline)
        data = json.loads(raw.decode("utf-8", "replace") or "null")
    except (ValueError, TimeoutError, OSError, RecursionError) as exc:
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
    if not isinstance(cwd, str) or "\0" in cwd or not os.path.isdir(cwd):
        _say("hook input has no usable cwd; passing the prompt through")
        return 0
    model, previous = read_transcript(data.get("transcript_path"))
    request = {"op": "hook", "prompt": prompt, "cwd": cwd, "mode": mode, "session_model": model, "previous_turn": previous}
    try:
        try:
            reply = _ask({**request, "deadline": deadline - time.monotonic()}, deadline)
        except (FileNotFoundError, ConnectionRefusedError):
            if not _start_server():
                why = _recently_failed()
                _say(f"the promptlint server could not start ({why}); passing the prompt through" if why else "the promptlint server is not running; passing the prompt through")
                return 0
            reply = None
            while time.monotonic() < deadline - 2 * _MARGIN:
                time.sleep(0.05)
                try:
                    reply = _ask({**request, "deadline": deadline - time.monotonic()}, deadline)
                    break
                except (FileNotFoundError, ConnectionRefusedError):
                    if _recently_failed() is not None:
                        break
                    continue
            if reply is None:
                _say("starting the promptlint server in the background; no advice for this prompt")
                return 0
    except runtime.UnsafeRuntimeDir as exc:
        _say(f"{exc}; passing the prompt through")
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
    started = process_started()
    try:
        code = run(sys.argv[3:] if argv is None else argv, started)
    except BaseException as exc:  # noqa: BLE001 - the hook must never break a prompt
        try:
            _say(f"internal error ({type(exc).__name__}); passing the prompt through")
        except BaseException:
            pass
        code = 0
    try:
        sys.stdout.flush()
    except BaseException:
        pass
    os._exit(code)  # skip interpreter teardown: every millisecond is on the user's prompt
