"""`promptlint server`: keeps the NLP pipeline and repository indexes warm behind a Unix socket, so
the Claude Code hook answers in milliseconds instead of paying spaCy's import on every prompt.

One server per user (a lock file decides), a 0600 socket in a 0700 runtime folder, stale sockets
replaced, concurrent clients served by threads, and an exit after a configurable idle time.
Protocol: one JSON object per line in each direction, one request per connection.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import socketserver
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

from .__about__ import __version__
from .hook import runtime

REFRESH_AFTER = 30.0  # seconds before a repository index is refreshed (in the background)
_MAX_REQUEST = 4_000_000


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        state: PromptlintServer = self.server.state  # type: ignore[attr-defined]
        try:
            line = self.rfile.readline(_MAX_REQUEST)
            request = json.loads(line or b"{}")
            reply = state.dispatch(request if isinstance(request, dict) else {})
        except Exception as exc:  # a bad request must not take the server down
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        try:
            self.wfile.write(json.dumps(reply).encode() + b"\n")
        except OSError:
            pass


class _SocketServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # many prompts at once (several sessions): a full backlog refuses connects


class PromptlintServer:
    def __init__(self, idle_timeout: float = 1800.0):
        self.idle_timeout = idle_timeout
        self.started = time.time()
        self.last_activity = time.monotonic()
        self.requests = 0
        self._linters: dict[Any, Any] = {}
        self._refreshing: set[Path] = set()
        self._guard = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="promptlint-work")
        self.server: _SocketServer | None = None

    # --- requests -----------------------------------------------------------------------------
    def dispatch(self, request: dict[str, Any]) -> dict[str, Any]:
        self.last_activity = time.monotonic()
        self.requests += 1
        op = request.get("op")
        if op == "ping":
            return {"ok": True, "version": __version__}
        if op == "status":
            return {
                "ok": True, "pid": os.getpid(), "version": __version__, "uptime": round(time.time() - self.started, 1),
                "requests": self.requests, "repositories": sorted(str(r) for linter in self._linters.values() for r in linter._repos),
                "idle_timeout": self.idle_timeout,
            }
        if op == "stop":
            threading.Thread(target=self.stop, daemon=True).start()
            return {"ok": True}
        if op == "hook":
            return self.hook(request)
        return {"error": f"unknown op {op!r}"}

    def linter_for(self, config: Any) -> Any:
        from .pipeline import Linter

        with self._guard:
            linter = self._linters.get(config)
            if linter is None:
                linter = self._linters[config] = Linter(config)
            return linter

    def hook(self, request: dict[str, Any]) -> dict[str, Any]:
        prompt, cwd = request.get("prompt"), request.get("cwd")
        if not isinstance(prompt, str) or not isinstance(cwd, str) or not os.path.isdir(cwd):
            return {"stdout": "", "stderr": "promptlint: bad hook request; passing the prompt through"}
        budget = float(request.get("deadline") or 2.0) - 0.1
        future = self._pool.submit(self._hook_work, prompt, cwd, request.get("mode"), request.get("session_model"))
        try:
            return future.result(timeout=max(0.05, budget))
        except FutureTimeout:
            # The work goes on and warms the index; this prompt passes untouched.
            return {"stdout": "", "stderr": "promptlint: still indexing this repository; no advice for this prompt"}
        except Exception as exc:
            return {"stdout": "", "stderr": f"promptlint: internal error ({type(exc).__name__}); passing the prompt through"}

    def _hook_work(self, prompt: str, cwd: str, mode: str | None, session_model: str | None) -> dict[str, Any]:
        from .config import discover
        from .hook.logic import respond

        config = discover(Path(cwd))
        if prompt.lstrip().startswith(config.hook_opt_out):
            return {"stdout": "", "stderr": ""}
        linter = self.linter_for(config)
        root = Path(cwd).resolve()  # the hook's repository is the project directory itself
        if root == Path(root.anchor) or root == Path.home().resolve():
            root = None  # a session started in / or ~ is not a project: lint the text alone
        if root is not None:
            self._refresh_if_stale(linter, root)
        fresh = root is not None and root not in linter._repos
        report = linter.lint(prompt, path="<prompt>", repo=root)
        if fresh:
            _freeze_heap()  # a new repository index: move it out of the collector's way
        repo = linter._repos.get(root) if root is not None else None
        facts = repo.facts.constraint_lines() if repo is not None else []
        return respond(report, mode or config.hook_mode, session_model, facts)

    def _refresh_if_stale(self, linter: Any, root: Path) -> None:
        root = root.resolve()
        ctx = linter._repos.get(root)
        if ctx is None or time.monotonic() - ctx.built_at < REFRESH_AFTER or root in self._refreshing:
            return
        self._refreshing.add(root)

        def refresh() -> None:
            try:
                linter.refresh_repo(root)
                _freeze_heap()
            finally:
                self._refreshing.discard(root)

        threading.Thread(target=refresh, daemon=True).start()

    # --- life cycle ---------------------------------------------------------------------------
    def warm_up(self) -> None:
        from .config import Config

        self.linter_for(Config()).lint("Warm up the pipeline.")
        _freeze_heap()

    def serve(self) -> None:
        path = runtime.socket_path()
        self.server = _SocketServer(str(path), _Handler)
        self.server.state = self  # type: ignore[attr-defined]
        os.chmod(path, 0o600)
        runtime.pid_path().write_text(str(os.getpid()))
        try:
            runtime.starting_path().unlink()
        except OSError:
            pass
        threading.Thread(target=self._watch_idle, daemon=True).start()
        try:
            self.server.serve_forever(poll_interval=0.2)
        finally:
            self._cleanup()

    def _watch_idle(self) -> None:
        while self.server is not None:
            time.sleep(min(1.0, self.idle_timeout / 4))
            if time.monotonic() - self.last_activity > self.idle_timeout:
                self.stop()
                return

    def stop(self) -> None:
        server, self.server = self.server, None
        if server is not None:
            server.shutdown()

    def _cleanup(self) -> None:
        for path in (runtime.socket_path(), runtime.pid_path()):
            try:
                path.unlink()
            except OSError:
                pass
        self._pool.shutdown(wait=False, cancel_futures=True)


def _freeze_heap() -> None:
    from .pipeline import freeze_heap

    freeze_heap()


def request(payload: dict[str, Any], timeout: float = 2.0) -> dict[str, Any] | None:
    """Send one request to a running server; None when none answers."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(runtime.socket_path()))
            sock.sendall(json.dumps(payload).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        return json.loads(data or b"null")
    except (OSError, ValueError):
        return None


def _take_lock() -> Any:
    """The per-user server lock: only its holder may bind the socket. None when another holds it."""
    runtime.ensure_runtime_dir()
    handle = open(runtime.runtime_dir() / "server.lock", "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


def run_server(idle_timeout: float, background: bool) -> int:
    if background:
        if os.fork() > 0:
            return 0
        os.setsid()
        if os.fork() > 0:
            os._exit(0)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
    lock = _take_lock()
    if lock is None:
        return 0  # another server is running or starting
    path = runtime.socket_path()
    if path.exists():
        if request({"op": "ping"}, timeout=0.5) is not None:
            return 0
        path.unlink()  # stale: its server died without cleaning up
    server = PromptlintServer(idle_timeout)
    server.warm_up()
    try:
        server.serve()
    finally:
        lock.close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run_server(1800.0, background=False))
