"""The rule catalogue ships inside the wheel and is found both installed and from a checkout."""

from __future__ import annotations

from pathlib import Path

from promptlint import resources
from promptlint.resources import load_toml

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_carries_the_rules_folder_inside_the_package():
    pyproject = load_toml(ROOT / "pyproject.toml")
    assert pyproject["project"]["name"] == "haiku-promptlint"
    assert pyproject["project"]["scripts"]["promptlint"] == "promptlint._entry:main"
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


def test_readme_rule_table_matches_the_catalogue():
    import re

    from promptlint.rules.catalog import load_catalog

    readme = (ROOT / "README.md").read_text()
    rows = {m.group(1): m.groups()[1:] for m in re.finditer(r"^\| ([A-Z]{3}\d{3}) \| ([a-z-]+) \| ([A-Z]+) \| (\w+) \| (\w+) \|$", readme, re.M)}
    catalog = load_catalog()
    assert set(rows) == set(catalog)
    for code, rule in catalog.items():
        assert rows[code] == (rule.name, rule.family, rule.severity.name, rule.status), code


def test_readme_quickstart_has_exactly_two_commands():
    readme = (ROOT / "README.md").read_text()
    quickstart = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = quickstart.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line.strip()]
    assert len(commands) == 2
    assert "promptlint check fixtures/prompts/" in commands[0] and "--repo fixtures/repos/" in commands[0]
    assert commands[1] == "pip install -e '.[test]' && pytest"
    assert commands[1] in (ROOT / ".ci" / "run").read_text()
