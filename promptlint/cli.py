"""The command line: a thin front end over :mod:`promptlint.pipeline`.

Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage, config or input error.
Nothing here imports spaCy; only commands that analyse text load it (through the pipeline).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .__about__ import __version__
from .errors import PromptlintError
from .output import FORMATS as OUTPUT_FORMATS
from .textsafe import for_terminal, one_line

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _error(message: str) -> None:
    click.echo(one_line(f"promptlint: error: {message}"), err=True)  # one line, whatever a file name holds


def _warn(message: str) -> None:
    click.echo(one_line(f"promptlint: warning: {message}"), err=True)


def find_repo_root(start: Path) -> Path | None:
    """The git work tree containing ``start``, else ``start`` itself; None for / or the home
    directory, which are never one project (indexing them would walk the whole disk)."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    if start == Path(start.anchor) or start == Path.home().resolve():
        return None
    return start


def _split_codes(values: tuple[str, ...], option: str = "--select") -> tuple[str, ...] | None:
    """Rule selectors from repeated or comma-separated options; an empty one is a mistake
    (`--select ""` would silently turn every rule off)."""
    if not values:
        return None
    import re

    codes = tuple(c.strip().upper() for v in values for c in v.split(",") if c.strip())
    if not codes:
        raise click.UsageError(f"{option} needs at least one rule code or prefix (e.g. VAG, CON004, ALL)")
    for code in codes:
        if not re.fullmatch(r"ALL|[A-Z]{1,4}\d{0,3}", code):
            raise click.UsageError(f"{option}: {code!r} is not a rule code or prefix (e.g. VAG, CON004, ALL)")
    return codes


class _Group(click.Group):
    def invoke(self, ctx: click.Context):  # type: ignore[no-untyped-def]
        # One clear line and exit 2 for every error the user can cause; never a traceback.
        try:
            return super().invoke(ctx)
        except PromptlintError as exc:
            _error(str(exc))
            ctx.exit(EXIT_ERROR)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            _error("interrupted")
            ctx.exit(EXIT_ERROR)
        except Exception as exc:  # a bug: still one line, and a pointer to --debug
            if ctx.meta.get("promptlint.debug"):
                raise
            _error(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)")
            ctx.exit(EXIT_ERROR)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="promptlint")
