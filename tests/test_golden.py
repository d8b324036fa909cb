"""One golden file per grammar: a grammar upgrade that silently changes parse trees fails here.

To accept a deliberate change, regenerate with `python tests/test_golden.py` and review the diff.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"
SAMPLES = sorted(p for p in GOLDEN.iterdir() if p.name.lower().startswith("sample."))


def extracted(path: Path) -> dict:
    from promptlint.repo.extract import extract, message_literals
    from promptlint.repo.languages import language_of

    s = extract(path.read_bytes(), language_of(path.name))
    assert s is not None, f"no grammar for {path.name}"
    return {
        "lang": s.lang, "parse_error": s.parse_error, "defs": [list(d) for d in s.defs], "imports": s.imports,
        "routes": [list(r) for r in s.routes], "doc": s.doc, "refs": sorted(s.refs),
        "words": s.words, "word_counts": list(s.word_counts), "messages": message_literals(path.read_bytes()), "generated": s.generated,
    }


def test_every_language_has_a_golden_sample():
    from promptlint.repo.languages import language_of

    assert {language_of(p.name) for p in SAMPLES} == {"python", "typescript", "tsx", "javascript", "rust", "go", "java"}


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.name for p in SAMPLES])
def test_extraction_matches_golden(sample):
    expected = json.loads((GOLDEN / "expected.json").read_text())[sample.name]
    assert extracted(sample) == expected


def test_grammar_versions_are_the_pinned_ones():
    from importlib.metadata import version

    assert version("tree-sitter").startswith("0.26.")
    pinned = {"tree-sitter-python": "0.25.0", "tree-sitter-typescript": "0.23.2", "tree-sitter-javascript": "0.25.0",
              "tree-sitter-rust": "0.24.2", "tree-sitter-go": "0.25.0", "tree-sitter-java": "0.23.5"}
    assert {name: version(name) for name in pinned} == pinned


if __name__ == "__main__":  # regenerate
    sys.path.insert(0, str(GOLDEN.parent.parent))
    data = {p.name: extracted(p) for p in SAMPLES}
    (GOLDEN / "expected.json").write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {len(data)} golden entries")
