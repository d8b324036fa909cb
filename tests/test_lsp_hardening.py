"""`promptlint lsp` against hostile or careless clients, over real stdio (tests/lsp_wire.py): each
defect reported in issue 9 as a test that failed before the fix. Every wait has a deadline."""

from __future__ import annotations

import json
import os
import time

import pytest

from .conftest import REPOS
from .lsp_wire import Server, frame, hover_params, open_params, tracebacks

TS = (REPOS / "ts-api").resolve()
PROBE_TIMEOUT = 20.0
SERVER_CANCELLED = -32802


def probe(server: Server, timeout: float = PROBE_TIMEOUT) -> dict:
    """A well-formed request after whatever came before: it must get its answer."""
    msg_id = server.request("textDocument/hover", hover_params("file:///nowhere/probe.prompt"))
    return server.response(msg_id, timeout)


def no_traceback_anywhere(server: Server) -> None:
    assert tracebacks(server.stderr) == 0, server.stderr[-2000:]
    assert not server.bad_output
    for m in server.messages:
        assert "traceback" not in json.dumps(m.get("error", {})).lower(), m


def end(server: Server) -> int:
    server.response(server.request("shutdown"))
    server.notify("exit")
    return server.wait_exit()


@pytest.fixture
def lsp():
    with Server() as server:
        server.initialize()
        yield server
        no_traceback_anywhere(server)


@pytest.fixture(scope="module")
def serving():
    """One server for the framing tests: each must leave it serving for the next."""
    with Server() as server:
        server.initialize()
        yield server
        no_traceback_anywhere(server)
        assert end(server) == 0


# --- framing ---------------------------------------------------------------------------------------


def test_lf_only_headers_are_served():
    with Server() as server:
        answer = server.response(server.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}}, lf_only=True), 60)
        assert "capabilities" in answer["result"]
        server.notify("initialized", {}, lf_only=True)
        assert server.response(server.request("textDocument/hover", hover_params("file:///x.prompt"), lf_only=True))["result"] is None
        no_traceback_anywhere(server)


BODY = json.dumps({"jsonrpc": "2.0", "id": "bad", "method": "textDocument/hover", "params": hover_params("file:///x.prompt")}).encode()


@pytest.mark.parametrize("bad", [
    pytest.param(b"Content-Length: %d\r\n\r\n" % (len(BODY) - 9) + BODY, id="length-too-short"),
    pytest.param(b"Content-Length: %d\r\n\r\n" % (len(BODY) + 9) + BODY, id="length-too-long"),
    pytest.param(b"Content-Length: 4000\r\n\r\n" + BODY, id="length-past-everything-sent"),
    pytest.param(b"Content-Type: application/vscode-jsonrpc\r\n\r\n" + BODY, id="length-missing"),
    pytest.param(b"Content-Length: twelve\r\n\r\n" + BODY, id="length-not-a-number"),
    pytest.param(b"Content-Length: -1\r\n\r\n" + BODY, id="length-negative"),
    pytest.param(b"\x00\x01garbage without any header" * 50, id="raw-bytes"),
])
def test_a_malformed_frame_is_logged_and_the_next_request_is_answered(serving: Server, bad: bytes):
    start = len(serving.messages)
    serving.send(bad)
    assert "result" in probe(serving)
    logged = [m["params"]["message"] for m in serving.messages[start:] if m.get("method") == "window/logMessage"]
    assert any("malformed LSP frame" in text or "not JSON" in text for text in logged), logged


def test_a_huge_content_length_is_refused_without_allocating_and_the_server_lives_on(serving: Server):
    serving.send(b"Content-Length: 99999999999\r\n\r\n{}")
    assert "result" in probe(serving)
    serving.send(b"Content-Length: " + b"9" * 6000 + b"\r\n\r\n{}")
    assert "result" in probe(serving)
    status = open(f"/proc/{serving.proc.pid}/status").read() if os.path.exists(f"/proc/{serving.proc.pid}/status") else ""
    for line in status.splitlines():
        if line.startswith("VmHWM:"):  # peak resident memory: nothing near 100 GB was ever allocated
            assert int(line.split()[1]) < 1_500_000, line
    assert serving.proc.poll() is None


def test_a_body_that_is_not_json_gets_a_parse_error_with_a_null_id(serving: Server):
    start = len(serving.messages)
    serving.send(b"Content-Length: 9\r\n\r\n{not json")
    error = serving.wait_for(lambda m: m.get("error", {}).get("code") == -32700, 20, "a -32700 parse error", start)
    assert error["id"] is None and "id" in error
    assert "result" in probe(serving)


