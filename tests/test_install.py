"""The installer on real settings files: idempotent, keeps everything else, atomic, with a backup;
absolute commands; the HTTP hook's secret only in files that are not committed."""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptlint.cli import main
from promptlint.hook import install as inst

EXE = str(Path(sys.executable).with_name("promptlint"))
EXISTING = {
    "permissions": {"allow": ["Bash(npm test)"]},
    "env": {"FOO": "1"},
    "hooks": {
        "UserPromptSubmit": [{"hooks": [{"type": "command", "command": "~/bin/other-hook.sh", "timeout": 5}]}],
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "guard.sh"}]}],
    },
}


@pytest.fixture(autouse=True)
def _private_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PROMPTLINT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PROMPTLINT_RUNTIME_DIR", str(tmp_path / "rt"))


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def read(path):
    return json.loads(path.read_text())


def ours(groups):
    return [h for g in groups for h in g["hooks"] if "promptlint" in h.get("command", "") or "promptlint" in h.get("url", "") or h.get("type") == "http"]


def test_install_merges_into_existing_settings_and_is_idempotent(tmp_path):
    settings_file = tmp_path / ".claude" / "settings.json"
    settings_file.parent.mkdir()
    settings_file.write_text(json.dumps(EXISTING, indent=4))
    first = run("install", "claude-code", "--project", str(tmp_path))
    assert first.exit_code == 0 and "installed in" in first.stdout
    data = read(settings_file)
    assert data["permissions"] == EXISTING["permissions"] and data["env"] == EXISTING["env"]
    assert data["hooks"]["PreToolUse"] == EXISTING["hooks"]["PreToolUse"]
    groups = data["hooks"]["UserPromptSubmit"]
    assert groups[0] == EXISTING["hooks"]["UserPromptSubmit"][0]
    assert groups[1] == {"hooks": [{"type": "command", "command": f"{shlex.quote(EXE)} hook claude-code", "timeout": 10}]}
    assert data["hooks"]["SessionStart"] == [{"hooks": [{"type": "command", "command": f"{shlex.quote(EXE)} hook session-start", "timeout": 5}]}]
    assert read(settings_file.with_name("settings.json.bak")) == EXISTING
    second = run("install", "claude-code", "--project", str(tmp_path))
    assert "already installed" in second.stdout
    assert read(settings_file) == data


def test_the_command_is_absolute_and_runs_without_path(tmp_path):
    """Claude Code started without the venv on PATH still finds the hook."""
    run("install", "claude-code", "--scope", "local", "--project", str(tmp_path))
    local = read(tmp_path / ".claude" / "settings.local.json")
    command = local["hooks"]["UserPromptSubmit"][0]["hooks"][0]["command"]
    argv = shlex.split(command)
    assert os.path.isabs(argv[0]) and argv[1:] == ["hook", "claude-code"]
    proc = subprocess.run(["/bin/sh", "-c", command], input=b'{"prompt": "/help", "cwd": "/"}', capture_output=True,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, timeout=30)
    assert proc.returncode == 0 and proc.stdout == b""


def test_install_updates_mode_in_place(tmp_path):
    run("install", "claude-code", "--project", str(tmp_path))
    run("install", "claude-code", "--project", str(tmp_path), "--mode", "advise", "--timeout", "15")
    groups = read(tmp_path / ".claude" / "settings.json")["hooks"]["UserPromptSubmit"]
    assert groups == [{"hooks": [{"type": "command", "command": f"{shlex.quote(EXE)} hook claude-code --mode advise", "timeout": 15}]}]


def test_an_old_bare_command_install_is_upgraded_in_place(tmp_path):
    settings_file = tmp_path / ".claude" / "settings.json"
    settings_file.parent.mkdir()
    old = {"hooks": {"UserPromptSubmit": [{"hooks": [{"type": "command", "command": "promptlint hook claude-code", "timeout": 10, "statusMessage": "linting"}]},
                                          {"hooks": [{"type": "command", "command": "promptlint hook claude-code --mode block"}]}]}}
    settings_file.write_text(json.dumps(old))
    run("install", "claude-code", "--project", str(tmp_path))
    groups = read(settings_file)["hooks"]["UserPromptSubmit"]
    assert groups == [{"hooks": [{"type": "command", "command": f"{shlex.quote(EXE)} hook claude-code", "timeout": 10, "statusMessage": "linting"}]}]