@click.option("--debug", is_flag=True, hidden=True, help="Show tracebacks of internal errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Lint prompts written for coding agents: vague wording, over-broad scope, unstated constraints."""
    ctx.meta["promptlint.debug"] = debug


@main.command()
@click.argument("paths", nargs=-1, type=str)
@click.option("--format", "fmt", type=click.Choice(list(OUTPUT_FORMATS)), default="text", show_default=True, help="Output format.")
@click.option("--repo", type=click.Path(file_okay=False, path_type=Path), help="Repository the prompt is about (default: the git root of the current directory).")
@click.option("--no-repo", is_flag=True, help="Text-only analysis; do not look at any repository.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), help="Use this config file instead of discovering one.")
@click.option("--isolated", is_flag=True, help="Ignore all config files.")
@click.option("--select", multiple=True, help="Rule codes or prefixes to enable (replaces the config's select). Comma-separated or repeated.")
@click.option("--extend-select", multiple=True, help="Rule codes or prefixes to enable in addition.")
@click.option("--ignore", multiple=True, help="Rule codes or prefixes to disable.")
@click.option("--preview/--no-preview", default=None, help="Enable preview rules.")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info"]), help="Lowest severity that makes the exit code 1 [default: warning].")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when problems are found.")
@click.option("--stdin-filename", help="Name to show for the prompt read from '-'.")
@click.option("--max-size", help="Largest prompt accepted, e.g. 2MB [default: 1MB].")
@click.option("--color/--no-color", default=None, help="Force or disable colours in text output.")
@click.option("-v", "--verbose", is_flag=True, help="Say which NLP pipeline, config and repo were used.")
@click.option("--llm/--no-llm", "llm", default=None, help="Polish rewrites with the Anthropic Messages API (needs ANTHROPIC_API_KEY).")
@click.option("--server", "server_mode", type=click.Choice(["auto", "never", "start"]), default=None,
              help="Run in the warm `promptlint server`: auto uses one that runs (default, or $PROMPTLINT_SERVER), start starts one, never runs here.")
def check(
    paths: tuple[str, ...], fmt: str, repo: Path | None, no_repo: bool, config_path: Path | None, isolated: bool,
    select: tuple[str, ...], extend_select: tuple[str, ...], ignore: tuple[str, ...], preview: bool | None,
    fail_on: str | None, exit_zero: bool, stdin_filename: str | None, max_size: str | None, color: bool | None, verbose: bool,
    llm: bool | None, server_mode: str | None,
) -> None:
    """Lint prompt files, directories of prompt files, or '-' for stdin."""
    from . import config as config_mod
    from . import inputs
    from .model import Report, Severity
    from .output import render
    from .pipeline import shared_linter

    if not paths:
        raise click.UsageError("give at least one prompt file, directory, or '-' for stdin")
    if repo is not None and no_repo:
        raise click.UsageError("--repo and --no-repo exclude each other")
    if repo is not None and not repo.is_dir():
        raise PromptlintError(f"--repo {repo}: not a directory")
    first = next((Path(p) for p in paths if p != "-"), Path.cwd())
    cfg = config_mod.discover(first if first.exists() else Path.cwd(), explicit=config_path, isolated=isolated)
    if config_path is not None and isolated:
        raise click.UsageError("--config and --isolated exclude each other")
    overrides: dict = {
        "select": _split_codes(select),
        "ignore": (*cfg.ignore, *(_split_codes(ignore, "--ignore") or ())) if ignore else None,
        "extend_select": (*cfg.extend_select, *(_split_codes(extend_select, "--extend-select") or ())) if extend_select else None,
        "preview": preview,
        "fail_on": Severity.parse(fail_on) if fail_on else None,
        "max_size": config_mod.parse_size(max_size, "--max-size") if max_size else None,
        "llm": llm,
    }
    cfg = cfg.with_overrides(**overrides)
    repo_root = None if no_repo else (repo.resolve() if repo is not None else find_repo_root(Path.cwd()))

    for warning in cfg.warnings:
        _warn(warning)
    items, errors, skipped = inputs.expand(list(paths))
    for warning in skipped:
        _warn(warning)
    linter = shared_linter(cfg).with_fresh_repos()  # a repository changed since is rescanned
    report = Report()
    for shown, path in items:
        try:
            prompt = inputs.read_stdin(stdin_filename or "-", cfg.max_size) if path is None else inputs.read_path(path, shown, cfg.max_size)
        except PromptlintError as exc:
            errors.append(str(exc))
            continue
        try:
            file_report = linter.lint(prompt.text, path=prompt.path, repo=repo_root)
        except PromptlintError:
            raise
        except Exception as exc:  # a bug on one file: say so, and still report the others
            errors.append(f"{shown}: internal error while linting ({type(exc).__name__}: {exc}); the other files are reported")
            continue
        if verbose and cfg.source is not None:
            file_report.notes.insert(0, f"config: {cfg.source}")
        report.files.append(file_report)
    render(fmt, report, linter.catalog, sys.stdout, verbose=verbose, color=color)
    for file_report in report.files:
        for warning in file_report.warnings:
            _warn(f"{file_report.path}: {warning}")
    for message in errors:
        _error(message)
    if errors:
        sys.exit(EXIT_ERROR)
    if not exit_zero and report.findings_at_or_above(cfg.fail_on):
        sys.exit(EXIT_FINDINGS)


@main.command()
@click.option("--repo", type=click.Path(file_okay=False, path_type=Path), help="Repository to index (default: the git root of the current directory).")
@click.option("--stats", is_flag=True, help="Also print languages, skipped files, parse errors, cache size and peak memory.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--max-file-size", help="Skip repository files larger than this [default: 1MB].")
@click.option("--defer-parse", is_flag=True, help="On a repository not indexed yet, read the code lexically now (what a first `check` uses) and leave the tree-sitter parse to the next run.")
def index(repo: Path | None, stats: bool, fmt: str, max_file_size: str | None, defer_parse: bool) -> None:
    """Build or refresh the repository index (tree-sitter symbols, routes, imports) and print counts."""
    import json
    import resource

    from . import config as config_mod
    from .repo.index import build_index
    from .textsafe import for_terminal

    if repo is not None and not repo.is_dir():
        raise PromptlintError(f"--repo {repo}: not a directory")
    root = repo.resolve() if repo is not None else find_repo_root(Path.cwd())
    if root is None:
        raise PromptlintError("the current directory is / or your home directory, not a project: pass --repo DIR")
    size = config_mod.parse_size(max_file_size, "--max-file-size", "max-file-size") if max_file_size else config_mod.DEFAULT_REPO_FILE_SIZE
    built = build_index(root, max_size=size, defer_parse=defer_parse)
    s = built.stats
    for warning in s.warnings:
        click.echo(f"promptlint: warning: {for_terminal(warning)}", err=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if fmt == "json":
        data = {
            "root": str(root), "git": s.git, "files": s.files, "parsed_files": s.parsed_files, "parsed_now": s.parsed_now,
            "from_cache": s.from_cache, "languages": dict(s.languages), "definitions": s.definitions, "references": s.references,
            "routes": s.routes, "parse_errors": s.parse_errors, "skipped": dict(s.skipped), "seconds": round(s.seconds, 3),
            "cache_path": s.cache_path, "cache_bytes": s.cache_bytes, "cache_rebuilt": s.cache_rebuilt, "truncated": s.truncated,
            "warnings": s.warnings, "notes": s.notes, "deferred": s.deferred,
            "peak_rss_mb": round(peak_mb, 1),
        }
        click.echo(json.dumps(data, indent=2))
        return
    langs = ", ".join(f"{n} {lang}" for lang, n in s.languages.most_common())
    click.echo(
        f"Indexed {s.files} files in {root} in {s.seconds:.2f} s: {s.parsed_files} parsed ({langs or 'none'}), "
        f"{s.parsed_now} re-parsed, {s.from_cache} from cache; {s.definitions} definitions, {s.routes} routes."
    )
    if s.deferred:
        click.echo(f"{s.deferred} files read lexically for now; the next `promptlint index` parses them.")
    if s.cache_rebuilt:
        click.echo("The cache was unreadable and has been rebuilt.")
    if s.truncated:
        click.echo(f"Stopped listing at {s.files} files: is {root} really one project? Pass --repo.")
    for note in s.notes:
        click.echo(f"Note: {for_terminal(note)}")
    if stats:
        click.echo(f"  source:       {'git ls-files' if s.git else 'directory walk (.gitignore honoured)'}")
        click.echo(f"  references:   {s.references}")
        click.echo(f"  parse errors: {s.parse_errors} files with syntax errors (indexed anyway)")
        for reason, n in s.skipped.most_common():
            click.echo(f"  skipped:      {n} ({reason})")
        click.echo(f"  cache:        {s.cache_path} ({s.cache_bytes / 1e6:.1f} MB)")
        click.echo(f"  peak memory:  {peak_mb:.0f} MB")


def _lint_one(path_arg: str, repo: Path | None, no_repo: bool, config_path: Path | None, isolated: bool, stdin_filename: str | None, overrides: dict | None = None):  # type: ignore[no-untyped-def]
    """Shared by `advise` and `rewrite`: lint a single prompt with the usual config and repo rules."""
    from . import config as config_mod
    from . import inputs
    from .pipeline import shared_linter

    if repo is not None and no_repo:
        raise click.UsageError("--repo and --no-repo exclude each other")
    if repo is not None and not repo.is_dir():
        raise PromptlintError(f"--repo {repo}: not a directory")
    start = Path(path_arg) if path_arg != "-" else Path.cwd()
    cfg = config_mod.discover(start if start.exists() else Path.cwd(), explicit=config_path, isolated=isolated).with_overrides(**(overrides or {}))
    for warning in cfg.warnings:
        _warn(warning)
    prompt = inputs.read_stdin(stdin_filename or "-", cfg.max_size) if path_arg == "-" else inputs.read_path(Path(path_arg), path_arg, cfg.max_size)
    repo_root = None if no_repo else (repo.resolve() if repo is not None else find_repo_root(Path.cwd()))
    linter = shared_linter(cfg).with_fresh_repos()  # a repository changed since is rescanned
    return linter, linter.lint(prompt.text, path=prompt.path, repo=repo_root)


def _single_prompt_options(f):  # type: ignore[no-untyped-def]
    for option in reversed(
        [
            click.argument("path", type=str),
            click.option("--repo", type=click.Path(file_okay=False, path_type=Path), help="Repository the prompt is about (default: the git root of the current directory)."),
            click.option("--no-repo", is_flag=True, help="Text-only analysis."),
            click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), help="Use this config file."),
            click.option("--isolated", is_flag=True, help="Ignore all config files."),
            click.option("--stdin-filename", help="Name to show for the prompt read from '-'."),
            click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True),
            click.option("--server", "server_mode", type=click.Choice(["auto", "never", "start"]), default=None,
                         help="Run in the warm `promptlint server` (see `promptlint check --help`)."),
        ]
    ):
        f = option(f)
    return f


