"""Text that came from outside (a prompt, a file name, a repository's file) made safe to pass on.

- :func:`scrub_surrogates`: a lone UTF-16 surrogate (``"\\ud800"``, from JSON or an editor) is not
  text; spaCy and every encoder raise on it. It becomes U+FFFD, one character for one, so every
  offset stays valid.
- :func:`for_terminal`: control characters (ESC and the rest of C0 and C1, DEL) let a prompt or a
  file name retitle the terminal, move the cursor or hide text (OSC/CSI injection), and bidi
  overrides reorder what is shown. Each becomes U+FFFD before anything reaches a terminal; tab and
  newline stay.
"""

from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")
# C0 but tab and newline, DEL, C1; bidi embeddings, overrides and isolates (Trojan Source).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
REPLACEMENT = "\ufffd"


def scrub_surrogates(text: str) -> str:
    if text.isascii():
        return text
    return _SURROGATE.sub(REPLACEMENT, text)


def for_terminal(text: str) -> str:
    """Printable text for a terminal: same length, control characters replaced."""
    if text.isprintable():
        return text
    return _CONTROL.sub(REPLACEMENT, scrub_surrogates(text))


_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(ch: str) -> str:
    if ch in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[ch]
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8, as os.fsdecode's surrogateescape keeps it
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def escape_unprintable(text: str) -> str:
    """A name (a file name, a path) on one visible line: every character that is not printable
    (``str.isprintable``: controls, newlines, bidi and other format characters, separators other
    than the space, lone surrogates) becomes its escape, ``\\n``-style text. A newline in a file name
    must not start a line of its own in a report or in Claude's context."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escaped(ch) for ch in text)


def one_line(text: str) -> str:
    """A message that must stay one line (an error on stderr): for_terminal, and the line breaks
    that would start another line (CR, LF, U+2028/U+2029) escaped."""
    text = for_terminal(text)
    if "\n" in text or "\u2028" in text or "\u2029" in text:
        text = text.replace("\n", "\\n").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return text
