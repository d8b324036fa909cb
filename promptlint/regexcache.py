"""Compiled regular expressions kept between runs.

A `promptlint check` compiles about 400 regular expressions (the rules', the text analysis', and
spaCy's tokenizer punctuation and URL patterns, some of them huge character classes): 0.25-0.4 s of
a one-shot run, all of it in the pure-Python parser and code generator of `re`. What they produce is
a list of integers that depends only on the pattern, its flags and the interpreter, so it is kept in
the cache folder and handed straight to `_sre.compile` (the C constructor `re` itself ends with)
on the next run: ~50 ms for all of them.

The file is data, never code: JSON, read only from a private folder (ours, writable by nobody else),
checked against the SHA-256 it carries (a truncated or half-edited file is dropped whole), keyed by
the exact interpreter build, each entry by its full pattern text and flags; `_sre.compile` validates
the code it is given. An entry is written only after the pattern it makes compared equal (pattern,
flags and code) to the one `re` compiled itself, in this interpreter. Anything unexpected (another
Python whose `re` internals differ, a bytes pattern, re.DEBUG, an unreadable or foreign file) means
the ordinary `re` path, silently: the cache only ever changes how fast a pattern is made.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import json
import os
import re
import sys
import threading
from array import array
from typing import Iterator

# Entries and bytes beyond which a run keeps only the patterns it used itself (patterns built from
# input, if any, cannot grow the file without bound).
_MAX_ENTRIES = 3000
_MAX_BYTES = 8_000_000
_FORMAT = 1

_state: dict[str, object] = {}
_transient = threading.local()  # per thread: the LSP server analyses in threads


@contextlib.contextmanager
def transient() -> Iterator[None]:
    """Patterns compiled inside are served from the cache if they are in it, but not added to it:
    for patterns built from input (a path's words, a key of the prompt's front matter), which would
    otherwise make a run on new input rewrite the whole file at exit."""
    depth = getattr(_transient, "depth", 0)
    _transient.depth = depth + 1
    try:
        yield
    finally:
        _transient.depth = depth


def _internals():  # type: ignore[no-untyped-def]
    """re's compiler module (re._compiler from 3.11, sre_compile before) and _sre, or None."""
    try:
        import _sre

        compiler = getattr(re, "_compiler", None)
        if compiler is None:  # Python 3.10
            import sre_compile as compiler  # type: ignore[no-redef]
        parser = compiler._parser if hasattr(compiler, "_parser") else compiler.sre_parse  # type: ignore[attr-defined]
        compiler._code, compiler.compile, parser.parse, _sre.compile  # noqa: B018 - all there?
    except (ImportError, AttributeError):
        return None
    return compiler, parser, _sre


def _tag() -> str:
    import hashlib

    import _sre

    ident = f"{sys.implementation.name} {sys.version} {sys.hexversion} {getattr(_sre, 'MAGIC', '')} {sys.byteorder} {array('I').itemsize} {_FORMAT}"
    return hashlib.sha256(ident.encode()).hexdigest()[:20]


def _checksum(payload: str) -> str:
    import hashlib

    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