@main.command()
@_single_prompt_options
def advise(path: str, repo: Path | None, no_repo: bool, config_path: Path | None, isolated: bool, stdin_filename: str | None, fmt: str, server_mode: str | None) -> None:
    """Which model should run this prompt (Haiku, Sonnet or Opus), why, and what it costs."""
    import json

    _linter, report = _lint_one(path, repo, no_repo, config_path, isolated, stdin_filename)
    advice = report.advice
    if fmt == "json":
        click.echo(json.dumps(advice, indent=2))
        return
    if advice is None:
        click.echo("No advice: the prompt is empty or fully suppressed.")
        return
    names = {"haiku": "Claude Haiku 4.5", "sonnet": "Claude Sonnet 4.5", "opus": "Claude Opus 4.5"}
    click.echo(f"Model: {names[advice['model']]} (chance Haiku fails this task: {advice['score']:.0%}; /model {advice['model']})")
    for reason in advice["reasons"]:
        click.echo(for_terminal(f"  {reason['code']:<6}  {reason['message']}"))
    if not advice["reasons"]:
        click.echo("  no escalation signal")
    if advice["estimated_files"] is not None:
        click.echo(f"Estimated files touched: {advice['estimated_files']}")
    cost = advice["cost"]
    task = ", ".join(f"{tier.capitalize()} ${cost['task'][tier]:.2f}" for tier in ("haiku", "sonnet", "opus"))
    click.echo(f"Task cost, estimated for an agent run: {task}")
    versus = cost["compared_with"].capitalize()
    click.echo(f"  Haiku saves ${cost['haiku_saving']:.2f} against {versus}; trying Haiku first and redoing a failure on {versus}: ${cost['haiku_first']:.2f} on average")
    click.echo(f"  ({cost['basis']})")
    if report.vagueness >= 0.5:
        click.echo(f"Vagueness {report.vagueness:.2f}: see `promptlint check` and `promptlint rewrite` first.")


