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


@pytest.fixture(scope="module")
def chat_repo(tmp_path_factory):
    """A small repository with what real chat prompts name: a build folder the index skips, a config
    named with an @ mention, attribute access, and a vendored, minified and metadata file."""
    root = tmp_path_factory.mktemp("chat") / "app"
    (root / "src" / "sheet").mkdir(parents=True)
    (root / "dist" / "assets").mkdir(parents=True)
    (root / "dist" / "assets" / "index.js").write_text("console.log(1)\n")
    (root / "src" / "sheet" / "cell.py").write_text(
        "class Cell:\n    def __init__(self, value):\n        self._value = value\n\n    def get(self):\n        return self._value\n"
    )
    (root / "src" / "sheet" / "formula.py").write_text("from .cell import Cell\n\n\ndef evaluate(cell):\n    return cell.get()\n")
    (root / "release-config.yml").write_text("channels: [stable]\n")
    (root / "static" / "lib").mkdir(parents=True)
    (root / "static" / "lib" / "sheetviewer.js").write_text("function sheet(){return 1}\n")
    (root / "static" / "viewer.js").write_text("var sheet=" + "[" + ",".join(str(i) for i in range(3000)) + "];" * 3 + "\n")
    (root / "scenes").mkdir()
    (root / "scenes" / "Sheet.cs.uid").write_text("uid://sheet\n")
    return root


def unknown(report):
    return {report.text[f.start_offset : f.end_offset]: f.message for f in report.findings if f.code == "REF002"}


def test_ref002_folders_on_disk_and_attribute_access_exist(linter, chat_repo):
    report = linter.lint("Scan all files under dist/ and check how self._value is set in cell.py.", repo=chat_repo)
    assert unknown(report) == {}
    missing = linter.lint("Scan all files under build/ and fix `self._valeu` in cell.py.", repo=chat_repo)
    found = unknown(missing)
    assert "no such folder" in found["build/"]
    assert "did you mean: _value" in found["`self._valeu`"]


def test_ref002_at_mentions_lose_the_at(linter, chat_repo):
    assert unknown(linter.lint("Add the beta channel to @release-config.yml.", repo=chat_repo)) == {}
    found = unknown(linter.lint("Update @release-conf.yml with the beta channel.", repo=chat_repo))
    (message,) = found.values()
    assert '"release-conf.yml"' in message and "did you mean: release-config.yml" in message


def test_ref002_product_names_and_urls_are_not_paths(linter, chat_repo):
    text = "Rewrite the formula view using Chart.js CDN and Font Awesome, like github.com/acme/sheets does; see Node.js docs."
    assert unknown(linter.lint(text, repo=chat_repo)) == {}


def test_ref002_files_listed_under_a_creation_lead_in_are_new(linter, chat_repo):
    created = "Set up the storage layer.\n\n## Output files\n- `src/store/db.py`\n- `src/store/games.py`\n"
    assert unknown(linter.lint(created, repo=chat_repo)) == {}
    layout = "Make a project layout. It should have a:\n\n-a src/ folder which has:\n\t-loader.py\n\t-trainer.py\n"
    assert unknown(linter.lint(layout, repo=chat_repo)) == {}
    # The same list introduced as files to read is a stale reference: still reported.
    stale = "Read these before you change anything:\n- `src/sheet/cells.py`\n- `src/sheet/formula.py`\n"
    assert list(unknown(linter.lint(stale, repo=chat_repo))) == ["`src/sheet/cells.py`"]


def test_ref002_new_files_named_again_placeholders_and_relative_folders(linter, chat_repo):
    text = ("Write the store.\n\n## Output files\n- `src/store/db.py`\n\n## `src/store/db.py`\nDefine the tables.\n\n"
            "Follow the other <Action>Cell.py files; the code goes in `src/...`. Extras: PyObjC/AppKit/Quartz runtime.\n"
            "`src/` holds:\n- `sheet/`: the cells\n")
    assert unknown(linter.lint(text, repo=chat_repo)) == {}
    stale = "Fix the bug in `src/store/db.py` and in `cells/`, then PyObjC/AppKit/Quartz/cell.py."
    assert set(unknown(linter.lint(stale, repo=chat_repo))) == {"`src/store/db.py`", "`cells/`", "PyObjC/AppKit/Quartz/cell.py"}


def test_ref002_scratch_files_and_console_urls_are_not_repository_paths(linter, tmp_path):
    root = tmp_path / "web"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "sheet-issue.md").write_text("# issues\n")
    (root / "src" / "lib").mkdir(parents=True)
    (root / "src" / "lib" / "chart.ts").write_text("export function chart() { return 1 }\n")
    text = ("Any issue you find add them to a /tmp/sheet-issues.md , please. Getting this:\n"
            ":3003/api/chart:1  Failed to load resource: the server responded with a status of 500\n")
    assert unknown(linter.lint(text, repo=root)) == {}
    found = unknown(linter.lint("Read docs/sheet-issues.md first. Then fix the bug in src/lib/charts.ts.", repo=root))
    assert set(found) == {"docs/sheet-issues.md", "src/lib/charts.ts"}


def test_ref002_git_branch_names_are_not_paths(linter, chat_repo):
    text = "Push all changes to the `feature/add-cells` branch.\nBranch name: `fix/formula-eval`\nThen update src/sheet/formula.py."
    assert unknown(linter.lint(text, repo=chat_repo)) == {}
    stale = "Push all changes, then update `feature/add-cells` in src/sheet/formula.py."
    assert "`feature/add-cells`" in unknown(linter.lint(stale, repo=chat_repo))


