"""The NLP analysis: sentences, task verbs, code spans, noun phrases, pronouns, subtasks, questions."""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from promptlint.text.analysis import analyze
from promptlint.text.nlp import get_pipeline
from promptlint.text.source import PromptSource


def run(text):
    return analyze(PromptSource(text), get_pipeline("blank"))


def verbs(text):
    return [(t.lemma, t.kind, t.form) for t in run(text).task_verbs]


def test_imperatives_and_requests():
    assert verbs("Add a users table.") == [("add", "create", "imperative")]
    assert verbs("Can you please fix the login page?") == [("fix", "fix", "request")]
    assert verbs("I need you to refactor `auth.py`.") == [("refactor", "change", "request")]
    assert verbs("Let's remove the old cache.") == [("remove", "remove", "request")]
    assert verbs("hey can you look into the build") == [("look", "investigate", "request")]


def test_hedged_and_polite_frames_are_requests():
    # Chat style puts a hedge or a courtesy before the verb; what follows is still the request, and a
    # question mark at the end does not make the message a question.
    assert verbs("turns out we need to rewrite this in go") == [("rewrite", "change", "request")]
    assert verbs("i think we should refactor the auth module") == [("refactor", "change", "request")]
    assert run("Turns out we need to rewrite this project in python -- Would you be so kind and do this for me?").message_kind == "change-request"
    # A hedge about a fact asks for nothing.
    assert verbs("i think the build is fine") == []


def test_capitalised_and_inflected_forms():
    # "Adds" and "Fixed" are descriptions, not commands; "Fix" at the start is one.
    assert verbs("Fixed the bug yesterday. Adds a table.") == []
    assert verbs("FIX the bug.") == [("fix", "fix", "imperative")]


def test_coordinated_and_comma_commands():
    assert [v[0] for v in verbs("Add a route and update the docs, then write tests.")] == ["add", "update", "write"]
    assert [v[0] for v in verbs("The app is slow, fix it")] == ["fix"]


def test_list_items_are_sentences_and_subtasks():
    a = run("Todo:\n- add a wishlist table\n- fix the signup test\n- remove the products route\n")
    assert [s.list_item for s in a.sentences] == [False, True, True, True]
    assert len(a.subtasks) == 3


def test_hard_wrapped_prose_stays_one_sentence():
    a = run("Please update the handler so that it\nreturns 404 for unknown ids.")
    assert len(a.sentences) == 1


def test_questions_versus_instructions():
    a = run("Why does the parser hang on empty input?")
    assert a.is_question_only and a.task_verbs == []
    b = run("Could you add a retry to `fetch_user`?")
    assert not b.is_question_only and b.sentences[0].is_question


def test_noun_phrases_naming_code_things():
    a = run("Add a database table for customer orders and fix the login endpoint.")
    assert [n.text for n in a.noun_phrases] == ["a database table", "customer orders", "the login endpoint"]
    assert [n.head for n in a.noun_phrases] == ["table", "order", "endpoint"]


def test_code_spans_become_single_tokens():
    a = run("Update src/db/schema.ts and `users.email`.")
    texts = [t.text for t in a.doc]
    assert "src/db/schema.ts" in texts and "`users.email`" in texts
    assert len(a.code_token_ids) == 2


def standalone(text, previous_turn=""):
    return analyze(PromptSource(text), get_pipeline("blank"), previous_turn)


def test_pronouns_without_antecedent():
    a = standalone("Fix it.")
    assert [a.text[s:e] for s, e in a.unresolved_pronouns] == ["it"]
    assert standalone("The login page crashes on submit. Fix it.").unresolved_pronouns == []
    assert standalone("Update `foo()` and make it async.").unresolved_pronouns == []
    # "this function" is a determiner, not a pronoun
    assert standalone("Fix this function.").unresolved_pronouns == []
    b = standalone("This is broken, can you fix it?")
    assert [b.text[s:e] for s, e in b.unresolved_pronouns] == ["This", "it"]
    # with no previous turn known, a prompt is read on its own
    assert run("Fix it.").unresolved_pronouns != []