@pytest.mark.parametrize("payload, reply_id", [([1, 2], None), (42, None), ({"a": 1}, None), ({"jsonrpc": "1.0", "id": 7, "method": "x"}, 7),
                                               ({"jsonrpc": "2.0", "id": {"a": 1}, "method": "textDocument/hover"}, None)])
def test_json_that_is_not_a_request_gets_invalid_request(serving: Server, payload, reply_id):
    start = len(serving.messages)
    serving.send(frame(payload))
    error = serving.wait_for(lambda m: "error" in m and m.get("id") == reply_id, 20, "an error answer", start)
    assert error["error"]["code"] in (-32600, -32602), error
    assert "result" in probe(serving)


def test_invalid_utf8_and_deep_nesting_are_parse_errors(serving: Server):
    start = len(serving.messages)
    serving.send(b'Content-Length: 12\r\n\r\n{"a": "\xff\xfe"}')
    serving.send(b"Content-Length: 200000\r\n\r\n" + b"[" * 200_000)
    assert "result" in probe(serving, 30)
    assert sum(1 for m in serving.messages[start:] if m.get("error", {}).get("code") == -32700) == 2


# --- message order: initialize, shutdown, exit ----------------------------------------------------


def test_a_request_before_initialize_gets_server_not_initialized_and_notifications_are_dropped():
    with Server() as server:
        hover_id = server.request("textDocument/hover", hover_params("file:///x.prompt"))
        assert server.response(hover_id)["error"]["code"] == -32002
        shutdown_id = server.request("shutdown")
        assert server.response(shutdown_id)["error"]["code"] == -32002
        uri = "file:///early/task.prompt"
        server.notify("textDocument/didOpen", open_params(uri, "Fix it.\n"))
        server.initialize()
        # the didOpen before initialize was dropped: the document is unknown, nothing is published
        assert server.response(server.request("textDocument/hover", hover_params(uri)))["result"] is None
        assert not [m for m in server.messages if m.get("method") == "textDocument/publishDiagnostics"]
        again = server.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}})
        assert server.response(again)["error"]["code"] == -32600
        assert end(server) == 0
        no_traceback_anywhere(server)


def test_exit_before_initialize_ends_with_code_one():
    with Server() as server:
        server.notify("exit")
        assert server.wait_exit() == 1


def test_exit_without_shutdown_ends_with_code_one(lsp: Server):
    lsp.notify("exit")
    assert lsp.wait_exit() == 1


def test_shutdown_then_exit_ends_with_code_zero_and_requests_after_shutdown_get_invalid_request(lsp: Server):
    assert lsp.response(lsp.request("shutdown"))["result"] is None
    assert lsp.response(lsp.request("textDocument/hover", hover_params("file:///x.prompt")))["error"]["code"] == -32600
    lsp.notify("exit")
    assert lsp.wait_exit() == 0


@pytest.mark.parametrize("shutdown_first, code", [(True, 0), (False, 1)])
def test_end_of_stdin_ends_the_server_with_the_exit_code_of_exit(lsp: Server, shutdown_first, code):
    if shutdown_first:
        lsp.response(lsp.request("shutdown"))
    lsp.close_stdin()
    assert lsp.wait_exit() == code


# --- disk reads for URIs the editor did not open --------------------------------------------------


def test_a_fifo_a_device_and_a_huge_file_named_by_a_uri_are_not_read(lsp: Server, tmp_path):
    fifo = tmp_path / "pipe.prompt"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.prompt"
    zero.symlink_to("/dev/zero")
    huge = tmp_path / "huge.prompt"
    with open(huge, "wb") as fh:
        fh.truncate(200_000_000)  # sparse: 200 MB that cost no disk
    fine = tmp_path / "fine.prompt"
    fine.write_text("Refactor the entire codebase.\n")
    started = time.monotonic()
    ids = {p.name: lsp.request("textDocument/diagnostic", {"textDocument": {"uri": p.as_uri()}}) for p in (fifo, zero, huge, fine)}
    answers = {name: lsp.response(i, 30) for name, i in ids.items()}
    assert answers["pipe.prompt"]["result"]["items"] == []
    assert answers["zero.prompt"]["result"]["items"] == []
    assert "not linted" in answers["huge.prompt"]["result"]["items"][0]["message"]
    # the readable one is linted (the cold lint may need a retry within the request budget)
    fine_answer = answers["fine.prompt"]
    for _ in range(30):
        if "result" in fine_answer:
            break
        assert fine_answer["error"]["code"] == SERVER_CANCELLED
        fine_answer = lsp.response(lsp.request("textDocument/diagnostic", {"textDocument": {"uri": fine.as_uri()}}), 30)
    assert "SCO001" in {d["code"] for d in fine_answer["result"]["items"]}
    assert "result" in probe(lsp)
    assert time.monotonic() - started < 60
    logged = " ".join(m["params"]["message"] for m in lsp.messages if m.get("method") == "window/logMessage")
    assert "named pipe" in logged and "character device" in logged