@main.command()
@_single_prompt_options
@click.option("--diff", is_flag=True, help="Show the rewrite as a unified diff against the original prompt.")
@click.option("--llm/--no-llm", "llm", default=None, help="Polish the rewrite with the Anthropic Messages API (needs ANTHROPIC_API_KEY).")
@click.option("--llm-context", type=click.Choice(["none", "files"]), help="With --llm, also send the referenced files' contents.")
@click.option("--llm-model", help="Model for --llm [default: claude-haiku-4-5].")
def rewrite(
    path: str, repo: Path | None, no_repo: bool, config_path: Path | None, isolated: bool, stdin_filename: str | None, fmt: str,
    server_mode: str | None, diff: bool, llm: bool | None, llm_context: str | None, llm_model: str | None,
) -> None:
    """Print an explicit rewrite of the prompt, suited to Haiku (nothing when it is already explicit)."""
    import difflib
    import json

    overrides = {"llm": llm, "llm_context": llm_context, "llm_model": llm_model}
    _linter, report = _lint_one(path, repo, no_repo, config_path, isolated, stdin_filename, overrides)
    for warning in report.warnings:
        _warn(warning)
    if fmt == "json":
        click.echo(json.dumps({"path": report.path, "rewrite": report.rewrite, "advice": report.advice}, indent=2))
        return
    if report.rewrite is None:
        click.echo(for_terminal(f"{report.path}: already explicit; nothing to rewrite."), err=True)
        return
    if diff:
        lines = difflib.unified_diff(report.text.splitlines(keepends=True), report.rewrite.splitlines(keepends=True), fromfile=report.path, tofile=f"{report.path} (rewritten)")
        click.echo(for_terminal("".join(lines)), nl=False)
        return
    click.echo(for_terminal(report.rewrite), nl=False)


