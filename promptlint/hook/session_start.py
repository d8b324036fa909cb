"""`promptlint hook session-start`: Claude Code's SessionStart hook. It starts the warm server in the
background when none runs, so the session's first prompt finds the pipeline and the index warm
(and, with the HTTP transport, the listener up). Standard library only, prints nothing (SessionStart
stdout would reach the model), never waits for the server and always exits 0."""

from __future__ import annotations

import os
import sys

from . import runtime


def server_answers(timeout: float = 0.2) -> bool:
    try:
        sock = runtime.connect(timeout=timeout)  # checks the folder and the socket are this user's
    except OSError:
        return False
    sock.close()
    return True


def main(argv: list[str] | None = None) -> None:
    try:
        if not server_answers():
            from .client import _start_server

            _start_server()
    except Exception as exc:  # noqa: BLE001 - a session must start whatever happens here
        sys.stderr.write(f"promptlint: could not start the server ({type(exc).__name__})\n")
    sys.stderr.flush()
    os._exit(0)