def test_user_scope(tmp_path):
    run("install", "claude-code", "--scope", "user")
    path = tmp_path / "home" / ".claude" / "settings.json"
    assert ours(read(path)["hooks"]["UserPromptSubmit"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_uninstall_removes_only_our_hooks(tmp_path):
    settings_file = tmp_path / ".claude" / "settings.json"
    settings_file.parent.mkdir()
    settings_file.write_text(json.dumps(EXISTING))
    run("install", "claude-code", "--project", str(tmp_path))
    result = run("uninstall", "claude-code", "--project", str(tmp_path))
    assert result.exit_code == 0 and "removed from" in result.stdout
    assert read(settings_file) == EXISTING
    assert "not installed" in run("uninstall", "claude-code", "--project", str(tmp_path)).stdout


def test_uninstall_cleans_up_what_install_created(tmp_path):
    run("install", "claude-code", "--project", str(tmp_path))
    run("uninstall", "claude-code", "--project", str(tmp_path))
    assert read(tmp_path / ".claude" / "settings.json") == {}


@pytest.mark.parametrize("content,complaint", [("{broken", "not valid JSON"), ("[1]", "not a JSON object"), ('{"hooks": []}', "'hooks' is not an object")])
def test_broken_settings_are_never_overwritten(tmp_path, content, complaint):
    settings_file = tmp_path / ".claude" / "settings.json"
    settings_file.parent.mkdir()
    settings_file.write_text(content)
    result = run("install", "claude-code", "--project", str(tmp_path))
    assert result.exit_code == 2 and complaint in result.stderr
    assert settings_file.read_text() == content


# --- the HTTP transport -----------------------------------------------------------------------
def git_repo(path: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path


def test_http_install_writes_the_secret_only_to_the_local_file_and_keeps_it_out_of_git(tmp_path):
    repo = git_repo(tmp_path / "repo")
    path, changed = inst.install("local", repo, transport="http")
    assert changed and path == repo / ".claude" / "settings.local.json"
    hook = read(path)["hooks"]["UserPromptSubmit"][0]["hooks"][0]
    secret = (tmp_path / "state" / "http-secret").read_text().strip()
    port = int((tmp_path / "state" / "http-port").read_text())
    assert hook == {"type": "http", "url": f"http://127.0.0.1:{port}/hook/user-prompt-submit", "timeout": 3, "headers": {"X-Promptlint-Secret": secret}}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "state" / "http-secret").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    # git does not see it, through this clone's own exclude file (no committed file changed)
    status = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=all"], capture_output=True, text=True).stdout
    assert "settings.local.json" not in status
    assert not (repo / ".gitignore").exists()
    # the shared settings file never gets it
    with pytest.raises(Exception, match="shared"):
        inst.install("project", repo, transport="http")
    assert not (repo / ".claude" / "settings.json").exists()


def test_http_install_refuses_a_tracked_local_file(tmp_path):
    repo = git_repo(tmp_path / "repo")
    (repo / ".claude").mkdir()
    (repo / ".claude" / "settings.local.json").write_text("{}")
    subprocess.run(["git", "-C", str(repo), "add", "-f", ".claude/settings.local.json"], check=True)
    with pytest.raises(Exception, match="tracked by git"):
        inst.install("local", repo, transport="http")
    assert (repo / ".claude" / "settings.local.json").read_text() == "{}"


def test_http_install_never_follows_a_symlink_planted_at_the_git_exclude_file(tmp_path):
    # An unpacked archive can carry its own .git: info/exclude pointing at a file of the user's
    # must not get a line appended to it, and the secret must not be written where git can see it.
    repo = git_repo(tmp_path / "repo")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    exclude = repo / ".git" / "info" / "exclude"
    exclude.unlink(missing_ok=True)
    exclude.symlink_to(victim)
    result = run("install", "claude-code", "--scope", "local", "--transport", "http", "--project", str(repo))
    assert result.exit_code == 2 and "cannot keep the secret out of git" in result.stderr
    assert "Traceback" not in result.stderr
    assert victim.read_text() == "precious\n"
    assert not (repo / ".claude" / "settings.local.json").exists()


def test_http_install_appends_to_an_existing_exclude_file_once(tmp_path):
    repo = git_repo(tmp_path / "repo")
    exclude = repo / ".git" / "info" / "exclude"
    exclude.write_text("# mine\n*.log")  # no final newline
    inst.install("local", repo, transport="http")
    inst.install("local", repo, transport="http")
    assert exclude.read_text() == "# mine\n*.log\n/.claude/settings.local.json\n"


def test_switching_transport_replaces_our_hook_and_keeps_the_port_and_secret(tmp_path):
    repo = git_repo(tmp_path / "repo")
    inst.install("local", repo)
    inst.install("local", repo, mode="block", transport="http")
    first = read(repo / ".claude" / "settings.local.json")
    (hook,) = ours(first["hooks"]["UserPromptSubmit"])
    assert hook["type"] == "http" and hook["url"].endswith("?mode=block") and "command" not in hook
    inst.install("local", repo, mode="block", transport="http")
    assert read(repo / ".claude" / "settings.local.json") == first  # same port, same secret: idempotent
    inst.install("local", repo)
    (hook,) = ours(read(repo / ".claude" / "settings.local.json")["hooks"]["UserPromptSubmit"])
    assert hook["type"] == "command" and "headers" not in hook and "url" not in hook
    inst.uninstall("local", repo)
    assert read(repo / ".claude" / "settings.local.json") == {}


hook_entries = st.one_of(
    st.fixed_dictionaries({"type": st.just("command"), "command": st.sampled_from(["a.sh", "promptlint hook claude-code", "x promptlint hook session-start", "lint"])}),
    st.fixed_dictionaries({"type": st.just("http"), "url": st.sampled_from(["http://127.0.0.1:9/hook/user-prompt-submit", "https://example.test/h"])}),
    st.dictionaries(st.sampled_from(["type", "command", "timeout"]), st.one_of(st.text(max_size=8), st.integers()), max_size=3),
)
settings_docs = st.dictionaries(
    st.sampled_from(["env", "permissions", "hooks", "model"]),
    st.one_of(st.text(max_size=5), st.dictionaries(st.sampled_from(["UserPromptSubmit", "SessionStart", "Stop"]),
                                                  st.lists(st.one_of(st.fixed_dictionaries({"hooks": st.lists(hook_entries, max_size=3)}), st.integers()), max_size=3), max_size=3)),
    max_size=4,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(settings_docs, st.sampled_from([None, "block", "advise"]))
def test_install_then_uninstall_is_idempotent_on_any_settings(tmp_path, doc, mode):
    folder = tmp_path / f"p{abs(hash(json.dumps(doc, sort_keys=True))) % 10**9}"
    path = folder / ".claude" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    try:
        inst.install("project", folder, mode=mode)
    except Exception as exc:  # a shape we refuse to touch: nothing changed
        assert "nothing was changed" in str(exc)
        assert read(path) == doc
        return
    once = read(path)
    inst.install("project", folder, mode=mode)
    assert read(path) == once
    prompt_hooks = [h for g in once["hooks"]["UserPromptSubmit"] if isinstance(g, dict) for h in g.get("hooks", []) if inst.is_prompt_hook(h)]
    assert len(prompt_hooks) == 1
    inst.uninstall("project", folder)
    after = read(path)
    for event, theirs in (("UserPromptSubmit", inst.is_prompt_hook), ("SessionStart", inst.is_start_hook)):
        for group in (after.get("hooks") or {}).get(event, []):
            if isinstance(group, dict):
                assert not any(theirs(h) for h in group.get("hooks", []))


def test_the_python_m_launcher_does_not_import_promptlint_from_the_project(tmp_path, monkeypatch):
    """Without a `promptlint` script the hook command is `python -m promptlint ...`, which Claude
    Code runs in the project folder: plain -m puts that folder first on sys.path, so a repository
    holding promptlint/__main__.py ran its own code on every prompt."""
    bare = tmp_path / "bin"
    bare.mkdir()
    (bare / "python").symlink_to(sys.executable)  # an interpreter with no promptlint script beside it
    monkeypatch.setattr(sys, "executable", str(bare / "python"))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    command = inst.hook_command()
    assert "promptlint" not in shlex.split(command)[0]
    project = tmp_path / "repo"
    (project / "promptlint").mkdir(parents=True)
    pwned = tmp_path / "PWNED"
    (project / "promptlint" / "__init__.py").write_text("")
    (project / "promptlint" / "__main__.py").write_text(f"open({str(pwned)!r}, 'w').close()\n")
    payload = json.dumps({"prompt": "/help", "cwd": str(project)}).encode()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}  # where this promptlint lives
    proc = subprocess.run(["/bin/sh", "-c", command], input=payload, cwd=project, capture_output=True, timeout=60, env=env)
    assert not pwned.exists()
    assert proc.returncode == 0, proc.stderr


# --- a checkout's own .claude/ is the checkout author's (audit item 2) ------------------------------

def _install_in(project: Path, scope: str, *extra: str):
    return subprocess.run([EXE, "install", "claude-code", "--scope", scope, "--project", str(project), *extra],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("scope", ["project", "local"])
def test_a_symlinked_claude_folder_is_neither_read_nor_written_through(tmp_path, scope):
    """`.claude -> ../elsewhere`: install wrote its settings (and read the ones there) outside."""
    project, elsewhere = tmp_path / "proj", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    (project / ".claude").symlink_to(elsewhere, target_is_directory=True)
    proc = _install_in(project, scope)
    assert proc.returncode == 2 and "is a symlink" in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("scope", ["project", "local"])
def test_a_symlinked_settings_file_is_not_copied_into_the_checkout(tmp_path, scope):
    """settings.json -> the user's ~/.claude/settings.json: install merged its secrets into the
    checkout's file (to be committed) and into a .bak copy there."""
    project = tmp_path / "proj"
    (project / ".claude").mkdir(parents=True)
    secret = tmp_path / "home" / ".claude" / "settings.json"
    secret.parent.mkdir(parents=True)
    secret.write_text(json.dumps({"env": {"ANTHROPIC_API_KEY": "sk-secret"}}))
    link = inst.settings_path(scope, project)
    link.symlink_to(secret)
    proc = _install_in(project, scope)
    assert proc.returncode == 2 and "is a symlink" in proc.stderr, proc.stderr
    assert link.is_symlink() and sorted(p.name for p in (project / ".claude").iterdir()) == [link.name]
    assert "sk-secret" not in "".join(p.read_text() for p in (project / ".claude").iterdir() if not p.is_symlink())


@pytest.mark.parametrize("command", ["install", "uninstall", "doctor"])
def test_a_fifo_in_place_of_the_settings_does_not_hang(tmp_path, command):
    project = tmp_path / "proj"
    (project / ".claude").mkdir(parents=True)
    os.mkfifo(project / ".claude" / "settings.json")
    args = {"install": ["install", "claude-code", "--scope", "project", "--project", str(project)],
            "uninstall": ["uninstall", "claude-code", "--scope", "project", "--project", str(project)],
            "doctor": ["doctor", "--project", str(project), "--format", "json"]}[command]
    proc = subprocess.run([EXE, *args], capture_output=True, text=True, timeout=60)  # the old code waited for a writer for ever
    if command == "doctor":
        report = json.loads(proc.stdout)
        assert any(c["status"] == "fail" and "named pipe" in c["detail"] for c in report["checks"]), report
    else:
        assert proc.returncode == 2 and "named pipe" in proc.stderr, proc.stderr


def test_the_backup_keeps_what_was_there(tmp_path):
    project = tmp_path / "proj"
    (project / ".claude").mkdir(parents=True)
    settings = project / ".claude" / "settings.json"
    settings.write_text(json.dumps(EXISTING))
    os.chmod(settings, 0o664)
    assert _install_in(project, "project").returncode == 0
    backup = settings.with_name("settings.json.bak")
    assert json.loads(backup.read_text()) == EXISTING
    assert stat.S_IMODE(settings.stat().st_mode) == 0o664 and stat.S_IMODE(backup.stat().st_mode) == 0o664
