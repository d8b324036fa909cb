"""Stage 4b: an explicit prompt for Haiku, built deterministically and offline from the findings,
the references and the repository's facts. Nothing is invented: every path comes from the index or
from the prompt, and what the prompt leaves open becomes a placeholder or a question.
"""

from __future__ import annotations

import bisect

import re
from typing import TYPE_CHECKING, Any

from .model import Finding, Severity

if TYPE_CHECKING:  # pragma: no cover
    from .pipeline import RepoContext
    from .repo.facts import RepoFacts
    from .repo.resolve import Resolution
    from .text.analysis import Analysis

ASK_LINE = "If anything is unclear or a detail is missing, ask me before you start."
# What each finding leaves open, as a line the user fills in ({match} is the flagged text).
_OPEN = {
    "VAG001": '"{match}": <what exactly to change, and the outcome you expect>',
    "VAG002": '"{match}": <a measurable target, e.g. a limit, a command that must pass, or example output>',
    "VAG003": '"{match}": <the complete list>',
    "VAG004": '"{match}": <required, or under which condition?>',
    "VAG005": '"{match}" refers to: <the file, function or error message>',
    "VAG006": '"{match}": <the baseline and the target>',
    "VAG007": '"{match}": <how many, exactly>',
    "REF003": '"{match}": <which file: {candidates}>',
}
_DETAILS = {
    "table": "Fields: <name, type and key of each field; relations to other tables>",
    "model": "Fields: <name, type and key of each field; relations to other models>",
    "entity": "Fields: <name, type and key of each field>",
    "schema": "Fields: <name, type and key of each field>",
    "collection": "Fields: <name and type of each field>",
    "endpoint": "Endpoint: <HTTP method and path>, request: <body or query parameters>, response: <status codes and body>",
    "route": "Route: <HTTP method and path>, request: <body or query parameters>, response: <status codes and body>",
    "api": "API: <HTTP method and path>, request: <body or query parameters>, response: <status codes and body>",
    "column": "Column: <name>, <type>, <nullable? default?>",
    "field": "Field: <name>, <type>, <nullable? default?>",
    "flag": "Flag: <name>, <type>, <default>",
    "option": "Option: <name>, <type>, <default>",
    "setting": "Setting: <name>, <type>, <default>",
}


def _wants_rewrite(findings: list[Finding], catalog: dict[str, Any] | None) -> bool:
    """A warning or an error, or a finding of a rule that offers the rewrite at any severity."""
    return any(f.severity >= Severity.warning or getattr((catalog or {}).get(f.code), "offers_rewrite", False) for f in findings)


def _clause(analysis: "Analysis", start: int, stop: int | None) -> str:
    """The task's own words: from its verb to the next task or the end of its sentence."""
    sent = analysis.sentence_of(start)
    end = sent.end if sent else len(analysis.text)
    if stop is not None and stop < end:
        end = stop
    text = analysis.source.text[start:end]
    text = re.sub(r"^[\s\-*•\d.)]+", "", text)
    text = re.sub(r"[\s,;]*(?:\band\b|\bthen\b|\balso\b)?[\s,;]*$", "", text.strip())
    return text[:1].upper() + text[1:] if text else text


def _task_text(analysis: "Analysis") -> str:
    text = analysis.source.prose.strip()
    return re.sub(r"[ \t]+\n", "\n", text)


