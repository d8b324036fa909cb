"""The warm server's HTTP front end on 127.0.0.1: Claude Code's HTTP hook and the mod reach it
without starting an interpreter per prompt.

Who may talk to it: anyone on this machine can connect to a loopback port, so every request must
carry the per-user secret (a 0600 file in the user's state dir, compared in constant time). A page
in a browser could still aim at the port (DNS rebinding, a form post): the Host header must name
the loopback address and port, an Origin header must be absent or loopback, and the body must be
declared JSON. Requests are small (2 MB cap, Content-Length required) and short (5 s per
connection, 16 at once); nothing about a request, least of all the secret, is logged.

Files:
- state dir (`$PROMPTLINT_STATE_DIR`, else `$XDG_STATE_HOME/promptlint`, else
  `~/.local/state/promptlint`; 0700): `http-secret` (0600) and `http-port`, the port the installer
  wrote into Claude Code's settings. They outlive a reboot, as the settings do.
- runtime dir: `http.json` (0600), the port the running server really listens on and its pid, so
  clients (the mod, `promptlint doctor`) find it.

Endpoints (POST, JSON in and out):
- `/hook/user-prompt-submit?mode=...&deadline=...`: the Claude Code hook input, as the command hook
  forwards it (the server's `answer_hook`); the answer is what the command hook would print (an
  empty body lets the prompt through).
- `/hook/session-start`: nothing to do but prove the server is up.
- `/lint`: `{"prompt", "cwd"}` -> findings with UTF-16 spans, the rewrite and the context (the mod).
- `/ping`: `{"ok": true, "version": ...}`.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import socket
import socketserver
import stat
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from . import runtime

SECRET_HEADER = "X-Promptlint-Secret"
SECRET_ENV = "PROMPTLINT_HOOK_SECRET"
MAX_BODY = 2_000_000
CONNECTION_SECONDS = 5.0
MAX_CONNECTIONS = 16
DEFAULT_DEADLINE = 1.5  # seconds the server spends on one HTTP hook request
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


# --- files ------------------------------------------------------------------------------------
def state_dir() -> Path:
    override = os.environ.get("PROMPTLINT_STATE_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_STATE_HOME")
    if base and os.path.isabs(base):
        return Path(base) / "promptlint"
    return Path.home() / ".local" / "state" / "promptlint"


def secret_path() -> Path:
    return state_dir() / "http-secret"


def port_path() -> Path:
    return state_dir() / "http-port"


def endpoint_path() -> Path:
    return Path(runtime.runtime_dir()) / "http.json"


def _private_dir(folder: Path) -> Path:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = os.lstat(folder)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise PermissionError(f"{folder} is not a folder owned by this user")
    if stat.S_IMODE(st.st_mode) & 0o077:
        os.chmod(folder, 0o700)
    return folder


def _read_private(path: Path, limit: int = 4096) -> str | None:
    """A small file only this user can read and write; None when absent or not trustworthy."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or stat.S_IMODE(st.st_mode) & 0o077 or st.st_size > limit:
            return None
        return os.read(fd, limit).decode("utf-8", "replace").strip()
    finally:
        os.close(fd)


def _write_private(path: Path, text: str) -> None:
    _private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def read_secret() -> str | None:
    value = _read_private(secret_path())
    return value if value and len(value) >= 32 else None


def ensure_secret() -> str:
    """The per-user secret, made on first use (32 random bytes, URL-safe)."""
    value = read_secret()
    if value is None:
        value = secrets.token_urlsafe(32)
        _write_private(secret_path(), value + "\n")
    return value


def preferred_port() -> int | None:
    value = _read_private(port_path(), 32)
    if value and value.isdigit() and 1024 <= int(value) <= 65535:
        return int(value)
    return None


def ensure_port() -> int:
    """The port the installer names in Claude Code's settings: kept once chosen, so the settings
    stay right across server restarts and reboots; a new free one only when there is none yet."""
    port = preferred_port()
    if port is None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        _write_private(port_path(), f"{port}\n")
    return port