@main.command()
@click.option("--stop", is_flag=True, help="Stop the running server.")
@click.option("--status", is_flag=True, help="Say whether a server is running (exit 1 when not).")
@click.option("--background", is_flag=True, help="Detach and run in the background (the hook starts it this way).")
@click.option("--idle-timeout", type=float, help="Exit after this many idle seconds [default: 1800, or hook.idle-timeout].")
def server(stop: bool, status: bool, background: bool, idle_timeout: float | None) -> None:
    """Keep the NLP pipeline and repository indexes warm for the Claude Code hook (Unix socket)."""
    import json

    from . import server as server_mod
    from .hook import runtime

    if stop:
        reply = server_mod.request({"op": "stop"})
        click.echo("stopped" if reply else "no server running")
        return
    if status:
        reply = server_mod.request({"op": "status"})
        if reply is None:
            click.echo(f"no server running (socket {runtime.socket_path()})")
            sys.exit(1)
        click.echo(json.dumps(reply, indent=2))
        return
    # The server's lifetime is the user's to set (their own config), never a repository's.
    from .config import user_config

    mine = user_config()
    timeout = idle_timeout if idle_timeout is not None else (mine.server_idle_timeout if mine else 1800.0)
    if not 0 < timeout < float("inf"):
        raise click.UsageError("--idle-timeout must be a positive number of seconds")
    sys.exit(server_mod.run_server(timeout, background))


@main.group(name="hook")
def hook_group() -> None:
    """Hooks for coding agents (`promptlint hook claude-code` reads the hook input on stdin)."""


@hook_group.command(name="claude-code", context_settings={"ignore_unknown_options": True})
@click.option("--mode", type=click.Choice(["context", "block", "advise"]), help="What to do with a vague prompt [default: hook.mode in config, else context].")
@click.option("--deadline", type=float, default=2.0, show_default=True, help="Seconds before the hook gives up and lets the prompt through.")
def hook_claude_code(mode: str | None, deadline: float) -> None:
    """The UserPromptSubmit hook (normally reached through the fast path, without click)."""
    from .hook.client import main as hook_main

    args = (["--mode", mode] if mode else []) + ["--deadline", str(deadline)]
    hook_main(args)


@hook_group.command(name="session-start")
def hook_session_start() -> None:
    """The SessionStart hook: starts the warm server in the background (prints nothing)."""
    from .hook.session_start import main as start_main

    start_main([])


@hook_group.command(name="mod-endpoint")
def hook_mod_endpoint() -> None:
    """Where the Claude Code mod reaches the warm server (JSON: url and the secret file's path)."""
    from .hook.endpoint import main as endpoint_main

    endpoint_main([])


