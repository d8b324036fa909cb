"""Repository-aware check kinds (the REF family): they read the resolution of the prompt's mentions
against the repository index. With no repository (`--no-repo`) they stay silent."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .. import regexcache
from ..model import Severity
from ..repo.words import concern_words, singular, split_identifier, synonyms
from .kinds import Context, Hit

if TYPE_CHECKING:  # pragma: no cover
    from ..repo.resolve import Reference, Resolution
    from ..text.analysis import Analysis
    from .catalog import Rule


def _trigger(rule: "Rule", analysis: "Analysis"):  # type: ignore[no-untyped-def]
    kinds = set(rule.check.get("trigger-task-kinds", ["create", "change", "fix", "remove", "handle"]))
    if analysis.is_question_only:
        return None
    return next((t for t in analysis.task_verbs if t.kind in kinds), None)


def _describe(refs: list["Reference"], n: int) -> str:
    return "; ".join(f"{r.path} ({r.reason})" for r in refs[:n])


def check_missing_reference(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    """The task targets code but names no file or symbol: suggest the best candidates, when they
    are likely enough to be worth a warning (a weak guess is noise, and a new file has no target)."""
    res: Resolution | None = ctx.resolution
    if res is None or res.mentions:
        return []  # it names something (if that does not exist, REF002 says so)
    if getattr(res, "new_file", None) is not None:
        return []  # "add a rate limiter": nothing exists to name yet; REF004 points at the pattern
    verb = _trigger(rule, analysis)
    if verb is None:
        return []
    minimum = float(rule.check.get("min-score", 0.35))
    specific = {"named", "frame", "module", "definition", "message", "path", "symbol"}
    # Worth a warning only when likely and specific: a file whose name or definitions match, not
    # one that merely uses the prompt's words somewhere in its code.
    # a concern ("add error handling", "tests") or the project's own name ("the ledger") is not a file
    ignore = set(concern_words()) | set(ctx.resolver.project_words)
    task_words = _task_object_words(analysis, rule, ignore)
    refs = [
        r for r in res.references
        if r.score >= minimum and specific & set(r.evidence) and (set(r.evidence) & {"named", "frame", "module", "definition", "message"} or task_words & ctx.resolver.naming_words(r.path))
    ]
    if not refs or any(_named_in_words(analysis, r.path) for r in res.references[:3]):
        return []
    if sum(1 for r in res.references if r.score >= 0.9 * refs[0].score) >= 3:
        return []  # three or more copies of the same match: a guess among equals is not a suggestion
    n = int(rule.check.get("max-suggestions", 3))
    shown = refs[:1] + [r for r in res.references if r is not refs[0] and r.score >= minimum / 2]
    return [Hit(verb.start, verb.end, {"match": analysis.text[verb.start : verb.end], "top": refs[0].path, "candidates": _describe(shown, n)})]


_GLOB = re.compile(r"[*?\[\]{}<>$%]")
_DOMAIN = re.compile(r"^(?:www\.)?[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|io|dev|ai|app|co|edu|gov|me|sh|so|xyz|info|cloud|tech|us|uk|de)(?:/|$)", re.I)
# "Chart.js CDN", "Node.js 20": a product named after its file, not a file of this repository.
_PRODUCT_AFTER = re.compile(r"^\W{0,2}(?:cdn|library|libraries|lib|framework|package|module|plugin|sdk|api|v?\d+(?:\.\d+)*\b|version|docs|documentation|website|site|style|charts?|graphs?)\b", re.I)


_PLACEHOLDER_STEMS = {"name", "foo", "bar", "baz", "qux", "example", "sample", "xxx", "yyy", "something", "whatever", "filename", "file", "my", "your", "new", "some", "thing", "x", "y"}
_HYPOTHETICAL = re.compile(r"(?:\be\.?g\.?|\bfor example|\bfor instance|\bsuch as)[\s,:(]*(?:[\w./`'\"-]+[\s,]+(?:or|and)?\s*)*$", re.I)


def looks_like_path(text: str, after: str = "", near_miss: bool = False, before: str = "", dirs: "set[str] | None" = None) -> bool:
    """Whether a mention that did not resolve really names a path of this repository: not a glob or
    a placeholder ("name.service.ts"), not a hypothetical example ("e.g. post_likes.controller.ts"),
    not a list of words ("module/controller/service"), not a URL without its scheme, not a product
    named like a file ("Chart.js CDN")."""
    p = text.strip().strip("`'\"").lstrip("@").replace("\\", "/")
    if not p or _GLOB.search(p):
        return False
    if _DOMAIN.match(p) or "://" in p:
        return False
    if _HYPOTHETICAL.search(before[-60:]):
        return False
    if "..." in p or "\u2026" in p or before.endswith(">"):
        return False  # "src/...", "<Action>GA.cs": a placeholder, not a path
    base = p.rstrip("/").rsplit("/", 1)[-1]
    if base.split(".")[0].lower() in _PLACEHOLDER_STEMS:
        return False
    segments = [s for s in p.rstrip("/").split("/") if s]
    if len(segments) >= 2 and "." not in base and not p.endswith("/") and (dirs is None or segments[0] not in dirs):
        if all(re.fullmatch(r"[A-Za-z]+", s) for s in segments):
            return False  # "email/password/name", "PyObjC/AppKit/Quartz": words or product names, not a path
    if "/" not in p.rstrip("/"):
        stem, _, ext = p.rpartition(".")
        if ext.lower() in ("js", "ts") and stem and (stem[0].isupper() or _PRODUCT_AFTER.match(after)) and not near_miss:
            return False
        if _PRODUCT_AFTER.match(after) and not near_miss and ext.lower() in ("js", "ts", "io", "py"):
            return False
    return True


def check_unknown_reference(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    """A path or symbol the prompt names does not exist in the repository."""
    res: Resolution | None = ctx.resolution
    if res is None:
        return []
    creation_verbs = set(rule.check.get("creation-verbs", ["add", "create", "write", "implement", "introduce", "generate", "scaffold", "build", "define", "extract", "split", "move", "rename", "copy"]))
    tool_names = {t.lower() for t in rule.check.get("tool-names", ())}
    weaker = Severity.parse(rule.check["severity-without-near-miss"]) if "severity-without-near-miss" in rule.check else None
    dirs = ctx.resolver.search.dirs if ctx.resolver is not None else None
    hits = []
    text = analysis.text
    # A path the prompt lists as a file to write is new wherever else it is named ("## `src/db/x.ts`").
    listed_new = {_bare_path(m.text) for m in res.mentions if m.kind in ("path", "frame") and _listed_for_creation(text, m.start)}
    for m in res.mentions:
        if m.exists or analysis.is_code_block(m.start):
            continue
        if _created(analysis, m.start, creation_verbs):
            continue  # "Add tests/orders.test.ts": a new file is expected not to exist yet
        if m.kind in ("path", "frame") and _bare_path(m.text) in listed_new:
            continue  # "## Output files\n- src/db/store.ts": the list says what the agent will write
        if m.kind in ("path", "frame") and _names_branch(text, m.start, m.end):
            continue  # "push to `feature/add-tests` branch": a git branch, not a path
        if m.kind in ("path", "frame"):
            unquoted = m.text.strip("`'\"").lstrip("@")
            folder = unquoted.rstrip("/")
            if m.text.rstrip("`'\"").endswith("/") and "/" not in folder and dirs and any(d.endswith("/" + folder) for d in dirs):
                continue  # "luvatrix_core/ ... - `core/`:": a sub-folder named relative to its parent
            if not looks_like_path(m.text, text[m.end : m.end + 30], near_miss=bool(m.suggestions), before=text[max(0, m.start - 80) : m.start], dirs=dirs):
                continue
            if unquoted.startswith(("/", "~")) and (not m.suggestions or _SCRATCH_ROOT.match(unquoted)):
                continue  # an absolute path outside the repo (a traceback from site-packages, a /tmp scratch file)
            if re.match(r"\d+/", m.text) and text[max(0, m.start - 1) : m.start] == ":":
                continue  # ":3003/api/chart:1" in a browser console: a port and URL path, not a file
        elif not m.suggestions:
            continue  # an unknown identifier may be a library's; only near-misses are reported
        elif _bare_name(m.text).lower() in tool_names:
            continue  # "use `rg` and targeted `sed`": a command to run, not a symbol
        elif _prompt_heading(text, _bare_name(m.text)):
            continue  # "Execute the `Report` section ... ## Report": the prompt's own section
        what = ("folder" if m.text.rstrip("`").endswith("/") else "file") if m.kind in ("path", "frame") else "symbol"
        suggestion = ", ".join(m.suggestions) if m.suggestions else ""
        hit = Hit(m.start, m.end, {"match": m.text, "what": what, "did_you_mean": suggestion or "no similar name", "kind": m.kind})
        if weaker is not None and not m.suggestions and not _folder_exists(m.text, dirs):
            hit.severity = weaker  # nothing close, not even its folder: most such names were new or from elsewhere
        hits.append(hit)
    return hits


def _task_object_words(analysis: "Analysis", rule: "Rule", ignore: set[str] = frozenset()) -> set[str]:  # type: ignore[assignment]
    """The words of what the tasks act on: from each task verb to the end of its clause, with
    their synonyms ("make the checkout better" -> checkout; "add a table" -> table, schema, db...)."""
    kinds = set(rule.check.get("trigger-task-kinds", ["create", "change", "fix", "remove", "handle"]))
    verbs = sorted((t for t in analysis.task_verbs if t.kind in kinds), key=lambda t: t.start)
    text = analysis.text
    out: set[str] = set()
    for k, verb in enumerate(verbs):
        sent = analysis.sentence_of(verb.start)
        end = sent.end if sent is not None else len(text)
        while sent is not None and re.search(r"\b(?:etc|e\.g|i\.e|vs|cf)\.\s*$", text[sent.start : sent.end]):
            sent = analysis.sentence_of(sent.end + 1)  # "phone etc. in the signup route": one clause
            end = sent.end if sent is not None else end
        if k + 1 < len(verbs) and verbs[k + 1].start < end:
            end = verbs[k + 1].start
        clause = re.split(r"[;:!?]", text[verb.end : end], maxsplit=1)[0]
        out.update(w for w in split_identifier(clause) if len(w) > 2)
    syn = synonyms()
    out -= ignore  # a concern's synonyms are the same concern ("docs" -> readme)
    return out | {s for w in out for s in syn.get(w, ())}


_STRUCTURE_NOUNS = r"(?:module|file|crate|package|class|component|script|service|controller|model|page|struct|trait)"


def _named_in_words(analysis: "Analysis", path: str) -> bool:
    """"the transaction module" names src/transaction.rs in words: the prompt did say where."""
    stem = path.rsplit("/", 1)[-1].split(".")[0]
    words = split_identifier(stem)
    if not words:
        return False
    pattern = r"\b" + r"[\s_-]*".join(re.escape(w) for w in words) + r"s?\s+" + _STRUCTURE_NOUNS + r"\b"
    with regexcache.transient():  # one pattern per path: not for the cache file
        return re.search(pattern, analysis.text, re.I) is not None


_LIST_ITEM = re.compile(r"\s*(?:[-*+\u2022]|\d+[.)])")
# A lead-in that announces what the agent will write: "## Output files", "It should have a:",
# "Create these files:". A list under it names paths that do not exist yet.
_CREATION_LEAD_IN = re.compile(
    r"\b(?:output\s+files?|new\s+files?|files?\s+to\s+(?:create|add|write)|deliverables?|create|scaffold|generate|"
    r"should\s+(?:have|contain)|will\s+(?:have|contain))\b",
    re.I,
)


def _listed_for_creation(text: str, offset: int) -> bool:
    """Whether the mention sits in a list (or a nested list) whose lead-in line announces new files."""
    line_start = text.rfind("\n", 0, offset) + 1
    if not _LIST_ITEM.match(text, line_start):
        return False
    end = line_start - 1
    while end > 0:
        start = text.rfind("\n", 0, end) + 1
        line = text[start:end]
        if line.strip() and not _LIST_ITEM.match(line):
            return _CREATION_LEAD_IN.search(line) is not None
        end = start - 1
    return False


def _folder_exists(mention: str, dirs: "set[str] | None") -> bool:
    """The folder a missing path names is in the repository (the root counts): a file named into a real
    folder ("src/lib/authentication.ts" beside src/lib/auth.ts) is a stale reference more often than
    a branch, a tool or a file to come ("feature/add-tests", "mochi_donut/spec.md")."""
    folder = _bare_path(mention).removeprefix("./").rstrip("/").rpartition("/")[0]
    return not folder or (dirs is not None and folder in dirs)


def _bare_path(mention: str) -> str:
    return mention.strip().strip("`'\"").lstrip("@-")


def _bare_name(mention: str) -> str:
    return mention.strip("`").removesuffix("()")


def _prompt_heading(text: str, name: str) -> bool:
    """Whether the prompt has a Markdown heading that is exactly this name."""
    if not name:
        return False
    with regexcache.transient():  # one pattern per name: not for the cache file
        return re.search(r"(?m)^#{1,6}[ \t]+" + re.escape(name) + r"[ \t]*$", text) is not None


# Absolute folders that are never inside a repository checkout: a near-miss of the file name there
# ("/tmp/issues.md" -> docs/issues.md) is a coincidence.
_SCRATCH_ROOT = re.compile(r"/(?:tmp|var|etc|usr|opt|dev|proc|private)/")


_BRANCH_BEFORE = re.compile(r"\bbranch(?:\s+name)?\s*[:=]?\s*$", re.I)
_BRANCH_AFTER = re.compile(r"\s*branch\b", re.I)


def _names_branch(text: str, start: int, end: int) -> bool:
    """"the `feature/x` branch", "Branch name: `feature/x`": a git branch spelled like a path."""
    return bool(_BRANCH_BEFORE.search(text[max(0, start - 20) : start]) or _BRANCH_AFTER.match(text, end))


def _created(analysis: "Analysis", offset: int, verbs: set[str]) -> bool:
    """Whether a creation verb earlier in the same sentence governs the mention at ``offset``."""
    sent = analysis.sentence_of(offset)
    if sent is None:
        return False
    return any(t.lemma in verbs and t.start < offset for t in analysis.verbs_by_sentence.get(sent.index, ()))


def is_test_path(path: str) -> bool:
    # Imported on use: the search module pulls in the index (sqlite3, numpy), which a run without
    # a repository never needs.
    from ..repo.search import is_test_path as test_path

    return test_path(path)


def _rank_words(ctx: Context, words: dict[str, float]) -> list[tuple[str, float]]:
    resolver = ctx.resolver
    ranked = resolver.rank(words, [], mentions_tests=False)
    return [(p, v) for p, v, _ in ranked]


def _rank_names(ctx: Context, words: dict[str, float]) -> list[tuple[str, float]]:
    """Files by how well their name or their definitions match the words (1.0 = best possible)."""
    ranked = ctx.resolver.rank(words, [], mentions_tests=False)
    scored = [(p, max(ev["features"].get("path", 0.0), ev["features"].get("symbol", 0.0))) for p, _v, ev in ranked]
    return sorted(scored, key=lambda pv: (-pv[1], pv[0]))


def check_ambiguous_reference(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    """A noun phrase ("the config") matches several files about equally well: list them."""
    res: Resolution | None = ctx.resolution
    if res is None or res.named_existing or ctx.resolver is None:
        return []
    ratio = float(rule.check.get("within", 0.85))
    minimum = float(rule.check.get("min-raw-score", 1.0))
    hits = []
    for np_ in analysis.noun_phrases:
        words = {w: 1.0 for w in split_identifier(np_.text) if w not in ("the", "this", "that", "our", "my")}
        if not words:
            continue
        ranked = _rank_names(ctx, words)
        if len(ranked) < 2 or ranked[0][1] < minimum:
            continue
        close = [p for p, v in ranked if v >= ranked[0][1] * ratio][:4]
        if len(close) < 2:
            continue
        hits.append(Hit(np_.start, np_.end, {"match": np_.text, "candidates": ", ".join(close), "count": len(close)}))
    return hits


def check_no_pattern(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    """A create-new task with an obvious existing pattern in the repo that the prompt does not point to."""
    res: Resolution | None = ctx.resolution
    if res is None or ctx.resolver is None or res.named_existing:
        return []
    new_file = getattr(res, "new_file", None)
    if new_file is not None and new_file.pattern:
        verb = next((t for t in analysis.task_verbs if t.kind == "create"), None)
        if verb is not None:
            index = ctx.resolver.search.index
            syms = index.symbols.get(new_file.pattern)
            example = ""
            if syms is not None:
                example = ", ".join(f"{m} {r}" for m, r, _ in syms.routes[:3]) if len(syms.routes) >= 2 else ", ".join(f"`{d[0]}`" for d in syms.defs[:3])
            test = ctx.resolver.sibling_test(new_file.pattern)
            pattern = new_file.pattern + (f" ({example})" if example else "") + (f" and its test {test}" if test else "")
            end = verb.end
            found = analysis.text.find(new_file.what.split()[-1], verb.end) if new_file.what else -1
            if 0 <= found < verb.end + 80:
                end = found + len(new_file.what.split()[-1])
            return [Hit(verb.start, end, {"match": analysis.text[verb.start : end], "object": new_file.what, "pattern": pattern, "top": new_file.pattern})]
    if new_file is not None:
        return []  # a new kind of thing with nothing like it in the repository: no pattern to point to
    objects = {singular(k): v for k, v in rule.check.get("objects", {}).items()}
    for verb in analysis.task_verbs:
        if verb.kind != "create":
            continue
        head = _object_noun(analysis, verb, objects)
        if head is None:
            continue
        noun = singular(head.lemma_)
        words = {noun: 1.0, **{w: 0.6 for w in objects[noun]}}
        for s in synonyms().get(noun, ()):
            words.setdefault(s, 0.5)
        ranked = [(p, v) for p, v in _rank_words(ctx, words) if not is_test_path(p) or noun in ("test", "spec")]
        index = ctx.resolver.search.index
        for path, _value in ranked[:5]:
            syms = index.symbols.get(path)
            if syms is None or (len(syms.defs) < 2 and len(syms.routes) < 2):
                continue
            example = ", ".join(f"`{d[0]}`" for d in syms.defs[:3]) if len(syms.routes) < 2 else ", ".join(f"{m} {r}" for m, r, _ in syms.routes[:3])
            test = _sibling_test(path, index.files)
            pattern = f"{path} ({example})" + (f" and its test {test}" if test else "")
            return [Hit(verb.start, head.idx + len(head.text), {"match": analysis.text[verb.start : head.idx + len(head.text)], "object": noun, "pattern": pattern, "top": path})]
    return []


def _object_noun(analysis: "Analysis", verb, objects):  # type: ignore[no-untyped-def]
    """The head of the verb's object when it names a kind of thing we know patterns for
    ("Add a table `orders`" -> table; "Add error handling" -> none: the head is "handling")."""
    from .kinds import _PREPOSITIONS, _clause_tokens

    head = None
    for tok in _clause_tokens(analysis, verb, limit=8):
        if tok.lower_ in _PREPOSITIONS or tok.is_punct:
            break
        if tok.i not in analysis.code_token_ids and not tok.is_space:
            head = tok  # the last plain word before a preposition heads the object
    return head if head is not None and singular(head.lemma_) in objects else None


def _sibling_test(path: str, files) -> str | None:  # type: ignore[no-untyped-def]
    stem = path.rsplit("/", 1)[-1].split(".")[0].lower()
    if not stem:
        return None
    for f, base in _test_files(files):
        if stem in base:
            return f
    return None


# the repository's test files (path, lower-cased file name), in listing order, for the last few
# listings: the question is asked per prompt and the listing changes only when the index does
_test_files_memo: dict[int, tuple[object, list[tuple[str, str]]]] = {}


def _test_files(files) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    got = _test_files_memo.get(id(files))
    if got is not None and got[0] is files:
        return got[1]
    tests = [(f, f.rsplit("/", 1)[-1].lower()) for f in files if is_test_path(f)]
    if len(_test_files_memo) >= 4:
        _test_files_memo.clear()
    _test_files_memo[id(files)] = (files, tests)
    return tests


REPO_KINDS = {
    "missing-reference": check_missing_reference,
    "unknown-reference": check_unknown_reference,
    "ambiguous-reference": check_ambiguous_reference,
    "no-pattern": check_no_pattern,
}


def check_repo_fact_unstated(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    """The repository makes a choice matter (its error crate, its test setup, TypeScript strictness)
    and the prompt asks for work that depends on it without saying it."""
    c = rule.check
    facts = ctx.facts
    if facts is None or analysis.is_question_only:
        return []
    fact = c.get("fact")
    value = {
        "rust-error-crates": ", ".join(facts.rust_error_crates),
        "test-framework": facts.test_framework or "",
        "ts-strict": ", ".join(facts.ts_strict),
    }.get(fact)
    if value is None:
        from ..errors import RuleCatalogError

        raise RuleCatalogError(f"{rule.path}: repo-fact-unstated: unknown fact {fact!r}")
    if not value:
        return []
    text = analysis.text.lower()
    if any(re.search(p, text) for p in c.get("named-by-patterns", [])):
        return []
    if c.get("unless-named-files") and (
        (ctx.resolution is not None and any(m.kind in ("path", "frame") for m in ctx.resolution.named_existing))
        or any(s.kind == "path" for s in analysis.code_spans)
    ):
        return []  # a prompt that names its files has already placed the work
    kinds = set(c.get("trigger-task-kinds", ["create", "change", "fix", "handle"]))
    triggers = [(t.start, t.end) for t in analysis.task_verbs if t.kind in kinds]
    if not triggers:
        return []
    words = c.get("trigger-patterns", [])
    hit = None
    for pattern in words:
        for m in re.finditer(pattern, analysis.text, re.I):
            if not analysis.is_code(m.start(), m.end()):  # pasted logs and code do not ask for anything
                hit = (m.start(), m.end())
                break
        if hit:
            break
    if words and hit is None:
        return []
    start, end = hit or triggers[0]
    where = {"rust-error-crates": "Cargo.toml", "test-framework": facts.test_example or facts.manifest or "", "ts-strict": facts.tsconfig or ""}[fact]
    return [Hit(start, end, {"match": analysis.text[start:end], "value": value, "where": where, "test_dir": (facts.test_dirs or ["tests"])[0], "test_command": facts.test_command or ""})]


REPO_KINDS["repo-fact-unstated"] = check_repo_fact_unstated
