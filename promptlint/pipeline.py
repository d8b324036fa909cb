"""The one analysis pipeline every front end calls:

    prompt text -> NLP analysis (text/) -> [repo index] -> findings (rules/) -> [advice, rewrite] -> report

The CLI, the Claude Code hook and the LSP server stay thin and call :class:`Linter` or :func:`lint`.
"""

from __future__ import annotations

import copy
import os
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from .config import Config
from .errors import LintTimeout
from .model import FileReport, redact_secrets
from .rules.catalog import Rule, load_catalog
from .rules.engine import RuleEngine, select_rules
from .scoring import vagueness
from .text.source import PromptSource
from .textsafe import scrub_surrogates

if TYPE_CHECKING:  # pragma: no cover
    from .repo.facts import RepoFacts
    from .repo.index import RepoIndex
    from .repo.resolve import Resolver
    from .repo.watch import Watcher


# A prompt with more findings than this is a pasted log or a document: the rest is noise, and
# rendering tens of thousands of findings would cost more than finding them.
MAX_FINDINGS = 500


@dataclass
class Linter:
    """A configured linter: catalogue, selected rules and NLP pipeline, loaded once and reused."""

    config: Config = field(default_factory=Config)
    catalog: dict[str, Rule] = field(init=False)
    engine: RuleEngine = field(init=False)

    def __post_init__(self) -> None:
        self.catalog = _catalog(self.config.rules_dirs)
        self.engine = RuleEngine(select_rules(self.catalog, self.config), self.config)
        self._pipeline = None
        self._lock = threading.Lock()
        self._repos: dict[Path, "RepoContext"] = {}
        self._building: dict[Path, threading.Thread] = {}
        self._build_guard = threading.Lock()

    def with_fresh_repos(self) -> "Linter":
        """This Linter's catalogue, rules and NLP pipeline (and its lock: they are one) with no
        repository looked at yet: each repository is checked for changes on first use, exactly as
        by a new Linter, while the rest costs nothing to set up."""
        other = copy.copy(self)
        other._repos = {}
        other._building = {}
        other._build_guard = threading.Lock()
        return other

    @property
    def pipeline(self):  # type: ignore[no-untyped-def]
        # spaCy is imported here, on first use, never at import time.
        if self._pipeline is None:
            from .text.nlp import get_pipeline

            self._pipeline = get_pipeline(self.config.nlp_pipeline)
        return self._pipeline

    def repo_context(self, root: Path) -> "RepoContext":
        """The repository's index (refreshed incrementally once per Linter) and its search structures."""
        root = root.resolve()
        ctx = self._repos.get(root)
        if ctx is None:
            ctx = self.refresh_repo(root)
        return ctx

    def repo_context_within(self, root: Path, wait: float) -> "RepoContext | None":
        """The repository's context if it is ready within ``wait`` seconds, else None; a build
        that is not finished goes on in the background (one per repository, however many ask)."""
        root = root.resolve()
        ctx = self._repos.get(root)
        if ctx is not None:
            return ctx
        with self._build_guard:
            builder = self._building.get(root)
            if builder is None:
                def build() -> None:
                    try:
                        self.refresh_repo(root)
                        freeze_heap()  # a new repository index: move it out of the collector's way
                    except Exception:  # noqa: BLE001 - no index: prompts are linted text-only
                        pass
                    finally:
                        with self._build_guard:
                            self._building.pop(root, None)

                builder = self._building[root] = threading.Thread(target=build, name="promptlint-index", daemon=True)
                builder.start()
        builder.join(max(0.0, wait))
        return self._repos.get(root)

    def refresh_repo(self, root: Path) -> "RepoContext":
        """Re-index (incrementally) and swap in the fresh context; readers keep the old one meanwhile."""
        root = root.resolve()
        ctx = warm_repo(root, self.config.repo_max_file_size, previous=self._repos.get(root))
        self._repos[root] = ctx
        return ctx

    def lint(self, text: str, path: str = "<prompt>", repo: Path | None = None, *, deadline: float | None = None,
             previous_turn: str | None = None) -> FileReport:
        """Lint one prompt. ``deadline`` (time.monotonic()) makes a late lint raise LintTimeout
        between stages instead of finishing work nobody waits for. ``previous_turn`` is the agent's
        last message when the prompt is a turn of a conversation (the hook reads it from the
        transcript): "" for the first turn of a session, None when unknown. A pronoun whose
        antecedent is in it is resolved, not flagged."""
        from .text.analysis import analyze

        text = scrub_surrogates(text)  # lone surrogates (from JSON or an editor) make spaCy raise
        source = PromptSource(text, path)
        report = FileReport(path=path, text=text)
        report.notes.append(f"nlp: {self.pipeline.describe()}")
        repo_ctx = None
        if repo is not None:
            try:
                repo_ctx = self.repo_context(Path(repo))
            except Exception as exc:  # the scan is an aid: without it, lint the text alone
                report.notes.append(f"repo: {repo} could not be indexed ({type(exc).__name__}: {exc}); text-only analysis")
        if repo_ctx is not None:
            s = repo_ctx.index.stats
            report.notes.append(
                f"repo: {repo_ctx.index.root} ({s.files} files, {s.parsed_files} parsed, {s.parsed_now} re-parsed, {s.seconds:.2f} s)"
            )
            report.notes.extend(f"repo: {note}" for note in s.notes)
            report.warnings.extend(s.warnings)  # a truncated listing: the user must know
        elif repo is None:
            report.notes.append("repo: none (text-only analysis)")
        if source.suppressions.whole_file == set() or not source.prose.strip():
            return report
        # spaCy's Language object is not meant for concurrent calls; a caller with a deadline waits
        # for the lock only as long as it has left.
        if not self._lock.acquire(timeout=-1 if deadline is None else max(0.0, deadline - time.monotonic())):
            raise LintTimeout("the linter was busy until the deadline")
        try:
            _check(deadline)
            analysis = analyze(source, self.pipeline, previous_turn)
            _check(deadline)
            resolution = repo_ctx.resolver.resolve(analysis) if repo_ctx is not None else None
            _check(deadline)
            report.findings = self.engine.run(analysis, resolution, repo_ctx.resolver if repo_ctx else None, repo_ctx.facts if repo_ctx else None)
            if len(report.findings) > MAX_FINDINGS:
                report.warnings.append(f"stopped reporting at {MAX_FINDINGS} findings ({len(report.findings) - MAX_FINDINGS} more): is this a prompt?")
                report.findings = report.findings[:MAX_FINDINGS]
            _check(deadline)
            if resolution is not None:
                report.references = [r.to_json() for r in resolution.references]
            report.vagueness = vagueness(analysis, report.findings, self.config.rules_dirs)
            from .advice import build_advice

            report.advice = build_advice(analysis, report.findings, report.vagueness, self.engine, self.config, resolution, repo_ctx)
            from .rewrite import build_rewrite

            report.rewrite = build_rewrite(
                analysis, report.findings, report.advice, resolution, repo_ctx, repo_ctx.facts if repo_ctx else None, self.catalog
            )
            if report.rewrite is not None and any(f.masked for f in report.findings):
                report.rewrite = redact_secrets(report.rewrite, report.text, report.findings)
        finally:
            self._lock.release()
        if report.rewrite is not None and self.config.llm and deadline is None:  # never on a deadline (the hook)
            self._polish(report, repo_ctx)
        return report

    def _polish(self, report: FileReport, repo_ctx: "RepoContext | None") -> None:
        from .llm import LLMSettings, polish

        cfg = self.config
        settings = LLMSettings(model=cfg.llm_model, timeout=cfg.llm_timeout, base_url=cfg.llm_base_url, context=cfg.llm_context, max_tokens=cfg.llm_max_tokens)
        known = set(repo_ctx.index.files) if repo_ctx is not None else set()
        referenced = [r["path"] for r in report.references]
        findings = [f"{f.code} {f.name}: {f.message}" for f in report.findings]
        # A pasted secret never goes to the polishing model either.
        result = polish(report.rewrite or "", redact_secrets(report.text, report.text, report.findings), findings, known, referenced, repo_ctx.index.root if repo_ctx else None, settings)
        report.rewrite = result.text
        report.notes.append(f"rewrite: {'polished by ' + cfg.llm_model if result.used_llm else 'deterministic'}")
        if result.warning:
            report.warnings.append(result.warning)


