"""Where the data files live: the rule catalogue and lexicons in the top-level `rules/` folder.

An installed wheel carries that folder as `promptlint/_rules`; a source checkout (editable
install, tests) reads `rules/` next to the package.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

TOMLDecodeError = tomllib.TOMLDecodeError


def load_toml(path: Path) -> dict[str, Any]:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def loads_toml(text: str) -> dict[str, Any]:
    return tomllib.loads(text)


def read_untrusted_toml(path: Path, limit: int, where: str, error: type[Exception], missing: str,
                        root: Path | None = None) -> dict[str, Any]:
    """A TOML file that may come from a repository: only a regular file of at most ``limit`` bytes
    (inside ``root`` when given), UTF-8, parsed; every problem is one ``error`` naming ``where`` (a FIFO
    or /dev/zero under a config file's name must not hang or exhaust a run)."""
    from .fsutil import UnsafeRead, read_regular

    try:
        raw = read_regular(path, limit, root=root)
    except FileNotFoundError:
        raise error(missing) from None
    except UnsafeRead as exc:
        raise error(f"{where}: not read: {exc}") from None
    except OSError as exc:
        raise error(f"{where}: cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{where}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})") from None
    try:
        return tomllib.loads(text)
    except TOMLDecodeError as exc:
        raise error(f"{where}: invalid TOML: {exc}") from None
    except RecursionError:
        raise error(f"{where}: invalid TOML: nested too deeply") from None


@functools.lru_cache(maxsize=1)
def builtin_rules_dir() -> Path:
    package = Path(__file__).resolve().parent
    for candidate in (package / "_rules", package.parent / "rules"):
        if (candidate / "lexicon.toml").is_file():
            return candidate
    raise FileNotFoundError("promptlint's rule catalogue is missing (expected promptlint/_rules or rules/)")


@functools.lru_cache(maxsize=1)
def lexicon() -> dict[str, Any]:
    """Word lists shared by the analysis and the rules (task verbs, code nouns, request frames)."""
    return load_toml(builtin_rules_dir() / "lexicon.toml")
