"""The language server's framing (promptlint.lsp.FrameReader), in process: each decided case for a
malformed frame, and a hypothesis property: whatever garbage sits between well-formed frames, every
well-formed frame comes out, in order, and memory stays bounded."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptlint.lsp import MAX_FRAME, MAX_HEADER, Frame, FrameReader

from .lsp_wire import GARBAGE_KINDS, frame, garbage


class Trickle(io.RawIOBase):
    """A stream that returns at most ``step`` bytes per read, like a pipe under load."""

    def __init__(self, data: bytes, step: int):
        self.data, self.pos, self.step = data, 0, step
        self.largest_read = 0

    def read(self, n: int = -1) -> bytes:
        chunk = self.data[self.pos : self.pos + min(n, self.step)]
        self.pos += len(chunk)
        return chunk


def frames_of(data: bytes, step: int = 1 << 16) -> list[Frame]:
    stream = Trickle(data, step)
    reader = FrameReader(stream.read)
    out = []
    while (f := reader.next_frame()) is not None:
        out.append(f)
        assert len(out) < 10_000
    return out


def bodies(data: bytes, step: int = 1 << 16) -> list[bytes]:
    return [f.body for f in frames_of(data, step) if f.body]


MSG = {"jsonrpc": "2.0", "id": 1, "method": "shutdown"}
BODY = json.dumps(MSG).encode()


def test_well_formed_frames_with_crlf_lf_only_and_content_type():
    data = frame(MSG) + frame(MSG, lf_only=True) + frame(MSG, content_type=True) + frame(MSG, lf_only=True, content_type=True)
    assert bodies(data) == [BODY] * 4
    assert all(f.problem is None for f in frames_of(data))


def test_header_names_are_case_insensitive_and_blank_lines_between_frames_are_skipped():
    data = b"\r\n\n" + b"content-length:%d\r\n\r\n" % len(BODY) + BODY + b"\r\n" + b"CONTENT-LENGTH:   %d  \n\n" % len(BODY) + BODY
    assert bodies(data) == [BODY, BODY]


@pytest.mark.parametrize("header, reason", [
    (b"Content-Length: abc\r\n", "not a non-negative decimal number"),
    (b"Content-Length: -5\r\n", "not a non-negative decimal number"),
    (b"Content-Length: +5\r\n", "not a non-negative decimal number"),
    (b"Content-Length: 5.0\r\n", "not a non-negative decimal number"),
    (b"Content-Length:\r\n", "not a non-negative decimal number"),
    (b"Content-Type: text/plain\r\n", "without Content-Length"),
    (b"Content-Length: 3\r\nContent-Length: 4\r\n", "two different Content-Length headers"),
    (b"{\"not\": \"a header\"}\r\n", "not a header line"),
])
def test_a_malformed_header_is_reported_and_the_next_frame_is_read(header, reason):
    out = frames_of(header + b"\r\n" + b'{"some": "body"}' + frame(MSG))
    assert reason in out[0].problem and out[0].body is None
    assert [f.body for f in out[1:]] == [BODY]


def test_resynchronising_never_reads_the_offending_header_again():
    # the second, conflicting Content-Length sits in the last bytes of a read: it must not come back
    data = b"Content-Length: 3\r\nContent-Length: 4\r\n" + b"\r\nabcdefgh" + frame(MSG)
    for step in (1, 5, 40, 1 << 16):
        out = frames_of(data, step)
        assert "two different" in out[0].problem
        assert [f.body for f in out] == [None, BODY], (step, out)


def test_a_header_section_without_end_is_cut_at_the_cap():
    out = frames_of(b"X-Long: " + b"y" * (MAX_HEADER * 3) + b"\r\n\r\n" + frame(MSG))
    assert "header section over" in out[0].problem
    assert [f.body for f in out if f.body] == [BODY]


def test_a_huge_length_is_refused_without_buffering_and_the_stream_recovers():
    huge = b"Content-Length: 99999999999\r\n\r\n" + b"x" * (3 * FrameReader.CHUNK)
    stream = Trickle(huge + frame(MSG), 1 << 16)
    reader = FrameReader(stream.read)
    first = reader.next_frame()
    assert "over the %d-byte cap" % MAX_FRAME in first.problem
    assert len(reader._buf) <= FrameReader.CHUNK + 100  # garbage is scanned and dropped, never kept
    assert reader.next_frame().body == BODY
    assert reader.next_frame() is None


def test_a_huge_length_right_before_a_frame_skips_to_that_frame():
    out = frames_of(b"Content-Length: 100000000\r\n\r\n" + frame(MSG))
    assert "cap" in out[0].problem and out[1].body == BODY


def test_a_length_with_thousands_of_digits_is_over_the_cap_not_a_crash():
    out = frames_of(b"Content-Length: " + b"9" * 5000 + b"\r\n\r\n{}" + frame(MSG))
    assert "header section over" in out[0].problem or "cap" in out[0].problem
    assert out[-1].body == BODY


def test_a_length_too_long_ends_the_body_at_the_next_header_and_both_frames_come_out():
    out = frames_of(b"Content-Length: %d\r\n\r\n" % (len(BODY) + 40) + BODY + frame(MSG))
    assert out[0].body == BODY and "ran into the next frame" in out[0].problem
    assert out[1].body == BODY and out[1].problem is None


def test_a_length_too_long_for_the_rest_of_the_stream_still_finds_the_next_frame():
    # the declared body would swallow the next frame whole; its header shows it never was one body
    out = frames_of(b"Content-Length: 5000\r\n\r\n" + b'{"a"' + frame(MSG, content_type=True))
    assert out[0].body == b'{"a"'
    assert out[1].body == BODY


def test_a_length_that_ends_inside_the_next_header_is_cut_where_that_header_starts():
    out = frames_of(b"Content-Length: %d\r\n\r\n" % (len(BODY) + 5) + BODY + frame(MSG))
    assert [f.body for f in out] == [BODY, BODY]


def test_a_length_too_short_gives_a_truncated_body_then_resynchronises():
    out = frames_of(b"Content-Length: 10\r\n\r\n" + BODY + frame(MSG))
    assert out[0].body == BODY[:10]
    assert "not a header line" in out[1].problem
    assert out[2].body == BODY


def test_an_empty_body_is_a_parse_error():
    out = frames_of(b"Content-Length: 0\r\n\r\n" + frame(MSG))
    assert out[0].parse_error and out[0].body is None
    assert out[1].body == BODY


def test_a_body_that_contains_the_words_content_length_in_a_string_is_left_whole():
    msg = {"jsonrpc": "2.0", "method": "x", "params": {"text": "Content-Length: 12\r\n\r\nset the Content-Length: 5 header"}}
    assert bodies(frame(msg) + frame(MSG)) == [json.dumps(msg).encode(), BODY]


def test_end_of_stream_inside_a_body_or_header_ends_cleanly():
    assert frames_of(b"Content-Length: 100\r\n\r\n{") == []
    assert frames_of(b"Content-Len") == []
    assert frames_of(b"") == []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.booleans(), st.sampled_from(GARBAGE_KINDS), st.integers(0, 10**6), st.binary(max_size=300)), max_size=8),
    st.sampled_from([1, 7, 64, 1 << 16]),
)
def test_every_well_formed_frame_survives_any_garbage_in_between(segments, step):
    data = b""
    expected = []
    for i, (lf_only, kind, n, blob) in enumerate(segments):
        data += garbage(kind, n, blob)
        msg = {"jsonrpc": "2.0", "id": i, "method": "textDocument/hover", "params": {"n": i}}
        data += frame(msg, lf_only=lf_only, content_type=n % 3 == 0)
        expected.append(json.dumps(msg).encode())
    got = bodies(data, step)
    # every well-formed frame, in order (garbage may add bodies of its own between them)
    it = iter(got)
    assert all(any(b == e for b in it) for e in expected), (expected, got)


# --- the lint worker (in process) ------------------------------------------------------------------


def test_queued_work_replaced_under_its_key_never_runs_and_running_work_finishes():
    import asyncio
    import threading

    from promptlint.lsp import LintWorker

    ran: list[str] = []
    release = threading.Event()

    async def scenario():
        worker = LintWorker(asyncio.get_running_loop())
        started = threading.Event()

        def slow():
            started.set()
            release.wait(10)
            ran.append("v1")
            return "v1"

        first = worker.submit(("lint", "a"), slow)
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 10)
        second = worker.submit(("lint", "a"), lambda: ran.append("v2") or "v2")  # queued behind v1
        third = worker.submit(("lint", "a"), lambda: ran.append("v3") or "v3")  # replaces v2 before it ran
        other = worker.submit(("lint", "b"), lambda: ran.append("b") or "b")
        assert second.cancelled()
        release.set()
        assert await first == "v1" and await third == "v3" and await other == "b"
        failing = worker.submit(("lint", "c"), lambda: 1 / 0)
        try:
            await failing
        except ZeroDivisionError:
            pass
        else:
            raise AssertionError("the error did not reach the waiter")
        worker.close()
        assert worker.submit(("lint", "d"), lambda: ran.append("d")).cancelled()

    asyncio.run(scenario())
    assert ran == ["v1", "v3", "b"]


def test_a_lint_past_its_budget_is_abandoned_with_a_diagnostic_saying_so(monkeypatch):
    import promptlint.lsp as lsp

    monkeypatch.setattr(lsp, "LINT_BUDGET", -1.0)  # already past: the pipeline stops at its first stage
    ls = lsp.PromptlintServer()
    sent = []
    ls.protocol.set_writer(type("W", (), {"write": lambda self, data: sent.append(data), "close": lambda self: None})())
    report, diagnostics = ls.lint_text("file:///x.prompt", "Fix it.\n")
    assert report is None
    assert "ran past its" in diagnostics[0].message and diagnostics[0].severity == 3
    assert b"abandoned" in b"".join(sent)
    monkeypatch.setattr(lsp, "LINT_BUDGET", 30.0)
    report, diagnostics = ls.lint_text("file:///x.prompt", "Fix it.\n")
    assert "VAG005" in {d.code for d in diagnostics}
