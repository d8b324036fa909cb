"""promptlint: a linter for prompts written for coding agents.

    >>> from promptlint import lint
    >>> report = lint("Fix it.")
    >>> [f.code for f in report.findings]  # doctest: +SKIP

Importing promptlint does not import spaCy; the NLP pipeline loads on the first lint.
"""

from .__about__ import __version__
from .config import Config
from .model import FileReport, Finding, Report, Severity

__all__ = ["__version__", "Config", "FileReport", "Finding", "Linter", "Report", "Severity", "lint"]


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    if name in ("lint", "Linter"):
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(name)
