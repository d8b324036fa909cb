"""The UserPromptSubmit hook input, parsed and checked: what Claude Code sends on the hook's stdin (or
in the body of an HTTP hook). Parsed in the warm server, never in the per-prompt client, which
forwards the bytes untouched and so needs neither json nor re.

Everything in it is untrusted: any field may be missing, of the wrong type, huge or hostile.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

MAX_INPUT = 2_000_000  # bytes of hook input (the prompt plus a few fields)
_TRANSCRIPT_TAIL = 256_000
_PREVIOUS_TURN_MAX = 8_000  # characters of the previous assistant message kept (pronouns)


@dataclass(frozen=True)
class HookInput:
    prompt: str
    cwd: str
    transcript_path: str | None


def parse(raw: bytes, project_dir: str | None = None) -> tuple[HookInput | None, str]:
    """(the input, "") when there is a prompt to lint; (None, why) otherwise — why is "" when
    there is simply nothing to do (a slash command, an empty prompt)."""
    if len(raw) > MAX_INPUT:
        return None, "hook input over 2 MB; passing the prompt through"
    try:
        data = json.loads(raw.decode("utf-8", "replace") or "null")
    except (ValueError, RecursionError) as exc:
        return None, f"hook input unreadable ({type(exc).__name__}); passing the prompt through"
    if not isinstance(data, dict):
        return None, "hook input is not a JSON object; passing the prompt through"
    prompt = data.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return None, ""
    if prompt.lstrip().startswith(("/", "#")):
        return None, ""  # slash commands and memory notes are not prompts to lint
    cwd = project_dir or data.get("cwd")
    if not isinstance(cwd, str) or not cwd or "\0" in cwd or not os.path.isabs(cwd) or not os.path.isdir(cwd):
        return None, "hook input has no usable cwd; passing the prompt through"
    transcript = data.get("transcript_path")
    transcript = transcript if isinstance(transcript, str) and transcript and "\0" not in transcript else None
    return HookInput(prompt=prompt, cwd=cwd, transcript_path=transcript), ""


def read_transcript(transcript_path: object) -> tuple[str | None, str | None]:
    """(model of the last assistant entry, text of the last assistant message) from the session
    transcript: the hook input carries neither. Only a regular file is read, and only its tail.

    The text is "" when the session has no assistant message yet (the first turn: a pronoun then
    has nothing to point back to) and None when the transcript cannot be read (unknown)."""
    if not isinstance(transcript_path, str) or not transcript_path:
        return None, None
    from ..fsutil import read_regular

    try:
        tail = read_regular(transcript_path, _TRANSCRIPT_TAIL, tail=True).decode("utf-8", "replace")
    except FileNotFoundError:
        return None, ""  # Claude Code writes the transcript after the first prompt
    except (OSError, ValueError):
        return None, None
    model = text = None
    for line in reversed(tail.splitlines()):
        if '"assistant"' not in line:
            continue
        try:
            entry = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if not isinstance(entry, dict) or entry.get("type") != "assistant":
            continue
        message = entry.get("message")
        if not isinstance(message, dict):
            continue
        if model is None and isinstance(message.get("model"), str):
            model = message["model"]
        content = message.get("content")
        if text is None and isinstance(content, list):
            parts = [b.get("text") for b in content if isinstance(b, dict) and b.get("type") == "text"]
            joined = "\n".join(p for p in parts if isinstance(p, str)).strip()
            if joined:
                text = joined[-_PREVIOUS_TURN_MAX:]
        if model is not None and text is not None:
            break
    if text is None and len(tail) < _TRANSCRIPT_TAIL:
        text = ""  # the whole transcript was read: no assistant message in it
    return model, text
