"""`promptlint hook claude-code`: the UserPromptSubmit hook. Claude Code runs it before every prompt.

It forwards the hook input (stdin, untouched) to the warm `promptlint server` over a Unix socket and
prints what the server answers. It starts the server in the background when none is running, and
fails open: on any error or a missed deadline it exits 0 with one line on stderr, so the prompt
always goes through.

It runs on every prompt, so it imports next to nothing: no json, re, pathlib or socket (their
imports cost more CPU than the interpreter's own start); the server parses the input. The deadline
counts from the start of this process (not from the first line of Python, which a loaded machine
can reach hundreds of milliseconds later), and every wait checks it: reading stdin, connecting,
reading the reply (capped in size), waiting for a server that is starting.

Protocol (one request per connection): ``hook <mode|-> <milliseconds left> <n>\\n``, then n bytes of
$CLAUDE_PROJECT_DIR, then the raw hook input until the client shuts down its side. The answer:
``<stdout bytes> <stderr bytes>\\n`` and those bytes.
"""

from __future__ import annotations

import os
import select
import sys
import time

from . import runtime

DEFAULT_DEADLINE = 2.0  # seconds for the whole hook; Claude Code's own limit is 30 s
_MARGIN = 0.1  # leave time to print and exit
_MAX_INPUT = 2_000_000  # hook input (the prompt plus a few fields)
_MAX_REPLY = 1_000_000  # the server's answer: Claude Code caps hook output at 10,000 characters
_FAILED_BACKOFF = 60.0  # seconds during which a failed server start is not retried or waited for
MODES = ("context", "block", "advise")


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
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - started_since_boot
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


def _ask(mode: str | None, raw: bytes, deadline: float) -> tuple[bytes, bytes]:
    """(stdout, stderr) the server answers for this hook input."""
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
    try:
        project = os.environ.get("CLAUDE_PROJECT_DIR", "").encode("utf-8", "surrogateescape")
        left_ms = int((deadline - time.monotonic()) * 1000)
        sock.sendall(b"hook %s %d %d\n" % ((mode or "-").encode(), left_ms, len(project)) + project + raw)
        sock.shutdown(1)  # SHUT_WR: the input ends here
        data = b""
        want = None
        while want is None or len(data) < want:
            remaining = deadline - time.monotonic() - _MARGIN
            if remaining <= 0:
                raise TimeoutError("the server did not answer before the deadline")
            sock.settimeout(remaining)
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            if len(data) > _MAX_REPLY:
                raise ValueError("the server's answer is over 1 MB")
            if want is None and b"\n" in data:
                head, _, _rest = data.partition(b"\n")
                sizes = head.split()
                if len(sizes) != 2 or not all(x.isdigit() for x in sizes):
                    raise ValueError("the server's answer is not in the protocol")
                n_out, n_err = int(sizes[0]), int(sizes[1])
                want = len(head) + 1 + n_out + n_err
    finally:
        sock.close()
    if want is None or len(data) < want:
        raise ValueError("the server's answer was cut short")
    body = data[len(head) + 1 : want]
    return body[:n_out], body[n_out:]


def server_command() -> list[str]:
    """`promptlint server --background` by absolute path, in an isolated interpreter (-I: no
    current folder, no user site, no PYTHON* variables on sys.path) that imports promptlint from
    where this process imported it: a repository holding promptlint/ or spacy.py runs nothing."""
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))  # holds promptlint/
    cwd = os.getcwd()
    path = [here] + [p for p in sys.path if p and os.path.isabs(p) and p != cwd and p != here]
    code = "import sys; sys.path[:] = %r; from promptlint._entry import main; sys.argv = ['promptlint', 'server', '--background']; main()" % (path,)
    return [os.path.realpath(sys.executable), "-I", "-c", code]


def _recently_failed() -> str | None:
    try:
        path = runtime.failed_path()
        if time.time() - os.lstat(path).st_mtime < _FAILED_BACKOFF:
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
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
    except OSError:
        return False
    subprocess.Popen(
        server_command(), cwd=folder,
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
    if mode not in (None, *MODES):
        _say(f"unknown --mode {mode!r}; passing the prompt through")
        return 0
    deadline = started + max(0.2, deadline_s)
    try:
        raw = _read_stdin(deadline)
    except (ValueError, TimeoutError, OSError) as exc:
        _say(f"hook input unreadable ({exc}); passing the prompt through")
        return 0
    if b'"prompt"' not in raw:
        _say("hook input has no prompt; passing it through")
        return 0
    try:
        try:
            out, err = _ask(mode, raw, deadline)
        except (FileNotFoundError, ConnectionRefusedError):
            if not _start_server():
                why = _recently_failed()
                _say(f"the promptlint server could not start ({why}); passing the prompt through" if why else "the promptlint server is not running; passing the prompt through")
                return 0
            reply = None
            while time.monotonic() < deadline - 2 * _MARGIN:
                time.sleep(0.05)
                try:
                    reply = _ask(mode, raw, deadline)
                    break
                except (FileNotFoundError, ConnectionRefusedError):
                    if _recently_failed() is not None:
                        break
            if reply is None:
                _say("starting the promptlint server in the background; no advice for this prompt")
                return 0
            out, err = reply
    except runtime.UnsafeRuntimeDir as exc:
        _say(f"{exc}; passing the prompt through")
        return 0
    except Exception as exc:  # fail open, always
        _say(f"server did not answer in time ({type(exc).__name__}); passing the prompt through")
        return 0
    if err:
        _write_all(2, err if err.endswith(b"\n") else err + b"\n")
    if out:
        _write_all(1, out)
    return 0


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]


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
