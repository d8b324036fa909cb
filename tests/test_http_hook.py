"""The warm server's HTTP listener as an attacker on this machine or a web page would meet it:
loopback only, the secret in constant time, Host/Origin checks, size and time caps, no logs."""

from __future__ import annotations

import http.client
import json
import os
import socket
import stat
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptlint.hook import httpd, payload

from .conftest import REPOS


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMPTLINT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PROMPTLINT_RUNTIME_DIR", str(tmp_path / "rt"))
    return tmp_path


@pytest.fixture
def listener(dirs):
    seen: list[dict] = []

    def dispatch(request):
        return {"ok": True, "version": "test"}

    def answer(raw, mode, seconds):
        # as the server's answer_hook: parse the input, and answer only a prompt worth linting
        hook_input, why = payload.parse(raw)
        if hook_input is None:
            return {"stdout": "", "stderr": why}
        seen.append({"prompt": hook_input.prompt, "cwd": hook_input.cwd, "mode": mode, "deadline": seconds})
        if hook_input.prompt == "hang":
            time.sleep(30)
        return {"stdout": json.dumps({"hookSpecificOutput": {"hookEventName": "UserPromptSubmit", "additionalContext": "ctx"}}) + "\n", "stderr": ""}

    httpd.ensure_secret()
    server = httpd.start_listener(dispatch, answer=answer)
    assert server is not None
    server.seen = seen
    yield server
    httpd.stop_listener(server)


def post(server, path="/hook/user-prompt-submit", body=None, headers=None, secret=True, host=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    data = json.dumps(body if body is not None else {"prompt": "Fix it.", "cwd": str(REPOS / "ts-api")}).encode()
    hdrs = {"Content-Type": "application/json", "Host": host or f"127.0.0.1:{server.port}"}
    if secret:
        hdrs[httpd.SECRET_HEADER] = httpd.read_secret() if secret is True else secret
    hdrs.update(headers or {})
    conn.putrequest("POST", path, skip_host=True)
    for k, v in hdrs.items():
        if v is not None:
            conn.putheader(k, v)
    conn.putheader("Content-Length", str(len(data)))
    conn.endheaders(data)
    resp = conn.getresponse()
    out = resp.status, resp.read()
    conn.close()
    return out


def test_a_good_request_gets_the_hook_answer(listener):
    status, body = post(listener)
    assert status == 200
    assert json.loads(body)["hookSpecificOutput"]["additionalContext"] == "ctx"
    (request,) = listener.seen
    assert request["prompt"] == "Fix it." and request["mode"] is None and request["deadline"] == httpd.DEFAULT_DEADLINE


def test_listens_on_loopback_only_and_says_where(listener, dirs):
    assert listener.server_address[0] == "127.0.0.1"
    endpoint = httpd.read_endpoint()
    assert endpoint == {"port": listener.port, "pid": os.getpid(), "started": endpoint["started"]}
    assert stat.S_IMODE((dirs / "rt" / "http.json").stat().st_mode) == 0o600


@pytest.mark.parametrize("secret", [False, "wrong", "x" * 43, ""])
def test_without_the_secret_nothing_is_linted(listener, secret):
    status, _ = post(listener, secret=secret)
    assert status == 401 and listener.seen == []


@pytest.mark.parametrize("host", ["evil.example:80", "attacker.test", "127.0.0.1", "127.0.0.1:1", "localhost.evil.test"])
def test_dns_rebinding_host_is_refused(listener, host):
    status, _ = post(listener, host=host)
    assert status == 421 and listener.seen == []


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://127.0.0.1.evil.test"])
def test_cross_origin_is_refused(listener, origin):
    status, _ = post(listener, headers={"Origin": origin})
    assert status == 403 and listener.seen == []


def test_a_loopback_origin_and_localhost_host_are_fine(listener):
    status, _ = post(listener, headers={"Origin": "http://localhost:3000"}, host=f"localhost:{listener.port}")
    assert status == 200


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", None])
def test_only_json_bodies(listener, ctype):
    status, _ = post(listener, headers={"Content-Type": ctype})
    assert status == 415 and listener.seen == []


def test_oversized_body_is_refused_before_reading(listener):
    with socket.create_connection(("127.0.0.1", listener.port), timeout=10) as sock:
        sock.sendall(
            f"POST /hook/user-prompt-submit HTTP/1.1\r\nHost: 127.0.0.1:{listener.port}\r\nContent-Type: application/json\r\n"
            f"{httpd.SECRET_HEADER}: {httpd.read_secret()}\r\nContent-Length: {httpd.MAX_BODY + 1}\r\n\r\n".encode()
        )
        assert sock.recv(100).startswith(b"HTTP/1.1 413")


def test_chunked_bodies_are_refused(listener):
    with socket.create_connection(("127.0.0.1", listener.port), timeout=10) as sock:
        sock.sendall(
            f"POST /hook/user-prompt-submit HTTP/1.1\r\nHost: 127.0.0.1:{listener.port}\r\nContent-Type: application/json\r\n"
            f"{httpd.SECRET_HEADER}: {httpd.read_secret()}\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{{}}\r\n0\r\n\r\n".encode()
        )
        assert sock.recv(100).startswith(b"HTTP/1.1 411")


def test_a_slow_client_is_cut_off(listener):
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", listener.port), timeout=30) as sock:
        sock.sendall(b"POST /hook/user-prompt-submit HTTP/1.1\r\n")
        try:
            while sock.recv(100):  # dribble nothing more: the server must hang up by itself
                pass
        except (ConnectionResetError, TimeoutError):
            pass
    assert time.monotonic() - started < httpd.CONNECTION_SECONDS + 3


def test_too_many_connections_get_503_not_a_hang(listener):
    held = [socket.create_connection(("127.0.0.1", listener.port), timeout=10) for _ in range(httpd.MAX_CONNECTIONS)]
    try:
        time.sleep(0.3)
        status, _ = post(listener)
        assert status == 503
    finally:
        for s in held:
            s.close()
    time.sleep(0.5)
    assert post(listener)[0] == 200


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "OPTIONS"])
def test_post_only(listener, method):
    conn = http.client.HTTPConnection("127.0.0.1", listener.port, timeout=10)
    conn.request(method, "/hook/user-prompt-submit", headers={httpd.SECRET_HEADER: httpd.read_secret()})
    assert conn.getresponse().status == 405


