"""Install promptlint's hooks into Claude Code's settings, and remove them again.

Two hooks go in: the UserPromptSubmit hook (a command, or an HTTP POST to the warm server) and a
SessionStart command that starts the server in the background, so the first prompt of a session
already finds it warm. Commands name the launcher pip/pipx installed by its absolute path, resolved
now: Claude Code started from a desktop launcher or another shell may not have the venv on PATH,
and a hook that is not found does nothing, silently.

The HTTP hook carries the per-user secret in a header, so it is only ever written to a settings
file that is not committed (`.claude/settings.local.json`, kept out of git through
`.git/info/exclude`, or `~/.claude/settings.json`).

Merging is idempotent (installing twice is installing once, switching transport or mode replaces
ours in place), keeps every other setting and hook, writes valid JSON atomically and keeps a
backup of the previous file."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import PromptlintError
from ..fsutil import NotRegularFile, UnsafeRead, atomic_write, describe_mode, inside, read_regular

HOOK_MARK = "hook claude-code"
START_MARK = "hook session-start"
HTTP_PATH = "/hook/user-prompt-submit"
DEFAULT_TIMEOUT = 10  # seconds (Claude Code reads seconds; the command hook's own deadline is 2 s)
HTTP_TIMEOUT = 3  # seconds: Claude Code's own limit is the HTTP hook's only deadline
START_TIMEOUT = 5
SCOPES = ("project", "local", "user")
TRANSPORTS = ("command", "http")


def settings_path(scope: str, project: Path) -> Path:
    if scope == "user":
        return Path.home() / ".claude" / "settings.json"
    return project / ".claude" / ("settings.local.json" if scope == "local" else "settings.json")


def all_settings_paths(project: Path) -> list[tuple[str, Path]]:
    return [(scope, settings_path(scope, project)) for scope in SCOPES]


def launcher() -> list[str]:
    """The absolute command that runs this promptlint: the `promptlint` script beside this
    interpreter (a venv's, pipx's or uv tool's bin), else the one on PATH, else `python -m`."""
    script = Path(sys.executable).with_name("promptlint")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script.absolute())]
    found = shutil.which("promptlint")
    if found:
        return [str(Path(found).absolute())]
    # Claude Code runs the hook in the project folder, and plain `-m` puts that folder first on
    # sys.path: a repository's own promptlint/ would run. -P (3.11+) leaves it off.
    python = str(Path(sys.executable).absolute())
    if sys.version_info >= (3, 11):
        return [python, "-P", "-m", "promptlint"]
    return [python, "-c", "import sys; del sys.path[0]; from promptlint._entry import main; main()"]


def _command(*args: str) -> str:
    return " ".join(shlex.quote(a) for a in [*launcher(), *args])


def hook_command(mode: str | None = None) -> str:
    return _command("hook", "claude-code", *(["--mode", mode] if mode else []))


def start_command() -> str:
    return _command("hook", "session-start")


def http_hook(port: int, secret: str, mode: str | None, timeout: int) -> dict[str, Any]:
    query = f"?mode={mode}" if mode else ""
    return {"type": "http", "url": f"http://127.0.0.1:{port}{HTTP_PATH}{query}", "timeout": timeout,
            "headers": {"X-Promptlint-Secret": secret}}


def is_prompt_hook(hook: Any) -> bool:
    if not isinstance(hook, dict):
        return False
    if hook.get("type", "command") == "command":
        command = hook.get("command")
        return isinstance(command, str) and HOOK_MARK in command and "promptlint" in command
    if hook.get("type") == "http" and isinstance(hook.get("url"), str):
        parts = urlsplit(hook["url"])
        return parts.hostname in ("127.0.0.1", "localhost") and parts.path == HTTP_PATH
    return False


def is_start_hook(hook: Any) -> bool:
    return (isinstance(hook, dict) and hook.get("type", "command") == "command" and isinstance(hook.get("command"), str)
            and START_MARK in hook["command"] and "promptlint" in hook["command"])


SETTINGS_LIMIT = 4_000_000  # a settings file is a few kilobytes; /dev/zero or a FIFO in its place is not one


