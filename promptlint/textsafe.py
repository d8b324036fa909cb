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
