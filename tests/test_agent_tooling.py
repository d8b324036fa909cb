"""An agent's own tooling inside the repository (.claude/hooks, .claude/skills/*/scripts, adws/,
.playwright-cli/) is never offered as the file to change unless the prompt is about that tooling;
a path named in it still resolves. Paraphrased fixture: a small invoice app with the tooling a
Claude Code user leaves in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptlint.repo.search import agent_tooling, junk_reason

from .repo_helpers import write

HOOK = ".claude/hooks/user_prompt_submit.py"
SKILL = ".claude/skills/invoice-export/scripts/export_invoices.py"
ADW = "adws/adw_plan_invoice.py"
BROWSER = ".playwright-cli/invoice-total-test.js"
TOOLING = {HOOK, SKILL, ADW, BROWSER}


def paths(linter, text: str, repo: Path) -> list[str]:
    return [r["path"] for r in linter.lint(text, repo=repo).references]


@pytest.fixture(scope="module")
def invoice_repo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tooling") / "invoices"
    # the tooling speaks of the same invoices, totals and prompts as the app does, more often
    write(root, HOOK, (
        "import json, sys\n\ndef log_prompt(prompt):\n    # log each prompt about invoice totals and the invoice export\n"
        "    invoice_total = prompt.count('invoice total')\n    return json.dumps({'prompt': prompt, 'invoice_total': invoice_total})\n"
    ))
    write(root, SKILL, (
        "def export_invoices(invoices):\n    # export invoice totals, invoice tax, invoice currency\n"
        "    return [(i.total, i.tax, i.currency) for i in invoices]\n"
    ))
    write(root, ".claude/skills/invoice-export/SKILL.md", "# Invoice export\nExport invoice totals with tax.\n")
    write(root, ADW, (
        "def plan_invoice_task(issue):\n    # plan the invoice total fix: invoice tax, invoice rounding\n    return ['invoice', 'total', 'tax', issue]\n"
    ))
    write(root, BROWSER, (
        "// check that the invoice total shows the tax after rounding\nconst invoiceTotal = await page.locator('#invoice-total');\n"
    ))
    write(root, "src/invoices/totals.py", (
        "from decimal import Decimal, ROUND_HALF_UP\n\ndef invoice_total(lines, tax_rate):\n"
        "    subtotal = sum(l.amount for l in lines)\n    return (subtotal * (1 + tax_rate)).quantize(Decimal('0.01'), ROUND_HALF_UP)\n"
    ))
    write(root, "src/invoices/export.py", "import csv\n\ndef write_csv(invoices, out):\n    csv.writer(out).writerows(invoices)\n")
    write(root, "src/hooks/useInvoice.ts", "export function useInvoice(id: string) {\n  return { id }\n}\n")
    return root


def test_agent_harness_folders_are_tooling_and_product_folders_are_not():
    assert agent_tooling(HOOK) == (".claude", "hooks")
    assert agent_tooling(ADW) == ("adws", "")
    assert agent_tooling("web/.playwright-cli/a.js") == (".playwright-cli", "")
    assert {junk_reason(p) for p in TOOLING} == {"agent tooling"}
    # a React hooks folder, a product's agents, CI workflows: the project's own code
    for p in ("src/hooks/useAuth.ts", "src/app/agents/orchestrator.py", ".github/workflows/ci.yml", "agent/main.py", "claude/client.py"):
        assert agent_tooling(p) is None and junk_reason(p) == ""


def test_agent_tooling_is_not_suggested_for_a_prompt_about_the_code(linter, invoice_repo):
    refs = paths(linter, "The invoice total is off by a cent after tax rounding, fix it.", invoice_repo)
    assert refs and refs[0] == "src/invoices/totals.py"
    assert not TOOLING & set(refs)
    # "hook" alone (a React hook) is not about the agent's hooks
    refs = paths(linter, "The invoice hook logs the invoice total prompt twice.", invoice_repo)
    assert HOOK not in refs
    # nor is "Claude Code" alone: it names the agent, not its folder
    refs = paths(linter, "Show the invoice total of each prompt logged while Claude Code runs.", invoice_repo)
    assert HOOK not in refs


def test_agent_tooling_is_offered_when_the_prompt_is_about_it(linter, invoice_repo):
    assert HOOK in paths(linter, "The Claude user prompt submit hook should log the invoice total of each prompt.", invoice_repo)
    assert SKILL in paths(linter, "Make the agent's invoice export skill include the invoice currency.", invoice_repo)
    assert ADW in paths(linter, "The ADW planner should plan invoice tax rounding tasks.", invoice_repo)
    assert BROWSER in paths(linter, "The playwright cli check of the invoice total fails after rounding.", invoice_repo)


def test_a_named_path_in_agent_tooling_still_resolves(linter, invoice_repo):
    assert paths(linter, f"Why does {HOOK} crash on an empty prompt?", invoice_repo)[0] == HOOK
    assert paths(linter, f"Rename plan_invoice_task in {ADW}.", invoice_repo)[0] == ADW
