"""Configuration: `[tool.promptlint]` in pyproject.toml, `promptlint.toml` or `.promptlint.toml`.

The closest file to the linted path wins (no implicit merging, as in ruff); CLI options override it.
With no project file, the user's own file applies (``~/.config/promptlint/promptlint.toml``, or
``$PROMPTLINT_USER_CONFIG``).

Trust: a project's config file comes with the repository, and a repository can be anyone's. It may
choose rules, severities and the hook's mode, but it may not touch anything that reaches the
network, spends the user's money or runs code: the LLM settings (``llm.*``: whether to call the
API, where, with what context, which model), the server's lifetime (``hook.idle-timeout``) and a
spaCy pipeline loaded from a path come only from the user's own config file, ``--config``, a flag
or the environment. Such keys in a project file are ignored with a warning. A project's
``rules-dir`` must stay inside the project; sizes are capped whatever the source.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .model import Severity
from .resources import read_untrusted_toml

CONFIG_FILES = (".promptlint.toml", "promptlint.toml", "pyproject.toml")
DEFAULT_MAX_SIZE = 1_000_000  # bytes; larger prompts are refused with a clear message
DEFAULT_REPO_FILE_SIZE = 1_000_000  # bytes; larger repository files are skipped by the index
MAX_PROMPT_SIZE = 100_000_000  # the largest max-size any config or flag may set
MAX_REPO_FILE_SIZE = 16_000_000  # the largest index-max-file-size
MAX_CONFIG_FILE = 1_000_000  # a config file larger than this is not a config file
USER_CONFIG_ENV = "PROMPTLINT_USER_CONFIG"
_KNOWN_KEYS = {"select", "extend-select", "ignore", "severity", "fail-on", "rules-dir", "preview", "nlp-pipeline", "max-size", "index-max-file-size", "advice", "llm", "hook"}
_HOOK_KEYS = {"mode", "block-on", "opt-out-prefix", "idle-timeout"}
_LLM_KEYS = {"enabled", "model", "timeout", "base-url", "context", "max-tokens"}
_ADVICE_KEYS = {"sonnet-at", "opus-at", "prices"}
TIERS = ("haiku", "sonnet", "opus")
# US dollars per million tokens (input, output): list prices of Claude Haiku 4.5, Sonnet 4.5, Opus 4.5.
DEFAULT_PRICES = (("haiku", 1.0, 5.0), ("sonnet", 3.0, 15.0), ("opus", 5.0, 25.0))


@dataclass(frozen=True)
class Config:
    select: tuple[str, ...] | None = None  # None: every stable rule
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity: tuple[tuple[str, Severity], ...] = ()  # (selector, level) pairs; a tuple keeps Config hashable
    fail_on: Severity = Severity.warning
    rules_dirs: tuple[Path, ...] = ()
    preview: bool = False
    nlp_pipeline: str = "blank"
    max_size: int = DEFAULT_MAX_SIZE
    repo_max_file_size: int = DEFAULT_REPO_FILE_SIZE  # files larger than this are not indexed
    # The fitted probability that Haiku 4.5 fails the task (advice.score) from which the advice is
    # Sonnet, and Opus; the tier rules (rules/ESC*.toml) can raise the tier further, never lower it.
    # Sonnet from 0.45: out of fold on the dev tasks, the ones at or above it are the 11% on which
    # Sonnet 4.5 solved more than Haiku 4.5, and more than a random pick of as many, in every
    # repeat; from 0.6 the model flagged 2% (bench/bench_escalation.py, advice.sonnet-at table).
    # Opus stays out of the model's reach: the tasks it flags are mostly those no tier solves.
    sonnet_at: float = 0.45
    opus_at: float = 0.8
    prices: tuple[tuple[str, float, float], ...] = DEFAULT_PRICES
    llm: bool = False  # polish rewrites with the Messages API (opt-in)
    llm_model: str = "claude-haiku-4-5"
    llm_timeout: float = 20.0
    llm_base_url: str | None = None
    llm_context: str = "none"  # or "files": also send the referenced files' contents
    llm_max_tokens: int = 2048
    hook_mode: str = "context"  # context | block | advise
    hook_block_on: str = "warning"  # block mode stops prompts with findings at or above this: error | warning
    hook_opt_out: str = "nolint:"  # prompts starting with this pass untouched
    server_idle_timeout: float = 1800.0  # seconds before an idle `promptlint server` exits
    source: Path | None = None  # the file it came from, for messages
    warnings: tuple[str, ...] = ()  # settings ignored for trust reasons, for the CLI to print

    def with_overrides(self, **changes: Any) -> "Config":
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _codes(value: Any, key: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: '{key}' must be a list of rule codes or prefixes")
    out = []
    for v in value:
        v = v.strip().upper()
        if not re.fullmatch(r"ALL|[A-Z]{1,4}\d{0,3}", v):
            raise ConfigError(f"{where}: '{key}' has an invalid rule selector {v!r}")
        out.append(v)
    return tuple(out)


def parse_size(value: Any, where: str, key: str = "max-size", cap: int = MAX_PROMPT_SIZE) -> int:
    size = 0
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    elif isinstance(value, str):
        m = re.fullmatch(r"\s*(\d{1,12}(?:\.\d{1,6})?)\s*(b|kb|k|mb|m|gb|g)?\s*", value.lower())
        if m:
            scale = {None: 1, "b": 1, "k": 1000, "kb": 1000, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9}[m.group(2)]
            size = int(float(m.group(1)) * scale)
    if size <= 0:
        raise ConfigError(f"{where}: '{key}' must be a size such as 1000000 or \"2MB\"")
    if size > cap:
        raise ConfigError(f"{where}: '{key}' is over the largest allowed size ({cap // 1_000_000} MB)")
    return size


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _looks_like_path(name: str) -> bool:
    return any(c in name for c in "/\\") or name.startswith((".", "~"))


def parse_config(data: dict[str, Any], where: str, base_dir: Path, trusted: bool = True) -> Config:
    """``trusted``: the user's own file (or --config); a project's file is not (see the module doc)."""
    unknown = set(data) - _KNOWN_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key '{sorted(unknown)[0]}' (known: {', '.join(sorted(_KNOWN_KEYS))})")
    kwargs: dict[str, Any] = {}
    ignored: list[str] = []
    if "select" in data:
        kwargs["select"] = _codes(data["select"], "select", where)
    if "extend-select" in data:
        kwargs["extend_select"] = _codes(data["extend-select"], "extend-select", where)
    if "ignore" in data:
        kwargs["ignore"] = _codes(data["ignore"], "ignore", where)
    if "severity" in data:
        table = data["severity"]
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: 'severity' must be a table of CODE = \"error|warning|info\"")
        sev = {}
        for code, level in table.items():
            try:
                sev[_codes([code], "severity", where)[0]] = Severity.parse(str(level))
            except ValueError as exc:
                raise ConfigError(f"{where}: 'severity.{code}': {exc}") from None
        kwargs["severity"] = tuple(sev.items())
    if "fail-on" in data:
        try:
            kwargs["fail_on"] = Severity.parse(str(data["fail-on"]))
        except ValueError as exc:
            raise ConfigError(f"{where}: 'fail-on': {exc}") from None
    if "rules-dir" in data:
        value = data["rules-dir"]
        dirs = [value] if isinstance(value, str) else value
        if not isinstance(dirs, list) or not all(isinstance(d, str) for d in dirs):
            raise ConfigError(f"{where}: 'rules-dir' must be a path or a list of paths")
        resolved = tuple((base_dir / d).resolve() for d in dirs)
        for d in resolved:
            if not trusted and not d.is_relative_to(base_dir.resolve()):
                raise ConfigError(f"{where}: 'rules-dir' {d} is outside the project; a project's rules must live inside it")
            if not d.is_dir():
                raise ConfigError(f"{where}: 'rules-dir' {d} is not a directory")
        kwargs["rules_dirs"] = resolved
    if "preview" in data:
        if not isinstance(data["preview"], bool):
            raise ConfigError(f"{where}: 'preview' must be true or false")
        kwargs["preview"] = data["preview"]
    if "nlp-pipeline" in data:
        if not isinstance(data["nlp-pipeline"], str) or not data["nlp-pipeline"].strip():
            raise ConfigError(f"{where}: 'nlp-pipeline' must be \"blank\" or an installed spaCy pipeline name")
        name = data["nlp-pipeline"].strip()
        if not trusted and _looks_like_path(name):
            ignored.append("nlp-pipeline (a pipeline loaded from a path)")
        else:
            kwargs["nlp_pipeline"] = name
    if "max-size" in data:
        kwargs["max_size"] = parse_size(data["max-size"], where)
    if "advice" in data:
        kwargs.update(_parse_advice(data["advice"], where))
    if "llm" in data:
        llm = _parse_llm(data["llm"], where)  # validated either way: a typo is still an error
        if trusted:
            kwargs.update(llm)
        elif llm:
            ignored.append("llm.*")
    if "hook" in data:
        hook = _parse_hook(data["hook"], where)
        if not trusted and "server_idle_timeout" in hook:
            del hook["server_idle_timeout"]
            ignored.append("hook.idle-timeout")
        kwargs.update(hook)
    if "index-max-file-size" in data:
        kwargs["repo_max_file_size"] = parse_size(data["index-max-file-size"], where, "index-max-file-size", MAX_REPO_FILE_SIZE)
    if ignored:
        kwargs["warnings"] = (
            f"{where}: ignored {', '.join(ignored)}: a project's config may not set what reaches the network or runs code; "
            f"put it in your own config ({user_config_path()}) or pass a flag",
        )
    return Config(**kwargs)


def _check_table(table: Any, name: str, known: set[str], where: str) -> None:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: '{name}' must be a table")
    unknown = set(table) - known
    if unknown:
        raise ConfigError(f"{where}: unknown key '{name}.{sorted(unknown)[0]}' (known: {', '.join(sorted(known))})")


def _parse_advice(table: Any, where: str) -> dict[str, Any]:
    _check_table(table, "advice", _ADVICE_KEYS, where)
    out: dict[str, Any] = {}
    for key, attr in (("sonnet-at", "sonnet_at"), ("opus-at", "opus_at")):
        if key in table:
            value = table[key]
            if not _finite(value) or not 0 <= value <= 1.01:
                raise ConfigError(f"{where}: 'advice.{key}' must be a number between 0 and 1")
            out[attr] = float(value)
    if out.get("opus_at", Config.opus_at) < out.get("sonnet_at", Config.sonnet_at):
        raise ConfigError(f"{where}: 'advice.opus-at' must not be below 'advice.sonnet-at'")
    if "prices" in table:
        prices = table["prices"]
        if not isinstance(prices, dict) or set(prices) - set(TIERS):
            raise ConfigError(f"{where}: 'advice.prices' must be a table of haiku/sonnet/opus = [input, output] dollars per million tokens")
        merged = {tier: (i, o) for tier, i, o in DEFAULT_PRICES}
        for tier, pair in prices.items():
            if not (isinstance(pair, list) and len(pair) == 2 and all(_finite(x) and 0 <= x <= 10_000 for x in pair)):
                raise ConfigError(f"{where}: 'advice.prices.{tier}' must be [input, output] dollars per million tokens")
            merged[tier] = (float(pair[0]), float(pair[1]))
        out["prices"] = tuple((tier, *merged[tier]) for tier in TIERS)
    return out


def _parse_llm(table: Any, where: str) -> dict[str, Any]:
    _check_table(table, "llm", _LLM_KEYS, where)
    out: dict[str, Any] = {}
    checks = {
        "enabled": ("llm", lambda v: isinstance(v, bool), "true or false"),
        "model": ("llm_model", lambda v: isinstance(v, str) and v.strip() != "", "a model name"),
        "timeout": ("llm_timeout", lambda v: _finite(v) and 0 < v <= 600, "seconds between 0 and 600"),
        "base-url": ("llm_base_url", lambda v: isinstance(v, str) and v.startswith(("http://", "https://")), "an http(s) URL"),
        "context": ("llm_context", lambda v: v in ("none", "files"), '"none" or "files"'),
        "max-tokens": ("llm_max_tokens", lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 64000, "a whole number of tokens"),
    }
    for key, value in table.items():
        attr, ok, expected = checks[key]
        if not ok(value):
            raise ConfigError(f"{where}: 'llm.{key}' must be {expected}")
        out[attr] = value
    return out


def _parse_hook(table: Any, where: str) -> dict[str, Any]:
    _check_table(table, "hook", _HOOK_KEYS, where)
    out: dict[str, Any] = {}
    if "mode" in table:
        if table["mode"] not in ("context", "block", "advise"):
            raise ConfigError(f"{where}: 'hook.mode' must be \"context\", \"block\" or \"advise\"")
        out["hook_mode"] = table["mode"]
    if "block-on" in table:
        if table["block-on"] not in ("error", "warning"):
            raise ConfigError(f"{where}: 'hook.block-on' must be \"error\" or \"warning\"")
        out["hook_block_on"] = table["block-on"]
    if "opt-out-prefix" in table:
        if not isinstance(table["opt-out-prefix"], str) or not table["opt-out-prefix"].strip():
            raise ConfigError(f"{where}: 'hook.opt-out-prefix' must be a non-empty string")
        out["hook_opt_out"] = table["opt-out-prefix"]
    if "idle-timeout" in table:
        value = table["idle-timeout"]
        if not _finite(value) or not 0 < value <= 30 * 86400:
            raise ConfigError(f"{where}: 'hook.idle-timeout' must be a number of seconds (at most 30 days)")
        out["server_idle_timeout"] = float(value)
    return out


def _read_toml(path: Path, where: str) -> dict[str, Any]:
    """A config file's TOML, read as untrusted input (resources.read_untrusted_toml)."""
    return read_untrusted_toml(path, MAX_CONFIG_FILE, where, ConfigError, f"config file {path} does not exist")