def _check(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise LintTimeout("the lint ran past its deadline")


@dataclass
class RepoContext:
    index: "RepoIndex"
    resolver: "Resolver"
    built_at: float = field(default_factory=time.monotonic)
    watcher: "Watcher | None" = None  # in a warm server: says whether the tree changed since

    @cached_property
    def facts(self) -> "RepoFacts":
        from .repo.facts import detect_facts

        return detect_facts(self.index)


# The newest context per (root, max file size), shared by every Linter of this process.
_warm_repos: dict[tuple[Path, int], "RepoContext"] = {}
# The process that watches its repositories for changes (the warm server, see watch_repositories):
# an index whose watcher saw nothing is answered from as it is, without a rescan.
_watching_pid: int | None = None


def watch_repositories() -> None:
    """From now on this process (not its forked children) watches the repositories it indexes."""
    global _watching_pid
    _watching_pid = os.getpid()


def warm_repo(root: Path, max_size: int, previous: "RepoContext | None" = None) -> "RepoContext":
    """Index ``root`` (incrementally, from the newest context this process has) and remember the
    result for every Linter of this process, and for the `check` children a warm server forks."""
    from .repo.resolve import Resolver
    from .repo.search import RepoSearch

    key = (root, max_size)
    warm = _warm_repos.get(key)
    if warm is not None and warm.watcher is not None and not warm.watcher.changed() and not warm.index.stats.deferred:
        return warm  # nothing below the root changed since it was scanned: the same index
    # (A deferred index is rescanned until the detached parse has completed it: the tree did not
    # change, the cache did. Such a rescan reuses the stand-ins and costs a no-change refresh.)
    old = warm or previous
    # The previous index lends its decoded symbols for unchanged content (repo/index.py).
    index, watcher = _scan(root, max_size, old.index if old is not None else None)
    if warm is not None and warm.index.files == index.files and (
        warm.index.stats.deferred == index.stats.deferred == 0 or warm.index.content_digest == index.content_digest
    ):  # an index whose deferred parse completed since holds other symbols for the same files
        # The same files with the same content keys as an index this process searched before
        # (the warm server, or its forked `check` children): the same search structures.
        ctx = RepoContext(index=index, resolver=warm.resolver, watcher=watcher)
        if "facts" in warm.__dict__:  # and the same facts (what the manifests say is in the files)
            ctx.__dict__["facts"] = warm.__dict__["facts"]
    else:
        ctx = RepoContext(index=index, resolver=Resolver(RepoSearch.build(index)), watcher=watcher)
    _warm_repos[key] = ctx
    return ctx


def _build(root: Path, max_size: int, previous: "RepoIndex | None") -> "RepoIndex":
    """A check answers a repository it finds unindexed from a lexical read of its code and leaves
    the tree-sitter parse to a detached process (repo/index.py, defer_parse): a later scan, in this
    process or the next, finds the complete index."""
    from .repo.index import build_index, complete_in_background, completion_died

    defer = os.environ.get("PROMPTLINT_DEFER_PARSE", "1") != "0" and not completion_died(root)
    index = build_index(root, max_size=max_size, previous=previous, defer_parse=defer)
    if index.stats.deferred:
        complete_in_background(index, max_size)
    return index


def _scan(root: Path, max_size: int, previous: "RepoIndex | None") -> "tuple[RepoIndex, Watcher | None]":
    """The index, and in the watching process a watcher armed before the scan (an edit made
    while it runs counts as a change) on every folder the index lists."""
    if _watching_pid != os.getpid():
        return _build(root, max_size, previous), None
    from .repo.watch import Watcher, folders_of

    for _ in range(2):  # a second, incremental scan when the first found folders nobody watched
        watched = folders_of(previous.files) if previous is not None else set()
        watcher = Watcher.arm(str(root), watched)
        index = _build(root, max_size, previous)
        if watcher is None or folders_of(index.files) <= watched:
            return index, watcher
        watcher.close()
        previous = index
    return index, None


def repos_warmed_since(before: dict[tuple[Path, int], "RepoContext"]) -> list[tuple[Path, int]]:
    """The (root, max size) keys indexed after the snapshot ``before`` of _warm_repos was taken."""
    return sorted(key for key, ctx in _warm_repos.items() if before.get(key) is not ctx)
_catalogs: dict[tuple, dict[str, Rule]] = {}


def _catalog(rules_dirs: tuple[Path, ...]) -> dict[str, Rule]:
    """The rule catalogue, loaded once per process for as long as its files are unchanged."""
    import os

    signature = [tuple(rules_dirs)]
    from .resources import builtin_rules_dir

    for folder in (builtin_rules_dir(), *rules_dirs):
        try:
            signature += sorted((e.name, e.stat().st_mtime_ns, e.stat().st_size) for e in os.scandir(folder) if e.name.endswith(".toml"))
        except OSError:
            signature.append((str(folder), None))
    key = tuple(signature)
    catalog = _catalogs.get(key)
    if catalog is None:
        catalog = load_catalog(rules_dirs)
        if len(_catalogs) >= 8:  # a long-lived server does not keep every edit of every rule
            _catalogs.pop(next(iter(_catalogs)))
        _catalogs[key] = catalog
    return catalog


_default: dict[Config, Linter] = {}


def shared_linter(config: Config) -> Linter:
    """This process's Linter for ``config``, made once while its rule files stay unchanged: the
    warm server's, for the `check` children it forks (a rule engine costs milliseconds to set up)."""
    linter = _default.get(config)
    if linter is None or linter.catalog is not _catalog(config.rules_dirs):
        if len(_default) >= 16 and config not in _default:  # a long-lived server sees few configs; never unbounded
            _default.pop(next(iter(_default)))
        linter = _default[config] = Linter(config)
    return linter


def lint(text: str, *, path: str = "<prompt>", repo: str | Path | None = None, config: Config | None = None) -> FileReport:
    """Lint one prompt. ``repo`` is the repository the prompt is about (None: text only)."""
    linter = shared_linter(config or Config())
    return linter.lint(text, path=path, repo=Path(repo) if repo is not None else None)


def analyze_for_hover(linter: Linter, text: str, repo: RepoContext):  # type: ignore[no-untyped-def]
    """The prompt's mentions resolved against the repository (for editor hovers)."""
    from .text.analysis import analyze

    with linter._lock:
        analysis = analyze(PromptSource(text), linter.pipeline)
        return repo.resolver.mentions(analysis)


def freeze_heap() -> None:
    """For long-running front ends (server, LSP): move the long-lived objects (spaCy, indexes) to the
    permanent generation, so a full collection over millions of index objects does not stall a request."""
    import gc

    gc.collect()
    gc.freeze()
