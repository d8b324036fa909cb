"""--llm: the real anthropic SDK against a local server that speaks the Messages API (no network)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from promptlint.cli import main

from .conftest import PROMPTS, REPOS
from .fake_anthropic import FakeMessagesAPI, message

TS = REPOS / "ts-api"
PROMPT = str(PROMPTS / "orders-table.prompt")


@pytest.fixture
def api(monkeypatch):
    with FakeMessagesAPI() as server:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-key")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        yield server


def rewrite(*extra: str):
    return CliRunner().invoke(main, ["rewrite", PROMPT, "--repo", str(TS), "--llm", *extra])


def deterministic() -> str:
    return CliRunner().invoke(main, ["rewrite", PROMPT, "--repo", str(TS)]).stdout


def test_a_valid_answer_replaces_the_rewrite(api):
    draft = deterministic()
    polished = "Add a customer orders table to src/db/schema.ts, like `users`.\n\nFields: <name, type and key of each field; relations to other tables>\n\n" \
        "- <the behaviour that shows it works, e.g. an input and the expected output>\n\nIf anything is unclear, ask me before you start."
    api.respond = lambda req: (200, message("```\n" + polished + "\n```"), 0.0)
    result = rewrite()
    assert result.exit_code == 0, result.output
    assert result.stdout == polished + "\n"
    (request,) = api.requests
    assert request["model"] == "claude-haiku-4-5" and request["max_tokens"] == 2048
    sent = request["messages"][0]["content"]
    assert draft.strip() in sent and "src/db/schema.ts" in sent
    assert "export const users" not in sent  # no file contents unless --llm-context files
    sent_key = api.headers[0].get("x-api-key") or api.headers[0].get("authorization", "").removeprefix("Bearer ")
    assert sent_key == "sk-test-key"  # SDK versions differ in the header they use


def test_file_contents_only_with_llm_context_files(api):
    api.respond = lambda req: (200, message("nothing useful"), 0.0)
    rewrite("--llm-context", "files", "--llm-model", "claude-test-model")
    (request,) = api.requests
    assert request["model"] == "claude-test-model"
    assert '<file path="src/db/schema.ts">' in request["messages"][0]["content"]
    assert "export const users" in request["messages"][0]["content"]


@pytest.mark.parametrize(
    "answer,why",
    [
        ("Add an orders table to src/db/orders_schema.ts. Fields: <name, type and key of each field; relations to other tables>", "named a path that does not exist: src/db/orders_schema.ts"),
        ("Add an orders table to src/db/schema.ts with sensible fields.", "dropped the placeholder <name, type and key of each field; relations to other tables>"),
        ("   ", "empty answer"),
    ],
)
def test_a_bad_answer_falls_back_with_a_warning(api, answer, why):
    api.respond = lambda req: (200, message(answer), 0.0)
    result = rewrite()
    assert result.exit_code == 0
    assert result.stdout == deterministic()
    assert f"promptlint: warning: LLM rewrite rejected ({why}); using the deterministic rewrite" in result.stderr


def test_api_errors_fall_back(api):
    api.respond = lambda req: (529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, 0.0)
    result = rewrite()
    assert result.exit_code == 0 and result.stdout == deterministic()
    assert "LLM rewrite failed (" in result.stderr
    assert len(api.requests) == 1  # no retries: the user is waiting


def test_timeout_falls_back(api, tmp_path, monkeypatch):
    # LLM settings are the user's own (a repository's config may not set them): the user config file.
    (tmp_path / "user.toml").write_text("[llm]\ntimeout = 0.5\n")
    monkeypatch.setenv("PROMPTLINT_USER_CONFIG", str(tmp_path / "user.toml"))
    prompt = tmp_path / "p.prompt"
    prompt.write_text((PROMPTS / "orders-table.prompt").read_text())
    api.respond = lambda req: (200, message("late"), 3.0)
    result = CliRunner().invoke(main, ["rewrite", str(prompt), "--repo", str(TS), "--llm"])
    assert result.exit_code == 0
    assert "LLM rewrite failed (APITimeoutError)" in result.stderr


def test_no_key_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    result = CliRunner().invoke(main, ["rewrite", PROMPT, "--repo", str(TS), "--llm"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "promptlint: error: --llm needs an Anthropic API key: set ANTHROPIC_API_KEY (or drop --llm for the offline rewrite)"


def test_without_llm_nothing_is_sent(api):
    deterministic()
    CliRunner().invoke(main, ["check", PROMPT, "--repo", str(TS), "--format", "json"])
    assert api.requests == []


def test_check_json_carries_the_polished_rewrite(api):
    api.respond = lambda req: (200, message(req["messages"][0]["content"].split("<draft>\n", 1)[1].split("\n</draft>", 1)[0] + "\nPolished."), 0.0)
    out = json.loads(CliRunner().invoke(main, ["check", PROMPT, "--repo", str(TS), "--format", "json", "--llm"]).stdout)
    assert out["files"][0]["rewrite"].endswith("Polished.\n")


def test_llm_config_is_validated(tmp_path):
    (tmp_path / "promptlint.toml").write_text('[llm]\ncontext = "everything"\n')
    prompt = tmp_path / "p.prompt"
    prompt.write_text("Fix it.")
    result = CliRunner().invoke(main, ["rewrite", str(prompt)])
    assert result.exit_code == 2 and "'llm.context' must be \"none\" or \"files\"" in result.stderr


def test_llm_context_files_never_follows_a_symlink_out_of_the_repository(api, tmp_path):
    """A referenced path whose folder became a symlink (after the index saw it) must not send the
    file it now points at: the contents sent are read below the root, without symlinks, bounded."""
    from promptlint.llm import LLMSettings, polish

    root = tmp_path / "repo"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("def handler():\n    return 1\n")
    outside = tmp_path / "home-secrets"
    outside.mkdir()
    (outside / "app.py").write_text("AWS_SECRET_ACCESS_KEY=do-not-send\n")
    (root / "lib").symlink_to(outside, target_is_directory=True)
    (root / "big.py").write_text("x = 1\n" * 1_000_000)
    api.respond = lambda req: (200, message("nothing useful"), 0.0)
    settings = LLMSettings(base_url=api.url, context="files")
    polish("Edit src/app.py", "Edit src/app.py", [], {"src/app.py", "lib/app.py"}, ["src/app.py", "lib/app.py", "big.py"], root, settings)
    sent = api.requests[0]["messages"][0]["content"]
    assert "def handler" in sent
    assert "do-not-send" not in sent
    assert '<file path="lib/app.py">' not in sent
    assert len(sent) < 100_000


@pytest.mark.parametrize("status", [307, 308])  # the two that re-send the body
def test_a_redirect_from_the_api_host_is_not_followed(api, monkeypatch, status):
    """The user chose one host. The SDK follows redirects by default and re-sends the prompt (with
    --llm-context files, the repository's files too) to whatever host the answer names; httpx drops
    only an Authorization header on the way, and older SDKs send the key as x-api-key. A redirect
    is an API error: nothing reaches the other host and the deterministic rewrite stands."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    api.respond = lambda req: (200, message("Polished by a host the user never chose."), 0.0)

    class Redirect(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):  # noqa: N802
            self.send_response(status)
            self.send_header("location", api.url + "/v1/messages")
            self.send_header("content-length", "0")
            self.end_headers()

    redirector = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=redirector.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{redirector.server_address[1]}")
        result = rewrite("--llm-context", "files")
    finally:
        redirector.shutdown()
        redirector.server_close()
    assert result.exit_code == 0 and result.stdout == deterministic()
    assert "LLM rewrite failed (" in result.stderr
    assert api.requests == [] and api.paths == []