def load_config_file(path: Path, trusted: bool = True) -> Config:
    where = str(path)
    data: Any = _read_toml(path, where)
    if path.name == "pyproject.toml":
        tool = data.get("tool")
        data = tool.get("promptlint", {}) if isinstance(tool, dict) else {}
        where += " [tool.promptlint]"
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a table")
    return replace(parse_config(data, where, path.parent, trusted=trusted), source=path)


def _claims_us(pyproject: Path) -> bool:
    """Whether a pyproject.toml has a [tool.promptlint] table. Someone else's broken pyproject
    (invalid TOML, `tool = 1`, a FIFO) is not our config: skip it rather than fail every run."""
    try:
        data = _read_toml(pyproject, str(pyproject))
    except ConfigError:
        return False
    tool = data.get("tool")
    return isinstance(tool, dict) and "promptlint" in tool


def _planted(candidate: Path) -> bool:
    """A config file another user put in a folder others can write (``/tmp/.promptlint.toml`` above
    ``/tmp/scratch``): not the project's, and not ours to trust. Skipped, as git skips a repository
    another user owns. A project checked out by this user, or owned by root, is unaffected."""
    st = os.lstat(candidate)
    if st.st_uid in (os.getuid(), 0):
        return False
    return bool(os.stat(candidate.parent).st_mode & 0o022)


