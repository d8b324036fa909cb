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


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Never touch the user's real cache: every index the tests build goes to a temporary folder."""
    import os

    folder = tmp_path_factory.mktemp("promptlint-cache")
    old = os.environ.get("PROMPTLINT_CACHE_DIR")
    os.environ["PROMPTLINT_CACHE_DIR"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("PROMPTLINT_CACHE_DIR", None)
    else:
        os.environ["PROMPTLINT_CACHE_DIR"] = old
