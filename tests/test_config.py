from __future__ import annotations

from pathlib import Path

import pytest

from promptlint.config import Config, discover, find_config_file, load_config_file
from promptlint.errors import ConfigError
from promptlint.model import Severity
from promptlint.pipeline import Linter
from promptlint.rules.catalog import load_catalog
from promptlint.rules.engine import select_rules

CATALOG = load_catalog()


def selected(**kwargs) -> set[str]:
    return {r.code for r in select_rules(CATALOG, Config(**kwargs))}


def test_default_selection_is_every_stable_rule():
    assert selected() == {c for c, r in CATALOG.items() if r.status == "stable"}
    assert "VAG006" not in selected()  # preview


def test_select_prefix_ignore_and_extend():
    assert selected(select=("VAG",)) == {"VAG001", "VAG002", "VAG003", "VAG005"}  # VAG004 and VAG006 are preview
    assert selected(select=("VAG",), ignore=("VAG00",)) == set()
    assert selected(select=("SCO",), extend_select=("CON001",)) == {"SCO001", "SCO002", "CON001"}
    # a more specific select beats a broader ignore
    assert selected(select=("VAG002",), ignore=("VAG",)) == {"VAG002"}
    assert "VAG006" in selected(select=("VAG006",))  # exact code enables a preview rule
    assert "VAG006" in selected(preview=True)
    assert "VAG006" not in selected(select=("VAG",))


def test_selector_matching_nothing_is_an_error():
    with pytest.raises(ConfigError, match="selects no rule: 'XYZ'"):
        select_rules(CATALOG, Config(select=("XYZ",)))


def test_severity_override_by_prefix_and_code():
    linter = Linter(Config(severity=(("VAG", Severity.error), ("VAG005", Severity.info))))
    sev = {f.code: f.severity for f in linter.lint("Fix it.", path="draft.prompt").findings}
    assert sev["VAG001"] is Severity.error and sev["VAG005"] is Severity.info


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_closest_config_wins(tmp_path):
    write(tmp_path / "promptlint.toml", 'select = ["VAG"]\n')
    write(tmp_path / "sub" / ".promptlint.toml", 'select = ["SCO"]\nfail-on = "error"\n')
    cfg = discover(tmp_path / "sub" / "deep" / "x.prompt")
    assert cfg.select == ("SCO",) and cfg.fail_on is Severity.error
    assert discover(tmp_path / "y.prompt").select == ("VAG",)


def test_pyproject_counts_only_with_a_promptlint_table(tmp_path):
    write(tmp_path / "promptlint.toml", 'ignore = ["CON"]\n')
    write(tmp_path / "pkg" / "pyproject.toml", "[project]\nname = 'x'\n")
    assert find_config_file(tmp_path / "pkg" / "a.prompt") == tmp_path / "promptlint.toml"
    write(tmp_path / "pkg" / "pyproject.toml", "[tool.promptlint]\nignore = ['VAG004']\n")
    cfg = discover(tmp_path / "pkg" / "a.prompt")
    assert cfg.ignore == ("VAG004",) and cfg.source == tmp_path / "pkg" / "pyproject.toml"


def test_rules_dir_is_relative_to_the_config_file(tmp_path):
    (tmp_path / "myrules").mkdir()
    write(tmp_path / "promptlint.toml", 'rules-dir = "myrules"\n')
    assert load_config_file(tmp_path / "promptlint.toml").rules_dirs == ((tmp_path / "myrules").resolve(),)


def test_isolated_ignores_files(tmp_path):
    write(tmp_path / "promptlint.toml", 'select = ["VAG"]\n')
    assert discover(tmp_path / "a.prompt", isolated=True) == Config()


@pytest.mark.parametrize(
    "text,message",
    [
        ('selct = ["VAG"]\n', "unknown key 'selct'"),
        ('select = "VAG001 VAG002"\n', "invalid rule selector"),
        ("select = [1]\n", "'select' must be a list"),
        ('fail-on = "fatal"\n', "'fail-on': unknown severity"),
        ('severity = { VAG001 = "loud" }\n', "'severity.VAG001'"),
        ('rules-dir = "nowhere"\n', "'rules-dir'"),
        ('preview = "yes"\n', "'preview' must be true or false"),
        ('max-size = "huge"\n', "'max-size'"),
        ("select = [\n", "invalid TOML"),
    ],
)
def test_invalid_config_names_the_key(tmp_path, text, message):
    path = write(tmp_path / "promptlint.toml", text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config_file(path)
    assert str(path) in str(info.value)


def test_max_size_accepts_units(tmp_path):
    path = write(tmp_path / "promptlint.toml", 'max-size = "2MB"\n')
    assert load_config_file(path).max_size == 2_000_000