def read_endpoint() -> dict[str, Any] | None:
    """Where the running server's HTTP listener is: {"port", "pid"}; None when it has none."""
    raw = _read_private(endpoint_path())
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        return None
    if isinstance(data, dict) and isinstance(data.get("port"), int):
        return data
    return None


def http_enabled() -> bool:
    """The listener starts only for a user who asked for it (the HTTP install or the mod made a secret)."""
    return read_secret() is not None


# --- requests ---------------------------------------------------------------------------------
class RequestRefused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _host_ok(host: str | None, port: int) -> bool:
    if not host:
        return False
    return host.strip().lower() in {f"{name}:{port}" for name in _LOOPBACK_NAMES}


def _origin_ok(origin: str | None) -> bool:
    if origin is None:
        return True  # Claude Code and the mod's host send none; browsers always do on a POST
    parts = urlsplit(origin.strip().lower())
    return parts.scheme in ("http", "https") and parts.hostname in ("127.0.0.1", "localhost", "::1")


def utf16_offset(text: str, index: int) -> int:
    """JavaScript counts UTF-16 code units; Python counts code points."""
    return index + sum(1 for ch in text[:index] if ord(ch) > 0xFFFF)


def hook_options(query: dict[str, list[str]]) -> tuple[str | None, float]:
    """(mode, seconds) from the hook URL's query (`?mode=block&deadline=1.5`)."""
    mode = (query.get("mode") or [None])[0]
    if mode not in (None, "context", "block", "advise"):
        mode = None
    try:
        deadline = float((query.get("deadline") or [DEFAULT_DEADLINE])[0])
    except ValueError:
        deadline = DEFAULT_DEADLINE
    if deadline != deadline:  # NaN
        deadline = DEFAULT_DEADLINE
    return mode, min(max(deadline, 0.2), 10.0)


class _Handler(BaseHTTPRequestHandler):
    server_version = "promptlint"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - never log requests
        pass

    def _reply(self, status: int, body: bytes = b"") -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            self.end_headers()
            if body:
                self.wfile.write(body)
        except OSError:
            pass
        self.close_connection = True

    def _refuse(self, status: int, message: str) -> None:
        self._reply(status, json.dumps({"error": message}).encode())

    def _body(self) -> bytes:
        listener: HookListener = self.server  # type: ignore[assignment]
        if not _host_ok(self.headers.get("Host"), listener.port):
            raise RequestRefused(421, "Host must be the loopback address and port")
        if not _origin_ok(self.headers.get("Origin")):
            raise RequestRefused(403, "cross-origin requests are refused")
        given = self.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode("utf-8", "replace"), listener.secret.encode()):
            raise RequestRefused(401, "missing or wrong secret")
        if self.headers.get("Transfer-Encoding"):
            raise RequestRefused(411, "Content-Length required")
        ctype = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if ctype != "application/json":
            raise RequestRefused(415, "the body must be application/json")
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            raise RequestRefused(411, "Content-Length required") from None
        if length < 0 or length > MAX_BODY:
            raise RequestRefused(413, f"the body is over {MAX_BODY} bytes")
        raw = self.rfile.read(length)
        if len(raw) != length:
            raise RequestRefused(400, "the body ended early")
        return raw

    @staticmethod
    def _json(raw: bytes) -> dict[str, Any]:
        try:
            data = json.loads(raw or b"{}")
        except (ValueError, RecursionError):
            raise RequestRefused(400, "the body is not JSON") from None
        if not isinstance(data, dict):
            raise RequestRefused(400, "the body is not a JSON object")
        return data

    def do_POST(self) -> None:  # noqa: N802
        listener: HookListener = self.server  # type: ignore[assignment]
        url = urlsplit(self.path)
        try:
            raw = self._body()
        except RequestRefused as exc:
            self._refuse(exc.status, str(exc))
            return
        except (OSError, ValueError):
            self.close_connection = True
            return
        query = parse_qs(url.query)
        try:
            if url.path == "/ping":
                self._reply(200, json.dumps(listener.dispatch({"op": "ping"})).encode())
            elif url.path == "/hook/session-start":
                self._reply(200)
            elif url.path == "/hook/user-prompt-submit":
                # The hook input as Claude Code sent it: the server parses it as it does the command
                # hook's (payload.parse: slash commands, memory notes, a bad cwd pass untouched).
                mode, seconds = hook_options(query)
                reply = listener.answer(raw, mode, seconds)
                out = reply.get("stdout") if isinstance(reply, dict) else None
                self._reply(200, out.strip().encode() if isinstance(out, str) and out.strip() else b"")
            elif url.path == "/lint":
                self._reply(200, json.dumps(listener.lint(self._json(raw))).encode())
            else:
                self._refuse(404, "no such endpoint")
        except RequestRefused as exc:
            self._refuse(exc.status, str(exc))
        except Exception as exc:  # noqa: BLE001 - a bad request must not take the server down
            # Fail open: Claude Code treats a non-2xx as a non-blocking error.
            self._refuse(500, type(exc).__name__)

    def _not_allowed(self) -> None:
        self._refuse(405, "POST only")

    do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _not_allowed  # noqa: N815


