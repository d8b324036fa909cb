"""`promptlint lsp`: a language server for prompt files (pygls 2, stdio).

It lints *.prompt, *.prompt.md, CLAUDE.md, .claude/**/*.md and documents opened with languageId
`prompt`, against the workspace folder as the repository. Diagnostics are pushed on open, change
(debounced) and save, and served to clients that pull. Code actions: "Rewrite for Haiku", quick
fixes for substitutions, "Disable CODE for this line" and source.fixAll.promptlint. Hover shows what
a mention resolves to, and the model advice. The repository index builds in the background and never
delays the first diagnostics.

An editor, a plugin or a fuzzer can send anything down the pipe, so the transport is hardened:

- :class:`FrameReader` frames the byte stream itself (LF-only headers accepted, a cap on a frame,
  resynchronisation on the next ``Content-Length`` header after a malformed one) and hands pygls'
  own message loop (:func:`pygls.io_.run_async`) only well-formed frames;
- :class:`_Protocol` answers what the LSP spec says for requests before ``initialize`` (-32002),
  after ``shutdown`` (-32600) and for bodies that are not JSON-RPC (-32700 / -32600), and never
  sends a traceback to the client;
- every lint (and hover analysis) runs on one :class:`LintWorker` thread, never on the event loop:
  a request waits at most its budget, and a newer version of a document makes older work moot;
- a document URI the editor never opened is read with :func:`promptlint.fsutil.read_regular`
  (bounded, regular files only), never by pygls' unbounded ``Path.read_text``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable
from urllib.parse import unquote

import attrs
from lsprotocol import types as t
from pygls.exceptions import FeatureRequestError, JsonRpcException, JsonRpcInternalError
from pygls.io_ import StdoutWriter, run_async
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.uris import to_fs_path

from .__about__ import __version__
from .config import Config, discover
from .model import FileReport, Severity
from .output.sarif import HELP_URI
from .textsafe import for_terminal, scrub_surrogates

DEBOUNCE = 0.3  # seconds after the last change before re-linting
MAX_DOCUMENT = 1_000_000  # characters; a longer document gets one "not linted" diagnostic
# The largest frame we accept. A document at the lint cap, JSON-escaped at worst (\\uXXXX per UTF-16
# unit: 12 bytes for a character outside the BMP), is 12 MB; documents above the lint cap must still
# sync (so we can say "not linted" and apply later edits), so the cap is well above that. Anything
# larger is refused before a byte of its body is buffered: `Content-Length: 99999999999` used to end
# the server with a MemoryError.
MAX_FRAME = 64 * 1024 * 1024
MAX_HEADER = 8 * 1024  # a whole header section; editors send about 60 bytes
REQUEST_BUDGET = 2.0  # seconds a request (hover, code action, pull diagnostics) waits for a lint
INDEX_DELAY = 5.0  # seconds after initialized by which the repository index starts, idle worker or not
REFRESH_INTERVAL = 2.0  # seconds between rescans of the repository while prompts are edited (no change: ~50 ms on django)
LINT_BUDGET = 30.0  # seconds a lint may run on the worker (a 1 MB document takes about 10 s here)
FIX_ALL = "source.fixAll.promptlint"
_SEVERITY = {Severity.error: t.DiagnosticSeverity.Error, Severity.warning: t.DiagnosticSeverity.Warning, Severity.info: t.DiagnosticSeverity.Information}

log = logging.getLogger("promptlint.lsp")


def utf16_column(line: str, column: int) -> int:
    """LSP positions count UTF-16 code units; promptlint counts code points (1-based)."""
    return len(line[: column - 1].encode("utf-16-le", "surrogatepass")) // 2


def codepoint_offset(text: str, position: t.Position) -> int:
    lines = text.split("\n")
    line = lines[position.line] if position.line < len(lines) else ""
    units, col = 0, 0
    while col < len(line) and units < position.character:
        units += 2 if ord(line[col]) > 0xFFFF else 1
        col += 1
    return sum(len(x) + 1 for x in lines[: position.line]) + col


# --- framing -------------------------------------------------------------------------------------

# A Content-Length header line, newline included. A JSON text can never contain this byte sequence:
# outside a string the bare word is not JSON, and inside one a raw CR or LF is not allowed. So it marks
# a frame start with certainty: a body that contains it was given a wrong (too long) length, and a
# resynchronising reader can look for it without ever landing inside a well-formed body.
_HEADER_LINE = re.compile(rb"content-length[ \t]{0,8}:[ \t]{0,8}\d{1,20}[ \t]{0,8}\r?\n", re.IGNORECASE)
_HEADER_LINE_MAX = 70  # the longest match of _HEADER_LINE: what to keep when discarding up to it


def _prefixes(word: bytes) -> bytes:
    """A regex for any non-empty prefix of ``word`` (case-insensitive letters)."""
    head, *rest = word.decode()
    tail = ""
    for ch in reversed(rest):
        tail = f"(?:{re.escape(ch)}{tail})?"
    return f"{re.escape(head)}{tail}".encode()


# A non-empty prefix of a header line that stops short of its newline (the rest not read yet).
_HEADER_PREFIX = re.compile(_prefixes(b"content-length") + rb"(?:[ \t]{0,8}(?::[ \t]{0,8}(?:\d{1,20}[ \t]{0,8}\r?)?)?)?", re.IGNORECASE)
_CONTENT_TYPE_BEFORE = re.compile(rb"content-type[ \t]*:[^\r\n]{0,200}\r?\n\Z", re.IGNORECASE)
_TOKEN = re.compile(rb"[A-Za-z0-9-]+")


@dataclass(frozen=True)
class Frame:
    """What the reader found next: a body to dispatch, a problem to report, or both."""

    body: bytes | None = None
    problem: str | None = None
    parse_error: bool = False  # the problem is a body that cannot be JSON: answer -32700


class FrameReader:
    """LSP base-protocol framing over a blocking ``read(n)`` (``os.read`` on stdin), for malformed input.

    Decided behaviour, one case at a time (each pinned in tests/test_lsp_frames.py):

    - header lines may end in CRLF or LF alone; header names are case-insensitive; Content-Type and
      unknown headers are ignored (bodies are UTF-8, as the spec says); blank lines between frames
      are skipped;
    - a header section with no Content-Length, a value that is not a non-negative decimal number, two
      different values, a line that is not ``Name: value``, or a section over 8 KiB without its blank
      line: the frame is reported and the reader resynchronises: it discards bytes up to the next
      ``Content-Length: N`` line (see _HEADER_LINE) and reads the frame that starts there;
    - a length over MAX_FRAME: reported and skipped by resynchronising, without buffering the body;
    - a length that runs into the next frame's header: the body ends where that header starts (the
      longer body could not have been JSON), and the next frame is read as usual;
    - a length too short: the truncated body fails to parse (-32700 from the protocol), and its tail,
      which is no header, makes the reader resynchronise on the next frame;
    - an empty body: reported as a parse error.

    Memory stays bounded by the frame cap: garbage is scanned in chunks and dropped.
    """

    CHUNK = 1 << 16

    def __init__(self, read: Callable[[int], bytes]):
        self._read = read
        self._buf = bytearray()
        self._eof = False

    def _fill(self) -> bool:
        if self._eof:
            return False
        data = self._read(self.CHUNK)
        if not data:
            self._eof = True
            return False
        self._buf += data
        return True

    def next_frame(self) -> Frame | None:
        """The next frame, or None at the end of the stream."""
        if not self._skip_blank_lines():
            return None
        length = self._read_headers()
        if length is None:
            return None
        if isinstance(length, tuple):
            reason, offending = length
            self._resync(offending + 1)
            return Frame(problem=f"{reason}; skipped to the next Content-Length header")
        if length > MAX_FRAME:
            self._resync(0)  # its header is consumed: the next one may start right here
            return Frame(problem=f"a frame of {length} bytes is over the {MAX_FRAME}-byte cap; skipped to the next Content-Length header")
        body, ran_over = self._read_body(length)
        if body is None:
            return None
        problem = f"Content-Length {length} ran into the next frame's header; the body ends there" if ran_over else None
        if not body:
            return Frame(problem=(problem + "; " if problem else "") + "empty body", parse_error=True)
        return Frame(body=body, problem=problem)

    def _skip_blank_lines(self) -> bool:
        while True:
            i = 0
            while i < len(self._buf) and self._buf[i] in b"\r\n":
                if self._buf[i] == 0x0D and (i + 1 >= len(self._buf) or self._buf[i + 1] != 0x0A):
                    break  # a CR that is not (yet) part of a CRLF
                i += 1
            del self._buf[:i]
            if self._buf and not (self._buf == b"\r"):
                return True
            if not self._fill():
                return bool(self._buf)

    def _line_end(self, start: int) -> int | None:
        """Index of the LF ending the line at ``start``, filling as needed; -1 when the header section
        outgrows MAX_HEADER, None at the end of the stream."""
        while True:
            nl = self._buf.find(b"\n", start, MAX_HEADER + 1)
            if nl >= 0:
                return nl
            if len(self._buf) > MAX_HEADER:
                return -1
            if not self._fill():
                return None

    def _read_headers(self) -> int | tuple[str, int] | None:
        """The frame's Content-Length (the header consumed), or why it is malformed and where the
        offending line starts (resynchronisation looks for the next header after that), or None at EOF."""
        pos = 0
        length: int | None = None
        while True:
            nl = self._line_end(pos)
            if nl is None:
                return None
            if nl < 0:
                return f"a header section over {MAX_HEADER} bytes", 0
            start = pos
            line = bytes(self._buf[pos:nl])
            if line.endswith(b"\r"):
                line = line[:-1]
            pos = nl + 1
            if not line:
                break
            name, sep, value = line.partition(b":")
            name = name.strip()
            if not sep or not _TOKEN.fullmatch(name):
                return f"not a header line: {line[:40]!r}", start
            if name.lower() != b"content-length":
                continue  # Content-Type (UTF-8 is the only charset LSP defines) and unknown headers
            value = value.strip()
            if not value.isdigit():  # bytes.isdigit: ASCII digits only; "-1", "+5", "5.0", "" are refused
                return f"Content-Length is not a non-negative decimal number: {value[:40]!r}", start
            # int() refuses over 4300 digits; any length this long is over the cap anyway.
            n = int(value) if len(value) <= 18 else MAX_FRAME + 1 + int(value[:18])
            if length is not None and n != length:
                return "two different Content-Length headers", start
            length = n
        if length is None:
            return "a header section without Content-Length", 0
        del self._buf[:pos]
        return length

    def _resync(self, start: int) -> None:
        """Discard bytes up to the next Content-Length line at or after ``start`` (or to the end)."""
        while True:
            m = _HEADER_LINE.search(self._buf, min(start, len(self._buf)))
            if m is not None:
                del self._buf[: m.start()]
                return
            # Keep what could be the start of a header line cut by the chunk, but nothing before
            # ``start``: the malformed header itself is never read again.
            del self._buf[: max(len(self._buf) - _HEADER_LINE_MAX, min(start, len(self._buf)))]
            start = 0
            if not self._fill():
                self._buf.clear()
                return

    def _read_body(self, length: int) -> tuple[bytes | None, bool]:
        """The body and whether it was cut short at the next frame's header; None body at EOF."""
        searched = 0
        while True:
            # A header line that starts inside the declared body means the length was wrong (see
            # _HEADER_LINE): the body ends there. Look a header line's length beyond the body for one
            # that straddles its end, but only in bytes already read: never wait for bytes past the
            # body, the client may be waiting for our answer to this very frame.
            m = _HEADER_LINE.search(self._buf, max(0, searched - _HEADER_LINE_MAX), length + _HEADER_LINE_MAX)
            if m is not None and m.start() < length:
                cut = m.start()
                before = _CONTENT_TYPE_BEFORE.search(self._buf, max(0, cut - 256), cut)
                if before is not None:
                    cut = before.start()
                body = bytes(self._buf[:cut])
                del self._buf[:cut]
                return body, True
            if len(self._buf) >= length and not self._may_straddle(length):
                break
            searched = len(self._buf)
            if not self._fill():
                if len(self._buf) >= length:
                    break
                return None, False  # the stream ended inside a body
        body = bytes(self._buf[:length])
        del self._buf[:length]
        return body, False

    def _may_straddle(self, length: int) -> bool:
        """Whether the body ends with the start of a header line whose rest is not read yet. Such a
        body cannot be a JSON object (it does not end with "}"), so waiting for more bytes to tell
        delays no well-formed message."""
        for p in range(max(0, length - _HEADER_LINE_MAX), length):
            if self._buf[p] in b"cC" and _HEADER_PREFIX.fullmatch(self._buf, p):
                return True
        return False


