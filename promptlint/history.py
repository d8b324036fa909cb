"""`promptlint history`: the user's real prompts from Claude Code transcripts, linted.

Claude Code keeps one JSONL file per session under ~/.claude/projects/<project>/, where <project>
is the project's absolute path with every non-alphanumeric character replaced by "-". User entries
carry the prompt; the assistant entries that follow carry the model that answered and the usage.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .hook.logic import tier_of
from .model import Severity, mask_secrets



@dataclass
class HistoryPrompt:
    text: str
    session: str
    timestamp: str | None
    model: str | None = None  # the model that answered
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass
class HistoryScan:
    prompts: list[HistoryPrompt] = field(default_factory=list)
    files: int = 0
    malformed_lines: int = 0


def transcripts_dir(project: Path) -> Path:
    slug = re.sub(r"[^A-Za-z0-9]", "-", str(project.resolve()))
    return Path.home() / ".claude" / "projects" / slug


def _user_text(message: Any) -> str | None:
    """The text the user typed, or None for tool results, commands and meta entries."""
    if not isinstance(message, dict) or message.get("role") != "user":
        return None
    content = message.get("content")
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        if any(isinstance(c, dict) and c.get("type") == "tool_result" for c in content):
            return None
        text = "\n".join(c.get("text", "") for c in content if isinstance(c, dict) and c.get("type") == "text")
    else:
        return None
    text = text.strip()
    if not text or text.startswith(("<command-", "<local-command", "/", "#", "Caveat:")):
        return None
    return text


def _since_ok(timestamp: str | None, since: datetime | None) -> bool:
    if since is None:
        return True
    if not timestamp:
        return False
    try:
        when = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when >= since


def scan(folder: Path, since: datetime | None = None) -> HistoryScan:
    result = HistoryScan()
    for path in sorted(folder.glob("*.jsonl")):
        result.files += 1
        current: HistoryPrompt | None = None
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                result.malformed_lines += 1
                continue
            if not isinstance(entry, dict):
                result.malformed_lines += 1
                continue
            kind = entry.get("type")
            if kind == "user" and not entry.get("isMeta"):
                text = _user_text(entry.get("message"))
                if text is not None:
                    current = None
                    if _since_ok(entry.get("timestamp"), since):
                        current = HistoryPrompt(text=text, session=path.stem, timestamp=entry.get("timestamp"))
                        result.prompts.append(current)
            elif kind == "assistant" and current is not None:
                message = entry.get("message")
                if isinstance(message, dict):
                    if current.model is None and isinstance(message.get("model"), str):
                        current.model = message["model"]
                    usage = message.get("usage")
                    if isinstance(usage, dict):
                        current.input_tokens += int(usage.get("input_tokens") or 0) + int(usage.get("cache_read_input_tokens") or 0) + int(usage.get("cache_creation_input_tokens") or 0)
                        current.output_tokens += int(usage.get("output_tokens") or 0)
    return result


def analyse(history: HistoryScan, linter: Any, repo: Path | None) -> dict[str, Any]:
    prices = {tier: (i, o) for tier, i, o in linter.config.prices}
    rules: Counter[str] = Counter()
    vague = 0
    oversized: list[dict[str, Any]] = []
    underpowered: list[dict[str, Any]] = []
    saving = 0.0
    by_model: Counter[str] = Counter()
    for p in history.prompts:
        report = linter.lint(p.text[:100_000], path=f"{p.session}", repo=repo)
        codes = {f.code for f in report.findings if f.severity >= Severity.warning}
        rules.update(codes)
        if codes:
            vague += 1
        answered = tier_of(p.model)
        by_model[answered or "unknown"] += 1
        advised = report.advice["model"] if report.advice else None
        # A pasted secret in an old prompt is shown masked, like every other output shows it.
        row = {"prompt": mask_secrets(p.text[:100_000], report.findings)[:120], "session": p.session, "timestamp": p.timestamp, "model": p.model, "advised": advised}
        if answered in ("sonnet", "opus") and advised == "haiku":
            cost_then = (p.input_tokens * prices[answered][0] + p.output_tokens * prices[answered][1]) / 1e6
            cost_haiku = (p.input_tokens * prices["haiku"][0] + p.output_tokens * prices["haiku"][1]) / 1e6
            row["saving_usd"] = round(cost_then - cost_haiku, 6)
            saving += cost_then - cost_haiku
            oversized.append(row)
        elif answered == "haiku" and advised in ("sonnet", "opus"):
            row["reasons"] = [r["code"] for r in report.advice["reasons"]]
            underpowered.append(row)
    total = len(history.prompts)
    return {
        "prompts": total,
        "sessions": history.files,
        "malformed_lines": history.malformed_lines,
        "vague_share": round(vague / total, 3) if total else 0.0,
        "by_model": dict(by_model),
        "top_rules": rules.most_common(10),
        "haiku_sized_on_larger_models": oversized,
        "estimated_saving_usd": round(saving, 4),
        "escalation_worthy_on_haiku": underpowered,
    }
