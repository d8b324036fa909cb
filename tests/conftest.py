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
    # ... and never read the developer's own user config (~/.config/promptlint/promptlint.toml).
    # ... nor the developer's HTTP hook secret and port (~/.local/state/promptlint).
    isolated = {"PROMPTLINT_CACHE_DIR": str(folder), "PROMPTLINT_USER_CONFIG": str(folder / "no-user-config.toml"),
                "PROMPTLINT_STATE_DIR": str(folder / "state")}
    old = {key: os.environ.get(key) for key in isolated}
    os.environ.update(isolated)
    yield folder
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
