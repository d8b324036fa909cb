"""A raw stdio client for `promptlint lsp`, for tests and bench/fuzz_lsp.py: it writes exactly the
bytes it is given (well-formed frames or garbage) and reads the server's frames with a deadline, so
a hang is a failure with a message instead of a stuck test run.

Also the malformed-frame catalogue shared by the hypothesis tests and the fuzz script:
:func:`garbage` builds one malformed or hostile segment from a kind and two parameters.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent


class Hang(AssertionError):
    pass


def frame(payload: Any, *, lf_only: bool = False, content_type: bool = False) -> bytes:
    body = json.dumps(payload).encode()
    nl = b"\n" if lf_only else b"\r\n"
    head = b"Content-Length: %d" % len(body) + nl
    if content_type:
        head += b"Content-Type: application/vscode-jsonrpc; charset=utf-8" + nl
    return head + nl + body


class Server:
    """`python -m promptlint lsp` as a child process."""

    def __init__(self, env: dict[str, str] | None = None, cwd: Path | None = None):
        full_env = {**os.environ, **(env or {})}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "promptlint", "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=full_env, cwd=str(cwd or ROOT), bufsize=0,
        )
        self.messages: list[dict[str, Any]] = []
        self.sent_at: dict[Any, float] = {}  # request id -> when it was written
        self.answered_at: dict[Any, float] = {}  # request id -> when its answer was read
        self.bad_output: list[bytes] = []  # server output that is not a well-formed frame (must stay empty)
        self._stderr = bytearray()
        self._cond = threading.Condition()
        self._next_id = 1000
        self._closed = False
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    # --- output ----------------------------------------------------------------------------------
    def _read_stdout(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = None
            while True:
                try:
                    line = out.readline()
                except (OSError, ValueError):  # closed by __exit__
                    line = b""
                if not line:
                    with self._cond:
                        self._closed = True
                        self._cond.notify_all()
                    return
                if line == b"\r\n":
                    break
                if not line.endswith(b"\r\n"):
                    self.bad_output.append(line)
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            if length is None:
                self.bad_output.append(b"frame without Content-Length")
                continue
            try:
                body = out.read(length)
            except (OSError, ValueError):
                return
            try:
                message = json.loads(body)
            except ValueError:
                self.bad_output.append(body)
                continue
            with self._cond:
                self.messages.append(message)
                if isinstance(message, dict) and "method" not in message and "id" in message:
                    self.answered_at.setdefault(message["id"] if isinstance(message["id"], (int, str)) else None, time.monotonic())
                self._cond.notify_all()

    def _read_stderr(self) -> None:
        err = self.proc.stderr
        assert err is not None
        while True:
            try:
                chunk = err.read1(65536) if hasattr(err, "read1") else err.read(65536)
            except (OSError, ValueError):  # closed by __exit__
                return
            if not chunk:
                return
            with self._cond:
                self._stderr += chunk

    @property
    def stderr(self) -> str:
        with self._cond:
            return self._stderr.decode("utf-8", "replace")

    # --- input -----------------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass

    def latency(self, msg_id: Any) -> float | None:
        with self._cond:
            if msg_id in self.answered_at and msg_id in self.sent_at:
                return self.answered_at[msg_id] - self.sent_at[msg_id]
        return None

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def request(self, method: str, params: Any = None, **kw: Any) -> int:
        msg_id = self.new_id()
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not None:
            message["params"] = params
        self.sent_at[msg_id] = time.monotonic()
        self.send(frame(message, **kw))
        return msg_id

    def notify(self, method: str, params: Any = None, **kw: Any) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.send(frame(message, **kw))

    def close_stdin(self) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass

    # --- waiting ---------------------------------------------------------------------------------
    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float, what: str = "a message", start: int = 0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for message in self.messages[start:]:
                    if predicate(message):
                        return message
                left = deadline - time.monotonic()
                if left <= 0 or (self._closed and self.proc.poll() is not None):
                    state = f"exited with {self.proc.poll()}" if self.proc.poll() is not None else "still running"
                    raise Hang(f"no {what} within {timeout:.0f} s (server {state}); stderr tail: {bytes(self._stderr[-800:])!r}")
                self._cond.wait(min(left, 0.1))

    def response(self, msg_id: Any, timeout: float = 30.0) -> dict[str, Any]:
        return self.wait_for(lambda m: m.get("id") == msg_id and "method" not in m, timeout, f"answer to request {msg_id!r}")

    def notification(self, method: str, timeout: float = 30.0, where: Callable[[dict[str, Any]], bool] = lambda m: True, start: int = 0) -> dict[str, Any]:
        return self.wait_for(lambda m: m.get("method") == method and where(m), timeout, method, start)

    def initialize(self, root: Path | None = None, options: Any = None, capabilities: Any = None) -> dict[str, Any]:
        params: dict[str, Any] = {"processId": None, "rootUri": root.as_uri() if root else None, "capabilities": capabilities or {}}
        if options is not None:
            params["initializationOptions"] = options
        answer = self.response(self.request("initialize", params), timeout=60)
        self.notify("initialized", {})
        return answer

    def wait_exit(self, timeout: float = 30.0) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Hang(f"the server did not exit within {timeout:.0f} s") from None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.kill()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass


def tracebacks(text: str) -> int:
    return text.count("Traceback (most recent call last)")


def open_params(uri: str, text: str, version: int = 1, language_id: str = "prompt") -> dict[str, Any]:
    return {"textDocument": {"uri": uri, "languageId": language_id, "version": version, "text": text}}


def hover_params(uri: str, line: int = 0, character: int = 0) -> dict[str, Any]:
    return {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}


# --- the malformed-frame catalogue ---------------------------------------------------------------

_REQUEST = {"jsonrpc": "2.0", "id": "garbage", "method": "textDocument/hover", "params": hover_params("file:///nowhere/x.prompt")}
_NOT_MESSAGES = [[], [1, 2], 42, "text", None, True, {}, {"a": 1}, {"jsonrpc": "2.0"}, {"jsonrpc": "1.0", "id": 7, "method": "x"},
                 {"jsonrpc": "2.0", "id": {"a": 1}, "method": "textDocument/hover"}, {"jsonrpc": "2.0", "id": [1], "method": "shutdown"},
                 {"jsonrpc": "2.0", "id": 9}, {"jsonrpc": "2.0", "method": 12}, {"jsonrpc": "2.0", "id": 8, "method": "textDocument/hover", "params": {"textDocument": 42}},
                 {"jsonrpc": "2.0", "id": 10, "method": "promptlint/noSuchMethod"}, {"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": 12345}},
                 {"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {"textDocument": {"uri": "file:///never-opened.prompt", "version": 2}, "contentChanges": [{"text": "x"}]}},
                 {"jsonrpc": "2.0", "id": 11, "result": None}, {"jsonrpc": "2.0", "id": 12, "error": {"code": 1, "message": "x"}}]

GARBAGE_KINDS = (
    "short-length", "long-length", "missing-length", "non-numeric-length", "negative-length", "huge-length", "zero-length",
    "not-json", "invalid-utf8", "deep-nesting", "not-a-message", "raw-bytes", "long-header-line", "lf-only", "bad-header-line",
    "two-lengths", "partial-header", "blank-lines",
)


def garbage(kind: str, n: int, blob: bytes) -> bytes:
    """One hostile segment. ``n`` is a non-negative integer parameter, ``blob`` arbitrary bytes. None of
    them is a well-formed shutdown or exit (those end the session)."""
    body = json.dumps(_REQUEST).encode()
    if kind == "short-length":
        return b"Content-Length: %d\r\n\r\n" % max(1, len(body) - 1 - n % len(body)) + body
    if kind == "long-length":
        return b"Content-Length: %d\r\n\r\n" % (len(body) + 1 + n) + body
    if kind == "missing-length":
        return b"Content-Type: application/vscode-jsonrpc\r\n\r\n" + body
    if kind == "non-numeric-length":
        value = blob.replace(b"\r", b"").replace(b"\n", b"")[:30] or b"abc"
        return b"Content-Length: " + (value if not value.strip().isdigit() else value + b"x") + b"\r\n\r\n" + body
    if kind == "negative-length":
        return b"Content-Length: -%d\r\n\r\n" % (n + 1) + body
    if kind == "huge-length":
        return b"Content-Length: %d\r\n\r\n" % (10 ** (8 + n % 30) + n) + body[: n % len(body)]
    if kind == "zero-length":
        return b"Content-Length: 0\r\n\r\n"
    if kind == "not-json":
        data = blob or b"{not json"
        return b"Content-Length: %d\r\n\r\n" % len(data) + data
    if kind == "invalid-utf8":
        data = b'{"jsonrpc": "2.0", "id": 5, "method": "\xff\xfe' + blob[:20] + b'"}'
        return b"Content-Length: %d\r\n\r\n" % len(data) + data
    if kind == "deep-nesting":
        data = b"[" * (1000 + n * 1000 % 200_000)
        return b"Content-Length: %d\r\n\r\n" % len(data) + data
    if kind == "not-a-message":
        data = json.dumps(_NOT_MESSAGES[n % len(_NOT_MESSAGES)]).encode()
        return b"Content-Length: %d\r\n\r\n" % len(data) + data
    if kind == "raw-bytes":
        return blob
    if kind == "long-header-line":
        return b"X" * (100 + n * 97 % 40_000)
    if kind == "lf-only":
        return b"Content-Length: %d\n\n" % len(body) + body
    if kind == "bad-header-line":
        return b"this is not a header\r\n" + blob[:50] + b"\r\n\r\n"
    if kind == "two-lengths":
        return b"Content-Length: %d\r\nContent-Length: %d\r\n\r\n" % (len(body), len(body) + 1 + n) + body
    if kind == "partial-header":
        return b"Content-Length: 1"[: 1 + n % 17]
    if kind == "blank-lines":
        return b"\r\n" * (1 + n % 5)
    raise ValueError(kind)


# --- well-formed traffic, for interleaving with the garbage ----------------------------------------

ACTION_KINDS = ("didOpen", "didChange", "didSave", "didClose", "hover", "codeAction", "pull", "cancel", "unknownRequest", "unknownNotification", "badParams")
TEXTS = ("Fix it.\n", "Refactor the entire codebase.\n", "Add a few tests for the parser, if possible.\n", "Make `verifyToken` reject expired tokens.\n",
         "Fix \udc80 the \ud800 bug.\n", "", "\n\n\n", "é" * 50 + " 🎉 maybe\n", "---\nname: x\n---\nDo the thing somehow.\n")


class Session:
    """Well-formed traffic for a server: documents with increasing versions, requests whose answers
    the caller waits for."""

    def __init__(self, server: Server):
        self.server = server
        self.versions: dict[str, int] = {}
        self.requests: list[int] = []

    def act(self, kind: str, n: int, text: str) -> int | None:
        """Send one well-formed message; the request id when it is a request."""
        s = self.server
        uri = f"file:///fuzz/doc-{n % 3}.prompt"
        rng = {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": n % 5}}
        msg_id: int | None = None
        if kind == "didOpen":
            self.versions[uri] = self.versions.get(uri, 0) + 1
            s.notify("textDocument/didOpen", open_params(uri, text, self.versions[uri]))
        elif kind == "didChange":
            if uri not in self.versions:
                return None  # pygls cannot apply a change to a document it does not have
            self.versions[uri] += 1
            s.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": self.versions[uri]}, "contentChanges": [{"text": text}]})
        elif kind == "didSave":
            s.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
        elif kind == "didClose":
            self.versions.pop(uri, None)
            s.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        elif kind == "hover":
            msg_id = s.request("textDocument/hover", hover_params(uri, n % 3, n % 7))
        elif kind == "codeAction":
            msg_id = s.request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": rng, "context": {"diagnostics": []}})
        elif kind == "pull":
            msg_id = s.request("textDocument/diagnostic", {"textDocument": {"uri": uri}})
        elif kind == "cancel":
            s.notify("$/cancelRequest", {"id": s._next_id - n % 3})
        elif kind == "unknownRequest":
            msg_id = s.request("promptlint/noSuchMethod", {"n": n})
        elif kind == "unknownNotification":
            s.notify("promptlint/noSuchNotification", {"n": n})
        elif kind == "badParams":
            msg_id = s.request("textDocument/hover", {"textDocument": n, "position": "top"})
        else:
            raise ValueError(kind)
        if msg_id is not None:
            self.requests.append(msg_id)
        return msg_id
