"""The rule catalogue ships inside the wheel and is found both installed and from a checkout."""

from __future__ import annotations

from pathlib import Path

from promptlint import resources
from promptlint.resources import load_toml

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_carries_the_rules_folder_inside_the_package():
    pyproject = load_toml(ROOT / "pyproject.toml")
    assert pyproject["project"]["name"] == "haiku-promptlint"
    assert pyproject["project"]["scripts"]["promptlint"] == "promptlint.cli:main"
    assert pyproject["project"]["requires-python"] == ">=3.10"
    force = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert force == {"rules": "promptlint/_rules"}


def test_installed_layout_is_preferred(tmp_path, monkeypatch):
    package = tmp_path / "promptlint"
    (package / "_rules").mkdir(parents=True)
    (package / "_rules" / "lexicon.toml").write_text("")
    monkeypatch.setattr(resources, "__file__", str(package / "resources.py"))
    resources.builtin_rules_dir.cache_clear()
    try:
        assert resources.builtin_rules_dir() == package / "_rules"
    finally:
        resources.builtin_rules_dir.cache_clear()


def test_checkout_layout_is_found():
    assert resources.builtin_rules_dir() in (ROOT / "rules", Path(resources.__file__).resolve().parent / "_rules")
    assert (resources.builtin_rules_dir() / "VAG001.toml").is_file()
