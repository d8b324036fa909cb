"""A small HTTP server on 127.0.0.1 that speaks the Anthropic Messages API, for testing the real SDK
and the real Claude Code CLI without the network. Each test sets how it answers.

It answers `POST /v1/messages` as JSON, or as server-sent events when the request asks for
`"stream": true` (Claude Code always streams), and `POST /v1/messages/count_tokens`. Every request
is recorded (`requests`, `headers`, `paths`) so a test can read what reached the model.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

_MAX_BODY = 64_000_000


def message(text: str, model: str = "claude-haiku-4-5") -> dict[str, Any]:
    return {
        "id": "msg_test_01",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 100, "output_tokens": 50},
    }


def sse_events(payload: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """A complete message as the Messages API streams it: start, one block per content item, stop."""
    start = {**payload, "content": [], "stop_reason": None, "stop_sequence": None,
             "usage": {**payload.get("usage", {}), "output_tokens": 1}}
    events: list[tuple[str, dict[str, Any]]] = [("message_start", {"type": "message_start", "message": start})]
    for index, block in enumerate(payload.get("content", [])):
        text = block.get("text", "")
        events.append(("content_block_start", {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}))
        events.append(("ping", {"type": "ping"}))
        for i in range(0, len(text), 40):
            events.append(("content_block_delta", {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text[i:i + 40]}}))
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(("message_delta", {"type": "message_delta", "delta": {"stop_reason": payload.get("stop_reason", "end_turn"), "stop_sequence": None},
                                     "usage": {"output_tokens": payload.get("usage", {}).get("output_tokens", 1)}}))
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def user_texts(request: dict[str, Any]) -> list[str]:
    """Every text block of every user message in a Messages API request, in order."""
    texts: list[str] = []
    for msg in request.get("messages", []):
        if msg.get("role") != "user":
            continue
        content = msg.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts.extend(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")
    return texts


class FakeMessagesAPI:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []
        self._lock = threading.Lock()
        # (status, body, delay in seconds)
        self.respond: Callable[[dict[str, Any]], tuple[int, dict[str, Any], float]] = lambda req: (200, message("ok"), 0.0)
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _send_json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _send_stream(self, payload: dict[str, Any]) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("cache-control", "no-cache")
                self.send_header("connection", "close")
                self.end_headers()
                for name, data in sse_events(payload):
                    self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
                    self.wfile.flush()
                self.close_connection = True

            def do_GET(self) -> None:  # noqa: N802 - nothing but messages lives here
                self._send_json(404, {"type": "error", "error": {"type": "not_found_error", "message": self.path}})

            do_HEAD = do_GET

            def do_POST(self) -> None:  # noqa: N802
                length = min(int(self.headers.get("content-length", 0) or 0), _MAX_BODY)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    body = {}
                path = self.path.split("?", 1)[0].rstrip("/")
                with api._lock:
                    api.paths.append(path)
                    if path == "/v1/messages":
                        api.requests.append(body)
                        api.headers.append({k.lower(): v for k, v in self.headers.items()})
                try:
                    if path == "/v1/messages/count_tokens":
                        self._send_json(200, {"input_tokens": 100})
                        return
                    if path != "/v1/messages":
                        self._send_json(404, {"type": "error", "error": {"type": "not_found_error", "message": self.path}})
                        return
                    status, payload, delay = api.respond(body)
                    if delay:
                        time.sleep(delay)
                    if status == 200 and body.get("stream"):
                        self._send_stream({**payload, "model": body.get("model", payload.get("model"))})
                    else:
                        self._send_json(status, payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def prompts(self) -> list[str]:
        """The user texts of every recorded request (what reached the model)."""
        with self._lock:
            return ["\n".join(user_texts(r)) for r in self.requests]

    def __enter__(self) -> "FakeMessagesAPI":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