class _FrameFeed:
    """The AsyncReader pygls' run_async reads from: canonical frames out of a FrameReader.

    pygls' loop matches exactly ``Content-Length: N\\r\\n``, then a blank line, then reads N bytes; we
    give it exactly that for every frame with a body, and report problems on the event loop as they
    come. The blocking reads run on one daemon thread (a thread stuck on stdin never delays exit)."""

    def __init__(self, frames: FrameReader, on_problem: Callable[[Frame], None]):
        self._frames = frames
        self._on_problem = on_problem
        self._body: bytes | None = None
        self._blank_next = False
        self._wanted = threading.Semaphore(0)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._future: asyncio.Future[Frame | None] | None = None
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        assert self._loop is not None
        while True:
            self._wanted.acquire()
            future = self._future
            try:
                frame = self._frames.next_frame()
            except Exception as exc:  # stdin gone (EBADF, EIO): the end of the stream
                log.warning("reading stdin failed: %s", exc)
                frame = None
            try:
                self._loop.call_soon_threadsafe(_settle, future, frame)
            except RuntimeError:  # the loop is closed: the server is exiting
                return
            if frame is None:
                return

    async def _next(self) -> Frame | None:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._thread = threading.Thread(target=self._run, name="promptlint-stdin", daemon=True)
            self._thread.start()
        elif self._thread is not None and not self._thread.is_alive():
            return None
        self._future = self._loop.create_future()
        self._wanted.release()
        return await self._future

    async def readline(self) -> bytes:
        if self._blank_next:
            self._blank_next = False
            return b"\r\n"
        while True:
            frame = await self._next()
            if frame is None:
                return b""
            if frame.problem is not None:
                self._on_problem(frame)
            if frame.body:
                self._body, self._blank_next = frame.body, True
                return b"Content-Length: %d\r\n" % len(frame.body)

    async def readexactly(self, n: int) -> bytes:
        body, self._body = self._body, None
        assert body is not None and len(body) == n
        return body


