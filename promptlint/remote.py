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
# Seconds to wait for a child to offer to run the command: past the server's own limits (1.5 s
# for its spare, then 2.5 s for a fresh child, see server.py), for a server that is itself stopped.
_WAIT_FOR_OFFER = 6.0


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
    committed = False  # once we said "go", a child may be writing to our stdout: never run it ourselves too
    reply = b""
    try:
        fds = (0, 1, 2)
        encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
        fields = [os.getcwd(), encoding, str(len(argv)), *argv, *(f"{k}={v}" for k, v in os.environ.items())]
        body = b"".join(_field(f) for f in fields)
        ancillary = b"".join(fd.to_bytes(4, sys.byteorder) for fd in fds)
        import _socket

        # Until a child offers to run it, the wait is bounded: a stopped or stuck server or child
        # leaves us nothing to wait for, and nothing reached our streams; we run it in-process.
        give_up = time.monotonic() + _WAIT_FOR_OFFER
        sock.settimeout(_WAIT_FOR_OFFER)
        sock.sendall(b"cli2 %d\n" % len(body) + body)
        while True:
            line = b""
            while not line.endswith(b"\n") and len(line) < 100:
                if not committed:
                    sock.settimeout(max(0.01, give_up - time.monotonic()))
                chunk = sock.recv(1)  # one line at a time: what follows an offer is not ours to read yet
                if not chunk:
                    break
                line += chunk
            if line == b"send\n" and not committed:
                # Our streams go only to a server that has read the request (see server.py)
                sock.sendmsg([b"+"], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, ancillary)])
                continue
            if line == b"taken\n":
                sock.sendall(b"go\n")  # again for a second offer (a fresh child after a spare that did not start)
                committed = True
                sock.settimeout(None)  # a long check is fine: the child writes as it goes
                continue
            reply = line
            break
    except KeyboardInterrupt:
        return 130  # closing the socket tells the server to stop the child
    except OSError:
        if not committed:
            return None  # no child ran it (the one that offers later reads no "go" and exits)
        reply = b""
    finally:
        sock.close()
    if not committed and not reply.startswith((b"exit ", b"refused")):
        return None  # the server hung up before any child offered: nothing ran
    if reply.startswith(b"exit ") and reply[5:].strip().isdigit():
        return int(reply[5:].strip())
    if reply.startswith(b"refused"):
        return None  # the server cannot run it for us (say, the environment differs): in-process
    sys.stderr.write("promptlint: error: the server stopped while running the command; run it again with --server never\n")
    return 2
