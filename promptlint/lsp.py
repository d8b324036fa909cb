"""`promptlint lsp`: a language server for prompt files (pygls 2, stdio).

It lints *.prompt, *.prompt.md, CLAUDE.md, .claude/**/*.md and documents opened with languageId
`prompt`, against the workspace folder as the repository. Diagnostics are pushed on open, change
(debounced) and save, and served to clients that pull. Code actions: "Rewrite for Haiku", quick
fixes for substitutions, "Disable CODE for this line" and source.fixAll.promptlint. Hover shows what
a mention resolves to, and the model advice. The repository index builds in the background and never
delays the first diagnostics.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from lsprotocol import types as t
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.uris import to_fs_path

from .__about__ import __version__
from .config import Config, discover
from .model import FileReport, Severity
from .output.sarif import HELP_URI

DEBOUNCE = 0.3  # seconds after the last change before re-linting
MAX_DOCUMENT = 1_000_000
FIX_ALL = "source.fixAll.promptlint"
_SEVERITY = {Severity.error: t.DiagnosticSeverity.Error, Severity.warning: t.DiagnosticSeverity.Warning, Severity.info: t.DiagnosticSeverity.Information}


def utf16_column(line: str, column: int) -> int:
    """LSP positions count UTF-16 code units; promptlint counts code points (1-based)."""
    return len(line[: column - 1].encode("utf-16-le")) // 2


def codepoint_offset(text: str, position: t.Position) -> int:
    lines = text.split("\n")
    line = lines[position.line] if position.line < len(lines) else ""
    units, col = 0, 0
    while col < len(line) and units < position.character:
        units += 2 if ord(line[col]) > 0xFFFF else 1
        col += 1
    return sum(len(x) + 1 for x in lines[: position.line]) + col


class _Rejected:
    """A request answered with an error while it was parsed; the dispatcher skips it."""

    jsonrpc = "rejected"


class _Protocol(LanguageServerProtocol):
    def structure_message(self, data: Any) -> Any:
        # pygls only logs a request whose params do not parse; answer it with the JSON-RPC error, so
        # the client is not left waiting, and keep serving.
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if isinstance(data, dict) and "id" in data and "method" in data:
                self._send_response(data["id"], error=exc.to_response_error())
                return _Rejected()
            raise


class PromptlintServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("promptlint", __version__, protocol_cls=_Protocol)
        self.root: Path | None = None
        self.settings: dict[str, Any] = {}
        self._linter: Any = None
        self._linter_config: Config | None = None
        self.repo_ready = threading.Event()
        self.reports: dict[str, FileReport] = {}
        self.versions: dict[str, int | None] = {}
        self._pending: dict[str, asyncio.TimerHandle] = {}
        self._work_lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None  # pygls runs handlers on this loop

    # --- configuration -----------------------------------------------------------------------
    def config(self) -> Config:
        base = discover(self.root) if self.root is not None else Config()
        s = self.settings
        overrides: dict[str, Any] = {}
        for key, attr in (("select", "select"), ("ignore", "ignore"), ("extendSelect", "extend_select")):
            if isinstance(s.get(key), list):
                overrides[attr] = tuple(str(c).upper() for c in s[key])
        if isinstance(s.get("preview"), bool):
            overrides["preview"] = s["preview"]
        return replace(base, **overrides) if overrides else base

    def linter(self) -> Any:
        from .pipeline import Linter

        config = self.config()
        if self._linter is None or config != self._linter_config:
            old = self._linter
            self._linter, self._linter_config = Linter(config), config
            if old is not None:
                self._linter._repos = old._repos  # keep warm indexes across settings changes
        return self._linter

    def build_index_in_background(self) -> None:
        if self.root is None:
            return

        def work() -> None:
            try:
                self.linter().repo_context(self.root)
                from .pipeline import freeze_heap

                freeze_heap()
                self.repo_ready.set()
                if self.loop is not None:
                    self.loop.call_soon_threadsafe(self.relint_all)
            except Exception as exc:  # no index: diagnostics stay text-only
                self.window_log_message(t.LogMessageParams(type=t.MessageType.Warning, message=f"promptlint: indexing failed: {exc}"))

        threading.Thread(target=work, name="promptlint-index", daemon=True).start()

    # --- linting -----------------------------------------------------------------------------
    def is_prompt(self, uri: str, language_id: str | None = None) -> bool:
        if language_id == "prompt":
            return True
        from .inputs import is_prompt_file

        path = Path(to_fs_path(uri) or uri)
        # The files `check DIR` lints, plus any Markdown under .claude/ (the editor shows them all).
        return is_prompt_file(path, self.root or path.parent) or (".claude" in path.parts and path.suffix == ".md")

    def lint_document(self, uri: str) -> FileReport | None:
        doc = self.workspace.get_text_document(uri)
        if len(doc.source) > MAX_DOCUMENT:
            return None
        path = to_fs_path(uri) or uri
        shown = path
        if self.root is not None:
            try:
                shown = str(Path(path).resolve().relative_to(self.root))
            except ValueError:
                pass
        repo = self.root if self.repo_ready.is_set() else None
        with self._work_lock:
            report = self.linter().lint(doc.source, path=shown, repo=repo)
        self.reports[uri] = report
        return report

    def diagnostics(self, uri: str) -> list[t.Diagnostic]:
        doc = self.workspace.get_text_document(uri)
        if len(doc.source) > MAX_DOCUMENT:
            return [t.Diagnostic(range=t.Range(t.Position(0, 0), t.Position(0, 1)), message=f"promptlint: document over {MAX_DOCUMENT} characters; not linted", source="promptlint", severity=t.DiagnosticSeverity.Information)]
        report = self.lint_document(uri)
        if report is None:
            return []
        lines = doc.source.split("\n")
        out = []
        for f in report.findings:
            start_line = lines[f.start.line - 1] if f.start.line - 1 < len(lines) else ""
            end_line = lines[f.end.line - 1] if f.end.line - 1 < len(lines) else ""
            out.append(
                t.Diagnostic(
                    range=t.Range(
                        start=t.Position(line=f.start.line - 1, character=utf16_column(start_line, f.start.column)),
                        end=t.Position(line=f.end.line - 1, character=utf16_column(end_line, f.end.column)),
                    ),
                    message=f.message + (f"\n{f.suggestion}" if f.suggestion else ""),
                    severity=_SEVERITY[f.severity],
                    code=f.code,
                    code_description=t.CodeDescription(href=HELP_URI.format(code=f.code)),
                    source="promptlint",
                    data={"code": f.code, "name": f.name, "replacement": f.replacement, "start": f.start_offset, "end": f.end_offset},
                )
            )
        return out

    def publish(self, uri: str) -> None:
        if uri not in self.workspace.text_documents:
            return
        self.text_document_publish_diagnostics(t.PublishDiagnosticsParams(uri=uri, diagnostics=self.diagnostics(uri), version=self.versions.get(uri)))

    def schedule(self, uri: str, delay: float) -> None:
        """Lint after ``delay`` seconds; a newer edit replaces the pending run (debounce)."""
        pending = self._pending.pop(uri, None)
        if pending is not None:
            pending.cancel()
        loop = self.loop or asyncio.get_running_loop()
        self._pending[uri] = loop.call_later(delay, self._run_scheduled, uri)

    def _run_scheduled(self, uri: str) -> None:
        self._pending.pop(uri, None)
        self.publish(uri)

    def relint_all(self) -> None:
        for uri in list(self.versions):
            self.schedule(uri, 0)


server = PromptlintServer()


@server.feature(t.INITIALIZE)
def initialize(ls: PromptlintServer, params: t.InitializeParams) -> None:
    ls.loop = asyncio.get_running_loop()
    folder = None
    if params.workspace_folders:
        folder = params.workspace_folders[0].uri
    elif params.root_uri:
        folder = params.root_uri
    elif params.root_path:
        folder = Path(params.root_path).as_uri()
    path = to_fs_path(folder) if folder else None
    ls.root = Path(path).resolve() if path and Path(path).is_dir() else None
    options = params.initialization_options
    if isinstance(options, dict):
        ls.settings = dict(options.get("promptlint", options))


@server.feature(t.INITIALIZED)
def initialized(ls: PromptlintServer, params: t.InitializedParams) -> None:
    ls.build_index_in_background()


@server.feature(t.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: PromptlintServer, params: t.DidOpenTextDocumentParams) -> None:
    doc = params.text_document
    if ls.is_prompt(doc.uri, doc.language_id):
        ls.versions[doc.uri] = doc.version
        ls.publish(doc.uri)


@server.feature(t.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: PromptlintServer, params: t.DidChangeTextDocumentParams) -> None:
    uri = params.text_document.uri
    if uri in ls.versions:
        ls.versions[uri] = params.text_document.version
        ls.schedule(uri, DEBOUNCE)


@server.feature(t.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: PromptlintServer, params: t.DidSaveTextDocumentParams) -> None:
    if params.text_document.uri in ls.versions:
        ls.schedule(params.text_document.uri, 0)


@server.feature(t.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: PromptlintServer, params: t.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.versions.pop(uri, None)
    ls.reports.pop(uri, None)
    ls.text_document_publish_diagnostics(t.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


@server.feature(t.TEXT_DOCUMENT_DIAGNOSTIC, t.DiagnosticOptions(identifier="promptlint", inter_file_dependencies=False, workspace_diagnostics=False))
def pull_diagnostics(ls: PromptlintServer, params: t.DocumentDiagnosticParams) -> t.RelatedFullDocumentDiagnosticReport:
    uri = params.text_document.uri
    items = ls.diagnostics(uri) if ls.is_prompt(uri) or uri in ls.versions else []
    return t.RelatedFullDocumentDiagnosticReport(items=items)


@server.feature(t.WORKSPACE_DID_CHANGE_CONFIGURATION)
def did_change_configuration(ls: PromptlintServer, params: t.DidChangeConfigurationParams) -> None:
    settings = params.settings
    if isinstance(settings, dict):
        ls.settings = dict(settings.get("promptlint", settings)) if isinstance(settings.get("promptlint", settings), dict) else {}
    ls.relint_all()


def _fix_edits(ls: PromptlintServer, uri: str, diagnostics: list[t.Diagnostic]) -> list[t.TextEdit]:
    edits = []
    for d in diagnostics:
        data = d.data if isinstance(d.data, dict) else {}
        if data.get("replacement") is not None:
            edits.append(t.TextEdit(range=d.range, new_text=data["replacement"]))
    return edits


@server.feature(t.TEXT_DOCUMENT_CODE_ACTION, t.CodeActionOptions(code_action_kinds=[t.CodeActionKind.QuickFix, t.CodeActionKind.RefactorRewrite, FIX_ALL]))
def code_action(ls: PromptlintServer, params: t.CodeActionParams) -> list[t.CodeAction]:
    uri = params.text_document.uri
    if uri not in ls.workspace.text_documents:
        return []
    doc = ls.workspace.get_text_document(uri)
    report = ls.reports.get(uri) or ls.lint_document(uri)
    actions: list[t.CodeAction] = []
    ours = [d for d in params.context.diagnostics if d.source == "promptlint"]
    only = params.context.only
    if not only or t.CodeActionKind.QuickFix in only:
        for d in ours:
            data = d.data if isinstance(d.data, dict) else {}
            code = data.get("code") or d.code
            if data.get("replacement") is not None:
                title = f"Replace with \"{data['replacement']}\"" if data["replacement"] else "Remove it"
                actions.append(t.CodeAction(title=f"{title} ({code})", kind=t.CodeActionKind.QuickFix, diagnostics=[d], is_preferred=True,
                                            edit=t.WorkspaceEdit(changes={uri: [t.TextEdit(range=d.range, new_text=data["replacement"])]})))
            line = d.range.start.line
            indent = doc.lines[line][: len(doc.lines[line]) - len(doc.lines[line].lstrip())] if line < len(doc.lines) else ""
            actions.append(t.CodeAction(title=f"Disable {code} for this line", kind=t.CodeActionKind.QuickFix, diagnostics=[d],
                                        edit=t.WorkspaceEdit(changes={uri: [t.TextEdit(range=t.Range(t.Position(line, 0), t.Position(line, 0)), new_text=f"{indent}<!-- promptlint: disable={code} -->\n")]})))
    if report is not None and report.rewrite and (not only or t.CodeActionKind.RefactorRewrite in only or t.CodeActionKind.Refactor in only):
        end_line = len(doc.lines)
        actions.append(t.CodeAction(title="Rewrite for Haiku (promptlint)", kind=t.CodeActionKind.RefactorRewrite,
                                    edit=t.WorkspaceEdit(changes={uri: [t.TextEdit(range=t.Range(t.Position(0, 0), t.Position(end_line, 0)), new_text=report.rewrite)]})))
    if not only or FIX_ALL in only or t.CodeActionKind.Source in only or t.CodeActionKind.SourceFixAll in only:
        all_ours = ls.diagnostics(uri)
        edits = _fix_edits(ls, uri, all_ours)
        if edits:
            actions.append(t.CodeAction(title="promptlint: fix all", kind=FIX_ALL, edit=t.WorkspaceEdit(changes={uri: edits})))
    return actions


@server.feature(t.TEXT_DOCUMENT_HOVER)
def hover(ls: PromptlintServer, params: t.HoverParams) -> t.Hover | None:
    uri = params.text_document.uri
    if uri not in ls.workspace.text_documents or uri not in ls.versions:
        return None
    doc = ls.workspace.get_text_document(uri)
    report = ls.reports.get(uri) or ls.lint_document(uri)
    if report is None:
        return None
    offset = codepoint_offset(doc.source, params.position)
    parts = []
    linter = ls.linter()
    repo = linter._repos.get(ls.root) if ls.root is not None else None
    if repo is not None:
        from .pipeline import analyze_for_hover

        for mention in analyze_for_hover(linter, doc.source, repo):
            if mention.start <= offset < mention.end:
                if mention.paths:
                    where = ", ".join(mention.paths[:3])
                    parts.append(f"**{mention.text}** → {where}" + (f" (defined in {', '.join(mention.defined_in[:3])})" if mention.defined_in else ""))
                elif mention.suggestions:
                    parts.append(f"**{mention.text}**: not in this repository; did you mean {', '.join(mention.suggestions)}?")
    if report.advice:
        a = report.advice
        reasons = "; ".join(r["message"] for r in a["reasons"][:2]) or "no escalation signal"
        parts.append(f"Model advice: **{a['model']}** (escalation score {a['score']:.2f}): {reasons}")
    if not parts:
        return None
    return t.Hover(contents=t.MarkupContent(kind=t.MarkupKind.Markdown, value="\n\n".join(parts)))


def main() -> None:
    server.start_io()
