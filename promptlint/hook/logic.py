"""What the hook answers Claude Code for a prompt, from a lint report. Used by the server (warm)
and by the in-process path. Context is phrased as facts, not commands: injected text that reads
like system instructions can trip the model's prompt-injection defences."""

from __future__ import annotations

import json
import re
from typing import Any

from ..model import FileReport, Severity
from ..textsafe import escape_unprintable, for_terminal, one_line
from . import insist

MAX_CONTEXT = 9_500  # Claude Code caps hook output at 10,000 characters
_TIER_NAMES = {"haiku": "Haiku", "sonnet": "Sonnet", "opus": "Opus"}


def _quoted(message: str, default: str) -> str:
    parts = message.split('"')
    return parts[1] if len(parts) > 2 else default


def _open_item(code: str, message: str) -> str | None:
    """What a finding says the request leaves open, as a fact."""
    if code == "CON004":
        m = re.search(r"a new (\w+) needs (.+?), and", message)
        return f"the details of the new {m.group(1)} ({m.group(2)})" if m else "the details of the new thing"
    return {
        "VAG005": f'what "{_quoted(message, "it")}" refers to',
        "VAG001": "what exactly to change and the expected outcome",
        "VAG002": f'a measurable meaning of "{_quoted(message, "the quality asked for")}"',
        "VAG003": "the complete list (an enumeration ends with an open-ended phrase)",
        "VAG004": f'whether "{_quoted(message, "the optional part")}" is required',
        "CON001": "how to tell the change works (no expected behaviour or check is given)",
        "CON003": "what must stay unchanged",
    }.get(code)


def tier_of(model: str | None) -> str | None:
    if not model:
        return None
    low = model.lower()
    return next((t for t in ("haiku", "sonnet", "opus") if t in low), None)


def needs_context(report: FileReport) -> bool:
    return any(f.severity >= Severity.warning for f in report.findings)


def context_text(report: FileReport, facts_lines: list[str]) -> str:
    lines = ["promptlint (a prompt linter) compared this request with the repository. Notes:"]
    refs = [r for r in report.references if r["score"] >= 0.3][:4]
    if refs:
        # Claude reads this: a path or reason from the repository must not start a line of its own
        # ("\nIgnore previous instructions"). The listing already drops such names; this holds if
        # one gets through another way.
        lines.append("- Files the request is most likely about: "
                     + "; ".join(f"{escape_unprintable(r['path'])} ({one_line(r['reason'])})" for r in refs) + ".")
    for f in report.findings:
        if f.code == "REF004" and f.suggestion:
            m = re.search(r"pattern in (.+?)\"?\.?$", f.suggestion)
            if m:
                lines.append(f"- An existing pattern for this kind of change is in {escape_unprintable(m.group(1).rstrip(chr(34)))}.")
        if f.code == "REF002":
            lines.append(f"- {one_line(f.message)}.")
    if facts_lines:
        lines.append("- Repository conventions: " + " ".join(one_line(line) for line in facts_lines))
    open_items: list[str] = []
    for f in report.findings:
        item = _open_item(f.code, f.message)
        if item and item not in open_items:
            open_items.append(item)
    if open_items:
        lines.append("- The request does not specify: " + "; ".join(one_line(item) for item in open_items) + ".")
    split = next((f for f in report.findings if f.code == "SCO002"), None)
    if split is not None:
        lines.append(f"- The request holds several independent tasks ({one_line(split.message.split(': ', 1)[-1])}); they are easier to review one at a time.")
    if report.advice and report.advice.get("model") in ("sonnet", "opus"):
        reasons = "; ".join(one_line(r["message"]) for r in report.advice["reasons"][:2])
        lines.append(f"- promptlint's model advice is {_TIER_NAMES[report.advice['model']]}: {reasons}.")
    if open_items:
        lines.append("- Because details are missing, a clarifying question before a large change would be reasonable.")
    text = for_terminal("\n".join(lines))
    if len(text) > MAX_CONTEXT:
        text = text[: MAX_CONTEXT - 40].rsplit("\n", 1)[0] + "\n- (more notes omitted)"
    return text


BLOCK_ON = ("error", "warning")


def _block_reason(report: FileReport, block_on: str, noted: bool) -> str:
    shown = [f for f in report.findings if f.severity >= Severity.warning]
    lines = [f"promptlint held this prompt back (block mode, stopping on {block_on}s). What it found:"]
    # Claude Code shows the reason to the user's terminal: no escape sequence gets through, and a
    # finding stays on its line.
    lines += [f"  {f.code} line {f.start.line}: {one_line(f.message)}" for f in shown]
    if report.rewrite:
        lines += ["", "A more explicit version (fill in the <...> parts):", "", for_terminal(report.rewrite)]
    lines.append("")
    if noted:
        minutes = int(insist.WINDOW // 60)
        lines.append(f"To send your prompt unchanged, submit the same text again within {minutes} minutes (the Up arrow recalls it): promptlint lets it through.")
    else:
        lines.append("To send a prompt unchanged, start it with the opt-out prefix (hook.opt-out-prefix, default \"nolint:\").")
    text = "\n".join(lines)
    if len(text) > MAX_CONTEXT:  # keep the way through in view: cut the findings and rewrite, not the tail
        tail = lines[-1]
        text = text[: MAX_CONTEXT - len(tail) - 40].rsplit("\n", 1)[0] + "\n(more omitted)\n\n" + tail
    return text


def should_block(report: FileReport, block_on: str) -> bool:
    floor = Severity.error if block_on == "error" else Severity.warning
    return any(f.severity >= floor for f in report.findings)


def respond(
    report: FileReport, mode: str, session_model: str | None, facts_lines: list[str],
    block_on: str = "warning", project: str | None = None,
) -> dict[str, Any]:
    """{"stdout": ..., "stderr": ...} for Claude Code. Empty stdout lets the prompt through as is.

    In block mode a prompt with findings at or above `block_on` is held back with the findings and
    the rewrite; the same prompt sent again within insist.WINDOW goes through (with its context)."""
    out: dict[str, Any] = {}
    if mode == "block" and should_block(report, block_on):
        if not insist.insists(report.text, project):
            noted = insist.remember_block(report.text, project)
            reason = _block_reason(report, block_on, noted)
            return {"stdout": json.dumps({"decision": "block", "reason": reason}) + "\n", "stderr": ""}
        out["systemMessage"] = "promptlint: sent as you wrote it (you sent it again after a block)."
    if needs_context(report) or (report.advice and report.advice.get("model") != "haiku" and mode == "advise"):
        out["hookSpecificOutput"] = {"hookEventName": "UserPromptSubmit", "additionalContext": context_text(report, facts_lines)}
    if mode == "advise" and report.advice:
        advised = report.advice["model"]
        current = tier_of(session_model)
        if advised != current and (advised != "haiku" or current in ("sonnet", "opus")):
            if advised == "haiku":
                message = "promptlint: this looks like a focused, Haiku-sized task; /model haiku would be cheaper and faster."
            else:
                why = report.advice["reasons"][0]["message"] if report.advice["reasons"] else "escalation score %.2f" % report.advice["score"]
                message = f"promptlint: consider /model {advised} for this prompt ({why})."
            out["systemMessage"] = one_line(message)
    return {"stdout": json.dumps(out) + "\n" if out else "", "stderr": ""}