def test_pronouns_that_are_not_references():
    assert standalone("Make it so that the sidebar remembers its state.").unresolved_pronouns == []
    assert standalone("This is a NestJS project. Add a health route.").unresolved_pronouns == []
    assert standalone('Review this "@https://github.com/acme/app/issues/9" issue.').unresolved_pronouns == []
    assert standalone("It's possible that the cache is stale; clear the `users` cache on logout.").unresolved_pronouns == []


def test_previous_turn_resolves_pronouns():
    previous = "I moved the retry logic into `src/net/retry.ts` and added a backoff of 200 ms."
    assert standalone("it needs to stop after five attempts", previous).unresolved_pronouns == []
    assert standalone("it needs to stop after five attempts", "").unresolved_pronouns != []
    # unknown previous turn: a message that says it continues a conversation gets the benefit of the doubt
    a = run("ok, it needs to stop after five attempts")
    assert a.follow_up and a.unresolved_pronouns == []
    assert run("it needs to stop after five attempts").unresolved_pronouns != []


def test_follow_up_cues():
    assert run("ok great, now add a dark mode toggle to the settings page").follow_up
    assert run("also fix the footer links").follow_up
    assert run("That didn't work, same error as before").follow_up
    assert run("the layout is still broken on mobile").follow_up
    assert not run("Add a dark mode toggle to the settings page.").follow_up
    assert not run("Fix the crash in `parse_date` when the input is empty.").follow_up


def kind(text, path="<prompt>"):
    return analyze(PromptSource(text, path), get_pipeline("blank")).message_kind


def test_message_kinds():
    assert kind("Add pagination to GET /orders.") == "change-request"
    assert kind("can you make the box-shadow look more modern") == "change-request"
    assert kind("i want a popup window to appear when i press space") == "change-request"
    assert kind("the card needs a background colour") == "change-request"
    assert kind("give me the commit title for these changes") == "non-code-request"
    assert kind("write a README for this script") == "non-code-request"
    assert kind("commit all changes and push to origin") == "non-code-request"
    assert kind("Review docs/TECH_SPEC.md for drift from the PRD.") == "non-code-request"
    assert kind("How can I calculate the speed in km/h from what I have?") == "question"
    assert kind("Why does the parser hang on empty input?") == "question"
    assert kind("field of view is too narrow") == "problem-report"
    assert kind("Getting this:\n\nTypeError: def.split is not a function\n    at lint (cli.js:12:3)") == "log"
    assert kind("continue on the next task") == "follow-up"
    assert kind("I added some feedback in spec_feedback.md") == "statement"
    assert kind("---\ndescription: Commit and push\n---\nCommit the staged changes.") == "command-file"
    assert kind("Fix the bug", ".claude/commands/fix.md") == "command-file"
    assert kind("Fix this bug: ${input:bug}") == "command-file"
    assert kind("# Rules\n- Use pnpm.", "AGENTS.md") == "instructions-file"
    assert kind("# CLAUDE.md\n\nThis file provides guidance to Claude Code.") == "instructions-file"


def test_noun_or_verb_by_the_shape_of_the_sentence():
    assert verbs("ok, change in plan ?") == []
    assert verbs("### 3. Fix") == []
    assert verbs("3. **Fix**: Make the minimal change needed.") == [("make", "create", "imperative")]
    assert verbs("Build fails on CI.") == []
    assert [v[0] for v in verbs("do not modify any text, only add headings")] == ["add"]