class HookListener(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, port: int, secret: str, dispatch: Callable[[dict[str, Any]], dict[str, Any]],
                 lint: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
                 answer: Callable[[bytes, str | None, float], dict[str, Any]] | None = None):
        self.secret = secret
        self.dispatch = dispatch
        self.lint = lint or (lambda data: {"error": "lint is not served here"})
        self.answer = answer or (lambda raw, mode, seconds: {})
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._refusals = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(("127.0.0.1", port), _Handler)
        self.port = self.server_address[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            if self._refusals.acquire(blocking=False):
                threading.Thread(target=self._refuse, args=(request,), daemon=True).start()
            else:
                self.shutdown_request(request)  # a flood: not even a 503
            return
        super().process_request(request, client_address)

    def _refuse(self, request: Any) -> None:
        """503 for a connection over the limit. The request is read first (briefly, capped):
        closing a socket with unread input sends a reset, and the client would see a broken pipe
        instead of the 503."""
        try:
            request.settimeout(0.5)
            seen = b""
            while b"\r\n\r\n" not in seen and len(seen) < 65536:
                chunk = request.recv(65536)
                if not chunk:
                    break
                seen += chunk
            request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            request.shutdown(socket.SHUT_WR)
            while request.recv(65536):  # the body, until the client closes (or the timeout)
                pass
        except OSError:
            pass
        finally:
            self.shutdown_request(request)
            self._refusals.release()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        # One deadline for the whole connection, however slowly the client sends.
        timer = threading.Timer(CONNECTION_SECONDS, _cut, args=(request,))
        timer.daemon = True
        timer.start()
        try:
            request.settimeout(CONNECTION_SECONDS)
            super().process_request_thread(request, client_address)
        finally:
            timer.cancel()
            self._slots.release()


def _cut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def start_listener(dispatch: Callable[[dict[str, Any]], dict[str, Any]],
                   lint: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
                   answer: Callable[[bytes, str | None, float], dict[str, Any]] | None = None) -> HookListener | None:
    """Listen on the installed port (or a free one when it is taken) and say so in the runtime dir.
    None when the user has not turned the HTTP transport on."""
    secret = read_secret()
    if secret is None:
        return None
    wanted = preferred_port() or 0
    try:
        listener = HookListener(wanted, secret, dispatch, lint, answer)
    except OSError:
        if listener_uid(wanted) not in (None, os.getuid()):
            # Another user holds our port: Claude Code has been sending it the secret. A new one
            # makes what leaked worthless here (the hook needs a reinstall anyway; doctor says so).
            secret = secrets.token_urlsafe(32)
            _write_private(secret_path(), secret + "\n")
        listener = HookListener(0, secret, dispatch, lint, answer)  # taken: doctor reports the mismatch
    runtime.ensure_runtime_dir()
    _write_private(endpoint_path(), json.dumps({"port": listener.port, "pid": os.getpid(), "started": time.time()}) + "\n")
    threading.Thread(target=listener.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True, name="promptlint-http").start()
    return listener


def listener_uid(port: int) -> int | None:
    """The uid listening on 127.0.0.1:``port`` (or on every address), from /proc/net/tcp; None when
    unknown (not Linux, or nobody listens)."""
    try:
        with open("/proc/net/tcp", "rb") as fh:
            table = fh.read(4_000_000).decode("ascii", "replace").splitlines()[1:]
    except OSError:
        return None
    ours = {f"0100007F:{port:04X}", f"00000000:{port:04X}"}
    for line in table:
        fields = line.split()
        if len(fields) > 7 and fields[1] in ours and fields[3] == "0A" and fields[7].isdigit():  # 0A: LISTEN
            return int(fields[7])
    return None


def stop_listener(listener: HookListener | None) -> None:
    if listener is None:
        return
    listener.shutdown()
    listener.server_close()
    try:
        data = read_endpoint()
        if data and data.get("pid") == os.getpid():
            endpoint_path().unlink()
    except OSError:
        pass


def lint_for(state: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The mod's `/lint`: findings with the spans the prompt box paints, the rewrite and the context,
    from the warm server's linters (`state` is the PromptlintServer)."""
    from concurrent.futures import TimeoutError as FutureTimeout

    def work(prompt: str, cwd: str, deadline: float) -> dict[str, Any]:
        from ..config import discover
        from ..errors import LintTimeout, PromptlintError
        from ..model import Severity
        from .logic import context_text, needs_context

        empty = {"findings": [], "rewrite": None, "context": None, "advice": None}
        try:
            config = discover(Path(cwd))
        except PromptlintError:  # a broken project config: the defaults, as the hook does
            config = discover(Path(cwd), isolated=True)
        if prompt.lstrip().startswith((config.hook_opt_out, "/", "#")):
            return empty
        linter = state.linter_for(config)
        root: Path | None = Path(cwd).resolve()
        if root == Path(root.anchor) or root == Path.home().resolve():
            root = None
        repo_ctx = linter.repo_context_within(root, deadline - time.monotonic() - 0.3) if root is not None else None
        if root is not None and repo_ctx is None:
            return {**empty, "pending": True}  # the index is being built: ask again shortly
        try:
            report = linter.lint(prompt, path="<prompt>", repo=root, deadline=deadline)
        except LintTimeout:
            return {**empty, "pending": True}
        facts = repo_ctx.facts.constraint_lines() if repo_ctx is not None else []
        shown = [f for f in report.findings if f.severity >= Severity.warning]
        return {
            "findings": [
                {"code": f.code, "severity": f.severity.name, "message": f.message, "suggestion": f.suggestion,
                 "start": utf16_offset(prompt, f.start_offset), "end": utf16_offset(prompt, f.end_offset)}
                for f in report.findings
            ],
            "rewrite": report.rewrite if shown and report.rewrite and report.rewrite.strip() != prompt.strip() else None,
            "context": context_text(report, facts) if needs_context(report) else None,
            "advice": report.advice,
        }

    def lint(data: dict[str, Any]) -> dict[str, Any]:
        prompt, cwd = data.get("prompt"), data.get("cwd")
        if not isinstance(prompt, str) or not isinstance(cwd, str) or not os.path.isabs(cwd) or not os.path.isdir(cwd):
            raise RequestRefused(400, "needs a prompt and an absolute cwd")
        if len(prompt) > 200_000:
            raise RequestRefused(413, "prompt too long")
        try:
            budget = min(max(float(data.get("deadline") or 2.0), 0.2), 10.0)
        except (TypeError, ValueError):
            budget = 2.0
        deadline = time.monotonic() + budget
        state.last_activity = time.monotonic()  # the mod's checks keep the server alive like prompts do
        future = state._pool.submit(work, prompt, cwd, deadline)
        try:
            return future.result(timeout=budget + 0.1)
        except FutureTimeout:
            return {"pending": True, "findings": [], "rewrite": None, "context": None, "advice": None}

    return lint