def _bullets(lines: list[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


def _holds(repo: "RepoContext | None", path: str) -> str:
    """What a file defines, in a few names: "`users`, `products`, `User`"."""
    syms = repo.index.symbols.get(path) if repo is not None else None
    if syms is None:
        return ""
    main = [d for d in syms.defs if d[1] in ("class", "struct", "interface", "trait", "enum", "type", "function", "constant")] or syms.defs
    names = list(dict.fromkeys(d[0] for d in main))[:3]
    routes = [f"{m} {r}" for m, r, _ in syms.routes if m != "USE"][:2]
    shown = ", ".join(f"`{n}`" for n in names)
    if routes:
        shown = (shown + "; " if shown else "") + "routes " + ", ".join(routes)
    return shown


def _context_lines(resolution: "Resolution | None", findings: list[Finding], repo: "RepoContext | None") -> list[str]:
    lines: list[str] = []
    if resolution is None:
        return lines
    for f in findings:
        if f.code == "REF002":  # unknown-reference already spares files a create task will add
            closest = re.search(r"did you mean: (.+)\)$", f.message)
            hint = f"; the closest are: {closest.group(1)}" if closest and closest.group(1) != "no similar name" else ""
            lines.append(f"{f.message.split(':', 1)[0]} does not exist in this repository{hint}.")
    new_file = getattr(resolution, "new_file", None)
    if new_file is not None and not [r for r in resolution.references if r.score >= 1.0]:
        return lines + _new_file_lines(resolution, new_file, repo)
    pattern = next((f for f in findings if f.code == "REF004"), None)
    if pattern is not None and pattern.suggestion:
        match = re.search(r"follow the existing pattern in (.+?)\"?\.?$", pattern.suggestion)
        if match:
            where = match.group(1).rstrip('"')
            lines.append(f"Use the existing pattern in {where} as the reference.")
    named = [r for r in resolution.references if r.score >= 1.0]
    said = " ".join(lines)
    likely = [r for r in resolution.references if 0.3 <= r.score < 1.0 and r.path not in said][: max(0, 3 - len(named))]
    for r in named:
        holds = _holds(repo, r.path)
        lines.append(f"{r.path} is in scope" + (f" (it defines {holds})." if holds else "."))
    if likely and pattern is None and not named:
        first, likely = likely[0], likely[1:]
        holds = _holds(repo, first.path)
        lines.append(f"Use the existing code in {first.path} as the reference" + (f" (it defines {holds})." if holds else "."))
    for r in likely:
        holds = _holds(repo, r.path)
        lines.append(f"Probably relevant: {r.path}" + (f" ({holds})." if holds else "."))
    return lines


def _new_file_lines(resolution: "Resolution", new_file, repo: "RepoContext | None") -> list[str]:  # type: ignore[no-untyped-def]
    """A task that creates something new: say so, point at the closest pattern and its folder,
    and list other files only as code to read, never as the file to change."""
    what = new_file.what or "new code"
    if new_file.pattern:
        holds = _holds(repo, new_file.pattern)
        test = repo.resolver.sibling_test(new_file.pattern) if repo is not None else None
        where = f" in {new_file.folder}/" if new_file.folder else ""
        line = f"The {what} is new: create it in a new file{where}, following the pattern of {new_file.pattern}" + (f" ({holds})" if holds else "")
        line += (f", with a test like {test}." if test else ".")
    else:
        line = f"The {what} is new and nothing like it exists in the repository yet: create it in a new file in <the folder it belongs in>."
    lines = [line]
    if new_file.wiring:
        like = f", as {new_file.pattern} is" if new_file.pattern else ""
        lines.append(f"Register it in {new_file.wiring}{like}.")
    said = {new_file.pattern, new_file.wiring}
    related = [r for r in resolution.references if r.path not in said and 0.3 <= r.score < 1.0 and "content" != ",".join(r.evidence)][:2]
    for r in related:
        holds = _holds(repo, r.path)
        lines.append(f"Related existing code (to read or wire it into, not to replace): {r.path}" + (f" ({holds})." if holds else "."))
    return lines


def _constraint_lines(findings: list[Finding], facts: "RepoFacts | None", analysis: "Analysis") -> list[str]:
    lines = list(facts.constraint_lines()) if facts is not None else []
    codes = {f.code for f in findings}
    if "CON003" in codes:
        lines.append("Keep the public API and the current behaviour unchanged; change only what the task needs.")
    if any(t.kind in ("change", "fix", "remove", "create", "handle") for t in analysis.task_verbs):
        lines.append("Don't modify existing tests; add new ones for new behaviour.")
    return lines


def _open_lines(findings: list[Finding], text: str) -> list[str]:
    lines: list[str] = []
    seen = set()
    for f in findings:
        match = text[f.start_offset : f.end_offset]
        if f.code == "CON004":
            noun = re.search(r"a new (\w+) needs", f.message)
            template = _DETAILS.get(noun.group(1) if noun else "", "Details: <what the new thing needs>")
            line = template
        elif f.code in _OPEN:
            candidates = re.search(r"equally: (.+)$", f.message)
            line = _OPEN[f.code].format(match=match.strip(), candidates=candidates.group(1) if candidates else "")
        else:
            continue
        if line not in seen:
            seen.add(line)
            lines.append(line)
    return lines


def _acceptance_lines(findings: list[Finding], facts: "RepoFacts | None") -> list[str]:
    codes = {f.code for f in findings}
    lines = []
    if "CON001" in codes:
        lines.append("<the behaviour that shows it works, e.g. an input and the expected output>")
    if "CON002" in codes or "CON001" in codes:
        where = f" in {facts.test_dirs[0]}/" if facts and facts.test_dirs else ""
        run = f" and `{facts.test_command}` passes" if facts and facts.test_command else " and the test suite passes"
        lines.append(f"New or changed behaviour is covered by a test{where}{run}.")
    return lines


def _section(title: str, lines: list[str]) -> str:
    return f"{title}:\n{_bullets(lines)}" if lines else ""


def _split_tasks(analysis: "Analysis", findings: list[Finding], catalog: dict[str, Any] | None) -> list[str] | None:
    """Focused sub-tasks, in the order the prompt gives them, when the prompt holds several."""
    if not any(f.code == "SCO002" for f in findings):
        return None
    from .rules.kinds import independent_tasks

    if catalog is None:
        from .rules.catalog import load_catalog

        catalog = load_catalog()
    rule = catalog["SCO002"]
    tasks = independent_tasks(analysis, rule)
    starts_by_sentence: dict[int, list[int]] = {}
    for t in tasks:
        starts_by_sentence.setdefault(t.sentence, []).append(t.start)
    for starts in starts_by_sentence.values():
        starts.sort()
    parts = []
    for t in tasks:
        # Each task's clause ends where the next task of its sentence begins (bisect: a long
        # prompt has thousands of tasks, and a scan per task made this quadratic).
        starts = starts_by_sentence[t.sentence]
        i = bisect.bisect_right(starts, t.start)
        parts.append(_clause(analysis, t.start, starts[i] if i < len(starts) else None))
    return [p for p in parts if p] or None


def build_rewrite(
    analysis: "Analysis", findings: list[Finding], advice: dict[str, Any] | None,
    resolution: "Resolution | None" = None, repo: "RepoContext | None" = None, facts: "RepoFacts | None" = None,
    catalog: dict[str, Any] | None = None,
) -> str | None:
    """The explicit prompt, or None when the prompt is already explicit (no warning or error, and no
    finding of a rule that offers the rewrite)."""
    # A new-file task that names no file is worth a rewrite even when no warning fires: saying that
    # the file is new, where it goes and what to follow is the rewrite's point ("already explicit"
    # was wrong there). A prompt that names where the work goes has said it already.
    new_file_unplaced = resolution is not None and resolution.new_file is not None and not any(
        m.kind in ("path", "frame", "module") for m in resolution.mentions)
    if not _wants_rewrite(findings, catalog) and not new_file_unplaced:
        return None
    text = analysis.source.prose
    context = _context_lines(resolution, findings, repo)
    constraints = _constraint_lines(findings, facts, analysis)
    open_items = _open_lines(findings, text)
    acceptance = _acceptance_lines(findings, facts)
    split = _split_tasks(analysis, findings, catalog)
    if split:
        blocks = []
        if advice is not None and advice.get("model") in ("sonnet", "opus"):
            blocks.append(
                "0. Planning prompt (Sonnet): Plan the work below as an ordered list of focused steps, one or two files "
                "each, naming the files every step touches and how to verify it. Do not write code yet.\n\n"
                + "\n".join(f"   > {line}" for line in _task_text(analysis).splitlines())
            )
        for n, part in enumerate(split, 1):
            blocks.append(f"{n}. {part}.".replace("..", "."))
        shared = "\n\n".join(s for s in (_section("Context for every step", context), _section("Constraints for every step", constraints), _section("To fill in before sending", open_items)) if s)
        head = f"This prompt holds {len(split)} independent tasks. Send them as separate prompts, in this order:"
        return "\n\n".join(s for s in (head, "\n\n".join(blocks), shared, ASK_LINE) if s) + "\n"
    body = [_task_text(analysis)]
    for title, lines in (("Context", context), ("Constraints", constraints), ("To fill in before sending", open_items), ("Acceptance criteria", acceptance)):
        section = _section(title, lines)
        if section:
            body.append(section)
    body.append(ASK_LINE)
    return "\n\n".join(body) + "\n"
