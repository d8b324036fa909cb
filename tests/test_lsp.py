"""`promptlint lsp` end to end: the server as a subprocess, driven by pytest-lsp with real editor
capability sets (VS Code and Neovim)."""

from __future__ import annotations

import asyncio
import sys

import pytest
import pytest_lsp
from lsprotocol import types as t
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from .conftest import REPOS

TS = (REPOS / "ts-api").resolve()
SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "promptlint", "lsp"])


async def start(client: LanguageClient, editor: str, options=None):  # type: ignore[no-untyped-def]
    await client.initialize_session(
        t.InitializeParams(
            capabilities=client_capabilities(editor),
            root_uri=TS.as_uri(),
            workspace_folders=[t.WorkspaceFolder(uri=TS.as_uri(), name="ts-api")],
            initialization_options=options,
        )
    )


@pytest_lsp.fixture(config=SERVER)
async def vscode(lsp_client: LanguageClient):
    await start(lsp_client, "visual-studio-code")
    yield lsp_client
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=SERVER)
async def neovim(lsp_client: LanguageClient):
    await start(lsp_client, "neovim")
    yield lsp_client
    await lsp_client.shutdown_session()


def open_doc(client: LanguageClient, name: str, text: str, language_id: str = "markdown") -> str:
    uri = (TS / name).as_uri()
    client.text_document_did_open(t.DidOpenTextDocumentParams(text_document=t.TextDocumentItem(uri=uri, language_id=language_id, version=1, text=text)))
    return uri


