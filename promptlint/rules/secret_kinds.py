"""The pasted-secret check: an API key, token, private key or literal password in the prompt.

A prompt goes to a model provider and often into logged transcripts (Claude Code keeps every turn
on disk), so a credential typed or pasted into one has leaked. Recognised by the shape of known
token formats (prefix, alphabet, length) and, for the random part, by how random it looks: a
documented placeholder ("sk-xxxx", "<your-key>", "AKIAIOSFODNN7EXAMPLE", "sk-1234567890abcdef")
passes. The finding never repeats the secret: its message names the kind of credential and its
public prefix only, and the finding asks every front end to mask its span (``Hit.masked``).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import TYPE_CHECKING

from ..errors import RuleCatalogError

if TYPE_CHECKING:  # pragma: no cover
    from .kinds import Context, Hit
    from ..text.analysis import Analysis
    from .catalog import Rule


def shannon_bits(text: str) -> float:
    """Bits per character of ``text``'s own character distribution (0 for a repeated character)."""
    if not text:
        return 0.0
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _sequential_share(text: str) -> float:
    """Share of neighbouring characters that count up or down by one ("123456", "abcdef")."""
    if len(text) < 2:
        return 0.0
    steps = sum(1 for a, b in zip(text, text[1:]) if abs(ord(a) - ord(b)) == 1)
    return steps / (len(text) - 1)


class _Format:
    __slots__ = ("name", "pattern", "min_bits", "min_length", "classes", "shown", "placeholder")

    def __init__(self, rule: "Rule", entry: dict) -> None:
        try:
            self.name = str(entry["name"])
            self.pattern = re.compile(str(entry["pattern"]), re.M)
        except (KeyError, re.error, TypeError) as exc:
            raise RuleCatalogError(f"{rule.path}: [check] formats: each entry needs a name and a valid pattern ({exc})") from None
        if "secret" not in self.pattern.groupindex:
            raise RuleCatalogError(f"{rule.path}: [check] formats: {self.name}: the pattern needs a (?P<secret>...) group")
        self.min_bits = float(entry.get("min-entropy", 0.0))
        self.min_length = int(entry.get("min-length", 0))
        # Character classes the random part must mix ("letters", "digits"): a word never does.
        self.classes = tuple(entry.get("requires", ()))
        unknown = [c for c in self.classes if c not in _CLASSES and c != "literal"]
        if unknown:
            raise RuleCatalogError(f"{rule.path}: [check] formats: {self.name}: unknown character class {unknown[0]!r} in requires")
        self.shown = str(entry.get("shown", ""))  # the public prefix the message may show
        self.placeholder = str(entry.get("replacement", "<secret>"))


_formats_cache: dict[tuple[str, str], list[_Format]] = {}


def _formats(rule: "Rule") -> list[_Format]:
    key = (str(rule.path), rule.code)
    cached = _formats_cache.get(key)
    if cached is None:
        cached = _formats_cache[key] = [_Format(rule, e) for e in rule.check.get("formats", []) if isinstance(e, dict)]
    return cached


_CLASSES = {"digits": re.compile(r"\d"), "letters": re.compile(r"[A-Za-z]"), "upper": re.compile(r"[A-Z]"), "lower": re.compile(r"[a-z]")}


def _literal(value: str) -> bool:
    """A value typed as a password, not a name standing for one: at least two of lower case, upper
    case, digits and symbols, and not shaped like an identifier, an attribute path or a type name
    ("hashed_password", "settings.SECRET_KEY", "userPassword", "Required")."""
    classes = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"\d", r"[^A-Za-z0-9]"))
    if classes < 2:
        return False
    if re.fullmatch(r"[A-Za-z_][A-Za-z_]*(?:\.[A-Za-z_][\w]*)*", value):
        return False  # letters and underscores or dots only: a name ("hashed_password", "os.environ")
    if re.fullmatch(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+", value):
        return False  # an attribute path ("config.db2.password")
    return True


def _looks_random(fmt: _Format, secret: str, placeholder_words: tuple[str, ...]) -> bool:
    if len(secret) < fmt.min_length:
        return False
    if "..." in secret or "\u2026" in secret:
        return False  # shown cut ("sk_01be3652..."): a tool's masked display, not the key
    low = secret.lower()
    if any(w in low for w in placeholder_words):
        return False  # "sk-your-key-here", "AKIA...EXAMPLE", "ghp_xxxxxxxx"
    if re.search(r"(.)\1{3,}", secret):
        return False  # "xxxx", "0000", "****": a run no generator leaves in a short token
    if _sequential_share(secret) > 0.4:
        return False  # "1234567890abcdef"
    for cls in fmt.classes:
        if cls == "literal":
            if not _literal(secret):
                return False
        elif not _CLASSES[cls].search(secret):
            return False
    core = re.sub(r"[^A-Za-z0-9]", "", secret)
    return shannon_bits(core) >= fmt.min_bits


def secret_hits(rule: "Rule", text: str) -> "list[Hit]":
    """Every credential in ``text`` as a hit over its random part; overlapping matches of a more
    specific format (listed first) win."""
    from .kinds import Hit  # here: kinds imports this module to register the check

    words = tuple(w.lower() for w in rule.check.get("placeholder-words", []))
    hits: list[Hit] = []
    taken: list[tuple[int, int]] = []
    for fmt in _formats(rule):
        for m in fmt.pattern.finditer(text):
            start, end = m.span("secret")
            if any(a < end and start < b for a, b in taken):
                continue
            # Judged once, by the most specific shape: a placeholder OpenAI key is not then reported
            # by the generic `KEY=value` format.
            taken.append((start, end))
            if not _looks_random(fmt, m.group("secret"), words):
                continue
            shown = f" ({fmt.shown}\u2026)" if fmt.shown else ""
            hits.append(Hit(start, end, {"what": fmt.name, "shown": shown, "length": end - start}, replacement=fmt.placeholder, masked=True))
    return sorted(hits, key=lambda h: h.start)


def check_pasted_secret(rule: "Rule", analysis: "Analysis", ctx: "Context") -> "list[Hit]":
    """A credential anywhere in the prompt, pasted code and logs included: they leak the same way."""
    return secret_hits(rule, analysis.text)