@main.group(name="install")
def install_group() -> None:
    """Install promptlint into a coding agent."""


@install_group.command(name="claude-code")
@click.option("--scope", type=click.Choice(["project", "local", "user"]),
              help="project: .claude/settings.json (shared); local: .claude/settings.local.json (not committed); "
                   "user: ~/.claude/settings.json [default: project, or local with --transport http].")
@click.option("--project", "project_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."), help="The project folder [default: .].")
@click.option("--mode", type=click.Choice(["context", "block", "advise"]), help="Hook mode (default: hook.mode in config, else context).")
@click.option("--transport", type=click.Choice(["command", "http"]), default="command", show_default=True,
              help="command: Claude Code starts a small client per prompt; http: it POSTs to the warm server on 127.0.0.1 (no process start; a per-user secret in a settings file that is not committed).")
@click.option("--timeout", type=click.IntRange(1, 600), help="Seconds Claude Code waits for the hook [default: 10, or 3 for http].")
def install_claude_code(scope: str | None, project_dir: Path, mode: str | None, transport: str, timeout: int | None) -> None:
    """Add promptlint's hooks to Claude Code's settings (idempotent; keeps everything else)."""
    from .hook.install import install

    scope = scope or ("local" if transport == "http" else "project")
    path, changed = install(scope, project_dir.resolve(), mode, timeout, transport=transport)
    click.echo(f"{'installed in' if changed else 'already installed in'} {path}")
    if scope == "project":
        click.echo("note: the command names this machine's launcher; teammates run this install themselves (or use the plugin)", err=True)


@main.group(name="uninstall")
def uninstall_group() -> None:
    """Remove promptlint from a coding agent."""


@uninstall_group.command(name="claude-code")
@click.option("--scope", type=click.Choice(["project", "local", "user"]), default="project", show_default=True)
@click.option("--project", "project_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
def uninstall_claude_code(scope: str, project_dir: Path) -> None:
    """Remove only promptlint's hook from Claude Code's settings."""
    from .hook.install import uninstall

    path, removed = uninstall(scope, project_dir.resolve())
    click.echo(f"{'removed from' if removed else 'not installed in'} {path}")


@main.command()
@click.option("--project", "project_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."), help="The project whose sessions to read [default: .].")
@click.option("--since", help="Only prompts from this date on (YYYY-MM-DD).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--no-repo", is_flag=True, help="Lint the prompts without the project's repository.")
def history(project_dir: Path, since: str | None, fmt: str, no_repo: bool) -> None:
    """Your real prompts from Claude Code transcripts: how vague, which rules, which model answered."""
    import json
    from datetime import datetime, timezone

    from .config import discover
    from .history import analyse, scan, transcripts_dir
    from .pipeline import Linter

    when = None
    if since:
        try:
            when = datetime.strptime(since, "%Y-%m-%d").replace(tzinfo=timezone.utc)
        except ValueError:
            raise PromptlintError(f"--since {since!r}: expected a date like 2026-11-01") from None
    folder = transcripts_dir(project_dir)
    if not folder.is_dir():
        raise PromptlintError(f"no Claude Code transcripts for {project_dir.resolve()} (looked in {folder})")
    found = scan(folder, when)
    linter = Linter(discover(project_dir.resolve()))
    data = analyse(found, linter, None if no_repo else find_repo_root(project_dir))
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False)
    console.print(f"[bold]{data['prompts']} prompts[/] in {data['sessions']} sessions ({data['malformed_lines']} unreadable lines skipped); "
                  f"[bold]{data['vague_share']:.0%}[/] had a warning or error.")
    console.print(Text(for_terminal("Answered by: " + ", ".join(f"{m} {n}" for m, n in sorted(data["by_model"].items())))))
    if data["top_rules"]:
        table = Table(title="Most frequent problems", show_edge=False)
        table.add_column("code")
        table.add_column("prompts", justify="right")
        for code, n in data["top_rules"]:
            table.add_row(code, str(n))
        console.print(table)
    for key, title in (("haiku_sized_on_larger_models", f"Haiku-sized prompts sent to Sonnet/Opus (saving at list prices: ${data['estimated_saving_usd']:.2f})"),
                       ("escalation_worthy_on_haiku", "Escalation-worthy prompts answered by Haiku")):
        rows = data[key]
        if not rows:
            continue
        table = Table(title=title, show_edge=False)
        for column in ("when", "model", "advised", "prompt"):
            table.add_column(column)
        for row in rows[:20]:
            # Transcript text as plain Text: a prompt holding "[/x]" is not rich markup (it raised
            # MarkupError), nor may its escape sequences reach the terminal.
            cells = ((row["timestamp"] or "")[:10], row["model"] or "?", row["advised"] or "?", row["prompt"])
            table.add_row(*(Text(for_terminal(str(c))) for c in cells))
        console.print(table)