def test_verb_classes_beyond_the_word_list():
    assert verbs("alter the auth guard so it checks the key") == [("alter", "change", "imperative")]
    assert verbs("sync the settings with the server") == [("sync", "create", "imperative")]
    assert verbs("construct a parser for the config format") == [("construct", "create", "imperative")]
    # derived verbs keep their base's class: "re" + verb, -ize/-ify
    assert verbs("rewire the router to the new handlers")[0][:2] == ("rewire", "create")
    assert verbs("modularize the billing code")[0][:2] == ("modularize", "change")
    # chat style: no capitals, no punctuation, "can u", run-ons
    assert verbs("can u add a retry to the fetch")[0][:2] == ("add", "create")
    assert [v[0] for v in verbs("read the backend code update the all validations")] == ["read", "update"]
    assert verbs("for the box-shadow here can you make it look more modern")[0][:2] == ("make", "create")


def test_task_objects_are_classified():
    def classes(text):
        return [t.object_class for t in run(text).task_verbs]

    assert classes("update README.md with the new flag") == ["docs"]
    assert classes("add the logs directory to the .gitignore file") == ["config"]
    assert classes("make the submit button blue") == ["ui"]
    assert classes("use the context7 MCP server") == ["tool"]
    assert classes("give me the commit title") == ["answer"]
    assert classes("add retries to `fetch_user`") == ["code"]


def test_trained_pipeline_is_optional_and_reported():
    import pytest
    import spacy.util

    if not spacy.util.is_package("en_core_web_sm"):
        pytest.skip("en_core_web_sm is not installed (no trained pipeline can be downloaded here)")
    pipeline = get_pipeline("en_core_web_sm")
    assert pipeline.trained and "trained spaCy pipeline" in pipeline.describe()
    a = analyze(PromptSource("Add a database table for customer orders."), pipeline)
    assert [t.lemma for t in a.task_verbs] == ["add"]
    assert any(n.head == "table" for n in a.noun_phrases)


def test_blank_pipeline_is_the_default():
    pipeline = get_pipeline()
    assert not pipeline.trained and "blank" in pipeline.describe()
    # lemmas straight from the lookup table: no lemmatizer component, no nlp.initialize() (issue 13)
    assert [name for name, _ in pipeline.nlp.pipeline] == ["sentencizer", "promptlint_lines", "promptlint_lemma_norm"]
    from promptlint.text.nlp import run

    assert [t.lemma_ for t in run(pipeline, "Fixes the failing tests and added Files")] == ["fix", "the", "fail", "test", "and", "add", "file"]


def test_the_pipeline_loads_without_spacys_command_line():
    import subprocess
    import sys

    code = ("import sys; from promptlint.text.nlp import get_pipeline; get_pipeline(); "
            "print(sorted(m for m in ('spacy.cli', 'typer', 'httpx', 'jinja2', 'weasel') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"


prompt_like = st.lists(
    st.one_of(
        st.sampled_from(["Fix", "it", "add", "the", "table", "etc.", "if possible", "`x.py`", "src/a.ts", "\n", "- ", "1. ", "?", ",", "and", "everything", "This", "<!--", "-->", "```", "Traceback (most recent call last):\n"]),
        st.text(max_size=8),
    ),
    max_size=40,
).map(" ".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prompt_like)
def test_arbitrary_text_never_crashes_and_spans_lie_inside(text):
    from promptlint.pipeline import lint

    report = lint(text)
    for f in report.findings:
        assert 0 <= f.start_offset <= f.end_offset <= len(text)
        assert f.start.line >= 1 and f.start.column >= 1
        assert (f.start.line, f.start.column) <= (f.end.line, f.end.column)
    assert 0.0 <= report.vagueness <= 1.0


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_findings_are_deterministic(text):
    from promptlint.pipeline import lint

    first = [f.to_json() for f in lint(text).findings]
    second = [f.to_json() for f in lint(text).findings]
    assert first == second


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300), st.one_of(st.none(), st.text(max_size=80)))
def test_message_kind_is_always_one_of_the_documented_kinds(text, previous):
    from promptlint.text.analysis import MESSAGE_KINDS

    a = analyze(PromptSource(text), get_pipeline("blank"), previous)
    assert a.message_kind in MESSAGE_KINDS
    assert all(t.object_class in ("code", "ui", "config", "docs", "git", "tool", "answer", "none") for t in a.task_verbs)
    again = analyze(PromptSource(text), get_pipeline("blank"), previous)
    assert (again.message_kind, again.follow_up, again.unresolved_pronouns) == (a.message_kind, a.follow_up, a.unresolved_pronouns)