async def diagnostics_for(client: LanguageClient, uri: str, timeout: float = 60.0, want=None):  # type: ignore[no-untyped-def]
    async def wait():
        while True:
            await client.wait_for_notification(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
            found = client.diagnostics.get(uri)
            if found is not None and (want is None or want(found)):
                return found

    return await asyncio.wait_for(wait(), timeout)


@pytest.mark.asyncio
async def test_diagnostics_on_open_with_codes_ranges_and_links(vscode: LanguageClient):
    uri = open_doc(vscode, "orders.prompt", "Add a database table for customer orders\n")
    found = await diagnostics_for(vscode, uri)
    by_code = {d.code: d for d in found}
    assert {"CON002", "CON004"} <= set(by_code)
    d = by_code["CON004"]
    assert d.source == "promptlint" and d.severity == t.DiagnosticSeverity.Information  # info since its first looks
    assert (d.range.start.line, d.range.start.character, d.range.end.character) == (0, 0, 20)
    assert d.code_description.href.endswith("rules/CON004.toml")
    assert d.data["code"] == "CON004"


@pytest.mark.asyncio
async def test_repo_index_arrives_in_the_background(vscode: LanguageClient):
    uri = open_doc(vscode, "seed.prompt", "Add a database table for customer orders\n")
    found = await diagnostics_for(vscode, uri, want=lambda ds: any(d.code == "REF001" for d in ds))
    ref = next(d for d in found if d.code == "REF001")
    assert "src/db/schema.ts" in ref.message


@pytest.mark.asyncio
async def test_changes_are_debounced_and_relinted(neovim: LanguageClient):
    uri = open_doc(neovim, "task.prompt", "Fix it.\n")
    await diagnostics_for(neovim, uri, want=lambda ds: any(d.code == "VAG005" for d in ds))
    for version, text in enumerate(["Fix", "Fix the", "Fix the login page crash: return 401 instead of 500 in `verifyToken`; add a vitest case in tests/users.test.ts.\n"], 2):
        neovim.text_document_did_change(t.DidChangeTextDocumentParams(
            text_document=t.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[t.TextDocumentContentChangeWholeDocument(text=text)],
        ))
    found = await diagnostics_for(neovim, uri, want=lambda ds: not any(d.code == "VAG005" for d in ds))
    assert [d.code for d in found if d.severity <= t.DiagnosticSeverity.Warning] == []


async def pull(client: LanguageClient, uri: str, attempts: int = 30):  # type: ignore[no-untyped-def]
    """A pull, asked again while the server answers ServerCancelled with retriggerRequest (LSP 3.17:
    the lint is over the request budget, e.g. the cold first one that loads spaCy)."""
    from pygls.exceptions import JsonRpcException

    for _ in range(attempts):
        try:
            return await client.text_document_diagnostic_async(t.DocumentDiagnosticParams(text_document=t.TextDocumentIdentifier(uri=uri)))
        except JsonRpcException as exc:
            if exc.code != t.LSPErrorCodes.ServerCancelled or not (exc.data or {}).get("retriggerRequest"):
                raise
    raise AssertionError("still linting after every retry")


@pytest.mark.asyncio
async def test_pull_diagnostics(vscode: LanguageClient):
    uri = open_doc(vscode, "pull.prompt", "Refactor the entire codebase.\n")
    report = await pull(vscode, uri)
    assert "SCO001" in {d.code for d in report.items}


@pytest.mark.asyncio
async def test_code_actions_rewrite_quick_fix_disable_and_fix_all(vscode: LanguageClient):
    text = "Add a few tests for the parser, if possible.\n"
    uri = open_doc(vscode, "actions.prompt", text)
    vscode.workspace_did_change_configuration(t.DidChangeConfigurationParams(settings={"promptlint": {"preview": True}}))
    found = await diagnostics_for(vscode, uri, want=lambda ds: any(d.code == "VAG007" for d in ds))
    actions = await vscode.text_document_code_action_async(t.CodeActionParams(
        text_document=t.TextDocumentIdentifier(uri=uri), range=t.Range(t.Position(0, 0), t.Position(0, 10)),
        context=t.CodeActionContext(diagnostics=list(found)),
    ))
    titles = [a.title for a in actions]
    assert 'Replace with "<N>" (VAG007)' in titles
    assert "Disable VAG004 for this line" in titles
    rewrite = next(a for a in actions if a.title == "Rewrite for Haiku (promptlint)")
    assert rewrite.kind == t.CodeActionKind.RefactorRewrite
    (edit,) = rewrite.edit.changes[uri]
    assert edit.new_text.startswith("Add a few tests for the parser") and "ask me before you start" in edit.new_text
    fix_all = next(a for a in actions if a.kind == "source.fixAll.promptlint")
    assert [e.new_text for e in fix_all.edit.changes[uri]] == ["<N>"]
    disable = next(a for a in actions if a.title == "Disable VAG004 for this line")
    assert disable.edit.changes[uri][0].new_text == "<!-- promptlint: disable=VAG004 -->\n"


@pytest.mark.asyncio
async def test_hover_shows_resolution_and_advice(vscode: LanguageClient):
    uri = open_doc(vscode, "hover.prompt", "Make `verifyToken` reject expired tokens.\n")
    await diagnostics_for(vscode, uri, want=lambda ds: True)
    await asyncio.sleep(0)
    for _ in range(100):  # the index may still be building
        hover = await vscode.text_document_hover_async(t.HoverParams(text_document=t.TextDocumentIdentifier(uri=uri), position=t.Position(0, 8)))
        if hover and "src/lib/auth.ts" in hover.contents.value:
            break
        await asyncio.sleep(0.2)
    assert "**verifyToken** → src/lib/auth.ts (defined in src/lib/auth.ts)" in hover.contents.value
    assert "Model advice: **haiku**" in hover.contents.value


@pytest.mark.asyncio
async def test_non_prompt_files_are_left_alone_and_language_id_prompt_is_linted(vscode: LanguageClient):
    skipped = open_doc(vscode, "notes.md", "Fix it.\n")
    linted = open_doc(vscode, "untitled-1", "Fix it.\n", language_id="prompt")
    await diagnostics_for(vscode, linted)
    assert skipped not in vscode.diagnostics


@pytest.mark.asyncio
async def test_bad_requests_get_errors_not_a_crash(vscode: LanguageClient):
    from pygls.exceptions import JsonRpcMethodNotFound

    with pytest.raises(JsonRpcMethodNotFound):
        await vscode.protocol.send_request_async("promptlint/noSuchMethod", {"x": 1})
    # a request about a document the server never saw
    hover = await vscode.text_document_hover_async(t.HoverParams(text_document=t.TextDocumentIdentifier(uri=(TS / "nope.prompt").as_uri()), position=t.Position(0, 0)))
    assert hover is None
    uri = open_doc(vscode, "after.prompt", "Fix it.\n")
    assert await diagnostics_for(vscode, uri)  # still alive


@pytest.mark.asyncio
async def test_huge_document_stays_responsive(vscode: LanguageClient):
    uri = open_doc(vscode, "huge.prompt", "word " * 300_000)
    found = await diagnostics_for(vscode, uri)
    assert "not linted" in found[0].message