def _settle(future: asyncio.Future | None, value: Any) -> None:
    if future is not None and not future.done():
        future.set_result(value)


# --- the protocol: what the spec says about message order and errors -----------------------------


class _Rejected:
    """A request answered with an error while it was parsed; the dispatcher skips it."""

    jsonrpc = "rejected"


def _reply_id(data: Any) -> int | str | None:
    """The id to answer a bad message with: its own if JSON-RPC allows it, else null."""
    value = data.get("id") if isinstance(data, dict) else getattr(data, "id", None)
    return value if isinstance(value, (int, str)) and not isinstance(value, bool) else None


class _Protocol(LanguageServerProtocol):
    _server: "PromptlintServer"

    def __init__(self, server: Any, converter: Any) -> None:
        super().__init__(server, converter)
        self.initialize_seen = False

    def structure_message(self, data: Any) -> Any:
        # pygls only logs a request whose envelope or params do not parse; answer it (-32600 for the
        # envelope, -32602 for the params), so the client is not left waiting, and keep serving.
        if isinstance(data, dict) and "id" in data and "method" in data and "jsonrpc" in data:
            if data["jsonrpc"] != self.VERSION or not isinstance(data["method"], str) or _reply_id(data) is None:
                self.send_error(_reply_id(data), t.ErrorCodes.InvalidRequest, "Invalid Request: a request needs jsonrpc \"2.0\", a string method and a string or integer id")
                return _Rejected()
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if isinstance(data, dict) and "id" in data and "method" in data:
                refused = self._out_of_order(data["method"])
                code, message = refused or (t.ErrorCodes.InvalidParams, f"Invalid params for {str(data['method'])[:100]}")
                self.send_error(_reply_id(data), code, message)
                return _Rejected()
            raise

    def handle_message(self, message: Any) -> None:
        if isinstance(message, _Rejected):
            return
        if not attrs.has(type(message)):  # valid JSON that is no JSON-RPC message: [], 42, {"a": 1}
            self.send_error(_reply_id(message), t.ErrorCodes.InvalidRequest, "Invalid Request: not a JSON-RPC 2.0 message")
            return
        method = getattr(message, "method", None)
        is_request = method is not None and hasattr(message, "id")
        if message.jsonrpc != self.VERSION:
            if is_request:
                self.send_error(_reply_id(message), t.ErrorCodes.InvalidRequest, "Invalid Request: jsonrpc must be \"2.0\"")
            return
        if method == t.INITIALIZE and not is_request:
            return  # initialize is a request; as a notification it has nowhere to send capabilities
        if method == t.INITIALIZE and not self.initialize_seen:
            self.initialize_seen = True
            return super().handle_message(message)
        refused = self._out_of_order(method) if method is not None else None
        if refused is not None:
            if is_request:
                self.send_error(_reply_id(message), *refused)
            return  # notifications before initialize are dropped; pygls drops them after shutdown
        if not self.initialize_seen and method is None:
            return  # a response to nothing we sent
        super().handle_message(message)

    def _out_of_order(self, method: Any) -> tuple[int, str] | None:
        """The error the LSP spec gives a request for arriving when it did, or None if it may run."""
        name = str(method)[:100]
        if method == t.EXIT:
            return None  # always allowed: it ends a server that was never initialized too
        if not self.initialize_seen:
            if method == t.INITIALIZE:
                return None
            return t.ErrorCodes.ServerNotInitialized, f"the server is not initialized: {name} before initialize"
        if method == t.INITIALIZE:
            return t.ErrorCodes.InvalidRequest, "initialize was already received"
        if self._shutdown:
            # pygls would drop a request after shutdown unanswered; the spec says InvalidRequest.
            return t.ErrorCodes.InvalidRequest, f"the server is shut down: {name} after shutdown"
        return None

    def send_error(self, msg_id: int | str | None, code: int, message: str) -> None:
        # pygls' serializer drops an id of None; JSON-RPC wants "id": null when the id is unknown.
        self._send_data({"jsonrpc": self.VERSION, "id": msg_id, "error": {"code": int(code), "message": message}})

    def _send_response(self, msg_id: Any, result: Any = None, error: t.ResponseError | None = None) -> None:
        # pygls puts the handler's traceback in an internal error's data; it never leaves the server.
        if error is not None and isinstance(error.data, dict) and "traceback" in error.data:
            error = t.ResponseError(code=error.code, message=error.message.splitlines()[0] if error.message else "internal error")
        super()._send_response(msg_id, result, error)


