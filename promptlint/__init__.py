"""promptlint: a linter for prompts written for coding agents.

    >>> from promptlint import lint
    >>> report = lint("Fix it.")
    >>> [f.code for f in report.findings]  # doctest: +SKIP

Importing promptlint imports nothing heavy (the Claude Code hook starts on every prompt): spaCy,
the rule catalogue and the configuration load on first use.
"""

from .__about__ import __version__

__all__ = ["__version__", "Config", "FileReport", "Finding", "Linter", "Report", "Severity", "lint"]
_LAZY = {
    "Config": "config", "FileReport": "model", "Finding": "model", "Report": "model", "Severity": "model",
    "Linter": "pipeline", "lint": "pipeline",
}


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(name)
