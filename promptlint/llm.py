"""Optional LLM polish of the deterministic rewrite (opt-in with --llm; the default path never
touches the network). The answer is validated: every path it names must exist in the repository or
in the prompt, and every placeholder of the deterministic rewrite must survive. Anything else, and
any API error or timeout, falls back to the deterministic rewrite with a warning."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import PromptlintError

DEFAULT_MODEL = "claude-haiku-4-5"
_MAX_CONTEXT_FILE = 1_000_000  # bytes of a referenced file read for --llm-context files (the index's own default cap)
_PLACEHOLDER = re.compile(r"<[^<>\n]{3,}>")
_PATH = re.compile(r"(?<![\w/.<-])((?:[\w.-]+/)+[\w.-]+\.\w+)\b")
_SYSTEM = (
    "You edit prompts that a developer will send to Claude Haiku, a fast coding agent. You receive a draft "
    "prompt built by a linter, the linter's findings and the repository files it found. Rewrite the draft into "
    "one clear, explicit prompt: keep the developer's task and every concrete detail; keep every file path "
    "exactly as written and add no path that is not in the draft or the file list; keep every placeholder in "
    "angle brackets (<...>) verbatim, because the developer fills them in; keep the constraints and the closing "
    "invitation to ask questions. Answer with the prompt only, no preamble and no code fences."
)


@dataclass(frozen=True)
class LLMSettings:
    model: str = DEFAULT_MODEL
    timeout: float = 20.0
    base_url: str | None = None
    context: str = "none"  # "none": only the rewrite, findings and paths; "files": also the referenced files' contents
    max_tokens: int = 2048


@dataclass
class Polished:
    text: str
    used_llm: bool
    warning: str | None = None


def _client(settings: LLMSettings):  # type: ignore[no-untyped-def]
    key = os.environ.get("ANTHROPIC_API_KEY")
    if not key:
        raise PromptlintError("--llm needs an Anthropic API key: set ANTHROPIC_API_KEY (or drop --llm for the offline rewrite)")
    try:
        import anthropic
    except ImportError:
        raise PromptlintError("--llm needs the anthropic package: pip install 'haiku-promptlint[llm]'") from None
    # No redirects: the SDK follows them by default, re-sending the prompt (and with --llm-context
    # files, the repository's files) to whatever host the answer names; only the Authorization
    # header is dropped on the way, and older SDKs send the key as x-api-key. The user chose one
    # host; a redirect is an API error here, and the deterministic rewrite stands.
    http_client = anthropic.DefaultHttpxClient(follow_redirects=False, timeout=settings.timeout)
    return anthropic.Anthropic(api_key=key, base_url=settings.base_url or os.environ.get("ANTHROPIC_BASE_URL"), timeout=settings.timeout,
                               max_retries=0, http_client=http_client)


def _request_text(draft: str, findings: list[str], paths: list[str], file_contents: dict[str, str]) -> str:
    parts = ["<draft>", draft.strip(), "</draft>", "<findings>"] + [f"- {f}" for f in findings] + ["</findings>", "<repository_files>"]
    parts += [f"- {p}" for p in paths] + ["</repository_files>"]
    for path, content in file_contents.items():
        parts += [f'<file path="{path}">', content, "</file>"]
    return "\n".join(parts)


def validate(answer: str, draft: str, prompt: str, known_paths: set[str]) -> str | None:
    """Why the answer cannot be used, or None when it can."""
    if not answer.strip():
        return "empty answer"
    for match in _PATH.finditer(answer):
        path = match.group(1)
        if path not in known_paths and path not in prompt and path not in draft:
            return f"named a path that does not exist: {path}"
    for placeholder in dict.fromkeys(_PLACEHOLDER.findall(draft)):
        if placeholder not in answer:
            return f"dropped the placeholder {placeholder}"
    return None


def polish(draft: str, prompt: str, findings: list[str], known_paths: set[str], referenced: list[str], root: Path | None, settings: LLMSettings) -> Polished:
    client = _client(settings)  # configuration errors (no key, no SDK) are the user's to fix: raise
    contents: dict[str, str] = {}
    if settings.context == "files" and root is not None:
        from .fsutil import read_beneath

        for path in referenced[:5]:
            # Below the root without following any symlink, regular files only, bounded: a folder
            # swapped for a symlink since the index saw it must not send what it now points at.
            try:
                contents[path] = read_beneath(root, path, _MAX_CONTEXT_FILE).decode("utf-8", "replace")[:20_000]
            except OSError:
                continue
    try:
        message = client.messages.create(
            model=settings.model,
            max_tokens=settings.max_tokens,
            system=_SYSTEM,
            messages=[{"role": "user", "content": _request_text(draft, findings, referenced, contents)}],
        )
        answer = "".join(block.text for block in message.content if getattr(block, "type", "") == "text")
    except Exception as exc:  # API error, timeout, connection refused: the offline rewrite stands
        return Polished(draft, False, f"LLM rewrite failed ({type(exc).__name__}); using the deterministic rewrite")
    answer = re.sub(r"^```\w*\n|\n```\s*$", "", answer.strip()) + "\n"
    problem = validate(answer, draft, prompt, known_paths)
    if problem:
        return Polished(draft, False, f"LLM rewrite rejected ({problem}); using the deterministic rewrite")
    return Polished(answer, True)
