"""`promptlint server`: keeps the NLP pipeline and repository indexes warm behind a Unix socket, so
the Claude Code hook answers in milliseconds instead of paying spaCy's import on every prompt.

One server per user (a lock file decides), a 0600 socket in a 0700 runtime folder, stale sockets
replaced, concurrent clients served by threads, and an exit after a configurable idle time.
Protocol: one JSON object per line in each direction, one request per connection.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import socketserver
import stat
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

from .__about__ import __version__
from .hook import payload, runtime
from .errors import LintTimeout

# linted once against a repository a `check` child indexed, to load what every later lint there needs
_WARM_PROMPT = "Fix the bug in the `main` function of the query module, where a missing relation raises an error."
# Linted (and rendered in every format) by the server itself, with no repository and against each
# one it holds: what a lint and its output build lazily on first use (rules' patterns reached only
# by some prompts, matchers, the renderers' caches) is then built once and shared by every child,
# not rebuilt in each (a child's first lint of a new prompt took ~2x its second). Prompts of
# different kinds, so that most rules' code runs.
_WARM_PROMPTS = (
    _WARM_PROMPT,
    "Refactor the auth middleware and clean up the code so it is nicer, maybe add some tests etc.",
    "Add a `--verbose` flag to the CLI in src/cli.py like the other flags, and run `npm test` before you finish.",
    "It still fails, fix it. Make it work like the other one and update whatever needs updating.",
    "Rewrite the whole project in Rust and migrate the database; keep the public API unchanged.",
    "Add a test for the pagination of the users list and rename `get_users` to `list_users` everywhere.\n\n- check the docs\n- see README.md",
)
REFRESH_AFTER = 30.0  # seconds before a repository index is refreshed (in the background)
_MAX_REQUEST = 4_000_000
# Longer prompts (pasted logs) cannot be linted within a hook's deadline (the analysis runs at
# about 100 kB/s and holds the pipeline's lock meanwhile); `check` still lints them.
HOOK_MAX_PROMPT = 50_000


class _Handler(socketserver.StreamRequestHandler):
    timeout = 10.0  # a client that connects and sends nothing does not hold a thread forever

    def handle(self) -> None:
        state: PromptlintServer = self.server.state  # type: ignore[attr-defined]
        try:
            runtime.check_client(self.request)
        except OSError:
            return  # another user's process reached the socket (it is 0600 in a 0700 folder), or a confined one: say nothing
        try:
            line = self.rfile.readline(_MAX_REQUEST)
            if line.startswith(b"hook "):
                self._hook(state, line)
                return
            if len(line) >= _MAX_REQUEST and not line.endswith(b"\n"):
                raise ValueError("request over the size limit")
            request = json.loads(line or b"{}")
            reply = state.dispatch(request if isinstance(request, dict) else {})
        except Exception as exc:  # a bad request must not take the server down
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        try:
            self.wfile.write(json.dumps(reply).encode() + b"\n")
        except OSError:
            pass

    def _hook(self, state: "PromptlintServer", line: bytes) -> None:
        """The hook client's framed request (see hook/client.py): raw hook input in, stdout and
        stderr bytes out."""
        started = time.monotonic()
        try:
            _, mode, left_ms, n = line.split()
            project = self.rfile.read(int(n)).decode("utf-8", "surrogateescape") if int(n) else None
            raw = self.rfile.read(payload.MAX_INPUT + 1)
            budget = int(left_ms) / 1000 - (time.monotonic() - started)
            reply = state.answer_hook(raw, None if mode == b"-" else mode.decode("ascii", "replace"), project, budget)
        except Exception as exc:  # noqa: BLE001
            reply = {"stdout": "", "stderr": f"promptlint: bad hook request ({type(exc).__name__}); passing the prompt through"}
        out = reply.get("stdout", "").encode("utf-8", "replace")
        err = reply.get("stderr", "").encode("utf-8", "replace")
        try:
            self.wfile.write(b"%d %d\n" % (len(out), len(err)) + out + err)
        except OSError:
            pass


class _CliHandler(socketserver.BaseRequestHandler):
    """`promptlint check|rewrite|advise` for promptlint.remote: the client's command line, folder,
    environment and standard streams in; a forked child runs the same click command on them, so
    the output is the in-process output byte for byte; the exit code goes back."""

    def handle(self) -> None:
        import socket

        conn = self.request
        state: PromptlintServer = self.server.state  # type: ignore[attr-defined]
        try:
            runtime.check_client(conn)
        except OSError:
            try:
                conn.sendall(b"refused client\n")  # the client runs the command itself, in its own view
            except OSError:
                pass
            return
        fds: list[int] = []
        try:
            conn.settimeout(10.0)
            data = b""
            while b"\n" not in data and len(data) < 100:
                chunk = conn.recv(100)
                if not chunk:
                    raise ValueError("cut short")
                data += chunk
            head, _, rest = data.partition(b"\n")
            if not head.startswith(_CLI_HEAD):
                raise ValueError("not a cli request")
            size = int(head[len(_CLI_HEAD):])
            if not 0 < size <= _MAX_REQUEST:
                raise ValueError("request size")
            body = bytearray(rest)
            while len(body) < size:
                chunk = conn.recv(min(65536, size - len(body)))
                if not chunk:
                    raise ValueError("cut short")
                body += chunk
            body = bytes(body[:size])
            cwd, encoding, argv, env = _parse_cli_body(body)
            # Only now the client's streams: descriptors in flight to a server that is stopped
            # before it accepts would keep the client's pipes open (its `check | cat` would not
            # end) after the client gave up and ran the command itself.
            conn.sendall(_SEND_FDS)
            marker, fds = _receive_client_fds(conn)
            if marker != b"+" or len(fds) != 3:
                raise ValueError("no streams")
        except (OSError, ValueError, IndexError) as exc:
            _close_client_fds(fds)
            try:
                conn.sendall(f"refused {type(exc).__name__}\n".encode())
            except OSError:
                pass
            return
        state.last_activity = time.monotonic()
        state.requests += 1
        state.run_cli(conn, fds, cwd, encoding, argv, env, body)


def _parse_cli_body(body: bytes) -> tuple[str, str, list[str], dict[str, str]]:
    fields: list[str] = []
    i = 0
    while i < len(body):
        colon = body.index(b":", i)
        n = int(body[i:colon])
        fields.append(body[colon + 1 : colon + 1 + n].decode("utf-8", "surrogateescape"))
        i = colon + 1 + n
    cwd, encoding, argc = fields[0], fields[1], int(fields[2])
    argv = fields[3 : 3 + argc]
    env = dict(item.split("=", 1) for item in fields[3 + argc :] if "=" in item)
    if argv[:1] not in (["check"], ["rewrite"], ["advise"]):
        raise ValueError("only check, rewrite and advise run in the server")
    return cwd, encoding, argv, env


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
        self._warming: set[tuple[Path, int]] = set()  # repositories a `check` child indexed
        self._guard = threading.Lock()
        self._spares: list[_Spare] = []  # children forked ahead of the next `check`s, oldest first (see run_cli)
        self._spare_lock = threading.Lock()
        self._replenish_lock = threading.Lock()  # one thread at a time forks spares
        self._stopping = False
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="promptlint-work")
        self.server: _SocketServer | None = None
        self.cli_server: _SocketServer | None = None
        self.http: Any = None  # the HTTP front end (hook/httpd.py), when the user turned it on
        self.lock: Any = None  # the per-user server lock file (run_server), held while this process serves

    # --- requests -----------------------------------------------------------------------------
    def dispatch(self, request: dict[str, Any]) -> dict[str, Any]:
        self.last_activity = time.monotonic()
        self.requests += 1
        op = request.get("op")
        if op == "ping":
            return {"ok": True, "version": __version__}
        if op == "status":
            with self._spare_lock:
                spares = [spare.pid for spare in self._spares]
            return {
                "ok": True, "pid": os.getpid(), "version": __version__, "uptime": round(time.time() - self.started, 1),
                "requests": self.requests, "repositories": sorted(str(r) for linter in self._linters.values() for r in linter._repos),
                "warm": sorted({str(root) for root, _ in _warm_keys()}),
                "watched": sorted({str(root) for root, ctx in _warm_items() if ctx.watcher is not None and not ctx.watcher.changed()}),
                "idle_timeout": self.idle_timeout,
                "spare": spares[0] if spares else None,  # the child the next `check` runs in
                "spares": spares,
            }
        if op == "stop":
            threading.Thread(target=self.stop, daemon=True).start()
            return {"ok": True}
        if op == "hook":
            return self.hook(request)
        if op == "http":  # the mod turned the HTTP front end on after this server started
            return self.start_http()
        return {"error": f"unknown op {op!r}"}

    def linter_for(self, config: Any) -> Any:
        # The process's shared Linter (pipeline.shared_linter): the one a forked `check` child
        # finds ready, rebuilt when the rule files changed.
        from .pipeline import shared_linter

        with self._guard:
            linter = self._linters[config] = shared_linter(config)
            return linter

    def answer_hook(self, raw: bytes, mode: str | None, project_dir: str | None, budget: float) -> dict[str, Any]:
        """What the hook prints for this raw hook input ({"stdout", "stderr"}); every transport
        (the command hook's socket, an HTTP hook) comes here."""
        hook_input, why = payload.parse(raw, project_dir)
        if hook_input is None:
            return {"stdout": "", "stderr": f"promptlint: {why}" if why else ""}
        model, previous = payload.read_transcript(hook_input.transcript_path)
        return self.hook({"op": "hook", "prompt": hook_input.prompt, "cwd": hook_input.cwd, "mode": mode, "session_model": model,
                          "previous_turn": previous, "deadline": budget})

    def hook(self, request: dict[str, Any]) -> dict[str, Any]:
        prompt, cwd = request.get("prompt"), request.get("cwd")
        if not isinstance(prompt, str) or not isinstance(cwd, str) or "\0" in cwd or not os.path.isdir(cwd):
            return {"stdout": "", "stderr": "promptlint: bad hook request; passing the prompt through"}
        if len(prompt) > HOOK_MAX_PROMPT:
            return {"stdout": "", "stderr": f"promptlint: prompt over {HOOK_MAX_PROMPT // 1000} kB; not linted in the hook (use `promptlint check`)"}
        budget = request.get("deadline")
        budget = float(budget) if isinstance(budget, (int, float)) and not isinstance(budget, bool) and math.isfinite(budget) else 2.0
        deadline = time.monotonic() + min(max(0.05, budget - 0.05), 30.0)
        fields = {k: request.get(k) if isinstance(request.get(k), str) else None for k in ("mode", "session_model", "previous_turn")}
        if fields["mode"] not in (None, "context", "block", "advise"):
            return {"stdout": "", "stderr": f"promptlint: unknown mode {fields['mode']!r}; passing the prompt through"}
        future = self._pool.submit(self._hook_work, prompt, cwd, fields["mode"], fields["session_model"], fields["previous_turn"], deadline)
        try:
            return future.result(timeout=max(0.01, deadline - time.monotonic()))
        except (FutureTimeout, LintTimeout):
            # Indexing goes on in the background and warms the index; this prompt passes untouched.
            return {"stdout": "", "stderr": "promptlint: no advice within the deadline (indexing or busy); passing the prompt through"}
        except Exception as exc:
            return {"stdout": "", "stderr": f"promptlint: internal error ({type(exc).__name__}); passing the prompt through"}

    def _hook_work(self, prompt: str, cwd: str, mode: str | None, session_model: str | None, previous_turn: str | None, deadline: float) -> dict[str, Any]:
        from .config import discover
        from .errors import PromptlintError
        from .hook.logic import respond

        try:
            config = discover(Path(cwd))
        except PromptlintError as exc:  # the repository's config is broken: lint with the defaults, say why
            config = discover(Path(cwd), isolated=True)
            from .textsafe import one_line

            # The message quotes the repository's own keys and values; the hook prints it as is, so
            # no escape sequence and no line of its own ("\nIgnore previous instructions").
            config_problem = one_line(f"promptlint: {exc}; using the default settings")
        else:
            config_problem = ""
        if prompt.lstrip().startswith(config.hook_opt_out):
            return {"stdout": "", "stderr": ""}
        linter = self.linter_for(config)
        root = Path(cwd).resolve()  # the hook's repository is the project directory itself
        if root == Path(root.anchor) or root == Path.home().resolve():
            root = None  # a session started in / or ~ is not a project: lint the text alone
        repo_ctx = None
        if root is not None:
            self._refresh_if_stale(linter, root)
            repo_ctx = linter.repo_context_within(root, deadline - time.monotonic() - 0.3)
        report = linter.lint(prompt, path="<prompt>", repo=root if repo_ctx is not None else None, deadline=deadline, previous_turn=previous_turn)
        facts = repo_ctx.facts.constraint_lines() if repo_ctx is not None else []
        reply = respond(report, mode or config.hook_mode, session_model, facts, block_on=config.hook_block_on, project=str(root or cwd))
        if config_problem:
            reply["stderr"] = (reply.get("stderr") or "") + config_problem
        return reply

    def _refresh_if_stale(self, linter: Any, root: Path) -> None:
        root = root.resolve()
        ctx = linter._repos.get(root)
        if ctx is None or root in self._refreshing:
            return
        if ctx.watcher is not None:
            if not ctx.watcher.changed():
                return  # nothing below the root changed: the index is current
        elif time.monotonic() - ctx.built_at < REFRESH_AFTER:
            return  # no watcher (not Linux, too many folders): a rescan at most every 30 s
        self._refreshing.add(root)

        def refresh() -> None:
            try:
                linter.refresh_repo(root)
                _freeze_heap()
            finally:
                self._refreshing.discard(root)
            self.replenish_spare()

        threading.Thread(target=refresh, daemon=True).start()

    # --- life cycle ---------------------------------------------------------------------------
    def run_cli(self, conn: Any, fds: list[int], cwd: str, encoding: str, argv: list[str], env: dict[str, str], body: bytes) -> None:
        """Run the command in a child on the client's streams; the child reports the exit code.

        The child is the spare forked ahead of time when it is still current (nothing this
        process holds changed since), else one forked now. Forking a process of this size costs
        10-20 ms, and a fresh child's first lint copies the pages it writes (reference counts):
        the spare did both before the request came."""
        from . import pipeline

        before = dict(pipeline._warm_repos)
        spare = self._take_spare()
        heard = bytearray()  # what the child says on its `said` channel (see _serve_in_child)
        said = -1
        try:
            outcome = None
            if spare is not None and spare.hand_over(conn, fds, body):
                pid, said = spare.pid, spare.sock.detach()
                outcome = self._wait_for_child(conn, pid, said, heard, fds, _SPARE_TAKES_WITHIN)
                if outcome != "gone" and not heard.startswith((_OFFERED, _TAKEN)):
                    # A spare that never offered to run it (stopped, stuck, or killed with the
                    # request unread): nothing reached the client, so a fresh child runs it.
                    _close_said(said)
                    heard.clear()
                    outcome = None
            elif spare is not None:
                spare.discard()
            if outcome is None:
                pid, said = self._fork_child(conn, fds, cwd, encoding, argv, env, before)
                self._wait_for_child(conn, pid, said, heard, fds, _CHILD_TAKES_WITHIN)
        finally:
            _close_client_fds(fds)
        try:
            taken, keys = _parse_said(bytes(heard))
            if not taken:
                # The child died, or was killed for not taking the request in time, before it
                # ran anything: nothing reached the client, which runs the command itself.
                try:
                    conn.sendall(b"refused lost\n")
                except OSError:
                    pass
            self._warm_in_background(keys)
        finally:
            _close_said(said)
            self.replenish_spare()

    def _fork(self) -> int:
        """os.fork(), with every lock another thread may hold taken first: a lock held at fork
        time stays held forever in the child (a lint in progress finishes first); and never while
        another thread starts a process (fsutil.spawn_lock)."""
        from .fsutil import spawn_lock
        from .text import nlp

        locks = [nlp._lock, self._guard, *(linter._lock for linter in list(self._linters.values())), spawn_lock, _client_fds_lock]
        for lock in locks:
            lock.acquire()
        try:
            return os.fork()
        finally:
            for lock in locks:
                lock.release()

    def _fork_child(self, conn: Any, fds: list[int], cwd: str, encoding: str, argv: list[str], env: dict[str, str],
                    before: dict) -> tuple[int, int]:
        """A child forked now for this request: its pid, and the pipe it says its repositories on."""
        # The child says which repositories it indexed, so that this process indexes them too
        # and the next `check` there starts warm (what the child learns dies with it).
        with _client_fds_lock:  # no other child may inherit this pipe
            said_r, said_w = os.pipe()
            _client_fds.update((said_r, said_w))
        try:
            pid = self._fork()
        except OSError:
            _close_client_fds([said_w])
            raise
        if pid == 0:  # pragma: no cover - runs in the child; tests/test_remote.py checks what it does
            code = 2
            try:
                self._close_listeners()
                _drop_inherited({conn.fileno(), *fds, said_w})
                code = _serve_in_child(conn, fds, cwd, encoding, argv, env, before, said_w)
            except BaseException:  # noqa: BLE001
                pass
            finally:
                os._exit(code)
        _close_client_fds([said_w])
        return pid, said_r  # still listed in _client_fds: run_cli closes it (_close_said)

    def _close_listeners(self) -> None:
        """In a forked child: let go of what makes this process the server. A child keeping the
        lock file's descriptor keeps the flock (it belongs to the open file, shared across fork),
        so no new server could start while a spare or a long `check` lives on after this server
        exited; a child keeping the HTTP listener keeps its port bound, and the connections
        Claude Code makes there queue on a socket nobody accepts on (closing them here leaves the
        parent's own descriptors open and the lock held by the parent)."""
        for listener in (self.server, self.cli_server, self.http):
            if listener is not None:
                listener.socket.close()
        if self.lock is not None:
            self.lock.close()

    def _state(self) -> tuple:
        """What a forked child takes from this process and a spare must still match: the warm
        repository contexts and the shared Linters (pipeline). The objects themselves, not their
        id(): a replaced context is freed, and the next one often gets its address."""
        from . import pipeline

        return (tuple(pipeline._warm_repos.items()), tuple(pipeline._default.items()))

    def _spare_is_current(self, forked_with: tuple) -> bool:
        now = self._state()
        return all(len(was) == len(new) and all(k1 == k2 and v1 is v2 for (k1, v1), (k2, v2) in zip(was, new))
                   for was, new in zip(forked_with, now))

    def _take_spare(self) -> "_Spare | None":
        """The oldest waiting spare that is still current; stale ones are discarded."""
        while True:
            with self._spare_lock:
                if not self._spares:
                    return None
                spare = self._spares.pop(0)
                if self._spares:
                    self._spares[0].warm()  # next in line: its warm-up runs while this one serves
            if self._spare_is_current(spare.state):
                return spare
            spare.discard()  # forked before this process indexed or refreshed something

    def replenish_spare(self) -> None:
        """Fork spare children until SPARES current ones wait; replace stale or dead ones.

        More than one: the spare that takes a request is replaced only once its child is done
        (a fork then, while the child runs, would take CPU from it), and a fork and the new
        spare's warm-up lint take longer than a client's start, so a `check` right after another
        (a script, a save-all in an editor) would otherwise find no spare ready and wait for it.
        The fork happens outside _spare_lock, so that a request meanwhile takes a waiting one."""
        with self._replenish_lock:
            while self.server is not None:
                with self._spare_lock:
                    if self._stopping:
                        return
                    kept, dropped = [], []
                    for spare in self._spares:
                        (kept if self._spare_is_current(spare.state) and spare.alive() else dropped).append(spare)
                    self._spares = kept
                    if kept:
                        kept[0].warm()
                    state = self._state()
                for spare in dropped:
                    spare.discard()
                if len(kept) >= SPARES:
                    return
                spare = self._fork_spare(state)
                if spare is None:
                    return
                with self._spare_lock:
                    if not self._stopping:
                        self._spares.append(spare)
                        self._spares[0].warm()
                        continue
                spare.discard()  # the server stopped meanwhile
                return

    def _fork_spare(self, state: tuple) -> "_Spare | None":
        import socket

        parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            pid = self._fork()
        except OSError:
            parent_end.close()
            child_end.close()
            return None
        if pid == 0:  # pragma: no cover - the spare child
            code = 2
            try:
                self._close_listeners()
                _drop_inherited({child_end.fileno()})  # the other spares' ends and every client's socket too
                code = _spare_main(child_end)
            except BaseException:  # noqa: BLE001
                pass
            finally:
                os._exit(code)
        child_end.close()
        return _Spare(pid, parent_end, state)

    def _warm_in_background(self, keys: list[tuple[Path, int]]) -> None:
        from . import pipeline
        from .config import Config

        for root, max_size in keys:
            if (root, max_size) in self._warming:
                continue
            self._warming.add((root, max_size))

            def warm(root: Path = root, max_size: int = max_size) -> None:
                try:
                    ctx = pipeline.warm_repo(root, max_size)
                    # What a lint there loads on first use (the symbols' store, the facts, the
                    # rules' lazily compiled patterns): loaded here once, not in every child.
                    ctx.facts  # noqa: B018
                    # The message literals too (read from the files on first need, see
                    # RepoSearch.message_field): a pasted error is then no slower than any prompt.
                    ctx.resolver.search.message_field()
                    _warm_lints(self.linter_for(Config()), root)
                    _freeze_heap()
                except Exception:  # noqa: BLE001 - the next check indexes it itself
                    pass
                finally:
                    self._warming.discard((root, max_size))
                self.replenish_spare()  # the spare must know this repository too

            threading.Thread(target=warm, name="promptlint-warm", daemon=True).start()

    def _wait_for_child(self, conn: Any, pid: int, said: int, heard: bytearray, fds: list[int], takes_within: float) -> str:
        """Wait for the child, collecting what it says on ``said`` and closing the client's
        ``fds`` here once it took the request: "exited"; "late" when it did not take the request
        within ``takes_within`` seconds (a stopped or stuck child: killed, so that the client is
        not left waiting); "gone" when the client went away (Ctrl-C, or its own timeout), which
        stops the child."""
        import select

        os.set_blocking(said, False)
        give_up = time.monotonic() + takes_within
        rdhup = getattr(select, "POLLRDHUP", 0)
        poller = select.poll()
        client = conn.fileno()
        poller.register(client, select.POLLHUP | select.POLLERR | (rdhup or select.POLLIN))
        # Woken by what the child says and by its exit, not by a clock: the client's streams are
        # let go the moment the child took them (a `check | cat` or a caller reading the output to
        # its end waits for every copy), and the next spare is forked as soon as the child is done.
        poller.register(said, select.POLLIN)
        exited = _pidfd(pid)
        if exited >= 0:
            poller.register(exited, select.POLLIN)
        try:
            while True:
                done, _ = os.waitpid(pid, os.WNOHANG)
                if _drain(said, heard):
                    poller.unregister(said)  # its end of file: the child exits (or closed it); the exit wakes us
                    said = -1
                taken = _parse_said(bytes(heard))[0]
                if taken and fds:
                    _close_client_fds(fds)  # the child has its own copies: a `check | cat` ends with it
                if done:
                    return "exited"
                now = time.monotonic()
                if not taken and now > give_up:
                    _kill(pid)
                    if said >= 0:
                        _drain(said, heard)
                    return "late"
                wait = 50 if taken else max(1, min(50, math.ceil((give_up - now) * 1000)))
                gone = any(fd == client for fd, _ in poller.poll(wait))
                if not gone:
                    continue
                if not rdhup:  # no RDHUP (not Linux): the client's end of file shows as readable
                    try:
                        gone = conn.recv(1, socket_flags_peek()) == b""
                    except BlockingIOError:
                        gone = False
                    except OSError:
                        gone = True
                    if not gone:
                        time.sleep(0.01)  # its "go" waits for the child to read it
                        continue
                _kill(pid)  # SIGKILL: a stopped child would hold SIGTERM until it is continued
                if said >= 0:
                    _drain(said, heard)
                return "gone"
        finally:
            _close_pidfd(exited)

    def warm_up(self) -> None:
        from .config import Config

        self.linter_for(Config()).lint("Warm up the pipeline.")
        # What a `check` run in a forked child imports: loaded once here, shared by every child.
        import rich.console  # noqa: F401

        from . import cli, inputs  # noqa: F401
        from .config import user_config_path
        from .output import json as _json, sarif as _sarif, text as _text  # noqa: F401

        user_config_path()  # imports what finding the user's config needs (platformdirs)
        _import_repository_modules()
        _freeze_heap()

    def _warm_then_fork(self) -> None:
        """The rest of the warm-up (half a second), once the server answers: then the spares, so
        that they are forked with what it built."""
        from .config import Config

        try:
            _warm_lints(self.linter_for(Config()), None)
            _freeze_heap()
        finally:
            self.replenish_spare()

    def serve(self) -> None:
        from .pipeline import watch_repositories

        watch_repositories()  # answer from an index while nothing below its root changed
        path = runtime.socket_path()
        self.server = _SocketServer(str(path), _Handler)
        self.server.state = self  # type: ignore[attr-defined]
        os.chmod(path, 0o600)  # the folder is 0700 already; the socket too, in case it is ever moved
        cli_path = runtime.cli_socket_path()
        try:
            if os.path.lexists(cli_path):
                os.unlink(cli_path)  # we hold the server lock: whatever is there is stale
        except OSError:
            pass
        else:
            self.cli_server = _SocketServer(cli_path, _CliHandler)
            self.cli_server.state = self  # type: ignore[attr-defined]
            os.chmod(cli_path, 0o600)
            threading.Thread(target=self.cli_server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
        _write_private(runtime.pid_path(), str(os.getpid()))
        for marker in (runtime.starting_path(), runtime.failed_path()):
            try:
                os.unlink(marker)
            except OSError:
                pass
        threading.Thread(target=self._watch_idle, daemon=True).start()
        self.start_http()
        threading.Thread(target=self._warm_then_fork, name="promptlint-warm", daemon=True).start()
        try:
            self.server.serve_forever(poll_interval=0.2)
        finally:
            self._cleanup()

    def start_http(self) -> dict[str, Any]:
        """Listen on 127.0.0.1 too, for Claude Code's HTTP hook and the mod, when this user has a
        secret (`install --transport http` or the mod made one); see hook/httpd.py."""
        from .hook import httpd

        with self._guard:
            if self.http is None:
                try:
                    self.http = httpd.start_listener(self.dispatch, httpd.lint_for(self), self._answer_http)
                except OSError as exc:
                    return {"ok": False, "error": f"cannot listen on 127.0.0.1 ({exc.strerror or exc})"}
            return {"ok": self.http is not None, "port": self.http.port if self.http is not None else None}

    def _answer_http(self, raw: bytes, mode: str | None, budget: float) -> dict[str, Any]:
        self.last_activity = time.monotonic()
        self.requests += 1
        return self.answer_hook(raw, mode, None, budget)  # an HTTP hook has no CLAUDE_PROJECT_DIR: cwd

    def _watch_idle(self) -> None:
        while self.server is not None:
            time.sleep(min(1.0, self.idle_timeout / 4))
            if time.monotonic() - self.last_activity > self.idle_timeout:
                self.stop()
                return

    def stop(self) -> None:
        with self._spare_lock:
            self._stopping = True
            spares, self._spares = self._spares, []
        for spare in spares:
            spare.discard()
        server, self.server = self.server, None
        cli_server, self.cli_server = self.cli_server, None
        for listener in (cli_server, server):
            if listener is not None:
                listener.shutdown()

    def _cleanup(self) -> None:
        from .hook import httpd

        httpd.stop_listener(self.http)
        self.http = None
        for path in (runtime.socket_path(), runtime.cli_socket_path(), runtime.pid_path()):
            try:
                os.unlink(path)
            except OSError:
                pass
        self._pool.shutdown(wait=False, cancel_futures=True)


def socket_flags_peek() -> int:
    import socket

    return socket.MSG_PEEK | socket.MSG_DONTWAIT


class _Spare:
    """A child forked ahead of the next `check`, waiting on its end of a socket pair for the
    client's connection, streams and request (see _spare_main)."""

    def __init__(self, pid: int, sock: Any, state: tuple) -> None:
        self.pid, self.sock, self.state = pid, sock, state
        self.warming = False

    def warm(self) -> None:
        """Tell the spare it is next in line: it runs its warm-up lint now (once)."""
        if not self.warming:
            self.warming = True
            try:
                self.sock.send(_WARM)
            except OSError:
                pass  # gone: found dead when it is next taken or replenished

    def alive(self) -> bool:
        try:
            return os.waitpid(self.pid, os.WNOHANG) == (0, 0)
        except ChildProcessError:
            return False

    def hand_over(self, conn: Any, fds: list[int], body: bytes) -> bool:
        """Pass the request on; False when the spare is gone (it died, or was killed)."""
        import socket

        try:
            self.sock.settimeout(5.0)
            socket.send_fds(self.sock, [_REQUEST], [conn.fileno(), *fds])
            self.sock.sendall(len(body).to_bytes(8, "big") + body)
            self.sock.settimeout(None)
        except OSError:
            return False
        return True

    def discard(self) -> None:
        import signal

        self.sock.close()
        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def _import_repository_modules() -> None:
    """Import here, before any fork, what a lint against a repository imports on first need.

    A module is imported under its own lock (importlib): a child forked while another thread of
    this process was importing a module inherits that lock held, by a thread it does not have, and
    waits for ever at its first import of the module. The first `check` against a repository forks
    its child while the server's background warm-up may be importing these, and the child hung
    with promptlint/repo/resolve.py open. Imported once here, they are also shared by every child
    instead of each child's own copy."""
    import difflib  # noqa: F401 - did-you-mean
    import encodings.cp437  # noqa: F401 - zip member names, when the search structures are read from their .npz
    import hashlib  # noqa: F401
    import sqlite3  # noqa: F401 - the index store

    from .repo import extract, facts, files, index, languages, rank, resolve, search  # noqa: F401

    languages.import_grammars()  # an index built or refreshed in the background parses with them


def _warm_lints(linter: Any, root: Path | None) -> None:
    """Lint _WARM_PROMPTS (against ``root``, or the text alone) and render the reports in every
    format, into memory; a warm-up, so nothing it raises matters."""
    import io

    from .model import Report
    from .output import FORMATS, render

    report = Report()
    for text in _WARM_PROMPTS:
        try:
            report.files.append(linter.lint(text, path="warm-up.prompt", repo=root))
        except Exception:  # noqa: BLE001
            pass
    for fmt in FORMATS:
        for color in (None, True) if fmt == "text" else (None,):
            try:
                render(fmt, report, linter.catalog, io.StringIO(), color=color)
            except Exception:  # noqa: BLE001
                pass


def _spare_main(sock: Any) -> int:  # pragma: no cover - runs in the spare child
    """In the spare: wait for the server's word. _WARM (this spare is next in line): lint once
    against every repository the server watches unchanged, so the pages that lint writes are
    copied now, not during the request; _REQUEST: the client's descriptors, then the request."""
    import socket

    from . import pipeline

    while True:
        kind, fds, _flags, _addr = socket.recv_fds(sock, 1, 4)  # one byte: the descriptors ride on _REQUEST
        if kind == _WARM and not fds:
            _warm_spare()
            continue
        if kind != _REQUEST or len(fds) != 4:
            return 0  # the server went away, or discarded this spare
        break
    before = dict(pipeline._warm_repos)
    head = b""
    while len(head) < 8:
        chunk = sock.recv(8 - len(head))
        if not chunk:
            return 0
        head += chunk
    size = int.from_bytes(head, "big")
    body = bytearray()
    while len(body) < size:
        chunk = sock.recv(min(1 << 20, size - len(body)))
        if not chunk:
            return 0
        body += chunk
    cwd, encoding, argv, env = _parse_cli_body(bytes(body))
    conn = socket.socket(fileno=fds[0])
    return _serve_in_child(conn, fds[1:], cwd, encoding, argv, env, before, sock.fileno())


def _warm_spare() -> None:  # pragma: no cover - runs in the spare child
    from . import pipeline
    from .config import Config

    linter = pipeline.shared_linter(Config())
    size = linter.config.repo_max_file_size
    for (root, max_size), ctx in sorted(pipeline._warm_repos.items(), key=lambda item: str(item[0][0])):
        if max_size == size and ctx.watcher is not None and not ctx.watcher.changed():
            try:
                linter.lint(_WARM_PROMPT, repo=root)
            except Exception:  # noqa: BLE001 - only a warm-up
                pass
    linter.lint(_WARM_PROMPT)


def _serve_in_child(conn: Any, fds: list[int], cwd: str, encoding: str, argv: list[str], env: dict[str, str],
                    before: dict, said: int) -> int:  # pragma: no cover - runs in a child
    """Offer to run the command; once the client agrees, run it, say which repositories it
    indexed on ``said``, then tell the client the exit code (before exiting: the client then
    hangs up, and a hang-up stops this child).

    The handshake decides who runs the command, never both: the client waits a bounded time for
    the offer and, without one, runs the command itself and hangs up; a child that offers after
    that reads no "go" and exits without a byte written. Once the client has said "go" it no
    longer runs the command itself unless the server refuses (a child killed before it said it
    took the request)."""
    from . import pipeline

    try:
        os.write(said, _OFFERED)
    except OSError:
        pass
    conn.settimeout(_CLIENT_WAITS_FOR_OFFER)
    try:
        conn.sendall(_OFFER)
        answer = b""
        while len(answer) < len(_GO):
            chunk = conn.recv(len(_GO) - len(answer))
            if not chunk:
                break
            answer += chunk
    except OSError:
        answer = b""
    if answer != _GO:
        return 0  # the client gave up waiting and runs it itself
    conn.settimeout(None)
    try:
        os.write(said, _TAKEN)  # before any byte reaches the client: from here on it must not run the command again
    except OSError:
        pass
    code = _run_cli_child(fds, cwd, encoding, argv, env)
    _let_go_of_streams()
    _say_repos(said, pipeline.repos_warmed_since(before))
    conn.sendall(b"exit %d\n" % code)
    return code


def _let_go_of_streams() -> None:  # pragma: no cover - runs in a child
    """Hand back the client's stdin, stdout and stderr (now flushed) before the exit code: a
    process this size takes milliseconds to exit, and the kernel closes its descriptors only after
    it has torn its memory down, so a caller reading the output to its end (`| cat`, pre-commit,
    an editor) waited for that. /dev/null takes their numbers, for anything written after."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        try:
            os.dup2(devnull, fd)
        except OSError:
            pass
    os.close(devnull)


def _run_cli_child(fds: list[int], cwd: str, encoding: str, argv: list[str], env: dict[str, str]) -> int:
    """In the forked child: become the client's process (streams, folder, environment) and run
    the click command exactly as `promptlint` would."""
    import io

    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    try:
        io.TextIOWrapper(io.BytesIO(), encoding=encoding)
    except LookupError:
        encoding = "utf-8"
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding=encoding)
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding=encoding, line_buffering=os.isatty(1), write_through=False)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding=encoding, errors="backslashreplace", line_buffering=True)
    sys.argv = ["promptlint", *argv]
    from .cli import main as cli_main

    try:
        cli_main.main(args=argv, prog_name="promptlint")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except OSError:
                pass
    return code


def _warm_keys() -> list[tuple[Path, int]]:
    from . import pipeline

    return list(pipeline._warm_repos)


def _warm_items() -> list[tuple[Path, Any]]:
    from . import pipeline

    return [(root, ctx) for (root, _), ctx in list(pipeline._warm_repos.items())]


_MAX_SAID = 64 * 1024  # what a child may say about the repositories it indexed
# A child's first bytes on its `said` channel: it offered the client to run the request, then (once
# the client said go) it has the request and runs it.
_OFFERED = b"?"
_TAKEN = b"+"
_CLI_HEAD = b"cli2 "  # the handshake's version of the request (an older client's "cli " is refused: it runs in-process)
_SEND_FDS = b"send\n"  # the server has the request and asks for the client's streams
_OFFER = b"taken\n"
_GO = b"go\n"
# Seconds a spare may take to offer before a fresh child is forked for the request instead (a
# spare still warming up offers within a fraction of this), and a fresh child before the server
# refuses and the client runs the command itself. The client waits for the offer a little longer
# than both together (remote.py), so that a stopped server cannot hold it for ever either.
_SPARE_TAKES_WITHIN = 1.5
_CHILD_TAKES_WITHIN = 2.5
_CLIENT_WAITS_FOR_OFFER = 6.0
# Children kept forked ahead of requests (see replenish_spare). Only the one next in line runs its
# warm-up lint, which writes (and so copies) about 8 MB of pages it shares with the server; the
# others wait cold, a fork's worth of pages each (~2 MB), and warm up when they move to the front,
# while the spare before them serves its request. Two warm spares cost 10-12 MB more than one.
SPARES = 2
_WARM = b"w"  # server to spare: you are next in line, warm up
_REQUEST = b"r"  # server to spare: the client's descriptors come with this byte, then the request


def _say_repos(fd: int, keys: list[tuple[Path, int]]) -> None:
    # NUL ends each record: the one character no path holds
    data = "".join(f"{size}\t{root}\0" for root, size in keys).encode("utf-8", "surrogateescape")[:_MAX_SAID]
    try:
        os.write(fd, data)  # below the pipe's buffer: never blocks
    except OSError:
        pass


def _drain(fd: int, heard: bytearray) -> bool:
    """Add what the child wrote on its (non-blocking) `said` channel since the last call; True at
    its end of file (or past the cap: nothing more is read)."""
    while len(heard) < _MAX_SAID + len(_OFFERED) + len(_TAKEN):
        try:
            chunk = os.read(fd, _MAX_SAID + len(_OFFERED) + len(_TAKEN) - len(heard))
        except OSError:  # nothing (more) written yet
            return False
        if not chunk:
            return True
        heard += chunk
    return True


def _pidfd(pid: int) -> int:
    """A descriptor that turns readable when the child ``pid`` exits (Linux 5.3+), else -1.
    Listed in _client_fds like the child's `said` pipe: no other child inherits it."""
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return -1
    with _client_fds_lock:
        try:
            fd = opener(pid)
        except OSError:
            return -1
        _client_fds.add(fd)
    return fd


def _close_pidfd(fd: int) -> None:
    if fd >= 0:
        _close_client_fds([fd])


def _parse_said(data: bytes) -> tuple[bool, list[tuple[Path, int]]]:
    """Whether the child took the request, and the repositories it indexed."""
    if data.startswith(_OFFERED):
        data = data[len(_OFFERED):]
    taken = data.startswith(_TAKEN)
    if taken:
        data = data[len(_TAKEN):]
    keys = []
    records = data.decode("utf-8", "surrogateescape").split("\0")
    for record in records[:-1]:  # the last is empty, or cut short by the cap
        size, sep, root = record.partition("\t")
        if sep and size.isdigit() and root.startswith("/"):
            keys.append((Path(root), int(size)))
    return taken, keys


def _read_said(fd: int) -> tuple[bool, list[tuple[Path, int]]]:
    """What an exited child said: whether it took the request, and the repositories it indexed."""
    os.set_blocking(fd, False)
    heard = bytearray()
    _drain(fd, heard)
    return _parse_said(bytes(heard))


def _close_said(fd: int) -> None:
    if fd < 0:
        return
    with _client_fds_lock:
        _client_fds.discard(fd)
        try:
            os.close(fd)
        except OSError:
            pass


def _kill(pid: int) -> None:
    import signal

    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


# Descriptors this process holds for one client only: the standard streams a `check` client
# passed, and the `said` pipes of children in flight. A child forked meanwhile would otherwise
# keep them open too (another client's `check | less` would not end while that child lives, and
# the child could write into it); the lock makes receiving or closing one and forking exclusive,
# so the set is exact in every child (see _drop_inherited).
_client_fds: set[int] = set()
_client_fds_lock = threading.Lock()


def _receive_client_fds(conn: Any) -> tuple[bytes, list[int]]:
    """The request's first bytes and the client's three descriptors, registered in _client_fds
    before any fork can copy them (the wait for the client happens outside the lock)."""
    import select
    import socket

    if not select.select([conn], [], [], conn.gettimeout())[0]:
        raise TimeoutError("no request")
    with _client_fds_lock:
        data, fds, _flags, _addr = socket.recv_fds(conn, 1, 3, socket.MSG_DONTWAIT)
        _client_fds.update(fds)
    return data, fds


def _close_client_fds(fds: list[int]) -> None:
    """Close descriptors registered in _client_fds (each at most once). Closed under the lock: a
    number freed and reused by another thread's open() must not stay registered, nor a fork see
    it registered but already closed."""
    with _client_fds_lock:
        for fd in list(fds):
            if fd in _client_fds:
                _client_fds.discard(fd)
                try:
                    os.close(fd)
                except OSError:
                    pass
        fds.clear()


def _open_fds() -> list[int]:
    for folder in ("/proc/self/fd", "/dev/fd"):
        try:
            return sorted(int(name) for name in os.listdir(folder))
        except (OSError, ValueError):
            continue
    return list(range(3, 1024))


def _drop_inherited(keep: set[int]) -> None:  # pragma: no cover - runs in a forked child
    """In a forked child: let go of every other client's connection and streams (any socket not
    in ``keep``, and what _client_fds lists), keeping this process's own files (the index
    database, the inotify watch) that a lint uses. Each is replaced by /dev/null rather than
    closed, so that the number stays taken: a socket object of another thread, collected later,
    closes /dev/null instead of a file this child opened meanwhile."""
    import stat as stat_mod

    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        for fd in _open_fds():
            if fd in keep or fd == devnull or fd <= 2:
                continue
            try:
                mode = os.fstat(fd).st_mode
            except OSError:
                continue
            if fd in _client_fds or stat_mod.S_ISSOCK(mode):
                os.dup2(devnull, fd)
        _client_fds.clear()
    finally:
        os.close(devnull)


def _freeze_heap() -> None:
    from .pipeline import freeze_heap

    freeze_heap()


def _write_private(path: str, text: str) -> None:
    """Write a small file in the runtime folder (0600, never through a symlink)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def request(message: dict[str, Any], timeout: float = 2.0) -> dict[str, Any] | None:
    """Send one request to a running server; None when none answers (or its socket is not ours)."""
    deadline = time.monotonic() + timeout
    try:
        sock = runtime.connect(timeout=timeout)
        try:
            sock.sendall(json.dumps(message).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or len(data) > 16_000_000:
                    return None
                sock.settimeout(remaining)
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        finally:
            sock.close()
        return json.loads(data or b"null")
    except (OSError, ValueError):
        return None


def _take_lock() -> Any:
    """The per-user server lock: only its holder may bind the socket. None when another holds it."""
    fd = os.open(os.path.join(runtime.runtime_dir(), "server.lock"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    handle = os.fdopen(fd, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


def _failed(message: str) -> int:
    """A server that cannot start says why, once on stderr and in the runtime folder, where hooks
    read it and stop waiting for a server that is not coming (they retry after a minute)."""
    sys.stderr.write(f"promptlint: server: {message}\n")
    try:
        _write_private(runtime.failed_path(), message)
        os.unlink(runtime.starting_path())
    except OSError:
        pass
    return 2


def _clear_socket_path(path: str) -> str | None:
    """Make room for the socket; why not, when it cannot be done."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISSOCK(st.st_mode):
        if request({"op": "ping"}, timeout=0.5) is not None:
            return "already running"
    try:
        if stat.S_ISDIR(st.st_mode):
            os.rmdir(path)  # only an empty one: never delete a tree we did not make
        else:
            os.unlink(path)  # stale socket, or a file left in our own private folder
    except OSError as exc:
        return f"{path} is in the way and cannot be removed ({exc.strerror})"
    return None


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
    try:
        runtime.ensure_runtime_dir()
    except OSError as exc:
        # A foreign or unsafe folder: write nothing into it, not even the failure marker.
        sys.stderr.write(f"promptlint: server: {exc}\n")
        return 2
    lock = _take_lock()
    if lock is None:
        return 0  # another server is running or starting
    try:
        problem = _clear_socket_path(runtime.socket_path())
        if problem == "already running":
            return 0
        if problem:
            return _failed(problem)
        server = PromptlintServer(idle_timeout)
        server.lock = lock  # for the children to close (see _close_listeners)
        try:
            server.warm_up()
        except Exception as exc:  # noqa: BLE001 - a broken install must not leave hooks waiting
            return _failed(f"cannot load the NLP pipeline ({type(exc).__name__}: {exc})")
        try:
            server.serve()
        except OSError as exc:
            return _failed(f"cannot listen on {runtime.socket_path()} ({exc.strerror or exc})")
    finally:
        lock.close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run_server(1800.0, background=False))