def test_linter_resolves_pronouns_against_the_previous_turn():
    from promptlint.config import Config
    from promptlint.pipeline import Linter

    linter = Linter(Config())
    previous = "I added the pressure plate as a building in `Defs/Buildings_Power.xml`."
    assert "VAG005" not in {f.code for f in linter.lint("it needs to go under the floor tiles", previous_turn=previous).findings}
    assert "VAG005" in {f.code for f in linter.lint("it needs to go under the floor tiles", previous_turn="").findings}


# Markup before the command: the same sentence must read the same with or without its decoration.
_BARE = ["Refactor the entire codebase.", "Fix it.", "can you make the header look more modern"]
_DECORATIONS = [
    lambda s: f"**{s}**",
    lambda s: f"__{s}__",
    lambda s: f"> {s}",
    lambda s: f"> **{s}**",
    lambda s: f"\U0001F680 {s}",
    lambda s: f"\U0001F680{s}",
    lambda s: f"\u2705 {s}",
    lambda s: f"\ufffd{s}",
    lambda s: f"\ufffd\ufffd {s}",
]


def test_markup_before_the_command_keeps_its_verbs():
    for bare in _BARE:
        expected = verbs(bare)
        assert expected, bare
        for decorate in _DECORATIONS:
            assert verbs(decorate(bare)) == expected, decorate(bare)


def test_markup_before_the_command_keeps_its_findings(linter):
    # should fail: every decoration of a prompt with findings gets the same findings
    for bare in _BARE:
        expected = {f.code for f in linter.lint(bare, path="draft.prompt").findings}
        assert expected, bare
        for decorate in _DECORATIONS:
            text = decorate(bare)
            assert {f.code for f in linter.lint(text, path="draft.prompt").findings} == expected, text


def test_markup_that_labels_is_still_not_a_command(linter):
    # should pass: a bold label or a bold heading asks for nothing
    assert verbs("**Fix**: the cache is stale") == []
    assert verbs("Steps\n1. **Fix**\n2. **Test**\n") == []
    assert verbs("**Update Notes**\nThe release went out on Monday.") == []
    # ... while a stressed verb in a sentence is a command
    assert verbs("**Fix** the stale cache in `cache.py`.") == [("fix", "fix", "imperative")]


@given(st.sampled_from(_BARE), st.text(alphabet=st.sampled_from("*_>~\U0001F680\u2728\u2705\ufffd\u2192 "), max_size=6))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_decoration_before_the_command_keeps_its_verbs(bare, prefix):
    # "**" and "__" pairs can open emphasis that hides the command in a heading; a prefix alone cannot
    text = prefix.replace("\n", " ") + " " + bare
    # Four leading spaces are not a decoration: they make the line an indented code block (Markdown).
    assume(len(text) - len(text.lstrip(" ")) < 4)
    expected = verbs(bare)
    assert verbs(text) == expected


def test_agent_written_text_needs_a_turn_users_do_not_write():
    agent = (
        "Looking at the `net_position.py` file and the error message, the issue seems to be related to how pandas "
        "is handling the DataFrame. Let me check the process_cells method first. I'll update the `NetPosition` "
        "class to handle this case and then verify the output with the tests you shared."
    )
    assert run(agent).message_kind == "agent-text"
    # users say "I noticed that ..." and "I can see ..." too: a typed request stays a request
    user = (
        "I noticed that the login page breaks on mobile when the keyboard opens. I can see the layout jumping in "
        "the screenshot and the footer overlaps the form on every device we tested so far. Looking at the CSS I "
        "think it is the fixed footer. Fix it and make it look better, the whole thing needs to be cleaner."
    )
    assert run(user).message_kind == "change-request"