# --- lint off the event loop ----------------------------------------------------------------------


def big_prompt(chars: int) -> str:
    sentence = "Update the handler in src/app.ts so that it validates the token and maybe add some tests for it. "
    return (sentence * (chars // len(sentence) + 1))[:chars]


def test_a_long_lint_leaves_hover_code_actions_and_shutdown_responsive():
    with Server() as server:
        server.initialize()
        big = "file:///work/big.prompt"
        server.notify("textDocument/didOpen", open_params(big, big_prompt(900_000)))
        time.sleep(0.5)  # the lint of the big document is under way on the worker
        started = time.monotonic()
        hover = server.request("textDocument/hover", hover_params("file:///work/other.prompt"))
        action = server.request("textDocument/codeAction", {"textDocument": {"uri": big}, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 1}},
                                                             "context": {"diagnostics": [], "only": ["quickfix"]}})
        assert server.response(hover, 10)["result"] is None
        assert server.response(action, 10)["result"] == []
        assert server.response(server.request("shutdown"), 10)["result"] is None
        latency = time.monotonic() - started
        published = [m for m in server.messages if m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == big]
        assert not published, "the big lint finished first: this test measured nothing"
        assert latency < 3.0, latency
        server.notify("exit")
        assert server.wait_exit(10) == 0  # the running lint does not hold the exit
        no_traceback_anywhere(server)