def _read_settings(path: Path, checkout: Path | None) -> bytes | None:
    """The settings file's bytes, None when there is none: bounded, a regular file only (a FIFO in
    a checkout's .claude/ held doctor and install for ever). With ``checkout`` (a project's own
    settings, which the checkout's author controls): neither the .claude folder nor the file may be
    a symlink, so install never reads a file elsewhere (the user's ~/.claude/settings.json and its
    secrets) into the checkout, nor writes out of it."""
    if checkout is not None:
        folder = path.parent
        try:
            st = os.lstat(folder)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise PromptlintError(f"{folder}: cannot read ({exc.strerror})") from None
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode) or not inside(folder, checkout):
            raise PromptlintError(f"{folder} is {describe_mode(st.st_mode)}, not a folder of {checkout}: a project's settings "
                                  "are read and written inside the project only; nothing was changed")
    try:
        return read_regular(path, SETTINGS_LIMIT, follow_symlinks=checkout is None)
    except FileNotFoundError:
        return None
    except UnsafeRead as exc:
        raise PromptlintError(f"{path} is {exc.reason}, not a settings file; nothing was changed") from None
    except OSError as exc:
        raise PromptlintError(f"{path}: cannot read ({exc.strerror})") from None


def _parse_settings(path: Path, raw: bytes | None) -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        data = json.loads(raw.decode("utf-8") or "{}")
    except (ValueError, RecursionError) as exc:
        raise PromptlintError(f"{path}: not valid JSON ({type(exc).__name__}: {exc}); fix it by hand, nothing was changed") from None
    if not isinstance(data, dict):
        raise PromptlintError(f"{path}: the settings are not a JSON object; nothing was changed")
    return data


def load_settings(path: Path, checkout: Path | None = None) -> dict[str, Any]:
    return _parse_settings(path, _read_settings(path, checkout))


def _write(path: Path, data: dict[str, Any], private: bool, previous: bytes | None) -> None:
    """``previous``: the bytes read before, kept as the backup (copied from what was read, never
    by following whatever is at the path now)."""
    shared_mode = 0o644
    if previous is not None:
        try:
            shared_mode = os.lstat(path).st_mode & 0o777
        except OSError:
            pass
        atomic_write(path.with_name(path.name + ".bak"), previous, mode=0o600 if private else shared_mode)
    atomic_write(path, (json.dumps(data, indent=2) + "\n").encode("utf-8"), mode=0o600 if private else shared_mode)


def _groups(data: dict[str, Any], path: Path, event: str) -> list[Any]:
    hooks = data.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise PromptlintError(f"{path}: 'hooks' is not an object; nothing was changed")
    groups = hooks.setdefault(event, [])
    if not isinstance(groups, list):
        raise PromptlintError(f"{path}: 'hooks.{event}' is not a list; nothing was changed")
    return groups


def _place(groups: list[Any], wanted: dict[str, Any], ours: Any) -> None:
    """Put `wanted` where our hook already is (the first one; later duplicates go), else append it."""
    placed = False
    for group in groups:
        if not isinstance(group, dict) or not isinstance(group.get("hooks"), list):
            continue
        kept = []
        for hook in group["hooks"]:
            if ours(hook):
                if placed:
                    continue  # a duplicate of ours from an older install
                if hook.get("type", "command") == wanted["type"]:
                    hook = {**hook, **wanted}  # keep what the user added (a statusMessage, say)
                    stale = ("url", "headers", "allowedEnvVars") if wanted["type"] == "command" else ("command", "args")
                    for key in stale:
                        hook.pop(key, None)
                else:
                    hook = dict(wanted)
                placed = True
            kept.append(hook)
        group["hooks"] = kept
    groups[:] = [g for g in groups if not (isinstance(g, dict) and g.get("hooks") == [])]
    if not placed:
        groups.append({"hooks": [wanted]})


EXCLUDE_LIMIT = 1 << 20  # a git exclude file is a few lines; anything larger is not one