# --- lint work, off the event loop ---------------------------------------------------------------


@dataclass
class _Job:
    run: Callable[[], Any]
    future: asyncio.Future


class LintWorker:
    """One thread that runs lints and hover analyses, so the event loop only frames and answers.

    Work is submitted under a key (e.g. ``("lint", uri)``). Submitting under a key whose earlier work
    has not started replaces it: that work never runs, and its future is cancelled. Work that already
    started cannot be interrupted (spaCy has no cancellation point); its submitter drops the result
    when the document moved on (see PromptlintServer.request_lint)."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self._cond = threading.Condition()
        self._queue: dict[Any, _Job] = {}
        self._closed = False
        self._running = False
        self._thread = threading.Thread(target=self._work, name="promptlint-lint", daemon=True)
        self._thread.start()

    def submit(self, key: Any, run: Callable[[], Any]) -> asyncio.Future:
        """Called on the event loop."""
        future = self._loop.create_future()
        with self._cond:
            if self._closed:
                future.cancel()
                return future
            old = self._queue.pop(key, None)
            self._queue[key] = _Job(run, future)
            self._cond.notify()
        if old is not None:
            old.future.cancel()
        return future

    def busy(self) -> bool:
        with self._cond:
            return self._running or bool(self._queue)

    def discard(self, key: Any) -> None:
        with self._cond:
            old = self._queue.pop(key, None)
        if old is not None:
            old.future.cancel()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            jobs, self._queue = list(self._queue.values()), {}
            self._cond.notify()
        for job in jobs:
            job.future.cancel()

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                key = next(iter(self._queue))
                job = self._queue.pop(key)
                self._running = True
            try:
                result, error = job.run(), None
            except Exception as exc:  # reported to the waiter, never raised into the thread
                result, error = None, exc
            with self._cond:
                self._running = False
            try:
                self._loop.call_soon_threadsafe(_resolve, job.future, result, error)
            except RuntimeError:  # the loop closed: the server is exiting
                return


def _resolve(future: asyncio.Future, result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


@dataclass(frozen=True)
class LintResult:
    version: int | None
    epoch: int
    report: FileReport | None
    diagnostics: list[t.Diagnostic]


def _info(message: str) -> t.Diagnostic:
    return t.Diagnostic(range=t.Range(t.Position(0, 0), t.Position(0, 1)), message=message, source="promptlint", severity=t.DiagnosticSeverity.Information)


def to_diagnostics(report: FileReport) -> list[t.Diagnostic]:
    lines = report.text.split("\n")
    out = []
    for f in report.findings:
        start_line = lines[f.start.line - 1] if f.start.line - 1 < len(lines) else ""
        end_line = lines[f.end.line - 1] if f.end.line - 1 < len(lines) else ""
        out.append(
            t.Diagnostic(
                range=t.Range(
                    start=t.Position(line=f.start.line - 1, character=utf16_column(start_line, f.start.column)),
                    end=t.Position(line=f.end.line - 1, character=utf16_column(end_line, f.end.column)),
                ),
                message=f.message + (f"\n{f.suggestion}" if f.suggestion else ""),
                severity=_SEVERITY[f.severity],
                code=f.code,
                code_description=t.CodeDescription(href=HELP_URI.format(code=f.code)),
                source="promptlint",
                data={"code": f.code, "name": f.name, "replacement": f.replacement, "start": f.start_offset, "end": f.end_offset},
            )
        )
    return out


def _decode(data: bytes) -> str:
    text = data.decode("utf-8")
    return text.removeprefix("\ufeff")


# --- the server ----------------------------------------------------------------------------------


class PromptlintServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("promptlint", __version__, protocol_cls=_Protocol)
        self.protocol: _Protocol
        self.root: Path | None = None
        self.settings: dict[str, Any] = {}
        self._linter: Any = None
        self._linter_config: Config | None = None
        self._linter_lock = threading.Lock()
        self.repo_ready = threading.Event()
        self.versions: dict[str, int | None] = {}  # the prompt documents we lint, by URI
        self.results: dict[str, LintResult] = {}  # the latest lint of each, for its version and epoch
        self._lints: dict[str, tuple[int | None, int, asyncio.Future]] = {}  # the lint in flight, per URI
        self._mentions: dict[str, tuple[int | None, int, Any]] = {}
        self._pending: dict[str, asyncio.TimerHandle] = {}
        self.epoch = 0  # bumped when settings or the index change: every earlier result is stale
        self.loop: asyncio.AbstractEventLoop | None = None
        self.worker: LintWorker | None = None
        self.shut_down = False
        self._index_started = False
        self._refreshing = False
        self._last_refresh = 0.0

    # --- transport -------------------------------------------------------------------------------
    def start_io(self, stdin: Any = None, stdout: Any = None) -> int:  # type: ignore[override]
        """Serve over stdio until ``exit`` or the end of stdin; returns the process exit code.

        Overrides pygls' start_io because pygls' _start_io_async hard-wires its own stdin reader (an
        exact ``Content-Length: N\\r\\n`` match, no cap, no resynchronisation: the defects this module
        exists to fix) and swallows the SystemExit of ``exit`` (so the exit code was always 0). We run
        pygls' own message loop, run_async, with our reader and keep the exit code. Pinned by
        tests/test_lsp_process.py (exit codes) and tests/test_lsp_frames.py (framing)."""
        read_fd = (stdin or sys.stdin.buffer).fileno()
        self._stop_event = threading.Event()
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
        feed = _FrameFeed(FrameReader(lambda n: os.read(read_fd, n)), self.frame_problem)
        code: Any = None
        try:
            asyncio.run(self._serve(feed))
        except SystemExit as exc:  # pygls' exit handler: 0 after shutdown, else 1
            code = exc.code
        except BrokenPipeError:
            log.warning("the client closed the connection")
        finally:
            self.shutdown()
        if code is None:  # stdin ended without exit: a clean end only after shutdown
            code = 0 if self.shut_down else 1
        return int(code) if isinstance(code, int) else 1

    async def _serve(self, feed: _FrameFeed) -> None:
        self.loop = asyncio.get_running_loop()
        self.worker = LintWorker(self.loop)
        assert self._stop_event is not None
        try:
            await run_async(stop_event=self._stop_event, reader=feed, protocol=self.protocol, logger=log, error_handler=self.report_server_error)
        finally:  # also on exit's SystemExit: queued work is cancelled while the loop still runs
            self.worker.close()

    def frame_problem(self, frame: Frame) -> None:
        self.log(t.MessageType.Warning, f"promptlint: malformed LSP frame: {frame.problem}")
        if frame.parse_error:
            self.protocol.send_error(None, t.ErrorCodes.ParseError, f"Parse error: {frame.problem}")

    def report_server_error(self, error: Exception, source: Any) -> None:
        if source is JsonRpcException and not isinstance(error, JsonRpcException):
            # Raised while pygls' run_async parsed a body: not JSON, not UTF-8, nested too deep.
            reason = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:200]
            self.log(t.MessageType.Warning, f"promptlint: a message body is not JSON ({reason})")
            self.protocol.send_error(None, t.ErrorCodes.ParseError, f"Parse error: {reason}")
            return
        if source is FeatureRequestError:
            return  # already answered with the error
        if source is JsonRpcInternalError:  # sending failed: a logMessage would fail the same way
            log.warning("sending to the client failed: %s", error)
            return
        self.log(t.MessageType.Error, f"promptlint: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:300])

    def log(self, level: t.MessageType, message: str) -> None:
        """window/logMessage, from any thread (sent from the event loop)."""
        params = t.LogMessageParams(type=level, message=message)
        if self.loop is not None and threading.current_thread() is not threading.main_thread():
            try:
                self.loop.call_soon_threadsafe(self.window_log_message, params)
            except RuntimeError:
                pass
            return
        self.window_log_message(params)

    # --- configuration ---------------------------------------------------------------------------
    def config(self) -> Config:
        base = discover(self.root) if self.root is not None else Config()
        s = self.settings
        overrides: dict[str, Any] = {}
        for key, attr in (("select", "select"), ("ignore", "ignore"), ("extendSelect", "extend_select")):
            if isinstance(s.get(key), list):
                overrides[attr] = tuple(str(c).upper() for c in s[key])
        if isinstance(s.get("preview"), bool):
            overrides["preview"] = s["preview"]
        return replace(base, **overrides) if overrides else base

    def budget(self) -> float:
        value = self.settings.get("requestBudget")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 60:
            return float(value)
        return REQUEST_BUDGET

    def linter(self) -> Any:
        """The Linter for the current settings (called from the worker and the index thread)."""
        from .pipeline import Linter

        config = self.config()
        with self._linter_lock:
            if self._linter is None or config != self._linter_config:
                old = self._linter
                self._linter, self._linter_config = Linter(config), config
                if old is not None:
                    self._linter._repos = old._repos  # keep warm indexes across settings changes
            return self._linter

    def build_index_in_background(self) -> None:
        if self.root is None or self._index_started:
            return
        self._index_started = True

        def work() -> None:
            try:
                ctx = self.linter().repo_context(self.root)
                from .pipeline import freeze_heap

                freeze_heap()
                self.repo_ready.set()
                if self.loop is not None:
                    self.loop.call_soon_threadsafe(self.invalidate)
                # The message literals are read on first need (RepoSearch.message_field); read them
                # here, after the first diagnostics are on their way, so the first pasted error in
                # the editor does not wait for them (0.3 s on django).
                ctx.resolver.search.message_field()
            except Exception as exc:  # no index: diagnostics stay text-only
                self.log(t.MessageType.Warning, f"promptlint: indexing failed: {exc}")

        threading.Thread(target=work, name="promptlint-index", daemon=True).start()

    def refresh_index_soon(self) -> None:
        """Rescan the repository (incrementally, in the background) at most every REFRESH_INTERVAL
        seconds while prompts are edited: a file deleted or renamed since the index was built must
        not be offered as the file to change, nor a new one called missing. When the rescan finds a
        change, every open prompt is linted again."""
        if self.root is None or self.shut_down or self._refreshing or not self.repo_ready.is_set():
            return
        now = time.monotonic()
        if now - self._last_refresh < REFRESH_INTERVAL:
            return
        self._refreshing, self._last_refresh = True, now
        root = self.root

        def work() -> None:
            try:
                linter = self.linter()
                before = linter.repo_context(root)
                after = linter.refresh_repo(root)
                if after.index.content_digest != before.index.content_digest:
                    if self.loop is not None:
                        self.loop.call_soon_threadsafe(self.invalidate)
                    after.resolver.search.message_field()  # as after the first build
            except Exception as exc:  # the old index stays; the next edit tries again
                self.log(t.MessageType.Warning, f"promptlint: re-indexing failed: {exc}")
            finally:
                self._refreshing = False

        threading.Thread(target=work, name="promptlint-reindex", daemon=True).start()

    def warm_up(self) -> None:
        """Load spaCy on the worker, then index the repository once the worker is idle.

        Indexing is mostly Python, so on a busy machine it competes with the first lint for the CPU
        and the GIL: started together, the first diagnostics on typeorm took 4.1 s instead of 1.5 s.
        So the index starts when the worker first has nothing queued (after the warm-up and the first
        lints), and at the latest INDEX_DELAY seconds after initialized."""
        if self.worker is None or self.loop is None:
            self.build_index_in_background()
            return
        self.worker.submit(("warm",), lambda: self.linter().pipeline).add_done_callback(lambda _: self.index_when_idle())
        self.loop.call_later(INDEX_DELAY, self.build_index_in_background)

    def index_when_idle(self) -> None:
        if self.worker is not None and not self.worker.busy() and not self.shut_down:
            self.build_index_in_background()

    # --- documents -------------------------------------------------------------------------------
    def open_document(self, uri: str) -> Any:
        """The editor's copy of ``uri``, or None. Never pygls' get_text_document: for a URI the editor
        did not open, that makes a document whose text pygls reads from disk, unbounded and on the
        event loop (a FIFO blocked the server)."""
        return self.workspace.text_documents.get(unquote(uri))

    def is_prompt(self, uri: str, language_id: str | None = None) -> bool:
        if language_id == "prompt":
            return True
        from .inputs import is_prompt_file

        path = Path(to_fs_path(uri) or uri)
        # The files `check DIR` lints, plus any Markdown under .claude/ (the editor shows them all).
        return is_prompt_file(path, self.root or path.parent) or (".claude" in path.parts and path.suffix == ".md")

    def shown_path(self, uri: str) -> str:
        path = to_fs_path(uri) or uri
        if self.root is not None:
            try:
                return str(Path(path).resolve().relative_to(self.root))
            except (ValueError, OSError, RuntimeError):
                pass
        return path

    def lint_text(self, uri: str, text: str) -> tuple[FileReport | None, list[t.Diagnostic]]:
        """Runs on the worker. A lint past LINT_BUDGET is abandoned at the pipeline's next stage, so
        one pathological document cannot hold the worker that every other document waits for."""
        from .errors import LintTimeout

        repo = self.root if self.repo_ready.is_set() else None
        try:
            report = self.linter().lint(scrub_surrogates(text), path=self.shown_path(uri), repo=repo, deadline=time.monotonic() + LINT_BUDGET)
        except LintTimeout:
            self.log(t.MessageType.Warning, f"promptlint: the lint of {uri} ran past its {LINT_BUDGET:.0f} s budget and was abandoned")
            return None, [_info(f"promptlint: not linted: the lint ran past its {LINT_BUDGET:.0f} s budget")]
        return report, to_diagnostics(report)

    def request_lint(self, uri: str) -> asyncio.Future:
        """A future for the lint of the open document's current version (a LintResult): the cached
        one, the one in flight, or a new one on the worker (replacing a queued older one)."""
        assert self.loop is not None and self.worker is not None
        doc = self.open_document(uri)
        version, epoch = self.versions.get(uri), self.epoch
        cached = self.results.get(uri)
        if cached is not None and (cached.version, cached.epoch) == (version, epoch):
            done = self.loop.create_future()
            done.set_result(cached)
            return done
        inflight = self._lints.get(uri)
        if inflight is not None and inflight[:2] == (version, epoch) and not inflight[2].cancelled():
            return inflight[2]
        result = self.loop.create_future()
        if doc is None:
            result.cancel()
            return result
        text = doc.source  # the editor's text, in memory: a snapshot of this version
        if len(text) > MAX_DOCUMENT:
            result.set_result(LintResult(version, epoch, None, [_info(f"promptlint: document over {MAX_DOCUMENT} characters; not linted")]))
            self.results[uri] = result.result()
            return result
        work = self.worker.submit(("lint", uri), lambda: self.lint_text(uri, text))

        def finished(work: asyncio.Future) -> None:
            if self._lints.get(uri, (None, None, None))[2] is result:
                del self._lints[uri]
            if work.cancelled():
                result.cancel()  # superseded before it ran: it never ran
                return
            if work.exception() is not None:
                exc = work.exception()
                self.log(t.MessageType.Error, f"promptlint: lint failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300])
                result.set_exception(exc)
                return
            report, diagnostics = work.result()
            self.index_when_idle()
            lint = LintResult(version, epoch, report, diagnostics)
            if (self.versions.get(uri), self.epoch) == (version, epoch) and uri in self.versions:
                self.results[uri] = lint
            result.set_result(lint)

        work.add_done_callback(finished)
        self._lints[uri] = (version, epoch, result)
        return result

    async def current_lint(self, uri: str) -> LintResult | None:
        """The lint of the document's current version within the request budget, else None. A lint
        superseded while we wait (the document changed) is followed by the lint of the newer version."""
        assert self.loop is not None
        deadline = self.loop.time() + self.budget()
        while True:
            future = self.request_lint(uri)
            try:
                return await asyncio.wait_for(asyncio.shield(future), max(0.0, deadline - self.loop.time()))
            except asyncio.TimeoutError:
                return None
            except asyncio.CancelledError:
                if not future.cancelled():
                    raise  # the request itself was cancelled
                if self.open_document(uri) is None or uri not in self.versions or self.loop.time() >= deadline:
                    return None
            except Exception:  # the lint failed (already logged)
                return None

    def publish(self, uri: str) -> None:
        if self.open_document(uri) is None or uri not in self.versions:
            return
        future = self.request_lint(uri)

        def send(future: asyncio.Future) -> None:
            if future.cancelled() or future.exception() is not None:
                return
            lint: LintResult = future.result()
            # A result for an older version or older settings is moot: a newer one is on its way.
            if (lint.version, lint.epoch) != (self.versions.get(uri), self.epoch) or self.shut_down:
                return
            self.text_document_publish_diagnostics(t.PublishDiagnosticsParams(uri=uri, diagnostics=lint.diagnostics, version=lint.version))

        future.add_done_callback(send)

    def schedule(self, uri: str, delay: float) -> None:
        """Lint after ``delay`` seconds; a newer edit replaces the pending run (debounce)."""
        pending = self._pending.pop(uri, None)
        if pending is not None:
            pending.cancel()
        loop = self.loop or asyncio.get_running_loop()
        self._pending[uri] = loop.call_later(delay, self._run_scheduled, uri)
        self.refresh_index_soon()

    def _run_scheduled(self, uri: str) -> None:
        self._pending.pop(uri, None)
        self.publish(uri)

    def forget(self, uri: str) -> None:
        self.versions.pop(uri, None)
        self.results.pop(uri, None)
        self._mentions.pop(uri, None)
        self._lints.pop(uri, None)
        pending = self._pending.pop(uri, None)
        if pending is not None:
            pending.cancel()
        if self.worker is not None:
            self.worker.discard(("lint", uri))
            self.worker.discard(("hover", uri))

    def invalidate(self) -> None:
        """Settings or the index changed: every result is stale; re-lint what is open."""
        self.epoch += 1
        for uri in list(self.versions):
            self.schedule(uri, 0)

    def read_unopened(self, uri: str) -> tuple[str | None, list[t.Diagnostic]]:
        """A file the editor did not open (a pull for it), read safely: bounded, regular files only
        (a FIFO, /dev/zero or a 200 MB file is refused at once, from fstat). The text, or None and what
        to answer instead. Runs off the loop, but not on the lint worker: a refusal needs no lint."""
        from .fsutil import UnsafeRead, read_regular

        path = to_fs_path(uri)
        if not path:
            return None, []
        try:
            data = read_regular(path, 4 * MAX_DOCUMENT)
        except UnsafeRead as exc:
            self.log(t.MessageType.Warning, f"promptlint: not linted: {for_terminal(path)}: {exc}")
            return None, ([_info(f"promptlint: not linted: {exc}")] if "limit" in str(exc) else [])
        except OSError as exc:
            self.log(t.MessageType.Warning, f"promptlint: cannot read {for_terminal(path)}: {exc.strerror or exc}")
            return None, []
        try:
            text = _decode(data)
        except UnicodeDecodeError as exc:
            return None, [_info(f"promptlint: not linted: not valid UTF-8 (offset {exc.start})")]
        if len(text) > MAX_DOCUMENT:
            return None, [_info(f"promptlint: document over {MAX_DOCUMENT} characters; not linted")]
        return text, []


server = PromptlintServer()


@server.feature(t.INITIALIZE)
def initialize(ls: PromptlintServer, params: t.InitializeParams) -> None:
    folder = None
    if params.workspace_folders:
        folder = params.workspace_folders[0].uri
    elif params.root_uri:
        folder = params.root_uri
    elif params.root_path:
        folder = Path(params.root_path).as_uri() if Path(params.root_path).is_absolute() else None
    path = to_fs_path(folder) if folder else None
    try:
        ls.root = Path(path).resolve() if path and Path(path).is_dir() else None
    except (OSError, RuntimeError, ValueError):
        ls.root = None
    options = params.initialization_options
    if isinstance(options, dict):
        settings = options.get("promptlint", options)
        ls.settings = dict(settings) if isinstance(settings, dict) else {}


@server.feature(t.INITIALIZED)
def initialized(ls: PromptlintServer, params: t.InitializedParams) -> None:
    ls.warm_up()


@server.feature(t.SHUTDOWN)
def shutdown(ls: PromptlintServer, params: Any = None) -> None:
    ls.shut_down = True
    for pending in ls._pending.values():
        pending.cancel()
    ls._pending.clear()
    if ls.worker is not None:
        ls.worker.close()


@server.feature(t.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: PromptlintServer, params: t.DidOpenTextDocumentParams) -> None:
    doc = params.text_document
    if ls.is_prompt(doc.uri, doc.language_id):
        ls.forget(doc.uri)
        ls.versions[doc.uri] = doc.version
        ls.publish(doc.uri)


@server.feature(t.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: PromptlintServer, params: t.DidChangeTextDocumentParams) -> None:
    uri = params.text_document.uri
    if uri in ls.versions:
        ls.versions[uri] = params.text_document.version
        ls.schedule(uri, DEBOUNCE)


@server.feature(t.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: PromptlintServer, params: t.DidSaveTextDocumentParams) -> None:
    if params.text_document.uri in ls.versions:
        ls.schedule(params.text_document.uri, 0)


@server.feature(t.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: PromptlintServer, params: t.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.forget(uri)
    ls.text_document_publish_diagnostics(t.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


def _retrigger() -> JsonRpcException:
    # LSP 3.17: a pull the server cannot answer in time errors with ServerCancelled and asks the
    # client to ask again; the lint goes on meanwhile, and the next pull finds its result.
    return JsonRpcException(message="promptlint: still linting; ask again", code=int(t.LSPErrorCodes.ServerCancelled),
                            data=t.DiagnosticServerCancellationData(retrigger_request=True))


@server.feature(t.TEXT_DOCUMENT_DIAGNOSTIC, t.DiagnosticOptions(identifier="promptlint", inter_file_dependencies=False, workspace_diagnostics=False))
async def pull_diagnostics(ls: PromptlintServer, params: t.DocumentDiagnosticParams) -> t.RelatedFullDocumentDiagnosticReport:
    uri = params.text_document.uri
    if ls.open_document(uri) is not None:
        if uri not in ls.versions:
            return t.RelatedFullDocumentDiagnosticReport(items=[])
        lint = await ls.current_lint(uri)
        if lint is None:
            raise _retrigger()
        return t.RelatedFullDocumentDiagnosticReport(items=lint.diagnostics)
    if not ls.is_prompt(uri):
        return t.RelatedFullDocumentDiagnosticReport(items=[])
    assert ls.worker is not None and ls.loop is not None
    deadline = ls.loop.time() + ls.budget()
    read = ls.loop.run_in_executor(None, ls.read_unopened, uri)
    try:
        text, answer = await asyncio.wait_for(asyncio.shield(read), ls.budget())
    except asyncio.TimeoutError:
        raise _retrigger() from None
    if text is None:
        return t.RelatedFullDocumentDiagnosticReport(items=answer)
    future = ls.worker.submit(("disk", uri), lambda: ls.lint_text(uri, text)[1])
    try:
        items = await asyncio.wait_for(asyncio.shield(future), max(0.0, deadline - ls.loop.time()))
    except asyncio.TimeoutError:
        raise _retrigger() from None
    except asyncio.CancelledError:
        if future.cancelled():  # a newer pull for the same file replaced this one
            raise _retrigger() from None
        raise
    return t.RelatedFullDocumentDiagnosticReport(items=items)


@server.feature(t.WORKSPACE_DID_CHANGE_CONFIGURATION)
def did_change_configuration(ls: PromptlintServer, params: t.DidChangeConfigurationParams) -> None:
    settings = params.settings
    if isinstance(settings, dict):
        ls.settings = dict(settings.get("promptlint", settings)) if isinstance(settings.get("promptlint", settings), dict) else {}
    ls.invalidate()


def _fix_edits(diagnostics: list[t.Diagnostic]) -> list[t.TextEdit]:
    edits = []
    for d in diagnostics:
        data = d.data if isinstance(d.data, dict) else {}
        if data.get("replacement") is not None:
            edits.append(t.TextEdit(range=d.range, new_text=data["replacement"]))
    return edits


@server.feature(t.TEXT_DOCUMENT_CODE_ACTION, t.CodeActionOptions(code_action_kinds=[t.CodeActionKind.QuickFix, t.CodeActionKind.RefactorRewrite, FIX_ALL]))
async def code_action(ls: PromptlintServer, params: t.CodeActionParams) -> list[t.CodeAction]:
    uri = params.text_document.uri
    doc = ls.open_document(uri)
    if doc is None:
        return []
    actions: list[t.CodeAction] = []
    ours = [d for d in params.context.diagnostics if d.source == "promptlint"]
    only = params.context.only
    if not only or t.CodeActionKind.QuickFix in only:
        lines = doc.lines
        for d in ours:
            data = d.data if isinstance(d.data, dict) else {}
            code = data.get("code") or d.code
            if data.get("replacement") is not None:
                title = f"Replace with \"{data['replacement']}\"" if data["replacement"] else "Remove it"
                actions.append(t.CodeAction(title=f"{title} ({code})", kind=t.CodeActionKind.QuickFix, diagnostics=[d], is_preferred=True,
                                            edit=t.WorkspaceEdit(changes={uri: [t.TextEdit(range=d.range, new_text=data["replacement"])]})))
            line = d.range.start.line
            indent = lines[line][: len(lines[line]) - len(lines[line].lstrip())] if line < len(lines) else ""
            actions.append(t.CodeAction(title=f"Disable {code} for this line", kind=t.CodeActionKind.QuickFix, diagnostics=[d],
                                        edit=t.WorkspaceEdit(changes={uri: [t.TextEdit(range=t.Range(t.Position(line, 0), t.Position(line, 0)), new_text=f"{indent}<!-- promptlint: disable={code} -->\n")]})))
    wants_rewrite = not only or t.CodeActionKind.RefactorRewrite in only or t.CodeActionKind.Refactor in only
    wants_fix_all = not only or FIX_ALL in only or t.CodeActionKind.Source in only or t.CodeActionKind.SourceFixAll in only
    # The rewrite and fix-all need the lint of this version; within the budget, or they are left out.
    lint = await ls.current_lint(uri) if uri in ls.versions and (wants_rewrite or wants_fix_all) else None
    report = lint.report if lint is not None else None
    if report is not None and report.rewrite and wants_rewrite:
        end_line = len(doc.lines)
        actions.append(t.CodeAction(title="Rewrite for Haiku (promptlint)", kind=t.CodeActionKind.RefactorRewrite,
                                    edit=t.WorkspaceEdit(changes={uri: [t.TextEdit(range=t.Range(t.Position(0, 0), t.Position(end_line, 0)), new_text=report.rewrite)]})))
    if lint is not None and wants_fix_all:
        edits = _fix_edits(lint.diagnostics)
        if edits:
            actions.append(t.CodeAction(title="promptlint: fix all", kind=FIX_ALL, edit=t.WorkspaceEdit(changes={uri: edits})))
    return actions


def _mentions_for(ls: PromptlintServer, text: str) -> Any:
    """Runs on the worker: the document's mentions resolved against the index (None without one)."""
    linter = ls.linter()
    repo = linter._repos.get(ls.root) if ls.root is not None else None
    if repo is None:
        return None
    from .pipeline import analyze_for_hover

    return analyze_for_hover(linter, scrub_surrogates(text), repo)


