"""Run the selected rules over an analysis and turn their hits into findings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..config import Config
from ..errors import ConfigError
from ..model import Finding
from .catalog import Rule
from .kinds import KINDS, Context, Hit

if TYPE_CHECKING:  # pragma: no cover
    from ..text.analysis import Analysis


class _Fields(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _matches(selector: str, code: str) -> bool:
    return selector == "ALL" or code.startswith(selector)


def select_rules(catalog: dict[str, Rule], config: Config) -> list[Rule]:
    """ruff's selection: (select or all stable) + extend-select - ignore; preview rules need
    `preview = true` or their exact code."""
    for key, selectors in (("select", config.select or ()), ("extend-select", config.extend_select), ("ignore", config.ignore)):
        for s in selectors:
            if not any(_matches(s, code) for code in catalog):
                where = f"{config.source}: " if config.source else ""
                raise ConfigError(f"{where}'{key}' selects no rule: {s!r} (see `promptlint rules`)")

    def chosen(rule: Rule, selectors: tuple[str, ...]) -> bool:
        hit = [s for s in selectors if _matches(s, rule.code)]
        if not hit:
            return False
        return not rule.is_preview or config.preview or rule.code in hit

    selected = []
    for rule in catalog.values():
        on = chosen(rule, config.select) if config.select is not None else (not rule.is_preview or config.preview)
        on = on or chosen(rule, config.extend_select)
        if on and any(_matches(s, rule.code) for s in config.ignore):
            # A more specific select beats a broader ignore ("ignore VAG, select VAG002").
            longest_ignore = max(len(s) for s in config.ignore if _matches(s, rule.code))
            longest_select = max((len(s) for s in (*(config.select or ()), *config.extend_select) if _matches(s, rule.code)), default=-1)
            on = longest_select > longest_ignore
        if on:
            selected.append(rule)
    return selected


def applies_to(patterns: list[str], path: str) -> bool:
    """Whether a rule limited to some files (`applies-to` globs) runs on ``path``."""
    import fnmatch

    posix = path.replace("\\", "/")
    return any(fnmatch.fnmatch(posix, p) or fnmatch.fnmatch("/" + posix, "*/" + p.lstrip("*/")) for p in patterns)


def applies_to_message(rule: Rule, analysis: "Analysis") -> bool:
    """Whether a rule limited to some kinds of message (`kinds`, see MESSAGE_KINDS) runs on this one."""
    kinds = rule.check.get("kinds")
    return not kinds or analysis.message_kind in kinds


def is_advice_rule(rule: Rule) -> bool:
    """Escalation rules feed the model advice; they are reasons, not findings."""
    return rule.kind == "escalation"


_DEPENDENCY_KEYS = ("trigger-findings", "unless-findings", "vague-findings")


def _batches(rules: list[Rule]) -> list[list[Rule]]:
    """Rules that react to other rules' findings run after them, so they see them (a rule that
    reacts to "VAG" runs after every VAG rule); a cycle runs together."""
    def depends_on(rule: Rule, other: Rule) -> bool:
        prefixes = tuple(p for key in _DEPENDENCY_KEYS for p in rule.check.get(key, ()))
        return other is not rule and bool(prefixes) and other.code.startswith(prefixes)

    pending, done, out = list(rules), set(), []
    while pending:
        ready = [r for r in pending if not any(depends_on(r, o) for o in pending)]
        if not ready:
            ready = pending
        out.append(ready)
        done.update(r.code for r in ready)
        pending = [r for r in pending if r not in ready]
    return out


@dataclass
class RuleEngine:
    rules: list[Rule]
    config: Config

    def __post_init__(self) -> None:
        # the order depends on the rules alone: worked out once, not on every prompt (it compared
        # every pair of rules, a third of the rule engine's time)
        self._lint_batches = _batches([r for r in self.rules if not is_advice_rule(r)])

    def run(self, analysis: "Analysis", resolution=None, resolver=None, facts=None) -> list[Finding]:  # type: ignore[no-untyped-def]
        ctx = Context(resolution=resolution, resolver=resolver, facts=facts)
        findings: list[Finding] = []
        for batch in self._lint_batches:
            produced = []
            for rule in batch:
                produced += self._run_rule(rule, analysis, ctx)
            ctx.earlier_codes.update(f.code for f in produced)
            findings += produced
        findings.sort(key=Finding.sort_key)
        return findings

    def escalation_reasons(self, analysis: "Analysis", findings: list[Finding], resolution=None, estimated_files=None):  # type: ignore[no-untyped-def]
        """(rule, message) for every escalation rule that fires on this prompt."""
        ctx = Context(earlier_codes={f.code for f in findings}, resolution=resolution, estimated_files=estimated_files)
        out = []
        for rule in self.rules:
            if not is_advice_rule(rule) or not applies_to_message(rule, analysis):
                continue
            hits = KINDS[rule.kind](rule, analysis, ctx)
            if hits:
                out.append((rule, rule.message.format_map(_Fields(hits[0].fields))))
        return out

    def _severity(self, rule: Rule, hit: "Hit | None" = None):  # type: ignore[no-untyped-def]
        overrides = self.config.severity
        best = None
        for selector, level in overrides:
            if _matches(selector, rule.code) and (best is None or len(selector) > len(best[0])):
                best = (selector, level)
        if best:
            return best[1]
        return hit.severity if hit is not None and hit.severity is not None else rule.severity

    def _run_rule(self, rule: Rule, analysis: "Analysis", ctx: Context) -> list[Finding]:
        # `unless-findings`: a rule that defers to another ("no-pattern-given" when
        # "missing-reference" already said it).
        if any(code.startswith(tuple(rule.check.get("unless-findings", ()))) for code in ctx.earlier_codes):
            return []
        if rule.check.get("applies-to") and not applies_to(rule.check["applies-to"], analysis.source.path):
            return []
        if not applies_to_message(rule, analysis):
            return []
        source = analysis.source
        out = []
        seen = set()
        for hit in KINDS[rule.kind](rule, analysis, ctx):
            if (hit.start, hit.end) in seen:
                continue
            seen.add((hit.start, hit.end))
            # What a rule found, even where a directive hides it: rules that reason about other
            # findings (CON001 about vague wording) still see it.
            ctx.earlier_spans.append((hit.start, hit.end, rule.code))
            start, end = source.position(hit.start), source.position(hit.end)
            if source.suppressions.is_suppressed(rule.code, start.line):
                continue
            fields = _Fields(hit.fields)
            out.append(
                Finding(
                    code=rule.code,
                    name=rule.name,
                    family=rule.family,
                    severity=self._severity(rule, hit),
                    message=rule.message.format_map(fields),
                    start_offset=hit.start,
                    end_offset=hit.end,
                    start=start,
                    end=end,
                    suggestion=rule.suggestion.format_map(fields) if rule.suggestion else None,
                    replacement=hit.replacement,
                    masked=hit.masked,
                )
            )
        return out
