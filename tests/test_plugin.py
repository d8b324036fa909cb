"""The Claude Code plugin and marketplace in .claude-plugin/: validated by the real CLI, installed
from the repository as a local marketplace, and run on a prompt."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from .claude_cli import (
    EXE, all_texts, claude_env, make_home, make_project, require_claude, run_claude, start_server, stop_server,
    stream_events,
)
from .conftest import ROOT
from .fake_anthropic import FakeMessagesAPI

VAGUE = "Add a database table for customer orders"
NOTES = "promptlint (a prompt linter) compared this request with the repository"


@pytest.fixture(scope="module")
def claude():
    return require_claude()


def cli(claude: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([claude, *args], env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("target", [".", ".claude-plugin/marketplace.json", "mod"])
def test_claude_plugin_validate_passes(claude, tmp_path, target):
    env = claude_env(make_home(tmp_path, []), "http://127.0.0.1:9", tmp_path / "rt", tmp_path / "state")
    proc = cli(claude, "plugin", "validate", str(ROOT / target), env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Validation passed" in proc.stdout


def test_manifest_declares_hooks_lsp_and_the_mode_option():
    manifest = json.loads((ROOT / ".claude-plugin" / "plugin.json").read_text())
    assert set(manifest["hooks"]) == {"SessionStart", "UserPromptSubmit"}
    assert manifest["userConfig"]["mode"]["options"] == ["context", "advise", "block"]
    assert ".prompt" in manifest["lspServers"]["promptlint"]["extensionToLanguage"]
    version = (ROOT / "promptlint" / "__about__.py").read_text().split('"')[1]
    assert manifest["version"] == version  # one version for the engine and the plugin
    marketplace = json.loads((ROOT / ".claude-plugin" / "marketplace.json").read_text())
    assert [p["name"] for p in marketplace["plugins"]] == ["promptlint", "promptlint-mod"]


@pytest.fixture
def installed(tmp_path, claude):
    """The plugin installed from this repository as a local marketplace, in a private HOME."""
    project = make_project(tmp_path)
    home = make_home(tmp_path, [project])
    with FakeMessagesAPI() as api:
        env = claude_env(home, api.url, tmp_path / "rt", tmp_path / "state")
        env["PATH"] = f"{os.path.dirname(EXE)}:{env['PATH']}"  # the engine, installed separately
        added = cli(claude, "plugin", "marketplace", "add", str(ROOT), env=env)
        assert added.returncode == 0, added.stdout + added.stderr
        yield {"project": project, "home": home, "api": api, "env": env, "runtime": tmp_path / "rt"}
        stop_server(env, None)


def install_plugin(claude, installed, *config: str) -> None:
    args = [a for kv in config for a in ("--config", kv)]
    proc = cli(claude, "plugin", "install", "promptlint@promptlint", *args, env=installed["env"])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_prompt_runs_through_the_installed_plugin(claude, installed):
    install_plugin(claude, installed)
    listed = cli(claude, "plugin", "list", env=installed["env"]).stdout
    assert "promptlint@promptlint" in listed and "enabled" in listed
    server = start_server(installed["env"], installed["runtime"], warm=installed["project"])
    try:
        run_claude(claude, VAGUE, installed["project"], installed["env"])
    finally:
        stop_server(installed["env"], server)
    texts = [all_texts(r) for r in installed["api"].requests if VAGUE in all_texts(r)]
    assert len(texts) == 1 and NOTES in texts[0] and "src/db/schema.ts" in texts[0]


def test_the_mode_option_reaches_the_hook(claude, installed):
    install_plugin(claude, installed, "mode=block")
    server = start_server(installed["env"], installed["runtime"], warm=installed["project"])
    try:
        proc, _ = run_claude(claude, VAGUE, installed["project"], installed["env"])
    finally:
        stop_server(installed["env"], server)
    assert "promptlint held this prompt back" in proc.stdout + proc.stderr
    assert not any(VAGUE in all_texts(r) for r in installed["api"].requests)


def test_without_the_engine_the_plugin_says_how_to_install_it_and_lets_prompts_through(claude, installed):
    install_plugin(claude, installed)
    env = {**installed["env"], "PATH": os.pathsep.join(p for p in installed["env"]["PATH"].split(os.pathsep) if p != os.path.dirname(EXE))}
    if any(Path(p, "promptlint").exists() for p in env["PATH"].split(os.pathsep)):
        pytest.skip("a promptlint launcher is on the system PATH")
    proc, _ = run_claude(claude, VAGUE, installed["project"], env, "--output-format", "stream-json", "--verbose")
    said = " ".join(str(e.get("output", "")) + str(e.get("content", "")) for e in stream_events(proc.stdout) if e.get("type") == "system")
    assert "the Python engine is not installed" in said and "pipx install haiku-promptlint" in said
    texts = [all_texts(r) for r in installed["api"].requests if VAGUE in all_texts(r)]
    assert len(texts) == 1 and NOTES not in texts[0]
