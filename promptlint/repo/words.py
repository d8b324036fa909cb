"""Splitting identifiers, paths and prose into comparable words (no spaCy: `index` must stay light)."""

from __future__ import annotations

import functools
import re

from ..resources import builtin_rules_dir, load_toml

_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


_CHUNK = re.compile(r"[A-Za-z0-9]+")


@functools.lru_cache(maxsize=1 << 17)
def split_chunk(chunk: str) -> tuple[str, ...]:
    """The words of one alphanumeric run (memoized: a repository repeats its identifiers)."""
    out = []
    for part in _CAMEL.findall(chunk):
        w = singular(part.lower())
        if len(w) > 1 and not w.isdigit():
            out.append(w)
    return tuple(out)


def split_identifier(name: str) -> list[str]:
    """`getUserByID` -> get, user, by, id; `rate_limiter` -> rate, limiter; paths split on / . - _."""
    words: list[str] = []
    for chunk in _CHUNK.findall(name):
        words.extend(split_chunk(chunk))
    return words


@functools.lru_cache(maxsize=1)
def synonyms() -> dict[str, frozenset[str]]:
    """word -> the other words of every group it belongs to."""
    table: dict[str, set[str]] = {}
    for group in _synonym_data()["groups"]:
        words = {singular(w.lower()) for w in group}
        for w in words:
            table.setdefault(w, set()).update(words - {w})
    return {k: frozenset(v) for k, v in table.items()}


@functools.lru_cache(maxsize=1)
def _synonym_data() -> dict:
    return load_toml(builtin_rules_dir() / "synonyms.toml")


@functools.lru_cache(maxsize=1)
def object_kinds() -> dict[str, str]:
    """word -> "new-file" or "container": what a create task makes (see synonyms.toml [objects])."""
    objects = _synonym_data().get("objects", {})
    out = {singular(w.lower()): "container" for w in objects.get("container", [])}
    out.update({singular(w.lower()): "new-file" for w in objects.get("new-file", [])})
    return out


@functools.lru_cache(maxsize=1)
def concern_words() -> frozenset[str]:
    """Cross-cutting concerns a task adds everywhere (synonyms.toml [objects] concern)."""
    return frozenset(singular(w.lower()) for w in _synonym_data().get("objects", {}).get("concern", []))


# Derivational and inflectional endings that code and prose use for the same idea: "migrating",
# "migrated", "migration" and "migrator" all share "migrat". Conservative on purpose: a stem keeps at
# least four letters ("user", "using", "setting" stay whole), and only these endings are stripped.
_ENDINGS = ("ization", "isation", "ing", "ied", "ed", "er", "or", "ion", "able")
_MIN_STEM = 4


@functools.lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """The shared stem of a word's variants ("serializer", "serialization", "serialized" ->
    "serializ"), for finding a prompt's words in another form; never shorter than four letters."""
    w = word
    for _ in range(2):
        cut = None
        for ending in _ENDINGS:
            if w.endswith(ending) and len(w) - len(ending) >= _MIN_STEM:
                base = w[: -len(ending)]
                if ending == "ied":
                    base += "y"
                elif ending in ("ization", "isation"):
                    base += "iz"
                elif len(base) > 2 and base[-1] == base[-2] and base[-1] not in "lsz" and base[-1] not in "aeiou":
                    if len(base) - 1 < _MIN_STEM:
                        continue
                    base = base[:-1]  # "formatting" -> "format", but "setting" stays whole
                cut = base
                break
        if cut is None:
            break
        w = cut
    if w.endswith("e") and len(w) - 1 >= _MIN_STEM:
        w = w[:-1]
    return w
