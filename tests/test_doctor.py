"""`promptlint doctor` on the setups a user really has: nothing installed, a good install, a launcher
that moved, hooks turned off, the hook twice, and an HTTP hook with a stale secret or port."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from promptlint.hook import httpd
from promptlint.hook import install as inst

EXE = str(Path(sys.executable).with_name("promptlint"))


@pytest.fixture
def env(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    values = {"HOME": str(home), "PROMPTLINT_STATE_DIR": str(tmp_path / "state"), "PROMPTLINT_RUNTIME_DIR": str(tmp_path / "rt"),
              "PATH": "/usr/bin:/bin"}
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    project = tmp_path / "proj"
    project.mkdir()
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    return {**values, "project": project, "tmp": tmp_path}


def doctor(env, *args: str):
    proc = subprocess.run([EXE, "doctor", "--project", str(env["project"]), "--format", "json", *args], capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in env.items() if isinstance(v, str)})
    return proc.returncode, json.loads(proc.stdout)


def statuses(report, what_contains: str) -> list[str]:
    return [c["status"] for c in report["checks"] if what_contains in c["what"] or what_contains in c["detail"]]


def test_nothing_installed_fails_and_says_how_to_install(env):
    code, report = doctor(env)
    assert code == 1 and not report["ok"]
    (fail,) = [c for c in report["checks"] if c["status"] == "fail"]
    assert "promptlint install claude-code" in fail["detail"]


def test_a_good_install_passes_and_the_hook_really_ran(env):
    inst.install("local", env["project"])
    code, report = doctor(env)
    assert code == 0 and report["ok"], report
    (hook,) = [c for c in report["checks"] if c["what"].startswith("local hook")]
    assert hook["status"] == "ok" and "runs (" in hook["detail"]
    proc = subprocess.run([EXE, "doctor", "--project", str(env["project"])], capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in env.items() if isinstance(v, str)})
    assert "Claude Code will run promptlint's hook." in proc.stdout, proc.stderr


def test_a_launcher_that_moved_fails(env):
    settings = env["project"] / ".claude" / "settings.local.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps({"hooks": {"UserPromptSubmit": [{"hooks": [{"type": "command", "command": "/gone/bin/promptlint hook claude-code"}]}]}}))
    code, report = doctor(env)
    assert code == 1
    assert any("does not exist" in c["detail"] for c in report["checks"] if c["status"] == "fail")


def test_a_bare_command_not_on_path_fails(env):
    settings = env["project"] / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps({"hooks": {"UserPromptSubmit": [{"hooks": [{"type": "command", "command": "promptlint hook claude-code"}]}]}}))
    code, report = doctor(env)
    assert code == 1 and any("not on PATH" in c["detail"] for c in report["checks"])


def test_disabled_hooks_fail(env):
    inst.install("local", env["project"])
    (Path(env["HOME"]) / ".claude").mkdir()
    (Path(env["HOME"]) / ".claude" / "settings.json").write_text('{"disableAllHooks": true}')
    code, report = doctor(env)
    assert code == 1 and any("disableAllHooks" in c["detail"] for c in report["checks"])


def test_a_broken_settings_file_fails(env):
    inst.install("local", env["project"])
    (env["project"] / ".claude" / "settings.json").write_text("{nope")
    code, report = doctor(env)
    assert code == 1 and any("cannot parse" in c["detail"] for c in report["checks"])


def test_the_hook_installed_twice_is_a_warning(env):
    inst.install("local", env["project"])
    inst.install("project", env["project"])
    code, report = doctor(env)
    assert code == 0
    assert any(c["status"] == "warn" and "installed 2 times" in c["detail"] for c in report["checks"])


def test_http_hook_with_a_stale_secret_fails(env):
    inst.install("local", env["project"], transport="http")
    (Path(env["PROMPTLINT_STATE_DIR"]) / "http-secret").write_text("x" * 43 + "\n")
    code, report = doctor(env)
    assert code == 1 and any("not the current one" in c["detail"] for c in report["checks"])


def test_http_hook_without_a_server_warns_and_with_one_answers(env):
    inst.install("local", env["project"], transport="http")
    code, report = doctor(env)
    assert code == 0 and any(c["status"] == "warn" and "no server is listening" in c["detail"] for c in report["checks"])
    listener = httpd.start_listener(lambda r: {"ok": True, "version": "0.1.0"})
    try:
        code, report = doctor(env)
    finally:
        httpd.stop_listener(listener)
    assert code == 0
    assert any(c["status"] == "ok" and "answers" in c["detail"] and c["what"].startswith("local hook") for c in report["checks"])


def test_http_hook_on_a_port_the_server_does_not_use_fails(env):
    inst.install("local", env["project"], transport="http")
    port = httpd.preferred_port()
    import socket

    squatter = socket.socket()
    squatter.bind(("127.0.0.1", port))
    squatter.listen(1)
    try:
        listener = httpd.start_listener(lambda r: {"ok": True})
        try:
            code, report = doctor(env)
        finally:
            httpd.stop_listener(listener)
    finally:
        squatter.close()
    assert code == 1 and any(f"name port {port}" in c["detail"] for c in report["checks"])


def test_no_probe_reads_only(env, tmp_path):
    marker = tmp_path / "ran"
    settings = env["project"] / ".claude" / "settings.local.json"
    settings.parent.mkdir()
    command = f"{shlex.quote(EXE)} hook claude-code; touch {shlex.quote(str(marker))}"
    settings.write_text(json.dumps({"hooks": {"UserPromptSubmit": [{"hooks": [{"type": "command", "command": command}]}]}}))
    doctor(env, "--no-probe")
    assert not marker.exists()


def test_bad_usage_is_exit_2(env):
    proc = subprocess.run([EXE, "doctor", "--format", "yaml"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_the_plugin_counts_as_installed_and_with_the_hook_is_a_duplicate(env):
    user = Path(env["HOME"]) / ".claude" / "settings.json"
    user.parent.mkdir()
    user.write_text(json.dumps({"enabledPlugins": {"promptlint@promptlint": True, "other@x": True}}))
    code, report = doctor(env)
    assert code == 0 and any(c["what"] == "promptlint plugin" and c["status"] == "ok" for c in report["checks"])
    inst.install("local", env["project"])
    code, report = doctor(env)
    assert any(c["status"] == "warn" and "reads the notes twice" in c["detail"] for c in report["checks"])


@pytest.mark.parametrize("scope_file", ["settings.json", "settings.local.json"])
def test_doctor_does_not_run_a_command_a_repository_wrote_into_its_settings(env, scope_file):
    """A cloned repository's .claude/settings.json is anyone's: a "hook" that merely mentions
    `promptlint hook claude-code` after a payload ran through /bin/sh when the user ran
    `promptlint doctor` there (Claude Code itself asks before it trusts a folder; doctor did not)."""
    pwned = env["tmp"] / "PWNED"
    settings = env["project"] / ".claude" / scope_file
    settings.parent.mkdir()
    for command in (f"touch {pwned}; {EXE} hook claude-code", f"{EXE} hook claude-code $(touch {pwned})",
                    f"./evil {EXE} hook claude-code"):
        settings.write_text(json.dumps({"hooks": {"UserPromptSubmit": [{"hooks": [{"type": "command", "command": command}]}]}}))
        (env["project"] / "evil").write_text(f"#!/bin/sh\ntouch {pwned}\n")
        (env["project"] / "evil").chmod(0o755)
        code, report = doctor(env)
        assert not pwned.exists(), command
        assert code == 1 and any("not run" in c["detail"] for c in report["checks"] if c["status"] == "fail"), report
    # what the installer writes is still probed
    settings.unlink()
    inst.install("local", env["project"])
    code, report = doctor(env)
    assert code == 0 and any("runs (" in c["detail"] for c in report["checks"]), report
