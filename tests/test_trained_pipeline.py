"""The trained-pipeline path: no trained spaCy model can be downloaded here, so the test trains a tiny
tagger in a few seconds, saves it, and configures promptlint to use it (as a user would with
`nlp-pipeline = "en_core_web_sm"` or a path)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from promptlint.cli import main

SENTENCES = [
    (["Add", "a", "database", "table", "for", "orders", "."], ["VB", "DT", "NN", "NN", "IN", "NNS", "."]),
    (["Fix", "the", "login", "page", "."], ["VB", "DT", "NN", "NN", "."]),
    (["Update", "the", "schema", "."], ["VB", "DT", "NN", "."]),
    (["The", "parser", "hangs", "."], ["DT", "NN", "VBZ", "."]),
    (["Remove", "the", "old", "cache", "."], ["VB", "DT", "JJ", "NN", "."]),
    (["The", "tests", "fail", "."], ["DT", "NNS", "VBP", "."]),
]


@pytest.fixture(scope="module")
def tiny_pipeline(tmp_path_factory):
    import spacy
    from spacy.training import Example

    spacy.util.fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("tagger")
    examples = []
    for words, tags in SENTENCES:
        doc = nlp.make_doc(" ".join(words[:-1]) + words[-1])
        examples.append(Example.from_dict(doc, {"words": [t.text for t in doc], "tags": tags}))
    nlp.initialize(lambda: examples)
    for _ in range(60):
        nlp.update(examples)
    nlp.meta["name"] = "tiny_test"
    path = tmp_path_factory.mktemp("pipelines") / "tiny"
    nlp.to_disk(path)
    return path


def test_a_configured_trained_pipeline_is_used_and_reported(tiny_pipeline, tmp_path):
    from promptlint.text.analysis import analyze
    from promptlint.text.nlp import get_pipeline
    from promptlint.text.source import PromptSource

    pipeline = get_pipeline(str(tiny_pipeline))
    assert pipeline.trained and "trained spaCy pipeline en_tiny_test" in pipeline.describe()
    names = [name for name, _ in pipeline.nlp.pipeline]
    assert names[0] == "sentencizer" and "promptlint_lines" in names and names[-1] == "promptlint_lemma_norm"
    a = analyze(PromptSource("Add a database table for customer orders. The parser hangs."), pipeline)
    assert [t.lemma for t in a.task_verbs] == ["add"]
    assert len(a.sentences) == 2

    # A pipeline loaded from a path is the user's choice (--config or their own config file) ...
    (tmp_path / "mine.toml").write_text(f'nlp-pipeline = "{tiny_pipeline}"\n')
    prompt = tmp_path / "p.prompt"
    prompt.write_text("Add a database table for customer orders\n")
    result = CliRunner().invoke(main, ["check", str(prompt), "--no-repo", "-v", "--no-color", "--fail-on", "info", "--config", str(tmp_path / "mine.toml")])
    assert result.exit_code == 1
    assert "nlp: trained spaCy pipeline en_tiny_test" in result.stdout
    assert "CON004" in result.stdout
    # ... never a repository's: loading a pipeline from a folder the repository ships could run its code.
    (tmp_path / "promptlint.toml").write_text(f'nlp-pipeline = "{tiny_pipeline}"\n')
    result = CliRunner().invoke(main, ["check", str(prompt), "--no-repo", "-v", "--no-color"])
    assert "nlp: spaCy blank('en')" in result.stdout
    assert "ignored nlp-pipeline (a pipeline loaded from a path)" in result.stderr


def test_a_missing_trained_pipeline_is_a_clear_error(tmp_path):
    (tmp_path / "promptlint.toml").write_text('nlp-pipeline = "en_core_web_nonexistent"\n')
    prompt = tmp_path / "p.prompt"
    prompt.write_text("Fix it.\n")
    result = CliRunner().invoke(main, ["check", str(prompt), "--no-repo"])
    assert result.exit_code == 2
    assert "spaCy pipeline 'en_core_web_nonexistent' is not installed" in result.stderr


def test_a_project_cannot_load_a_pipeline_from_its_folder_by_a_bare_name(tiny_pipeline, tmp_path, monkeypatch):
    """`nlp-pipeline = "tiny"` is not a path by its spelling, and spaCy read it as ./tiny: a
    repository shipping tiny/ beside its promptlint.toml loaded it (the path ban was skipped)."""
    import shutil

    project = tmp_path / "checkout"
    shutil.copytree(tiny_pipeline, project / "tiny")
    (project / "promptlint.toml").write_text('nlp-pipeline = "tiny"\n')
    (project / "p.prompt").write_text("Add a database table for customer orders\n")
    monkeypatch.chdir(project)
    result = CliRunner().invoke(main, ["check", "p.prompt", "--no-repo", "-v", "--no-color"])
    assert "trained spaCy pipeline" not in result.stdout
    assert result.exit_code == 2 and "spaCy pipeline 'tiny' is not installed" in result.stderr, result.output
    # written as a path, by the user's own choice, it loads
    mine = tmp_path / "mine-relative.toml"
    mine.write_text('nlp-pipeline = "./tiny"\n')
    result = CliRunner().invoke(main, ["check", "p.prompt", "--no-repo", "-v", "--no-color", "--config", str(mine)])
    assert "nlp: trained spaCy pipeline en_tiny_test" in result.stdout, result.output

