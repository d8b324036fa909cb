"""The installer on real settings files: idempotent, keeps everything else, atomic, with a backup."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from promptlint.cli import main

EXISTING = {
    "permissions": {"allow": ["Bash(npm test)"]},
    "env": {"FOO": "1"},
    "hooks": {
        "UserPromptSubmit": [{"hooks": [{"type": "command", "command": "~/bin/other-hook.sh", "timeout": 5}]}],
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "guard.sh"}]}],
    },
}


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def read(path):
    return json.loads(path.read_text())


def test_install_merges_into_existing_settings_and_is_idempotent(tmp_path):
    settings = tmp_path / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps(EXISTING, indent=4))
    first = run("install", "claude-code", "--project", str(tmp_path))
    assert first.exit_code == 0 and "installed in" in first.stdout
    data = read(settings)
    assert data["permissions"] == EXISTING["permissions"] and data["env"] == EXISTING["env"]
    assert data["hooks"]["PreToolUse"] == EXISTING["hooks"]["PreToolUse"]
    groups = data["hooks"]["UserPromptSubmit"]
    assert groups[0] == EXISTING["hooks"]["UserPromptSubmit"][0]
    assert groups[1] == {"hooks": [{"type": "command", "command": "promptlint hook claude-code", "timeout": 10}]}
    assert read(settings.with_name("settings.json.bak")) == EXISTING
    second = run("install", "claude-code", "--project", str(tmp_path))
    assert "already installed" in second.stdout
    assert read(settings) == data


def test_install_updates_mode_in_place(tmp_path):
    run("install", "claude-code", "--project", str(tmp_path))
    run("install", "claude-code", "--project", str(tmp_path), "--mode", "advise", "--timeout", "15")
    groups = read(tmp_path / ".claude" / "settings.json")["hooks"]["UserPromptSubmit"]
    assert groups == [{"hooks": [{"type": "command", "command": "promptlint hook claude-code --mode advise", "timeout": 15}]}]


def test_local_and_user_scopes(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    run("install", "claude-code", "--scope", "local", "--project", str(tmp_path))
    local = read(tmp_path / ".claude" / "settings.local.json")
    command = local["hooks"]["UserPromptSubmit"][0]["hooks"][0]["command"]
    assert command.endswith("promptlint hook claude-code") and command.startswith("/")  # this install's absolute path
    run("install", "claude-code", "--scope", "user")
    assert (tmp_path / "home" / ".claude" / "settings.json").exists()


def test_uninstall_removes_only_our_hook(tmp_path):
    settings = tmp_path / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps(EXISTING))
    run("install", "claude-code", "--project", str(tmp_path))
    result = run("uninstall", "claude-code", "--project", str(tmp_path))
    assert result.exit_code == 0 and "removed from" in result.stdout
    assert read(settings) == EXISTING
    assert "not installed" in run("uninstall", "claude-code", "--project", str(tmp_path)).stdout


def test_uninstall_cleans_up_what_install_created(tmp_path):
    run("install", "claude-code", "--project", str(tmp_path))
    run("uninstall", "claude-code", "--project", str(tmp_path))
    assert read(tmp_path / ".claude" / "settings.json") == {}


@pytest.mark.parametrize("content,complaint", [("{broken", "not valid JSON"), ("[1]", "not a JSON object"), ('{"hooks": []}', "'hooks' is not an object")])
def test_broken_settings_are_never_overwritten(tmp_path, content, complaint):
    settings = tmp_path / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(content)
    result = run("install", "claude-code", "--project", str(tmp_path))
    assert result.exit_code == 2 and complaint in result.stderr
    assert settings.read_text() == content