def test_a_turn_the_harness_wrote_is_agent_text_not_a_request():
    # Claude Code relays a background task's report as a user turn; its "Fix" and "clean" are the agent's
    notification = (
        "<task-notification>\n<task-id>b1</task-id>\n<status>completed</status>\n"
        "<summary>Agent \"tidy the parser\" finished</summary>\n"
        "<result>Done. Fixed the lexer and the grep is clean. Fix the docs next if you want.</result>\n"
        "</task-notification>"
    )
    assert kind(notification) == "agent-text"
    caveat = (
        "Caveat: The messages below were generated by the user while running local commands. DO NOT respond.\n"
        "<local-command-stdout>Fix applied, clean</local-command-stdout>"
    )
    assert kind(caveat) == "agent-text"
    # what the user typed around such a block is still the user's request
    assert kind(notification + "\n\nAdd a retry to the fetch in src/api.ts.") == "change-request"


# Our own build and deploy logs, in the shapes real ones take: a build service's clock before every
# line, npm's script header, status glyphs and spinners, a CLI question with its answer, a shell prompt.
_BUILD_LOG = (
    "14:02:11.120 Cloning github.com/acme/shop (Branch: main, Commit: 1a2b3c4)\n"
    "14:02:12.004 Installing dependencies...\n"
    "14:02:15.310 \n"
    "14:02:15.311 added 412 packages in 3s\n"
    "14:02:15.400 > shop@1.0.0 build\n"
    "14:02:15.400 > vite build\n"
    "14:02:16.002    Transforming modules ...\n"
    "14:02:19.870 src/cart/total.ts:41:9 - error TS2345: Argument of type 'string' is not assignable to parameter of type 'number'.\n"
    "14:02:19.902 Error: Command \"npm run build\" exited with 2"
)
_DEPLOY_LOG = (
    "Signing you in to the hosting service.\n"
    "? Project name: shop-staging\n"
    "? Paste the access key here: c2hvcC1zdGFnaW5nLWtleS0xMjM0NTY3\n"
    "OTAxMjM0NTY3ODkw .....\n"
    "\u2714 Saved credentials to ~/.shopcli/auth.json\n"
    "\u2716 Error: upload of bundle failed: 502 Bad Gateway\n"
    "Connection reset, retrying in 812.5ms...\n"
    "\u283c Uploading bundle...\n"
    "(venv) \u279c  shop git:(main)"
)


def test_a_bare_build_or_deploy_log_is_a_log():
    assert kind(_BUILD_LOG) == "log"
    assert kind(_DEPLOY_LOG) == "log"
    a = run(_BUILD_LOG)
    # The whole paste is output: none of it is read as the user's words.
    assert any(s.kind == "traceback" and s.start == 0 and s.end >= len(_BUILD_LOG) - 60 for s in a.code_spans)


def test_a_log_with_a_question_or_a_request_around_it_is_not_a_bare_log():
    # A question whose only line break is Markdown's trailing backslash, the log right after it.
    assert kind("Why won't the staging deploy finish?\\\n\\\n" + _BUILD_LOG) == "question"
    assert kind("why does this fail?\n\n" + _DEPLOY_LOG) == "question"
    assert kind("Fix this:\n\n" + _BUILD_LOG) != "log"
    assert kind("Make the build pass without loosening the type of `total`.\n\n" + _BUILD_LOG) == "change-request"
    assert kind(_BUILD_LOG + "\n\nfix the type error so the deploy goes through") == "change-request"
    assert kind("---\ndescription: Triage a failing build\n---\n" + _BUILD_LOG) == "command-file"
