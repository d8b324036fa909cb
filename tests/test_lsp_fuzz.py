"""Hypothesis over LSP frame sequences, against the real `promptlint lsp` process over stdio: valid
and malformed headers, bodies that are not JSON, JSON that is not a request, huge and negative
lengths, interleaved with didOpen/didChange/hover/codeAction/pull/shutdown. Every wait has a
deadline (a hang fails the example); no traceback may reach stderr or the client; after any garbage,
a well-formed request gets its answer. bench/fuzz_lsp.py runs the same catalogue at scale."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .lsp_wire import ACTION_KINDS, GARBAGE_KINDS, TEXTS, Server, Session, garbage, hover_params, tracebacks

ANSWER_DEADLINE = 20.0  # seconds; a lint waits at most the 2 s request budget, the rest is slack for a loaded machine

garbage_segment = st.tuples(st.just("garbage"), st.sampled_from(GARBAGE_KINDS), st.integers(0, 10**6), st.binary(max_size=200))
action = st.tuples(st.just("action"), st.sampled_from(ACTION_KINDS), st.integers(0, 1000), st.sampled_from(TEXTS))
steps = st.lists(st.one_of(garbage_segment, action), min_size=1, max_size=8)


def assert_clean(server: Server) -> None:
    assert tracebacks(server.stderr) == 0, server.stderr[-3000:]
    assert not server.bad_output, server.bad_output[:3]
    for m in server.messages:
        assert "traceback" not in json.dumps(m.get("error", {})).lower(), m


def play(session: Session, sequence) -> None:  # type: ignore[no-untyped-def]
    for step in sequence:
        if step[0] == "garbage":
            session.server.send(garbage(*step[1:]))
        else:
            session.act(*step[1:])


@pytest.fixture(scope="module")
def shared():
    with Server() as server:
        server.initialize()
        yield Session(server)
        assert_clean(server)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(sequence=steps)
def test_after_any_garbage_a_well_formed_request_gets_its_answer(shared: Session, sequence):
    server = shared.server
    before = len(shared.requests)
    play(shared, sequence)
    probe = server.request("textDocument/hover", hover_params("file:///fuzz/never-opened.prompt"))
    assert server.response(probe, ANSWER_DEADLINE)["result"] is None
    for msg_id in shared.requests[before:]:  # every well-formed request in the sequence was answered too
        server.response(msg_id, ANSWER_DEADLINE)
    assert server.proc.poll() is None, "the server died"
    assert_clean(server)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(before_init=steps, session_steps=steps, after_shutdown=st.one_of(st.none(), steps))
def test_whole_sessions_end_with_the_exit_code_the_spec_says(before_init, session_steps, after_shutdown):
    with Server() as server:
        session = Session(server)
        play(session, before_init)  # requests get -32002, notifications are dropped
        early = list(session.requests)
        server.initialize()
        session.versions.clear()  # the documents opened before initialize were dropped
        play(session, session_steps)
        if after_shutdown is not None:
            assert server.response(server.request("shutdown"), ANSWER_DEADLINE)["result"] is None
            shutdown_at = len(session.requests)
            play(session, after_shutdown)
        for msg_id in session.requests:
            answer = server.response(msg_id, ANSWER_DEADLINE)
            if msg_id in early:
                assert answer["error"]["code"] == -32002
            elif after_shutdown is not None and msg_id in session.requests[shutdown_at:]:
                assert answer["error"]["code"] == -32600
        server.notify("exit")
        assert server.wait_exit(ANSWER_DEADLINE) == (0 if after_shutdown is not None else 1)
        assert_clean(server)