def test_ref002_tools_and_the_prompts_own_sections_are_not_symbols(linter, tmp_path):
    root = tmp_path / "paint"
    (root / "src").mkdir(parents=True)
    (root / "src" / "color.py").write_text("def rgb(r, g, b):\n    return (r, g, b)\n\n\ndef seed(n):\n    return n\n\n\ndef report_port():\n    return 1\n")
    (root / "src" / "tests.py").write_text("def test(x):\n    return rgb(x, x, x)\n")
    text = "# Prime\n\nUse `rg`, targeted `sed` and `pytest` to read src/color.py, then do the `seeds` steps.\n\n## seeds\nsummarize\n"
    assert unknown(linter.lint(text, repo=root)) == {}
    # The same names used as the repository's code are near-misses, still reported.
    found = unknown(linter.lint("Make `rgbb` and `seeds` in src/color.py return lists.", repo=root))
    assert set(found) == {"`rgbb`", "`seeds`"}


def test_junk_never_ranks_as_most_likely(linter, chat_repo):
    """Vendored, minified and engine metadata files match the prompt's words but are never offered."""
    refs = [r["path"] for r in linter.lint("Make the sheet viewer evaluate formulas faster.", repo=chat_repo).references]
    assert refs and refs[0] == "src/sheet/formula.py"
    assert not {"static/lib/sheetviewer.js", "static/viewer.js", "scenes/Sheet.cs.uid"} & set(refs)
    named = linter.lint("Fix the sheet function in static/lib/sheetviewer.js.", repo=chat_repo).references
    assert named[0]["path"] == "static/lib/sheetviewer.js"  # named outright, it is what the prompt is about


def test_new_file_task_points_at_a_pattern_never_at_a_target(linter):
    report = linter.lint("Create a rate limiter middleware for the API.", repo=TS)
    assert "REF001" not in {f.code for f in report.findings}
    (pattern,) = [f for f in report.findings if f.code == "REF004"]
    assert "src/middleware/requireAuth.ts" in pattern.suggestion
    for ref in report.references:
        assert ref["reason"].startswith(("closest existing pattern", "related code, not the file to change", "to wire the new rate limiter middleware into, not to replace"))
    assert "is new: create it in a new file in src/middleware/, following the pattern of src/middleware/requireAuth.ts" in report.rewrite
    assert "Use the existing code in" not in report.rewrite and "is in scope" not in report.rewrite


def test_new_file_task_without_a_pattern_says_so(linter):
    report = linter.lint("Create a cron job that properly emails a weekly report.", repo=TS)
    assert not {"REF001", "REF004"} & {f.code for f in report.findings}
    assert "nothing like it exists in the repository yet" in (report.rewrite or "")


def test_ref001_stays_silent_when_its_suggestions_are_weak(linter):
    for text in ("Update the docs as needed.", "Refactor the entire codebase to use async/await.", "The app is slow, fix it"):
        assert "REF001" not in {f.code for f in linter.lint(text, repo=TS).findings}, text


def test_traceback_frame_deepest_in_repo_ranks_first(linter, chat_repo):
    text = (
        "```\nTraceback (most recent call last):\n  File \"/home/u/app/src/sheet/formula.py\", line 5, in evaluate\n"
        "    return cell.get()\n  File \"/home/u/app/src/sheet/cell.py\", line 6, in get\n    return self._value\n"
        "AttributeError: 'Cell' object has no attribute '_value'\n```\nwhy?"
    )
    refs = linter.lint(text, repo=chat_repo).references
    assert [r["path"] for r in refs[:2]] == ["src/sheet/cell.py", "src/sheet/formula.py"]
    assert refs[0]["line"] == 6


def test_did_you_mean_is_prefiltered_and_exact(linter):
    resolver = linter.repo_context(TS).resolver
    assert resolver.search.close_names("verifyTokn") == ["verifyToken"]
    assert resolver.search.close_names("completelyUnrelatedName") == []
    assert resolver.resolve_path("src/lib/auht.ts") == ([], ["src/lib/auth.ts"])


def test_ref002_spares_examples_placeholders_and_word_lists(linter, chat_repo):
    texts = [
        "Should files be named post_likes (e.g. post_likes.controller.ts, post_lies.module.ts) or postLikes?",
        r"I will define the jobs at src\cron\name.service.ts; where should the logic go?",
        "Use the usual module/controller/service split, and validate email/password/name on signup.",
    ]
    for text in texts:
        assert unknown(linter.lint(text, repo=chat_repo)) == {}, text
    assert unknown(linter.lint("Move the parser into src/sheet/parsr.py.", repo=chat_repo)) == {}  # a move creates it
    assert list(unknown(linter.lint("Fix the rounding in src/sheet/formulas.py.", repo=chat_repo)).values()) == [
        '"src/sheet/formulas.py": no such file in this repository (did you mean: src/sheet/formula.py)'
    ]


def test_ref002_a_name_with_no_near_miss_reports_at_info_and_your_severity_wins(linter, chat_repo):
    from promptlint.config import Config
    from promptlint.model import Severity
    from promptlint.pipeline import Linter

    text = "Fix `self._valeu` in cell.py and src/sheet/cells.py, then scan build/ and out/web/ for stale bundles."
    report = linter.lint(text, repo=chat_repo)
    levels = {report.text[f.start_offset : f.end_offset]: f.severity for f in report.findings if f.code == "REF002"}
    # A near miss (did you mean: _value), or a file named into a real folder, keeps the rule's severity;
    # a path nothing resembles under a folder the repository does not have is info.
    assert levels["`self._valeu`"] == levels["src/sheet/cells.py"] == levels["build/"] == Severity.error
    assert levels["out/web/"] == Severity.info
    mine = Linter(Config(severity=(("REF002", Severity.warning),)))
    report = mine.lint(text, repo=chat_repo)
    assert {f.severity for f in report.findings if f.code == "REF002"} == {Severity.warning}