@main.command()
@click.option("--project", "project_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."), help="The project Claude Code runs in [default: .].")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--no-probe", is_flag=True, help="Do not run the hook commands, only read the settings.")
def doctor(project_dir: Path, fmt: str, no_probe: bool) -> None:
    """Say whether Claude Code will find and run promptlint's hook here (exit 1 when it will not)."""
    from . import doctor as doctor_mod

    checks = doctor_mod.diagnose(project_dir, probe=not no_probe)
    click.echo(doctor_mod.render_json(checks) if fmt == "json" else doctor_mod.render_text(checks))
    sys.exit(doctor_mod.exit_code(checks))


@main.command()
def lsp() -> None:
    """Run the language server for prompt files over stdio (for editors)."""
    try:
        from .lsp import main as lsp_main
    except ImportError as exc:
        raise PromptlintError(f"the language server needs pygls 2 ({exc}); pip install 'haiku-promptlint'") from None
    lsp_main()


def _catalog(config_path: Path | None, isolated: bool):  # type: ignore[no-untyped-def]
    from . import config as config_mod
    from .rules.catalog import load_catalog

    cfg = config_mod.discover(Path.cwd(), explicit=config_path, isolated=isolated)
    return load_catalog(cfg.rules_dirs)


@main.command()
@click.argument("code")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), help="Config file (for rules-dir).")
@click.option("--isolated", is_flag=True, help="Ignore config files (built-in rules only).")
def rule(code: str, fmt: str, config_path: Path | None, isolated: bool) -> None:
    """Show a rule's documentation (by code, e.g. VAG001, or by name)."""
    import json

    catalog = _catalog(config_path, isolated)
    wanted = code.strip()
    found = catalog.get(wanted.upper()) or next((r for r in catalog.values() if r.name == wanted.lower()), None)
    if found is None:
        raise PromptlintError(f"unknown rule {code!r} (see `promptlint rules`)")
    if fmt == "json":
        click.echo(json.dumps(found.to_json(), indent=2, ensure_ascii=False))
    else:
        # A project's rule (rules-dir) is the repository's text: its doc must not drive the terminal
        # (an OSC 52 sequence writes the clipboard).
        click.echo(for_terminal(found.render_doc()), nl=False)


@main.command(name="rules")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), help="Config file (for rules-dir).")
@click.option("--isolated", is_flag=True, help="Ignore config files (built-in rules only).")
def rules_command(fmt: str, config_path: Path | None, isolated: bool) -> None:
    """List every rule with its family, default severity and status."""
    import json

    catalog = _catalog(config_path, isolated)
    if fmt == "json":
        data = [{k: v for k, v in r.to_json().items() if k != "doc"} for r in catalog.values()]
        click.echo(json.dumps(data, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(show_edge=False, header_style="bold")
    for column in ("code", "name", "family", "severity", "status"):
        table.add_column(column)
    for r in catalog.values():
        table.add_row(r.code, r.name, r.family, r.severity.name, r.status)
    Console(highlight=False).print(table)


if __name__ == "__main__":  # pragma: no cover
    main()
