from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
PROMPTS = FIXTURES / "prompts"
REPOS = FIXTURES / "repos"


@pytest.fixture(scope="session")
def linter():
    from promptlint.config import Config
    from promptlint.pipeline import Linter

    return Linter(Config())


@pytest.fixture(scope="session")
def preview_linter():
    from promptlint.config import Config
    from promptlint.pipeline import Linter

    return Linter(Config(preview=True))


def codes(report) -> set[str]:
    return {f.code for f in report.findings}
