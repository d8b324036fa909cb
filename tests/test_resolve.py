"""Resolving what a prompt mentions to files that exist, and ranking the files it is about."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptlint.resources import load_toml

from .conftest import PROMPTS, REPOS

TS = REPOS / "ts-api"
RUST = REPOS / "rust-crate"


def refs(linter, text, repo=TS):
    return linter.lint(text, repo=repo).references


def test_seed_example_points_at_the_schema(linter):
    report = linter.lint("Add a database table for customer orders", repo=TS)
    missing = [f for f in report.findings if f.code == "REF001"]
    assert len(missing) == 1
    assert "src/db/schema.ts" in missing[0].message and missing[0].suggestion.split("Candidates: ")[1].startswith("src/db/schema.ts")
    assert report.references[0]["path"] == "src/db/schema.ts"
    assert report.references[0]["symbol"] == "users" and report.references[0]["line"] == 4


def test_explicit_path_is_the_top_reference(linter):
    top = refs(linter, "Refactor src/lib/auth.ts to use `timingSafeEqual` everywhere; keep behaviour.")[0]
    assert top["path"] == "src/lib/auth.ts" and top["score"] == 1.0 and "named in the prompt" in top["reason"]


def test_identifier_resolves_to_its_definition(linter):
    top = refs(linter, "Make `verifyToken` reject tokens that expire in the past.")[0]
    assert top["path"] == "src/lib/auth.ts"
    assert top["symbol"] == "verifyToken" and top["line"] == 16
    assert "defines `verifyToken`" in top["reason"]


def test_route_with_router_prefix(linter):
    top = refs(linter, "POST /users/signup returns 500 for a duplicate email; return 409.")[0]
    assert top["path"] == "src/routes/users.ts" and "serves POST /users/signup" in top["reason"]


def test_traceback_frames_from_another_machine(linter):
    text = (
        "Crash:\n```\nTypeError: Cannot read properties of undefined (reading 'id')\n"
        "    at /home/ci/work/shop-api/src/routes/users.ts:19:35\n```\nFix the signup handler."
    )
    assert refs(linter, text)[0]["path"] == "src/routes/users.ts"


def test_rust_module_and_noun_phrase(linter):
    assert refs(linter, "Fix `Transaction::validate` for empty postings.", RUST)[0]["path"] == "src/transaction.rs"
    assert refs(linter, "The ledger error enum needs a variant for duplicate postings.", RUST)[0]["path"] == "src/error.rs"


def test_unknown_path_and_symbol_get_did_you_mean(linter):
    report = linter.lint("Fix the expiry check in src/lib/auht.ts and in `verifyTokn`.", repo=TS)
    unknown = {report.text[f.start_offset : f.end_offset]: f.message for f in report.findings if f.code == "REF002"}
    assert "did you mean: src/lib/auth.ts" in unknown["src/lib/auht.ts"]
    assert "did you mean: verifyToken" in unknown["`verifyTokn`"]


def test_new_files_in_create_tasks_are_not_unknown(linter):
    report = linter.lint("Add tests/orders.test.ts with a case for `createOrder`.", repo=TS)
    assert not [f for f in report.findings if f.code == "REF002"]


def test_no_repo_means_no_references_and_no_ref_findings(linter):
    report = linter.lint("Add a database table for customer orders", repo=None)
    assert report.references == [] and not [f for f in report.findings if f.family == "REF"]


def test_new_endpoint_points_to_sibling_route_and_its_test(linter):
    report = linter.lint("Add an endpoint for refunds.", repo=TS)
    (pattern,) = [f for f in report.findings if f.code == "REF004"]
    assert "src/routes/users.ts" in pattern.suggestion and "tests/users.test.ts" in pattern.suggestion


def test_a_plain_noun_phrase_finds_a_split_identifier(tmp_path, linter):
    root = tmp_path / "svc"
    (root / "app" / "limits").mkdir(parents=True)
    (root / "app" / "limits" / "rate_limiter.py").write_text("class RateLimiter:\n    def allow(self, key):\n        return True\n")
    (root / "app" / "store.py").write_text("class FileStore:\n    pass\n")
    (root / "app" / "views.py").write_text("def index(request):\n    return None\n")
    assert refs(linter, "Make the rate limiter allow bursts of 10 requests.", root)[0]["path"] == "app/limits/rate_limiter.py"
    assert refs(linter, "Let the file store write atomically.", root)[0]["path"] == "app/store.py"


def all_fixture_prompts():
    for labels in ("labels.toml", "heldout/labels.toml"):
        for item in load_toml(PROMPTS / labels)["prompt"]:
            yield (PROMPTS / labels).parent / item["file"], REPOS / item["repo"]


@pytest.mark.parametrize("prompt,repo", list(all_fixture_prompts()), ids=lambda p: Path(p).name)
def test_every_suggested_path_exists(linter, prompt, repo):
    """Never invent a path: references, suggestions and messages name only files of the repo."""
    report = linter.lint(prompt.read_text(), repo=repo)
    files = set(linter.repo_context(repo).index.files)
    for ref in report.references:
        assert ref["path"] in files
    for f in report.findings:
        if f.family != "REF":
            continue
        for text in (f.message, f.suggestion or ""):
            for token in text.replace(",", " ").replace(";", " ").replace("(", " ").split():
                if "/" in token and "." in token.rsplit("/", 1)[-1] and not token.startswith("/"):
                    candidate = token.strip("`'\".:")
                    named_in_prompt = candidate in report.text
                    assert candidate in files or named_in_prompt, (f.code, candidate)


def test_a_repository_that_cannot_be_indexed_degrades_to_text_only(monkeypatch):
    from promptlint.config import Config
    from promptlint.pipeline import Linter

    import promptlint.repo.index as index_mod

    def broken(*args, **kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr(index_mod, "build_index", broken)
    report = Linter(Config()).lint("Fix it.", repo=TS)
    assert "VAG001" in {f.code for f in report.findings}
    assert report.references == []
    assert any("could not be indexed (OSError: disk on fire)" in n for n in report.notes)
