"""The one analysis pipeline every front end calls:

    prompt text -> NLP analysis (text/) -> [repo index] -> findings (rules/) -> [advice, rewrite] -> report

The CLI, the Claude Code hook and the LSP server stay thin and call :class:`Linter` or :func:`lint`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from .config import Config
from .model import FileReport
from .rules.catalog import Rule, load_catalog
from .rules.engine import RuleEngine, select_rules
from .scoring import vagueness
from .text.source import PromptSource


@dataclass
class Linter:
    """A configured linter: catalogue, selected rules and NLP pipeline, loaded once and reused."""

    config: Config = field(default_factory=Config)
    catalog: dict[str, Rule] = field(init=False)
    engine: RuleEngine = field(init=False)

    def __post_init__(self) -> None:
        self.catalog = load_catalog(self.config.rules_dirs)
        self.engine = RuleEngine(select_rules(self.catalog, self.config), self.config)
        self._pipeline = None
        self._lock = threading.Lock()

    @property
    def pipeline(self):  # type: ignore[no-untyped-def]
        # spaCy is imported here, on first use, never at import time.
        if self._pipeline is None:
            from .text.nlp import get_pipeline

            self._pipeline = get_pipeline(self.config.nlp_pipeline)
        return self._pipeline

    def lint(self, text: str, path: str = "<prompt>", repo: Path | None = None) -> FileReport:
        from .text.analysis import analyze

        source = PromptSource(text, path)
        report = FileReport(path=path, text=text)
        report.notes.append(f"nlp: {self.pipeline.describe()}")
        report.notes.append(f"repo: {repo}" if repo is not None else "repo: none (text-only analysis)")
        if source.suppressions.whole_file == set() or not source.prose.strip():
            return report
        with self._lock:  # spaCy's Language object is not meant for concurrent calls
            analysis = analyze(source, self.pipeline)
            report.findings = self.engine.run(analysis)
        report.vagueness = vagueness(analysis, report.findings)
        return report


_default: dict[Config, Linter] = {}


def lint(text: str, *, path: str = "<prompt>", repo: str | Path | None = None, config: Config | None = None) -> FileReport:
    """Lint one prompt. ``repo`` is the repository the prompt is about (None: text only)."""
    config = config or Config()
    linter = _default.get(config)
    if linter is None:
        linter = _default[config] = Linter(config)
    return linter.lint(text, path=path, repo=Path(repo) if repo is not None else None)
