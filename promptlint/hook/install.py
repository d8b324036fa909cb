"""Install the UserPromptSubmit hook into Claude Code's settings, and remove it again.

Merging is idempotent (installing twice is installing once), keeps every other setting and hook,
writes valid JSON atomically and keeps a backup of the previous file."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

from ..errors import PromptlintError
from ..fsutil import atomic_write

HOOK_MARK = "hook claude-code"
DEFAULT_TIMEOUT = 10  # seconds (Claude Code reads seconds; the hook's own deadline is 2 s)


def settings_path(scope: str, project: Path) -> Path:
    if scope == "user":
        return Path.home() / ".claude" / "settings.json"
    return project / ".claude" / ("settings.local.json" if scope == "local" else "settings.json")


def hook_command(scope: str, mode: str | None) -> str:
    """A shared project settings file names the command portably; personal ones use this install's path."""
    if scope == "project":
        base = "promptlint"
    else:
        script = Path(sys.executable).with_name("promptlint")
        found = str(script) if script.exists() else shutil.which("promptlint")
        base = shlex.quote(found) if found else "promptlint"
    return f"{base} {HOOK_MARK}" + (f" --mode {mode}" if mode else "")


def _is_ours(hook: Any) -> bool:
    return isinstance(hook, dict) and isinstance(hook.get("command"), str) and HOOK_MARK in hook["command"] and "promptlint" in hook["command"]


def _load(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except ValueError as exc:
        raise PromptlintError(f"{path}: not valid JSON ({exc}); fix it by hand, nothing was changed") from None
    except OSError as exc:
        raise PromptlintError(f"{path}: cannot read ({exc.strerror})") from None
    if not isinstance(data, dict):
        raise PromptlintError(f"{path}: the settings are not a JSON object; nothing was changed")
    return data


def _write(path: Path, data: dict[str, Any]) -> None:
    if path.exists():
        shutil.copy2(path, path.with_name(path.name + ".bak"))
    atomic_write(path, (json.dumps(data, indent=2) + "\n").encode("utf-8"))


def _groups(data: dict[str, Any], path: Path) -> list[Any]:
    hooks = data.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise PromptlintError(f"{path}: 'hooks' is not an object; nothing was changed")
    groups = hooks.setdefault("UserPromptSubmit", [])
    if not isinstance(groups, list):
        raise PromptlintError(f"{path}: 'hooks.UserPromptSubmit' is not a list; nothing was changed")
    return groups


def install(scope: str, project: Path, mode: str | None = None, timeout: int = DEFAULT_TIMEOUT) -> tuple[Path, bool]:
    """(settings file, whether it changed)."""
    path = settings_path(scope, project)
    data = _load(path)
    before = json.dumps(data, sort_keys=True)
    groups = _groups(data, path)
    wanted = {"type": "command", "command": hook_command(scope, mode), "timeout": timeout}
    placed = False
    for group in groups:
        if not isinstance(group, dict) or not isinstance(group.get("hooks"), list):
            continue
        for i, hook in enumerate(group["hooks"]):
            if _is_ours(hook):
                if not placed:
                    group["hooks"][i] = {**hook, **wanted}
                    placed = True
                else:
                    group["hooks"][i] = None  # a duplicate of ours from an older install
        group["hooks"] = [h for h in group["hooks"] if h is not None]
    if not placed:
        groups.append({"hooks": [wanted]})
    if json.dumps(data, sort_keys=True) == before:
        return path, False
    _write(path, data)
    return path, True


def uninstall(scope: str, project: Path) -> tuple[Path, bool]:
    path = settings_path(scope, project)
    if not path.exists():
        return path, False
    data = _load(path)
    hooks = data.get("hooks")
    groups = hooks.get("UserPromptSubmit") if isinstance(hooks, dict) else None
    if not isinstance(groups, list):
        return path, False
    removed = False
    kept_groups = []
    for group in groups:
        if isinstance(group, dict) and isinstance(group.get("hooks"), list):
            kept = [h for h in group["hooks"] if not _is_ours(h)]
            if len(kept) != len(group["hooks"]):
                removed = True
                if not kept:
                    continue  # the group held only our hook
                group = {**group, "hooks": kept}
        kept_groups.append(group)
    if not removed:
        return path, False
    if kept_groups:
        hooks["UserPromptSubmit"] = kept_groups
    else:
        del hooks["UserPromptSubmit"]
        if not hooks:
            del data["hooks"]
    _write(path, data)
    return path, True
