"""References on the kinds of repository real chat prompts come with (issue 12, bench_real_refs):
code in languages without a grammar, agents' chat logs in the tree, compiled and bundled output."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptlint.repo.extract import extract_file
from promptlint.repo.languages import LEXICAL_EXTENSIONS, language_of
from promptlint.text.codespans import FILE_EXTENSIONS

from .repo_helpers import write


def paths(linter, text: str, repo: Path) -> list[str]:
    return [r["path"] for r in linter.lint(text, repo=repo).references]


@pytest.fixture(scope="module")
def phoenix_repo(tmp_path_factory) -> Path:
    """A Phoenix shop: Elixir modules and templates, and the one JavaScript file such apps have
    (its hooks mention errors, products and names like everything else)."""
    root = tmp_path_factory.mktemp("phoenix") / "shop"
    write(root, "assets/js/app.js", (
        "// LiveView hooks\nlet Hooks = {}\nHooks.ProductName = { mounted() { this.el.title = 'product name' } }\n"
        "Hooks.ErrorToast = { mounted() { console.error('error while showing the price') } }\n"
        "function handleTouchStart(e) { return e }\n"
    ))
    write(root, "lib/shop_web/live/pos_live/order_management.ex", (
        "defmodule ShopWeb.PosLive.OrderManagement do\n  use ShopWeb, :live_view\n\n"
        "  def mount(_params, _session, socket), do: {:ok, assign(socket, products: Catalog.list_products())}\n\n"
        "  def handle_event(\"add_product\", %{\"id\" => id}, socket) do\n    # show the product name and its price on the card\n"
        "    {:noreply, socket}\n  end\nend\n"
    ))
    write(root, "lib/shop_web/live/pos_live/order_management.html.heex", (
        "<div class=\"grid grid-cols-5\">\n  <%= for product <- @products do %>\n"
        "    <div class=\"product-card line-clamp-2\"><%= product.name %> <%= product.price %></div>\n  <% end %>\n</div>\n"
    ))
    write(root, "lib/shop/catalog.ex", (
        "defmodule Shop.Catalog do\n  def list_categories, do: Repo.all(Category)\n"
        "  def list_products, do: Repo.all(Product)\n  def change_category(category), do: Category.changeset(category, %{})\nend\n"
    ))
    write(root, "lib/shop/bookings.ex", "defmodule Shop.Bookings do\n  def list_bookings, do: []\nend\n")
    return root


def test_code_without_a_grammar_is_read_for_its_words(linter, phoenix_repo):
    """Elixir has no grammar here; before, its files had no content and app.js, the only file
    read, came first for every prompt on content alone."""
    top = paths(linter, "Products in the POS order management screen must show the whole product name and price.", phoenix_repo)
    assert top[0].startswith("lib/shop_web/live/pos_live/order_management"), top
    assert "assets/js/app.js" not in top[:2]
    top = paths(linter, "Add a sort order to every category so the catalog lists categories by it.", phoenix_repo)
    assert top[0] == "lib/shop/catalog.ex", top


def test_elixir_and_al_file_names_in_prose_are_paths(linter, phoenix_repo):
    assert {"ex", "exs", "heex", "al", "gd"} <= set(FILE_EXTENSIONS)
    report = linter.lint("Fix the crash in order_management.ex when the guest is missing.", repo=phoenix_repo)
    assert report.references[0]["path"] == "lib/shop_web/live/pos_live/order_management.ex"
    assert report.references[0]["score"] == 1.0


@pytest.fixture(scope="module")
def mixed_repo(tmp_path_factory) -> Path:
    """Declarations whose file names do not say them, beside decoys whose names do."""
    root = tmp_path_factory.mktemp("mixed") / "app"
    write(root, "src/Codeunits/Cod50100.EconomicManagement.al", (
        "codeunit 50100 \"Economic Management\"\n{\n    procedure SyncVendor(VendorNo: Code[20])\n    begin\n    end;\n\n"
        "    local procedure CreateAllUnsyncedVendors()\n    begin\n    end;\n}\n"
    ))
    write(root, "src/Pages/Pag50101.UnsyncedVendorList.al", "page 50101 \"Unsynced Vendor List\"\n{\n    // lists vendors\n}\n")
    write(root, "app/src/main/java/ai/widget/Storage.kt", (
        "package ai.widget\n\nclass PrefsManager(private val context: Context) {\n"
        "    fun eventStartColor(): Int = 0xffddddff.toInt()\n}\n"
    ))
    write(root, "app/src/main/java/ai/widget/PrefsScreen.kt", "package ai.widget\n\nclass PrefsScreen {\n    fun show() {}\n}\n")
    return root


def test_declarations_of_grammarless_code_resolve_by_name(linter, mixed_repo):
    top = linter.lint("Implement CreateAllUnsyncedVendors so it creates every vendor not synced yet.", repo=mixed_repo).references[0]
    assert top["path"] == "src/Codeunits/Cod50100.EconomicManagement.al", top
    top = linter.lint("Change the default event start colour in PrefsManager.", repo=mixed_repo).references[0]
    assert top["path"] == "app/src/main/java/ai/widget/Storage.kt", top


def test_line_patterns_find_the_declarations_of_unparsed_languages():
    cs = extract_file("Wheel.cs", b"namespace Cars {\n  public sealed partial class Wheel : Node {\n    public void Spin() {}\n  }\n}\n", "csharp")
    assert cs is not None and cs.defs == [("Wheel", "class", 2)]
    kt = extract_file("Prefs.kt", b"data class Event(val t: String)\n\nobject Prefs {\n    private fun load(): Int = 1\n}\n", "kotlin")
    assert kt is not None and kt.defs == [("Event", "class", 1), ("Prefs", "class", 3), ("load", "function", 4)]
    ex = extract_file("sales.ex", b"defmodule Shop.Sales do\n  def create_order(a), do: a\n  defp fetch(id), do: id\nend\n", "elixir")
    assert ex is not None and ex.defs == [("Sales", "module", 1), ("create_order", "function", 2), ("fetch", "function", 3)]
    assert ex.words and "order" in ex.words.split()


def test_every_lexical_extension_has_a_language():
    for ext, lang in LEXICAL_EXTENSIONS.items():
        assert language_of("x" + ext) == lang
        assert language_of("X" + ext.upper()) == lang


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400), st.sampled_from(sorted(set(LEXICAL_EXTENSIONS.values()))))
def test_lexical_extraction_takes_any_bytes(data, lang):
    syms = extract_file("f", data, lang)
    assert syms is not None
    lines = data.count(b"\n") + 1
    for name, kind, line in syms.defs:
        assert name and 1 <= line <= lines and kind in {"class", "interface", "struct", "enum", "trait", "module", "function", "macro"}


@pytest.fixture(scope="module")
def tooling_repo(tmp_path_factory) -> Path:
    """A repository with what agents and build tools leave in it: a SpecStory chat log, an aider
    history, tsc's output beside its source, and a bundler's output with mangled names."""
    root = tmp_path_factory.mktemp("tooling") / "widget"
    write(root, ".specstory/history/2025-12-04_double-row-text-size.md", (
        "_**User**_\n\nDouble row text size for the widget rows.\n\n_**Agent**_\n\nThe row text size is set in RowRenderer.\n"
    ))
    write(root, ".aider.chat.history.md", "#### make the row text size bigger\n\nrow text size row text size\n")
    write(root, "src/RowRenderer.ts", "export function renderRow(text: string, size: number) {\n  return { text, size }\n}\n")
    write(root, "frontend/ui.ts", "export function drawChart(labels: string[]) {\n  // chart labels\n  return labels.map(l => l)\n}\n")
    write(root, "frontend/ui.js", (
        "var __awaiter = function () {};\nexport function drawChart(labels) {\n  // chart labels\n  return labels.map(function (l) { return l; });\n}\n"
    ))
    mangled = "".join(f"var {chr(97 + i % 26)}{i // 26 or ''} = (e, t) => e + t; // chart labels row text\n" for i in range(30))
    write(root, "code.js", mangled + "class y extends Error {}\n")
    return root


def test_agent_chat_logs_and_compiled_output_never_rank(linter, tooling_repo):
    refs = paths(linter, "Double the row text size.", tooling_repo)
    assert refs and refs[0] == "src/RowRenderer.ts"
    assert not {".specstory/history/2025-12-04_double-row-text-size.md", ".aider.chat.history.md"} & set(refs)
    refs = paths(linter, "Help me debug why the labels on the chart are not displaying.", tooling_repo)
    assert refs and refs[0] == "frontend/ui.ts"
    assert "frontend/ui.js" not in refs and "code.js" not in refs


def test_named_generated_files_are_still_in_scope(linter, tooling_repo):
    assert paths(linter, "Why is frontend/ui.js out of date?", tooling_repo)[0] == "frontend/ui.js"


@pytest.fixture(scope="module")
def widget_repo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("widget") / "cal"
    write(root, "app/src/main/java/ai/cal/WeeklyWidgetProvider.kt", (
        "package ai.cal\n\nimport android.appwidget.AppWidgetProvider\n\n"
        "class WeeklyWidgetProvider : AppWidgetProvider() {\n    fun drawHeaderRow(spacing: Int) = spacing\n}\n"
    ))
    write(root, "app/src/main/java/ai/cal/ConfigActivity.kt", (
        "package ai.cal\n\nimport android.app.Activity\n\nclass ConfigActivity : Activity() {\n    fun pickColor() = 0\n}\n"
    ))
    write(root, "nuxt.config.ts", "export default defineNuxtConfig({ ssr: false })\n")
    write(root, "plugins/focus.js", "// a nuxt plugin\nexport default function focus(el) { el.focus() }\n")
    return root


def test_one_shared_word_is_not_a_suggestion(linter, widget_repo):
    """'android' is in every Kotlin file's imports: on that word alone, no file is suggested."""
    assert paths(linter, "Install it on the attached android device.", widget_repo) == []
    # two words of the prompt in one file are a reason
    assert paths(linter, "Too much spacing under the header row of the weekly widget.", widget_repo)[0] == (
        "app/src/main/java/ai/cal/WeeklyWidgetProvider.kt"
    )