def _load(path: str) -> dict[tuple[str, int], list]:  # type: ignore[type-arg]
    """The entries of the cache file, or {} when it is missing, foreign, corrupt or malformed."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return {}
    try:
        import stat

        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > _MAX_BYTES or (hasattr(os, "geteuid") and st.st_uid != os.geteuid()):
            return {}
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    except OSError:
        return {}
    finally:
        os.close(fd)
    try:
        digest, _, payload = b"".join(chunks).decode("utf-8", "surrogatepass").partition("\n")
        if digest != _checksum(payload):
            return {}
        entries = json.loads(payload)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return {}
    out = {}
    if not isinstance(entries, list):
        return {}
    for entry in entries:
        if _valid(entry):
            out[(entry[0], entry[1])] = entry
    return out


def _valid(entry: object) -> bool:
    """[pattern, flags, final flags, code, groups, groupindex, indexgroup] with the right types (the
    code as base64 of unsigned 32-bit words, what _sre takes, decoded when the pattern is asked for)."""
    if not (isinstance(entry, list) and len(entry) == 7):
        return False
    pattern, flags, final_flags, code, groups, groupindex, indexgroup = entry
    return (
        isinstance(pattern, str) and type(flags) is int and type(final_flags) is int and type(groups) is int
        and isinstance(code, str)
        and isinstance(groupindex, dict) and all(isinstance(k, str) and type(v) is int for k, v in groupindex.items())
        and isinstance(indexgroup, list) and len(indexgroup) == groups + 1
        and all(g is None or isinstance(g, str) for g in indexgroup)
    )


def _encode(code: list[int]) -> str:
    return base64.b64encode(array("I", code).tobytes()).decode("ascii")


def _decode(text: str) -> list[int]:
    words = array("I")
    words.frombytes(base64.b64decode(text, validate=True))  # a length that is no multiple of 4: ValueError
    return words.tolist()


def install(folder: str | None = None) -> bool:
    """Serve `re`'s compilations from the cache file in ``folder`` (default: the cache folder)
    for the rest of this process, and add what it compiles anew when it exits. False (and `re`
    untouched) when that cannot be done here."""
    if _state or os.environ.get("PROMPTLINT_REGEX_CACHE") == "0":
        return False
    found = _internals()
    if found is None:
        return False
    compiler, parser, sre = found
    from pathlib import Path

    from .fsutil import cache_dir, private_dir

    base = Path(folder) if folder is not None else cache_dir() / f"regex-v{_FORMAT}"
    if private_dir(base, ours=folder is None and not os.environ.get("PROMPTLINT_CACHE_DIR")) is not None:
        return False
    path = str(base / f"{_tag()}.json")
    entries = _load(path)
    used: dict[tuple[str, int], list] = {}  # type: ignore[type-arg]
    added: list[int] = [0]
    hits: list[int] = [0]
    original = compiler.compile
    debug = getattr(re, "DEBUG", 128)

    def compile(p, flags=0):  # type: ignore[no-untyped-def]
        if not isinstance(p, str) or flags & debug:
            return original(p, flags)
        key = (p, flags)
        entry = entries.get(key)
        if entry is not None:
            try:
                made = sre.compile(p, entry[2], _decode(entry[3]), entry[4], entry[5], tuple(entry[6]))
            except Exception:  # noqa: BLE001 - not code this interpreter takes: compile it anew
                entries.pop(key, None)
            else:
                used[key] = entry
                hits[0] += 1
                return made
        result = original(p, flags)
        if getattr(_transient, "depth", 0):
            return result
        entry = _entry_for(p, flags, result, compiler, parser, sre)
        if entry is not None:
            # No lock: these are single dict stores under the GIL, and a lock held by another thread
            # when the warm server forks a child would stay held in that child for ever.
            entries[key] = used[key] = entry
            added[0] += 1
        return result

    compiler.compile = compile
    _state.update(path=path, entries=entries, used=used, added=added, hits=hits, original=original, compiler=compiler, pid=os.getpid())
    atexit.register(save)
    return True


def _entry_for(p: str, flags: int, result: "re.Pattern[str]", compiler, parser, sre) -> list | None:  # type: ignore[no-untyped-def, type-arg]
    """The cache entry for a pattern ``re`` compiled to ``result``: what re._compiler.compile hands
    to _sre.compile, kept only if _sre.compile makes an equal pattern of it."""
    try:
        parsed = parser.parse(p, flags)
        code = compiler._code(parsed, flags)
        groupindex = dict(parsed.state.groupdict)
        indexgroup: list[str | None] = [None] * parsed.state.groups
        for name, index in groupindex.items():
            indexgroup[index] = name
        entry = [p, flags, flags | parsed.state.flags, _encode(code), parsed.state.groups - 1, groupindex, indexgroup]
        if sre.compile(p, entry[2], _decode(entry[3]), entry[4], groupindex, tuple(indexgroup)) != result:
            return None
    except Exception:  # noqa: BLE001 - internals not as expected: this pattern is not cached
        return None
    return entry


def save() -> None:
    """Write the cache file if this process compiled patterns it did not have (atomically; only in
    the process that installed the cache, not in a forked child)."""
    if not _state or _state.get("pid") != os.getpid() or not _state["added"][0]:  # type: ignore[index]
        return
    entries: dict = _state["entries"]  # type: ignore[assignment, type-arg]
    used: dict = _state["used"]  # type: ignore[assignment, type-arg]
    keep = list(entries.values()) if len(entries) <= _MAX_ENTRIES else list(used.values())
    _state["added"][0] = 0  # type: ignore[index]
    keep.sort(key=lambda e: (e[0], e[1]))  # the same file for the same patterns
    payload = json.dumps(keep, separators=(",", ":"))
    if len(payload) > _MAX_BYTES:
        return
    from pathlib import Path

    from .fsutil import atomic_write

    try:
        atomic_write(Path(_state["path"]), (_checksum(payload) + "\n" + payload).encode("utf-8", "surrogatepass"), mode=0o600)  # type: ignore[arg-type]
    except OSError:
        pass


def uninstall() -> None:
    """Back to `re`'s own compile (tests)."""
    if _state:
        _state["compiler"].compile = _state["original"]  # type: ignore[attr-defined]
        try:
            atexit.unregister(save)
        except Exception:  # noqa: BLE001
            pass
        _state.clear()