def _exclude_from_git(path: Path, project: Path) -> None:
    """Keep the local settings file (it holds the secret) out of git, without touching a committed
    .gitignore: .git/info/exclude is this clone's own."""
    try:
        ignored = subprocess.run(["git", "-C", str(project), "check-ignore", "-q", str(path)], capture_output=True, timeout=10)
        if ignored.returncode == 0:
            return
        gitdir = subprocess.run(["git", "-C", str(project), "rev-parse", "--absolute-git-dir"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return
    if gitdir.returncode != 0 or not gitdir.stdout.strip():
        return
    tracked = subprocess.run(["git", "-C", str(project), "ls-files", "--error-unmatch", str(path)], capture_output=True, timeout=10)
    if tracked.returncode == 0:
        raise PromptlintError(f"{path} is tracked by git, and the HTTP hook would put your secret in it; "
                              f"run `git rm --cached {path}` first, or use --scope user")
    exclude = Path(gitdir.stdout.strip()) / "info" / "exclude"
    line = "/" + str(path.relative_to(project.resolve()) if path.is_absolute() else path)
    # The clone is not necessarily the user's own making (an unpacked archive carries its .git):
    # never follow a symlink planted at info/exclude, never read a FIFO or a huge file there.
    try:
        exclude.parent.mkdir(parents=True, exist_ok=True)
        existing = read_regular(exclude, EXCLUDE_LIMIT, follow_symlinks=False).decode("utf-8", "replace")
    except FileNotFoundError:
        existing = ""
    except OSError as exc:
        raise PromptlintError(f"{exclude}: cannot keep the secret out of git ({exc}); use --scope user") from None
    if line in existing.splitlines():
        return
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(exclude, flags, 0o644)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise NotRegularFile(exclude, "not a regular file")
            os.write(fd, (("" if existing.endswith("\n") or not existing else "\n") + line + "\n").encode("utf-8"))
        finally:
            os.close(fd)
    except OSError as exc:
        raise PromptlintError(f"{exclude}: cannot keep the secret out of git ({exc}); use --scope user") from None


def install(scope: str, project: Path, mode: str | None = None, timeout: int | None = None,
            transport: str = "command") -> tuple[Path, bool]:
    """(settings file, whether it changed)."""
    if transport not in TRANSPORTS:
        raise PromptlintError(f"unknown transport {transport!r} (expected command or http)")
    if transport == "http" and scope == "project":
        raise PromptlintError("the HTTP hook carries your secret in a header and .claude/settings.json is shared: "
                              "use --scope local (this project, not committed) or --scope user")
    project = project.resolve()
    path = settings_path(scope, project)
    previous = _read_settings(path, None if scope == "user" else project)
    data = _parse_settings(path, previous)
    before = json.dumps(data, sort_keys=True)
    if transport == "http":
        from .httpd import ensure_port, ensure_secret

        wanted = http_hook(ensure_port(), ensure_secret(), mode, timeout or HTTP_TIMEOUT)
    else:
        wanted = {"type": "command", "command": hook_command(mode), "timeout": timeout or DEFAULT_TIMEOUT}
    _place(_groups(data, path, "UserPromptSubmit"), wanted, is_prompt_hook)
    _place(_groups(data, path, "SessionStart"), {"type": "command", "command": start_command(), "timeout": START_TIMEOUT}, is_start_hook)
    private = transport == "http" or scope != "project"
    if transport == "http" and scope == "local":
        _exclude_from_git(path, project)
    if json.dumps(data, sort_keys=True) == before:
        return path, False
    path.parent.mkdir(parents=True, exist_ok=True)
    _write(path, data, private, previous)
    return path, True


def uninstall(scope: str, project: Path) -> tuple[Path, bool]:
    project = project.resolve()
    path = settings_path(scope, project)
    previous = _read_settings(path, None if scope == "user" else project)
    if previous is None:
        return path, False
    data = _parse_settings(path, previous)
    hooks = data.get("hooks")
    if not isinstance(hooks, dict):
        return path, False
    removed = False
    for event, ours in (("UserPromptSubmit", is_prompt_hook), ("SessionStart", is_start_hook)):
        groups = hooks.get(event)
        if not isinstance(groups, list):
            continue
        kept_groups = []
        for group in groups:
            if isinstance(group, dict) and isinstance(group.get("hooks"), list):
                kept = [h for h in group["hooks"] if not ours(h)]
                if len(kept) != len(group["hooks"]):
                    removed = True
                    if not kept:
                        continue  # the group held only our hook
                    group = {**group, "hooks": kept}
            kept_groups.append(group)
        if kept_groups:
            hooks[event] = kept_groups
        else:
            del hooks[event]
    if not removed:
        return path, False
    if not hooks:
        del data["hooks"]
    _write(path, data, private=path.name != "settings.json" or scope == "user", previous=previous)
    return path, True