def test_one_word_in_the_file_name_still_counts(linter, widget_repo):
    refs = paths(linter, "How can I upgrade my nuxt installation?", widget_repo)
    assert refs[0] == "nuxt.config.ts"
    assert "plugins/focus.js" not in refs  # 'nuxt' in a comment only


def test_a_bundle_that_keeps_its_method_names_is_still_mangled():
    """esbuild renames bindings, not properties: the class methods keep their names."""
    body = "".join(f"var {chr(97 + i)} = (e, t) => e + t;\n" for i in range(8))
    body += "".join(f"class {chr(65 + i)} {{\n  receiveMessage{i}(e) {{ return e }}\n  emitTo{i}(t) {{ return t }}\n  startListening{i}() {{}}\n}}\n" for i in range(6))
    body += "const PLUGIN_CHANNEL = 'plugin';\nfunction handleSelectionChange() {}\n"
    assert extract_file("code.js", body.encode(), "javascript").generated == "minified (mangled names)"
    hand = "".join(f"function handler{i}(event) {{ return event }}\n" for i in range(14)) + "const x = 1;\nconst y = 2;\n"
    assert extract_file("handlers.js", hand.encode(), "javascript").generated == ""


@pytest.fixture(scope="module")
def orm_repo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("orm") / "orm"
    write(root, "src/query-runner/QueryRunner.ts", (
        "/** Runs queries on a single database connection; release it when done. */\nexport interface QueryRunner {\n"
        "  connect(): Promise<void>\n  /** Releases the connection back to the pool. */\n  release(): Promise<void>\n"
        "  startTransaction(): Promise<void>\n}\n"
    ))
    write(root, "src/query-runner/QueryLock.ts", (
        "export class QueryLock {\n  private readonly queue: Promise<void>[] = []\n  async acquire() { return this.queue.length }\n}\n"
    ))
    for driver in ("postgres", "mysql", "sqlite"):
        name = driver.capitalize()
        write(root, f"src/driver/{driver}/{name}QueryRunner.ts", (
            f"import {{ QueryRunner }} from '../../query-runner/QueryRunner'\n\nexport class {name}QueryRunner implements QueryRunner {{\n"
            "  // query runner for this driver: connect, release the connection, run each query in a transaction\n"
            "  async connect() {}\n  async release() {}\n  async startTransaction() {}\n  async query(sql: string) { return sql }\n}\n"
        ))
    write(root, "src/index.ts", "".join(f"export * from './driver/{d}/{d.capitalize()}QueryRunner'\n" for d in ("postgres", "mysql", "sqlite"))
          + "export * from './query-runner/QueryRunner'\nexport * from './query-runner/QueryLock'\n")
    return root


