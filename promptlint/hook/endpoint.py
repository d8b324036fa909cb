"""`promptlint hook mod-endpoint`: where the mod reaches the warm server. Prints one JSON object,
{"url", "secretFile", "version"}, or {"error"} (exit 0 either way: the mod fails open).

It turns the HTTP listener on for this user (the secret file is what turns it on), starts the
server when none runs, and asks a running server that has no listener yet to start one. The secret
itself is never printed: the mod reads the 0600 file. Standard library only."""

from __future__ import annotations

import json
import os
import sys
import time

from . import httpd

WAIT = 12.0  # seconds for a cold server (spaCy and the first index) to start listening


def _ask(request: dict, timeout: float = 1.0) -> dict | None:
    from ..server import request as ask  # checks the folder and the socket are this user's

    reply = ask(request, timeout=timeout)
    return reply if isinstance(reply, dict) else None


def find(wait: float = WAIT) -> dict:
    httpd.ensure_secret()
    deadline = time.monotonic() + wait
    asked = False
    while True:
        status = _ask({"op": "status"})
        endpoint = httpd.read_endpoint()
        if status is not None and endpoint is not None and endpoint.get("pid") == status.get("pid"):
            return {"url": f"http://127.0.0.1:{endpoint['port']}", "secretFile": str(httpd.secret_path()), "version": status.get("version")}
        if status is None and not asked:
            from .client import _start_server

            _start_server()
            asked = True
        elif status is not None and not asked:
            _ask({"op": "http"})  # a server started before the secret existed: listen now
            asked = True
        if time.monotonic() > deadline:
            return {"error": "the promptlint server did not start listening in time"}
        time.sleep(0.1)


def main(argv: list[str] | None = None) -> None:
    try:
        out = find()
    except Exception as exc:  # noqa: BLE001 - the mod reads an error, never a traceback
        out = {"error": f"{type(exc).__name__}: {exc}"}
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
    os._exit(0)
