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
