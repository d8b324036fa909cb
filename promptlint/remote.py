"""`promptlint check|rewrite|advise` answered by the warm server, with the same output.

A cold `check` spends most of its second importing spaCy and rebuilding search structures; the
server (`promptlint server`, started by the Claude Code hook or by hand) has both in memory. This
client hands the server its command line, working folder, environment and its own stdin, stdout and
stderr (file descriptors passed over the Unix socket, SCM_RIGHTS); the server forks a child that
runs the very same click command with them, so colours, terminal width, stdin, exit codes and
every byte of output are what the command gives in-process. Only the exit code comes back.

`--server never` (or PROMPTLINT_SERVER=never) always runs in-process; `auto` (the default) uses a
running server and otherwise runs in-process; `start` starts one first when none runs. `--llm`
runs in-process (the API key stays in this process). Standard library only, and its cheapest part.
"""

from __future__ import annotations

import os
import sys
import time

from .hook import runtime

COMMANDS = ("check", "rewrite", "advise")
_MODES = ("auto", "never", "start")


def server_mode(argv: list[str]) -> str:
    mode = os.environ.get("PROMPTLINT_SERVER") or "auto"
    for i, arg in enumerate(argv):
        if arg == "--server" and i + 1 < len(argv):
            mode = argv[i + 1]
        elif arg.startswith("--server="):
            mode = arg.split("=", 1)[1]
    return mode


def _connect(mode: str):  # type: ignore[no-untyped-def]
    try:
        return runtime.connect(runtime.cli_socket_path(), timeout=1.0)
    except runtime.UnsafeRuntimeDir as exc:
        sys.stderr.write(f"promptlint: warning: {exc}; running without the server\n")
        return None
    except OSError:
        if mode != "start":
            return None
    from .hook.client import _start_server

    try:
        _start_server()
    except OSError:
        return None
    end = time.monotonic() + 20
    while time.monotonic() < end:
        time.sleep(0.1)
        try:
            return runtime.connect(runtime.cli_socket_path(), timeout=1.0)
        except OSError:
            continue
    return None


def _field(value: str) -> bytes:
    data = value.encode("utf-8", "surrogateescape")
    return b"%d:" % len(data) + data


def run(argv: list[str]) -> int | None:
    """The command's exit code, or None when it must run in-process (no server, or not for it)."""
    mode = server_mode(argv)
    if mode not in _MODES or mode == "never" or "--llm" in argv or "--help" in argv or "-h" in argv:
        return None
    # Before connecting: with a standard stream closed, the socket would take its number, and the
    # server would be handed its own connection as our stdin (and wait on it for ever).
    try:
        for fd in (0, 1, 2):
            os.fstat(fd)
    except OSError:
        return None  # a closed standard stream: in-process says so the usual way
    sock = _connect(mode)
    if sock is None:
        return None
    sent = False
    try:
        fds = (0, 1, 2)
        encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
        fields = [os.getcwd(), encoding, str(len(argv)), *argv, *(f"{k}={v}" for k, v in os.environ.items())]
        body = b"".join(_field(f) for f in fields)
        ancillary = b"".join(fd.to_bytes(4, sys.byteorder) for fd in fds)
        import _socket

        sock.settimeout(5.0)
        sock.sendmsg([b"cli %d\n" % len(body)], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, ancillary)])
        sock.sendall(body)
        sent = True  # from here on the child may be writing to our stdout: never run it twice
        sock.settimeout(None)  # a long check is fine: the child writes as it goes
        reply = b""
        while not reply.endswith(b"\n") and len(reply) < 100:
            chunk = sock.recv(100)
            if not chunk:
                break
            reply += chunk
    except KeyboardInterrupt:
        return 130  # closing the socket tells the server to stop the child
    except OSError:
        if not sent:
            return None
        reply = b""
    finally:
        sock.close()
    if reply.startswith(b"exit ") and reply[5:].strip().isdigit():
        return int(reply[5:].strip())
    if reply.startswith(b"refused"):
        return None  # the server cannot run it for us (say, the environment differs): in-process
    sys.stderr.write("promptlint: error: the server stopped while running the command; run it again with --server never\n")
    return 2