def find_config_file(start: Path) -> Path | None:
    """The closest config file at or above ``start``; pyproject.toml counts only with [tool.promptlint]."""
    directory = start if start.is_dir() else start.parent
    directory = directory.resolve()
    for folder in (directory, *directory.parents):
        for name in CONFIG_FILES:
            candidate = folder / name
            try:
                if not candidate.is_file() or _planted(candidate):
                    continue
            except OSError:
                continue
            if name == "pyproject.toml" and not _claims_us(candidate):
                continue
            return candidate
    return None


def user_config_path() -> Path:
    override = os.environ.get(USER_CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("promptlint", appauthor=False)) / "promptlint.toml"


# The settings only the user's own config may give (see the module doc).
_USER_ONLY_FIELDS = ("llm", "llm_model", "llm_timeout", "llm_base_url", "llm_context", "llm_max_tokens", "server_idle_timeout")


def user_config() -> Config | None:
    path = user_config_path()
    try:
        exists = path.is_file()
    except OSError:
        exists = False
    return load_config_file(path, trusted=True) if exists else None


def discover(start: Path, explicit: Path | None = None, isolated: bool = False) -> Config:
    if isolated:
        return Config()
    if explicit is not None:
        return load_config_file(explicit, trusted=True)
    mine = user_config()
    found = find_config_file(start)
    if found is None or (mine is not None and mine.source is not None and found.resolve() == mine.source.resolve()):
        return mine or Config()
    project = load_config_file(found, trusted=False)
    if mine is None:
        return project
    return replace(project, **{name: getattr(mine, name) for name in _USER_ONLY_FIELDS})
