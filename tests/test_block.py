"""Block mode a user would keep on: what it stops (hook.block-on), what the reason shows, and the
second send that goes through (the block memory: per user, 0600, bounded, no prompt text kept)."""

from __future__ import annotations

import json
import os
import stat
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptlint.config import ConfigError, load_config_file
from promptlint.hook import insist
from promptlint.hook.logic import respond, should_block

from .conftest import REPOS

TS = REPOS / "ts-api"
VAGUE = "Add a database table for customer orders"
WRONG_FILE = "Fix the token check in src/lib/authentication.ts."


@pytest.fixture(autouse=True)
def runtime_dir(tmp_path, monkeypatch):
    folder = tmp_path / "rt"
    monkeypatch.setenv("PROMPTLINT_RUNTIME_DIR", str(folder))
    return folder


@pytest.fixture(scope="module")
def reports(linter):
    return {p: linter.lint(p, path="<prompt>", repo=TS) for p in (VAGUE, WRONG_FILE)}


def answer(report, **kw):
    out = respond(report, "block", None, [], **kw)["stdout"]
    return json.loads(out) if out else {}


def test_warnings_block_by_default_and_the_reason_shows_findings_and_rewrite(reports):
    out = answer(reports[VAGUE], project=str(TS))
    assert out["decision"] == "block"
    reason = out["reason"]
    assert "REF001" in reason and "most likely about src/db/schema.ts" in reason  # the warning that stopped it
    assert "A more explicit version" in reason and "Fields: <" in reason  # the rewrite, with what to fill in
    assert "submit the same text again within 2 minutes" in reason
    assert len(reason) <= 10_000


def test_block_on_error_lets_warnings_through_with_context(reports):
    assert not should_block(reports[VAGUE], "error")
    out = answer(reports[VAGUE], block_on="error", project=str(TS))
    assert "decision" not in out and "additionalContext" in out["hookSpecificOutput"]
    assert answer(reports[WRONG_FILE], block_on="error", project=str(TS))["decision"] == "block"


def test_sending_the_same_prompt_again_goes_through_once(reports):
    first = answer(reports[VAGUE], project=str(TS))
    second = answer(reports[VAGUE], project=str(TS))
    third = answer(reports[VAGUE], project=str(TS))
    assert first["decision"] == "block"
    assert "decision" not in second and "sent as you wrote it" in second["systemMessage"]
    assert "additionalContext" in second["hookSpecificOutput"]  # the facts still reach the model
    assert third["decision"] == "block"  # the pass was used up


def test_another_prompt_or_project_does_not_count_as_insisting(reports, tmp_path):
    assert answer(reports[VAGUE], project=str(TS))["decision"] == "block"
    assert answer(reports[WRONG_FILE], project=str(TS))["decision"] == "block"
    assert answer(reports[VAGUE], project=str(tmp_path))["decision"] == "block"


def test_the_window_expires(runtime_dir):
    insist.remember_block("Fix it.", "/p", now=1000.0)
    assert not insist.insists("Fix it.", "/p", now=1000.0 + insist.WINDOW + 1)
    insist.remember_block("Fix it.", "/p", now=2000.0)
    assert insist.insists("Fix it.", "/p", now=2000.0 + insist.WINDOW - 1)


def test_memory_file_is_private_bounded_and_holds_no_prompt_text(runtime_dir):
    for i in range(insist.MAX_ENTRIES * 3):
        insist.remember_block(f"secret prompt number {i}", "/p", now=5000.0 + i)
    path = runtime_dir / "block-memory.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(runtime_dir.stat().st_mode) == 0o700
    raw = path.read_text()
    assert "secret prompt" not in raw and "/p" not in raw
    assert len(json.loads(raw)) == insist.MAX_ENTRIES
    # the newest are kept
    last = 5000.0 + insist.MAX_ENTRIES * 3 - 1
    assert insist.insists(f"secret prompt number {insist.MAX_ENTRIES * 3 - 1}", "/p", now=last + 1)


def test_a_broken_or_foreign_memory_file_never_lets_a_prompt_through_by_mistake(runtime_dir):
    runtime_dir.mkdir(mode=0o700)
    path = runtime_dir / "block-memory.json"
    path.write_text("{not json")
    os.chmod(path, 0o644)
    assert not insist.insists("Fix it.", "/p")
    assert insist.remember_block("Fix it.", "/p")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # tightened
    assert insist.insists("Fix it.", "/p")
    path.unlink()
    os.symlink("/etc/passwd", path)  # never followed
    assert not insist.remember_block("Fix it.", "/p")
    assert not insist.insists("Fix it.", "/p")


def test_concurrent_blocks_are_all_remembered(runtime_dir):
    threads = [threading.Thread(target=insist.remember_block, args=(f"prompt {i}", "/p")) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(insist.insists(f"prompt {i}", "/p") for i in range(20))


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=200), st.one_of(st.none(), st.text(max_size=30)))
def test_any_prompt_round_trips(prompt, project):
    insist.remember_block(prompt, project)
    assert insist.insists(prompt, project)
    assert not insist.insists(prompt, project)


@pytest.mark.parametrize("value,ok", [('"error"', True), ('"warning"', True), ('"info"', False), ("1", False)])
def test_block_on_config(tmp_path, value, ok):
    path = tmp_path / ".promptlint.toml"
    path.write_text(f"[hook]\nmode = \"block\"\nblock-on = {value}\n")
    if ok:
        assert load_config_file(path).hook_block_on == json.loads(value)
    else:
        with pytest.raises(ConfigError, match="block-on"):
            load_config_file(path)