@pytest.mark.parametrize("prompt", ["/review", "# note", "   ", ""])
def test_slash_commands_and_memory_notes_pass_untouched(listener, prompt):
    status, body = post(listener, body={"prompt": prompt, "cwd": str(REPOS / "ts-api")})
    assert status == 200 and body == b"" and listener.seen == []


def test_a_body_that_is_not_json_passes_untouched(listener):
    conn = http.client.HTTPConnection("127.0.0.1", listener.port, timeout=10)
    conn.request("POST", "/hook/user-prompt-submit", body=b"{nope", headers={"Content-Type": "application/json", httpd.SECRET_HEADER: httpd.read_secret()})
    resp = conn.getresponse()
    assert resp.status == 200 and resp.read() == b"" and listener.seen == []


def test_mode_and_deadline_come_from_the_url(listener):
    post(listener, path="/hook/user-prompt-submit?mode=block&deadline=0.9")
    post(listener, path="/hook/user-prompt-submit?mode=bogus&deadline=999")
    assert [(r["mode"], r["deadline"]) for r in listener.seen] == [("block", 0.9), (None, 10.0)]


def test_the_secret_never_reaches_a_reply_or_the_endpoint_file(listener, dirs, capfd):
    secret = httpd.read_secret()
    for kwargs in ({}, {"secret": "wrong"}, {"host": "evil.test"}, {"path": "/nope"}):
        status, body = post(listener, **kwargs)
        assert secret.encode() not in body
    assert secret not in (dirs / "rt" / "http.json").read_text()
    out, err = capfd.readouterr()
    assert secret not in out and secret not in err and "POST" not in err  # nothing logged


def test_secret_and_state_dir_are_private_and_a_loose_secret_is_not_trusted(dirs):
    secret = httpd.ensure_secret()
    assert len(secret) >= 40 and httpd.ensure_secret() == secret
    path = dirs / "state" / "http-secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    os.chmod(path, 0o644)  # someone loosened it: it may have been read
    assert httpd.read_secret() is None
    assert httpd.start_listener(lambda r: {}) is None


def test_no_secret_no_listener(dirs):
    assert httpd.start_listener(lambda r: {}) is None


def test_a_taken_port_falls_back_to_a_free_one(dirs):
    httpd.ensure_secret()
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", httpd.ensure_port()))
    squatter.listen(1)
    try:
        server = httpd.start_listener(lambda r: {"ok": True})
        assert server is not None and server.port != httpd.preferred_port()
        assert httpd.read_endpoint()["port"] == server.port
        httpd.stop_listener(server)
        assert httpd.read_endpoint() is None
    finally:
        squatter.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400))
def test_fuzzed_request_bytes_never_crash_the_listener(listener, raw):
    with socket.create_connection(("127.0.0.1", listener.port), timeout=10) as sock:
        try:
            sock.sendall(raw + b"\r\n\r\n")
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(4096):
                pass
        except OSError:
            pass
    assert post(listener)[0] == 200


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/proc/net/tcp"), reason="needs root to listen as another user, and Linux")
def test_a_port_squatted_by_another_user_gets_the_secret_rotated(dirs):
    """A loopback port is first come, first served: while the server is down (idle exit, reboot)
    another user can listen on the installed port, and Claude Code then POSTs every prompt there
    with the secret in a header. With that secret the squatter could later ask this user's server
    (on whatever port it moved to) to `/lint` any folder this user can read. A server that finds its
    port held by another uid makes a new secret: the one that may have leaked opens nothing."""
    import subprocess
    import sys

    old = httpd.ensure_secret()
    port = httpd.ensure_port()
    code = ("import os, socket, sys, time; os.setgid(54321); os.setuid(54321); s = socket.socket(); "
            f"s.bind(('127.0.0.1', {port})); s.listen(1); print('up', flush=True); time.sleep(60)")
    squatter = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert squatter.stdout.readline() == b"up\n"
        server = httpd.start_listener(lambda r: {"ok": True})
        try:
            assert server is not None and server.port != port
            assert httpd.read_secret() not in (None, old) and server.secret == httpd.read_secret()
        finally:
            httpd.stop_listener(server)
    finally:
        squatter.kill()
        squatter.wait()
