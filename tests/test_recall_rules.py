"""Where the recall rules of this round speak and where the message kind keeps them quiet.

CON013 (a failure named without its output) and VAG002's taste classes and complaints run on typed
requests; a command file, an instructions file, a question about a failure and a turn whose previous
assistant message already shows the failure get nothing from them.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def codes(linter, text, path="<prompt>", previous_turn=None):
    return [f.code for f in linter.lint(text, path=path, previous_turn=previous_turn).findings]


def test_a_failure_without_its_output_is_noted_in_chat_style(linter):
    for text in ("the build still fails, fix it", "ci still red, can u check", "yo fix the lint errors", "hey the tests are failing again"):
        assert "CON013" in codes(linter, text), text


def test_a_failure_with_a_way_to_see_it_is_left_alone(linter):
    for text in (
        "the build still fails: `error TS2322` in the client",
        "npm run build still fails, fix it",
        "the deploy failed, see https://ci.example.com/runs/7",
        "fix the lint errors in src/app.ts",
        "CI is red [Image #1]",
    ):
        assert "CON013" not in codes(linter, text), text


def test_the_message_kind_keeps_the_failure_rule_quiet(linter):
    # a question about a failure, a command file and an instructions file describe or ask, they report nothing
    assert "CON013" not in codes(linter, "why does the build fail on Windows?")
    # the same words typed are a report; in a command file or CLAUDE.md they are a procedure or a rule
    assert "CON013" in codes(linter, "Fix the failing tests, then commit.\n")
    command = "---\ndescription: fix the failing tests\n---\nFix the failing tests, then commit.\n"
    assert "CON013" not in codes(linter, command, path=".claude/commands/fix-tests.md")
    assert "CON013" in codes(linter, "Fix the failing tests before you commit.\n")
    assert "CON013" not in codes(linter, "Fix the failing tests before you commit.\n", path="CLAUDE.md")


def test_the_previous_turn_decides_whether_the_output_is_on_screen(linter):
    shown = "The build failed:\nsrc/a.ts:3:1 error TS2304: Cannot find name 'x'."
    assert "CON013" not in codes(linter, "fix these type errors", previous_turn=shown)
    assert "CON013" in codes(linter, "the deploy keeps failing", previous_turn="I moved the lockfile copy before the install step.")
    assert "CON013" in codes(linter, "the deploy keeps failing", previous_turn="")


def test_taste_classes_and_complaints_in_chat_style(linter):
    for text in ("can we make the hero section pop more", "make the cards prettier", "the onboarding flow should feel smoother",
                 "iterate on the landing page until it looks good", "still not done right", "you messed up the layout"):
        assert "VAG002" in codes(linter, text), text
    for text in ("it looks perfect now, commit it", "format the changed files with prettier, then commit",
                 "add a link to download the premium report", "what makes a good dashboard design?"):
        assert "VAG002" not in codes(linter, text), text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.sampled_from(list("the build tests CI fails failing errors still again fix it , . ! ? ` : \n")), max_size=120))
def test_failure_rule_spans_stay_inside_the_text(linter, text):
    for f in linter.lint(text).findings:
        if f.code == "CON013":
            assert 0 <= f.start_offset < f.end_offset <= len(text)
            assert text[f.start_offset : f.end_offset].strip()


PASTED = "Acme Security <security@acme.example>\n9:02 AM (3 minutes ago)\nto me\n\nYour API token was found in a public repository. You may want to rotate it.\n"


def test_a_pasted_message_is_judged_by_the_users_own_words(linter):
    # the sender's own request ("you may want to rotate it") is not the user's
    assert "CON014" in codes(linter, PASTED)
    assert "CON014" not in codes(linter, "Remove the token from the repo history:\n\n" + PASTED)
    assert "CON014" not in codes(linter, PASTED + "\nfind where it leaked")
    # a prompt or instructions file is not pasted mail
    assert "CON014" not in codes(linter, PASTED, path="CLAUDE.md")
    # one mark alone is typed text
    assert "CON014" not in codes(linter, "the nightly job ran at 1:13 PM and wrote nothing")
