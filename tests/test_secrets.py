"""SEC001: a credential pasted into a prompt is reported without ever being repeated.

The keys here are random strings made up for the tests (never issued). Every front end is checked:
the message, the text snippet, concise, JSON, SARIF and GitHub output, the rewrite, the hook's
answer and the LSP diagnostics show the key masked or not at all.
"""

from __future__ import annotations

import io
import json

import pytest

from promptlint.hook.logic import respond
from promptlint.lsp import to_diagnostics
from promptlint.model import Report, mask_secrets
from promptlint.output import render

# made up for this test; not the rule's documentation example
KEY = "sk-ant-api03-Zr8TqWm2Xv5Lb9Nc4Hd7Jf1Kg6Ps3Qy0Ut8Ve2Wa5Xb7Yc9Zd1Ae4Bf6Cg8Dh0Ei2Fj4Gk6Hl8Im0Jn2Ko4Lp6Mq8Nr0Os2Pt4Qu6Rv8Sw"
SECRET_PROMPT = f"the deploy job fails with 401; use {KEY} in deploy.yml and fix it\n"


def sec(linter, text, path="<prompt>"):
    return [f for f in linter.lint(text, path=path).findings if f.code == "SEC001"]


def test_each_format_is_recognised_and_placeholders_pass(linter):
    assert [f.message.split(" (")[0] for f in sec(linter, SECRET_PROMPT)] == ["an Anthropic API key"]
    for text in ("ANTHROPIC_API_KEY=sk-ant-" + "x" * 40, "OPENAI_API_KEY=sk-proj-" + "a1" * 20, "key: AKIA" + "A" * 16,
                 "password = 'password123'", "password: ${DB_PASSWORD}", "token = ghp_" + "0123456789" * 4):
        assert sec(linter, text) == [], text


def test_a_secret_is_reported_in_every_kind_of_message(linter):
    # a key in a pasted log, a command file or CLAUDE.md leaks the same way
    assert sec(linter, f"```\nAuthorization failed for {KEY}\n```\n")
    assert sec(linter, f"Deploy with {KEY}.\n", path="CLAUDE.md")
    assert sec(linter, f"---\ndescription: deploy\n---\nDeploy with {KEY}.\n", path=".claude/commands/deploy.md")


def test_the_secret_never_appears_in_any_output(linter, tmp_path, monkeypatch):
    monkeypatch.setenv("PROMPTLINT_RUNTIME_DIR", str(tmp_path / "rt"))  # block mode remembers blocks there
    report = linter.lint(SECRET_PROMPT, path="deploy.prompt")
    assert any(f.code == "SEC001" and f.masked for f in report.findings)
    secret_part = KEY[10:40]
    for fmt in ("text", "concise", "json", "sarif", "github"):
        out = io.StringIO()
        render(fmt, Report(files=[report]), linter.catalog, out, color=False)
        assert secret_part not in out.getvalue(), fmt
        assert "SEC001" in out.getvalue(), fmt
    assert report.rewrite is None or (secret_part not in report.rewrite and "$ANTHROPIC_API_KEY" in report.rewrite)
    # block mode holds the prompt back (SEC001 is a warning); sent again, it goes through with context
    first = respond(report, "block", None, [], block_on="warning")
    assert first["stdout"].startswith('{"decision": "block"')
    for answer in (first, respond(report, "block", None, [], block_on="warning"), respond(report, "context", None, []), respond(report, "advise", None, [])):
        assert secret_part not in json.dumps(answer)
    for d in to_diagnostics(report):
        assert secret_part not in d.message and secret_part not in json.dumps(d.data)


def test_masking_keeps_columns_and_lines():
    class F:
        masked, start_offset, end_offset = True, 4, 12
    assert mask_secrets("key abcdefgh\nrest", [F()]) == "key ********\nrest"
    F.end_offset = 16
    assert mask_secrets("key abcdefgh\nrest", [F()]) == "key ********\n***t"


@pytest.mark.parametrize("bits", [0, 1])
def test_unknown_character_class_is_a_catalog_error(tmp_path, bits):
    from promptlint.errors import RuleCatalogError
    from promptlint.rules.catalog import load_rules_from
    from promptlint.rules.kinds import KINDS
    from promptlint.rules.secret_kinds import secret_hits

    folder = tmp_path / "rules"
    folder.mkdir()
    cls = "vowels" if bits else "digits"
    (folder / "TEAM001.toml").write_text(
        'code = "TEAM001"\nname = "team-secret"\nfamily = "TEAM"\nseverity = "warning"\nstatus = "stable"\nkind = "pasted-secret"\n'
        'message = "{what} pasted"\n[check]\n'
        f'formats = [{{name = "a team key", pattern = \'(?P<secret>tk_[a-z0-9]{{20}})\', requires = ["{cls}"]}}]\n'
        '[doc]\nwhat = "x"\nwhy = "x"\nexample = "x"\nuse-instead = "x"\n[examples]\nfail = [\"tk_q8w2e7r4t1y9u3i6o5p0\"]\npass = [\"none\"]\n'
    )
    rule = next(iter(load_rules_from(folder, set(KINDS), builtin=False)))
    if bits:
        with pytest.raises(RuleCatalogError, match="unknown character class"):
            secret_hits(rule, "tk_q8w2e7r4t1y9u3i6o5p0")
    else:
        assert [h.fields["what"] for h in secret_hits(rule, "tk_q8w2e7r4t1y9u3i6o5p0")] == ["a team key"]


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_BASE62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _sec_rule():
    from promptlint.rules.catalog import load_catalog

    return load_catalog()["SEC001"]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_any_text_gives_disjoint_masked_hits_inside_it(text):
    from promptlint.rules.secret_kinds import secret_hits

    hits = secret_hits(_sec_rule(), text)
    for h, nxt in zip(hits, hits[1:]):
        assert h.end <= nxt.start
    assert all(0 <= h.start < h.end <= len(text) and h.masked for h in hits)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=_BASE62, min_size=36, max_size=36).filter(
    lambda s: any(c.isdigit() for c in s) and any(c.isupper() for c in s) and any(c.islower() for c in s)))
def test_a_random_github_token_is_found_and_its_span_is_the_token(body):
    from promptlint.rules.secret_kinds import _sequential_share, secret_hits, shannon_bits

    rule = _sec_rule()
    text = f"push with ghp_{body} please"
    hits = secret_hits(rule, text)
    words = [w.lower() for w in rule.check["placeholder-words"]]
    looks_random = shannon_bits(body) >= 3.5 and _sequential_share(body) <= 0.4 and not any(w in body.lower() for w in words)
    if looks_random and not any(body[i] == body[i + 1] == body[i + 2] == body[i + 3] for i in range(len(body) - 3)):
        assert [text[h.start : h.end] for h in hits] == [f"ghp_{body}"]
