"""`promptlint doctor`: will Claude Code find and run promptlint's hook, here, now?

It reads the settings files Claude Code reads for this project (managed, user, project, local),
finds promptlint's hooks in them, checks that each command resolves and runs (it feeds the hook a
slash command, which it passes through untouched), that an HTTP hook's port and secret match the
server's, that the warm server answers and is the same version, and says which Claude Code and
promptlint versions are installed.

Exit codes: 0 when the hook will run, 1 when something stops it (no hook installed, a command that
does not resolve, hooks disabled, a stale secret), 2 for bad usage. Warnings (a duplicate hook, a
server not started yet, an older server) do not change the exit code.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .__about__ import __version__
from .hook import install as inst

OK, INFO, WARN, FAIL = "ok", "info", "warn", "fail"
MANAGED_SETTINGS = (Path("/etc/claude-code/managed-settings.json"), Path("/Library/Application Support/ClaudeCode/managed-settings.json"))
MIN_CLAUDE = (2, 1, 63)  # HTTP hooks; command hooks are far older


@dataclass
class Check:
    status: str
    what: str
    detail: str = ""


@dataclass
class FoundHook:
    scope: str
    path: Path
    event: str
    hook: dict[str, Any]


def _version_tuple(text: str) -> tuple[int, ...] | None:
    import re

    m = re.search(r"(\d+)\.(\d+)\.(\d+)", text)
    return tuple(int(x) for x in m.groups()) if m else None


def claude_version(claude: str | None = None) -> tuple[str | None, str | None]:
    """(path, version) of the `claude` on PATH (or the one given)."""
    exe = claude or shutil.which("claude")
    if not exe:
        return None, None
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return exe, None
    return exe, (out.stdout.strip().split()[0] if out.returncode == 0 and out.stdout.strip() else None)


def _settings_files(project: Path) -> list[tuple[str, Path]]:
    files = [("managed", p) for p in MANAGED_SETTINGS if p.exists()]
    files += [("user", inst.settings_path("user", project)), ("project", inst.settings_path("project", project)),
              ("local", inst.settings_path("local", project))]
    return files


def _hooks_in(data: dict[str, Any], event: str) -> list[dict[str, Any]]:
    hooks = data.get("hooks")
    groups = hooks.get(event) if isinstance(hooks, dict) else None
    if not isinstance(groups, list):
        return []
    return [h for g in groups if isinstance(g, dict) and isinstance(g.get("hooks"), list) for h in g["hooks"] if isinstance(h, dict)]


def _probe_command(command: str, project: Path) -> tuple[bool, str]:
    """Run the hook command as Claude Code would (through a shell, in the project) on a slash
    command, which the hook lets through at once: it proves the command resolves and starts."""
    payload = json.dumps({"session_id": "doctor", "hook_event_name": "UserPromptSubmit", "prompt": "/doctor", "cwd": str(project)})
    started = time.monotonic()
    try:
        proc = subprocess.run(["/bin/sh", "-c", command], input=payload.encode(), capture_output=True, timeout=30, cwd=project,
                              env={**os.environ, "CLAUDE_PROJECT_DIR": str(project)})
    except subprocess.TimeoutExpired:
        return False, "did not finish within 30 s"
    except OSError as exc:
        return False, str(exc)
    took = (time.monotonic() - started) * 1000
    if proc.returncode == 127:
        return False, "command not found (exit 127): Claude Code would skip the hook on every prompt"
    if proc.returncode != 0:
        first = (proc.stderr.decode("utf-8", "replace").strip().splitlines() or [""])[0]
        return False, f"exit {proc.returncode}: {first[:200]}"
    return True, f"runs ({took:.0f} ms)"


_PLAIN_WORD = re.compile(r"[A-Za-z0-9_./@+=:,-]+")


def _installer_command(command: str, project: Path) -> bool:
    """Whether ``command`` has the shape `promptlint install` writes (a launcher outside the project,
    then `hook claude-code` and its options) in plain words the shell takes as they are: the only
    project-scope command doctor runs."""
    try:
        argv = shlex.split(command)
    except ValueError:
        return False
    if not argv or shlex.join(argv) != command.strip():
        return False
    ours = inst.launcher()
    if argv[: len(ours)] == ours:
        exe, rest = argv[0], ["-P", "-m", "promptlint", *argv[len(ours):]] if len(ours) > 1 else argv[1:]
    else:
        exe, rest = argv[0], argv[1:]
    if not all(_PLAIN_WORD.fullmatch(a) for a in [exe, *rest]):
        return False
    if os.path.isabs(exe):
        real = os.path.realpath(exe)
        root = os.path.realpath(project)
        if real == root or real.startswith(root.rstrip(os.sep) + os.sep):
            return False
    elif exe != "promptlint":
        return False
    if rest[:3] == ["-P", "-m", "promptlint"]:  # never plain -m: in the project folder it imports the project's promptlint/
        rest = rest[3:]
    if rest[:2] != ["hook", "claude-code"]:
        return False
    options = rest[2:]
    while options:
        if len(options) < 2 or options[0] not in ("--mode", "--deadline"):
            return False
        options = options[2:]
    return True


def _resolves(command: str) -> tuple[bool, str]:
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        return False, f"cannot be parsed ({exc})"
    if not argv:
        return False, "empty command"
    exe = argv[0]
    if os.path.isabs(exe):
        if os.path.isfile(exe) and os.access(exe, os.X_OK):
            return True, exe
        return False, f"{exe} does not exist or is not executable (promptlint was moved or uninstalled?)"
    found = shutil.which(exe)
    if found:
        return True, f"{exe} is found on this shell's PATH ({found}), but a Claude Code started elsewhere may not have it: reinstall to write the absolute path"
    return False, f"{exe} is not on PATH"


def _server_ping(timeout: float = 1.0) -> dict[str, Any] | None:
    from .server import request

    reply = request({"op": "ping"}, timeout=timeout)
    return reply if isinstance(reply, dict) else None


def _http_ping(port: int, secret: str, timeout: float = 2.0) -> tuple[int | None, dict[str, Any] | None]:
    import http.client

    from .hook.httpd import SECRET_HEADER

    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("POST", "/ping", body=b"{}", headers={"Content-Type": "application/json", SECRET_HEADER: secret})
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
    except OSError:
        return None, None
    try:
        data = json.loads(body) if body else None
    except ValueError:
        data = None
    return resp.status, data if isinstance(data, dict) else None


def diagnose(project: Path, claude: str | None = None, probe: bool = True) -> list[Check]:
    from .hook import httpd

    project = project.resolve()
    checks: list[Check] = [Check(INFO, "promptlint", f"{__version__} (Python {platform.python_version()}, {sys.executable})")]

    exe, version = claude_version(claude)
    if exe is None:
        checks.append(Check(WARN, "Claude Code", "no `claude` on PATH; the checks below read its settings files anyway"))
    elif version is None:
        checks.append(Check(WARN, "Claude Code", f"{exe} did not say its version"))
    else:
        parsed = _version_tuple(version)
        low = parsed is not None and parsed < MIN_CLAUDE
        checks.append(Check(WARN if low else OK, "Claude Code", f"{version} ({exe})" + (" is older than 2.1.63: no HTTP hooks" if low else "")))

    found: list[FoundHook] = []
    plugins: list[tuple[str, Path, str]] = []
    for scope, path in _settings_files(project):
        if not path.exists():
            continue
        try:
            data = inst.load_settings(path)
        except Exception as exc:  # noqa: BLE001 - report, do not crash
            checks.append(Check(FAIL, f"{scope} settings", f"{path}: {exc}; Claude Code ignores a file it cannot parse"))
            continue
        if data.get("disableAllHooks") is True:
            checks.append(Check(FAIL, f"{scope} settings", f"{path} sets disableAllHooks: no hook runs"))
        if scope == "managed" and data.get("allowManagedHooksOnly") is True:
            checks.append(Check(FAIL, "managed settings", f"{path} sets allowManagedHooksOnly: only your organization's hooks run"))
        for event, ours in (("UserPromptSubmit", inst.is_prompt_hook), ("SessionStart", inst.is_start_hook)):
            found += [FoundHook(scope, path, event, h) for h in _hooks_in(data, event) if ours(h)]
        enabled = data.get("enabledPlugins")
        if isinstance(enabled, dict):
            plugins += [(scope, path, name) for name, on in enabled.items() if on is True and isinstance(name, str) and name.split("@")[0] in ("promptlint", "promptlint-mod")]
        if scope == "managed" and isinstance(data.get("allowedHttpHookUrls"), list):
            checks.append(Check(INFO, "managed settings", f"HTTP hook URLs are limited to {data['allowedHttpHookUrls']}"))

    prompt_hooks = [f for f in found if f.event == "UserPromptSubmit"]
    for scope, path, name in plugins:
        engine = inst.launcher()[0]
        checks.append(Check(OK, f"{name.split('@')[0]} plugin", f"enabled in {scope} settings ({path}); it runs the engine it finds on PATH or at its `engine` option (here: {engine})"))
    if not prompt_hooks and not plugins:
        checks.append(Check(FAIL, "UserPromptSubmit hook", f"not installed for {project}: run `promptlint install claude-code` (or install the plugin)"))
    elif prompt_hooks and plugins:
        checks.append(Check(WARN, "UserPromptSubmit hook", "both promptlint's settings hook and its plugin are on: Claude reads the notes twice (uninstall one)"))
    elif len(prompt_hooks) > 1:
        where = ", ".join(f"{f.scope} ({f.path})" for f in prompt_hooks)
        checks.append(Check(WARN, "UserPromptSubmit hook", f"installed {len(prompt_hooks)} times: {where}; each runs, so Claude reads the notes twice"))

    secret = httpd.read_secret()
    for f in prompt_hooks:
        label = f"{f.scope} hook ({f.path})"
        if f.hook.get("type") == "http":
            parts = urlsplit(f.hook["url"])
            sent = (f.hook.get("headers") or {}).get(httpd.SECRET_HEADER)
            if f.scope == "project":
                checks.append(Check(FAIL, label, "an HTTP hook with a secret in the shared project settings: move it with `promptlint install claude-code --transport http --scope local`"))
            if not secret:
                checks.append(Check(FAIL, label, f"no usable secret in {httpd.secret_path()} (missing, or readable by others): reinstall with --transport http"))
            elif sent != secret:
                checks.append(Check(FAIL, label, "the secret in the settings is not the current one: the server refuses the hook; reinstall with --transport http"))
            else:
                endpoint = httpd.read_endpoint()
                if endpoint is None:
                    checks.append(Check(WARN, label, f"HTTP hook on port {parts.port}; no server is listening yet (the SessionStart hook starts one; until then prompts pass unchecked)"))
                elif endpoint["port"] != parts.port:
                    checks.append(Check(FAIL, label, f"the settings name port {parts.port}, the server listens on {endpoint['port']} (the port was taken): reinstall with --transport http"))
                else:
                    status, reply = _http_ping(parts.port, secret)
                    if status == 200:
                        checks.append(Check(OK, label, f"HTTP hook on 127.0.0.1:{parts.port} answers (server {(reply or {}).get('version', '?')})"))
                    else:
                        checks.append(Check(FAIL, label, f"HTTP hook on 127.0.0.1:{parts.port}: {'no answer' if status is None else f'status {status}'}"))
            continue
        command = f.hook.get("command", "")
        if probe and f.scope in ("project", "local") and not _installer_command(command, project):
            # The repository's own settings are anyone's: run only what the installer writes.
            checks.append(Check(FAIL, label, f"command {command!r} is not one promptlint's installer writes; not run "
                                "(a repository's settings may hold any shell command): reinstall, or check it yourself"))
            continue
        ok, detail = _resolves(command)
        if not ok:
            checks.append(Check(FAIL, label, f"command {command!r}: {detail}"))
            continue
        if probe:
            ran, how = _probe_command(command, project)
            checks.append(Check(OK if ran else FAIL, label, f"{command} {how}" + ("" if os.path.isabs(shlex.split(command)[0]) else f"; {detail}")))
        else:
            checks.append(Check(OK, label, command))

    if prompt_hooks and not any(f.event == "SessionStart" for f in found):
        checks.append(Check(INFO, "SessionStart hook", "not installed: the first prompt of a session may pass unchecked while the server starts (reinstall to add it)"))

    reply = _server_ping()
    if reply is None:
        checks.append(Check(WARN if prompt_hooks else INFO, "server", "not running (the hooks start it on demand)"))
    elif reply.get("version") != __version__:
        checks.append(Check(WARN, "server", f"running version {reply.get('version')}, this is {__version__}: `promptlint server --stop` to restart it"))
    else:
        checks.append(Check(OK, "server", f"answers ({__version__})"))
    return checks


def exit_code(checks: list[Check]) -> int:
    return 1 if any(c.status == FAIL for c in checks) else 0


_MARKS = {OK: "ok  ", INFO: "    ", WARN: "warn", FAIL: "FAIL"}


def render_text(checks: list[Check]) -> str:
    lines = [f"{_MARKS[c.status]}  {c.what}: {c.detail}" if c.detail else f"{_MARKS[c.status]}  {c.what}" for c in checks]
    verdict = "Claude Code will run promptlint's hook." if exit_code(checks) == 0 else "Claude Code will not run promptlint's hook as it stands (see FAIL above)."
    return "\n".join(lines + ["", verdict])


def render_json(checks: list[Check]) -> str:
    return json.dumps({"ok": exit_code(checks) == 0, "checks": [asdict(c) for c in checks]}, indent=2)