def test_a_phrase_names_the_file_it_joins_into(linter, orm_repo):
    """'the query runner' is QueryRunner.ts; each driver's runner shares the words but not the name."""
    top = linter.lint("The query runner leaks connections when a transaction fails.", repo=orm_repo).references[0]
    assert top["path"] == "src/query-runner/QueryRunner.ts"
    assert "the prompt says its name, 'queryrunner'" in top["reason"]


def test_a_member_named_like_the_kind_is_not_the_pattern(linter, orm_repo):
    """`private readonly queue` made QueryLock.ts the 'closest existing pattern' of a new cron job."""
    report = linter.lint("Create a cron job that cleans up expired sessions every night.", repo=orm_repo)
    assert all("pattern" not in r["reason"] for r in report.references)
    assert "REF004" not in {f.code for f in report.findings}
    # no warning fires, yet the rewrite says the file is new rather than "already explicit"
    assert report.rewrite is not None and "The cron job is new and nothing like it exists in the repository yet" in report.rewrite


@pytest.fixture(scope="module")
def nest_repo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("nest") / "api"
    write(root, "src/cron/cron.service.ts", (
        "import { Injectable } from '@nestjs/common'\nimport { Cron } from '@nestjs/schedule'\n\n@Injectable()\n"
        "export class CronService {\n  @Cron('0 * * * *')\n  handleHourly() {}\n}\n"
    ))
    write(root, "src/common/kysely-dialect.ts", "// every variable here is required\nconst requiredEnvVars = ['DB_HOST', 'DB_USER']\nexport const kyselyDialect = requiredEnvVars\n")
    write(root, "src/app.module.ts", (
        "import { Module } from '@nestjs/common'\nimport { CronService } from './cron/cron.service'\n"
        "import { kyselyDialect } from './common/kysely-dialect'\nimport { AppController } from './app.controller'\n\n"
        "@Module({ providers: [CronService], controllers: [AppController] })\nexport class AppModule {}\n"
    ))
    write(root, "src/app.controller.ts", "import { Controller, Get } from '@nestjs/common'\n\n@Controller()\nexport class AppController {\n  @Get() hello() { return 'hi' }\n}\n")
    return root


def test_the_words_of_a_new_thing_find_its_pattern(linter, nest_repo):
    """'cron job': src/cron/cron.service.ts is the pattern though neither its path nor its class says 'job'."""
    report = linter.lint("Create a cron job boilerplate with all required code so I can add my own cron jobs.", repo=nest_repo)
    by_path = {r["path"]: r["reason"] for r in report.references}
    assert by_path["src/cron/cron.service.ts"].startswith("closest existing pattern for the new cron job")
    assert by_path["src/app.module.ts"].startswith("to wire the new cron job into")
    assert "src/common/kysely-dialect.ts" not in by_path  # shares 'required' with the prompt, nothing else
    assert "create it in a new file in src/cron/" in (report.rewrite or "")


def test_wanting_an_existing_thing_changed_is_not_a_new_file(linter, nest_repo):
    report = linter.lint("For this i want the app controller to return the build version.", repo=nest_repo)
    assert not any("is new" in r["reason"] for r in report.references)
    assert "REF004" not in {f.code for f in report.findings}