def test_a_newer_version_makes_the_older_lint_moot():
    with Server() as server:
        server.initialize()
        uri = "file:///work/edit.prompt"
        change = lambda v, text: frame({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {  # noqa: E731
            "textDocument": {"uri": uri, "version": v}, "contentChanges": [{"text": text}]}})
        # one write: the change arrives while the lint of version 1 runs; 2 is replaced by 3 while queued
        server.send(frame({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": open_params(uri, big_prompt(40_000))})
                    + change(2, "Fix it.\n") + change(3, "Refactor the entire codebase.\n"))
        published = server.notification("textDocument/publishDiagnostics", 120, where=lambda m: m["params"]["uri"] == uri)
        assert published["params"]["version"] == 3
        assert "SCO001" in {d["code"] for d in published["params"]["diagnostics"]}
        time.sleep(DEBOUNCE_MARGIN)
        versions = [m["params"]["version"] for m in server.messages if m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri]
        assert versions == [3]
        assert end(server) == 0
        no_traceback_anywhere(server)


DEBOUNCE_MARGIN = 1.0


def test_a_pull_over_the_budget_asks_the_client_to_retry_and_the_retry_gets_the_result():
    with Server() as server:
        server.initialize(options={"promptlint": {"requestBudget": 0}})
        uri = "file:///work/slow.prompt"
        server.notify("textDocument/didOpen", open_params(uri, big_prompt(20_000)))
        answer = server.response(server.request("textDocument/diagnostic", {"textDocument": {"uri": uri}}))
        assert answer["error"]["code"] == SERVER_CANCELLED and answer["error"]["data"] == {"retriggerRequest": True}
        server.notification("textDocument/publishDiagnostics", 120, where=lambda m: m["params"]["uri"] == uri)
        again = server.response(server.request("textDocument/diagnostic", {"textDocument": {"uri": uri}}))
        assert "items" in again["result"]
        assert end(server) == 0
        no_traceback_anywhere(server)


# --- text the pipeline must survive ---------------------------------------------------------------


def test_a_lone_surrogate_gets_normal_diagnostics_not_an_internal_error():
    with Server() as server:
        server.initialize()
        uri, same = "file:///work/surrogate.prompt", "file:///work/replaced.prompt"
        server.notify("textDocument/didOpen", open_params(uri, "Refactor \udc80 the entire codebase, and maybe add tests.\n"))  # json.dumps writes "\udc80"
        server.notify("textDocument/didOpen", open_params(same, "Refactor \ufffd the entire codebase, and maybe add tests.\n"))
        published = server.notification("textDocument/publishDiagnostics", 60, where=lambda m: m["params"]["uri"] == uri)
        expected = server.notification("textDocument/publishDiagnostics", 60, where=lambda m: m["params"]["uri"] == same)
        codes = [d["code"] for d in published["params"]["diagnostics"]]
        assert codes and codes == [d["code"] for d in expected["params"]["diagnostics"]]  # as if it were U+FFFD
        pulled = server.response(server.request("textDocument/diagnostic", {"textDocument": {"uri": uri}}))
        assert [d["code"] for d in pulled["result"]["items"]] == codes
        hovered = server.response(server.request("textDocument/hover", hover_params(uri, 0, 5)))
        assert "error" not in hovered
        assert end(server) == 0
        assert not [m for m in server.messages if m.get("error", {}).get("code") == -32603]
        no_traceback_anywhere(server)


def test_an_internal_error_reaches_the_client_without_its_traceback():
    import sys

    from pygls.exceptions import JsonRpcInternalError

    from promptlint.lsp import PromptlintServer

    sent = []

    class Writer:
        def write(self, data: bytes) -> None:
            sent.append(data)

        def close(self) -> None:
            pass

    ls = PromptlintServer()
    ls.protocol.set_writer(Writer())
    try:
        raise UnicodeEncodeError("utf-8", "\udc80", 0, 1, "surrogates not allowed")
    except UnicodeEncodeError:
        error = JsonRpcInternalError.of(sys.exc_info()).to_response_error()
    assert "traceback" in error.data
    ls.protocol._send_response(5, error=error)
    body = json.loads(sent[0].split(b"\r\n\r\n", 1)[1])
    assert body["error"]["code"] == -32603 and "data" not in body["error"]
    assert "surrogates not allowed" in body["error"]["message"]


def test_the_background_index_also_reads_the_message_literals(tmp_path):
    """The index no longer extracts message literals (the search reads them on the first pasted
    error); the editor's background indexing reads them after the index is ready, so a pasted
    error in the editor does not pay for them, and they are saved beside the index."""
    import shutil

    from promptlint.lsp import PromptlintServer
    from promptlint.repo.index import build_index
    from promptlint.repo.search import _MESSAGES_DERIVED

    repo = tmp_path / "repo"
    shutil.copytree(REPOS / "ts-api", repo)
    (repo / "src" / "only-here.ts").write_text('export function f() { throw new Error("a message only this copy holds"); }\n')
    ls = PromptlintServer()
    ls.root = repo.resolve()
    ls.build_index_in_background()
    assert ls.repo_ready.wait(60)
    search = ls.linter().repo_context(ls.root).resolver.search
    for _ in range(600):
        if search.message is not None:
            break
        time.sleep(0.1)
    assert search.message is not None, "the background index never read the message literals"
    assert build_index(repo).load_derived(_MESSAGES_DERIVED) is not None


def test_the_index_follows_files_deleted_and_created_while_prompts_are_edited(tmp_path):
    """The editor backend is long-lived: an index built when it started must not go on offering a
    file deleted since, nor miss one created since. Each lint scheduled rescans in the background
    (at most every REFRESH_INTERVAL seconds; incremental, so a rescan that finds nothing changed is cheap)."""
    import shutil

    from promptlint.lsp import PromptlintServer

    repo = tmp_path / "repo"
    shutil.copytree(REPOS / "ts-api", repo)
    ls = PromptlintServer()
    ls.root = repo.resolve()
    ls.build_index_in_background()
    assert ls.repo_ready.wait(60)
    files = lambda: ls.linter().repo_context(ls.root).index.files  # noqa: E731
    assert "src/db/schema.ts" in files()
    (repo / "src" / "db" / "schema.ts").unlink()
    (repo / "src" / "db" / "orders.ts").write_text("export const orders = []\n")

    def refreshed() -> dict:
        ls._last_refresh = 0.0  # as if the interval had passed
        ls.refresh_index_soon()
        for _ in range(600):
            if not ls._refreshing:
                break
            time.sleep(0.05)
        return files()

    now = refreshed()
    assert "src/db/schema.ts" not in now and "src/db/orders.ts" in now
    report = ls.linter().lint("Add a database table for customer orders", repo=ls.root)
    assert all(r["path"] != "src/db/schema.ts" for r in report.references)  # never a deleted file
    # Within the interval a second edit waits for the next rescan (no rescan per keystroke).
    (repo / "src" / "db" / "orders.ts").unlink()
    ls.refresh_index_soon()
    assert not ls._refreshing and "src/db/orders.ts" in files()