@server.feature(t.TEXT_DOCUMENT_HOVER)
async def hover(ls: PromptlintServer, params: t.HoverParams) -> t.Hover | None:
    uri = params.text_document.uri
    doc = ls.open_document(uri)
    if doc is None or uri not in ls.versions:
        return None
    lint = await ls.current_lint(uri)
    if lint is None or lint.report is None:
        return None
    text = doc.source
    version, epoch = ls.versions.get(uri), ls.epoch
    parts = []
    cached = ls._mentions.get(uri)
    if cached is not None and cached[:2] == (version, epoch):
        mentions = cached[2]
    else:
        assert ls.worker is not None
        future = ls.worker.submit(("hover", uri), lambda: _mentions_for(ls, text))
        try:
            mentions = await asyncio.wait_for(asyncio.shield(future), ls.budget())
        except (asyncio.TimeoutError, asyncio.CancelledError):
            if not future.cancelled() and future.done():
                raise
            mentions = None
        if mentions is not None and (ls.versions.get(uri), ls.epoch) == (version, epoch):
            ls._mentions[uri] = (version, epoch, mentions)
    offset = codepoint_offset(text, params.position)
    for mention in mentions or ():
        if mention.start <= offset < mention.end:
            if mention.paths:
                where = ", ".join(mention.paths[:3])
                parts.append(f"**{mention.text}** → {where}" + (f" (defined in {', '.join(mention.defined_in[:3])})" if mention.defined_in else ""))
            elif mention.suggestions:
                parts.append(f"**{mention.text}**: not in this repository; did you mean {', '.join(mention.suggestions)}?")
    report = lint.report
    if report.advice:
        a = report.advice
        reasons = "; ".join(r["message"] for r in a["reasons"][:2]) or "no escalation signal"
        parts.append(f"Model advice: **{a['model']}** (escalation score {a['score']:.2f}): {reasons}")
    if not parts:
        return None
    return t.Hover(contents=t.MarkupContent(kind=t.MarkupKind.Markdown, value="\n\n".join(parts)))


class _OneLine(logging.Formatter):
    """stderr gets one line per record, never a traceback: pygls logs every error with exc_info and
    some with the formatted traceback in the message itself."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage().strip().splitlines()
        first = message[0] if message else ""
        return for_terminal(f"promptlint lsp: {record.levelname.lower()}: {first}")[:500]


def _configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine())
    handler.setLevel(logging.WARNING)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)


def main() -> None:
    _configure_logging()
    if sys.stdin is None or sys.stdout is None:
        print("promptlint: error: the language server talks over stdin and stdout; one of them is closed", file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(server.start_io())
