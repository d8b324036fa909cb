"""Load and validate the rule catalogue: one TOML file per rule (Vale-style data, ruff-style docs)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import RuleCatalogError
from ..model import Severity
from ..resources import TOMLDecodeError, builtin_rules_dir, loads_toml

FAMILIES = {
    "CLD": "Claude Code's own prompt files (subagents, skills, commands, CLAUDE.md)",
    "VAG": "vague wording",
    "SCO": "over-broad scope",
    "CON": "unstated constraints",
    "REF": "file and symbol references (repository scan)",
    "ESC": "model escalation advice",
    "SEC": "secrets pasted into the prompt",
}
# Shared word lists that live beside the rules but are not rules.
DATA_FILES = {"lexicon.toml", "synonyms.toml", "scores.toml"}
# fullmatch, not ^...$: "$" also matches before a final newline, so a project rule's code "XYZ001\n"
# passed and put a line break into every finding's line of output.
_CODE = re.compile(r"([A-Z]{2,4})(\d{3})")
_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
_DOC_SECTIONS = ("what", "why", "example", "use-instead")
_TOP_KEYS = {"code", "name", "family", "severity", "status", "kind", "message", "suggestion", "check", "doc", "examples", "offers-rewrite"}


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    family: str
    severity: Severity
    status: str  # stable | preview
    kind: str
    message: str
    suggestion: str | None
    check: dict[str, Any]
    doc: dict[str, Any]
    fail_examples: tuple[str, ...]
    pass_examples: tuple[str, ...]
    path: Path = field(compare=False, hash=False)
    # The fixture repository (fixtures/repos/<name>) its examples are about, for repo-aware rules.
    examples_repo: str | None = None
    # The file name its examples stand for, for rules limited to some files (`applies-to`).
    examples_path: str | None = None
    # The previous assistant message of conversational examples, by example text ("" = first turn).
    example_previous_turns: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    # Its finding makes `promptlint rewrite` build the explicit version even at info severity (a rule
    # demoted from warning for precision still names what the rewrite should ask for).
    offers_rewrite: bool = False

    @property
    def is_preview(self) -> bool:
        return self.status == "preview"

    def render_doc(self) -> str:
        """The rule's documentation as Markdown, ruff-style."""
        d = self.doc
        parts = [
            f"# {self.name} ({self.code})",
            "",
            f"Family: {self.family} ({FAMILIES.get(self.family, 'user-defined')}). "
            f"Default severity: {self.severity.name}. Status: {self.status}.",
            "",
            "## What it does",
            d["what"].strip(),
            "",
            "## Why is this bad?",
            d["why"].strip(),
            "",
            "## Example",
            "```text",
            d["example"].strip(),
            "```",
            "",
            "## Use instead",
            "```text",
            d["use-instead"].strip(),
            "```",
        ]
        refs = d.get("references") or []
        if refs:
            parts += ["", "## References"] + [f"- {r}" for r in refs]
        return "\n".join(parts) + "\n"

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "family": self.family,
            "severity": self.severity.name,
            "status": self.status,
            "kind": self.kind,
            "message": self.message,
            "doc": self.render_doc(),
        }


def _fail(path: Path, msg: str) -> RuleCatalogError:
    return RuleCatalogError(f"{path}: {msg}")


def _str(data: dict[str, Any], key: str, path: Path, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise _fail(path, f"missing required key '{key}'")
        return None
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, f"'{key}' must be a non-empty string")
    return value


def parse_rule(data: dict[str, Any], path: Path, known_kinds: set[str]) -> Rule:
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise _fail(path, f"unknown key '{sorted(unknown)[0]}'")
    code = _str(data, "code", path)
    m = _CODE.fullmatch(code or "")
    if not m:
        raise _fail(path, f"'code' {code!r} must be a family prefix of 2-4 capitals and 3 digits (e.g. VAG001)")
    family = _str(data, "family", path)
    if family != m.group(1):
        raise _fail(path, f"'family' {family!r} does not match the code prefix {m.group(1)!r}")
    name = _str(data, "name", path)
    if not _NAME.fullmatch(name or ""):
        raise _fail(path, f"'name' {name!r} must be kebab-case")
    try:
        severity = Severity.parse(_str(data, "severity", path) or "")
    except ValueError as exc:
        raise _fail(path, f"'severity': {exc}") from None
    status = _str(data, "status", path)
    if status not in ("stable", "preview"):
        raise _fail(path, "'status' must be 'stable' or 'preview'")
    kind = _str(data, "kind", path)
    if kind not in known_kinds:
        raise _fail(path, f"'kind' {kind!r} is not one of {', '.join(sorted(known_kinds))}")
    doc = data.get("doc")
    if not isinstance(doc, dict):
        raise _fail(path, "missing [doc] table")
    for section in _DOC_SECTIONS:
        _str(doc, section, path)
    examples = data.get("examples")
    if not isinstance(examples, dict):
        raise _fail(path, "missing [examples] table with 'fail' and 'pass' lists")
    fails, passes = examples.get("fail"), examples.get("pass")
    previous_turns: dict[str, str] = {}
    for label, value in (("fail", fails), ("pass", passes)):
        if not isinstance(value, list) or not value:
            raise _fail(path, f"[examples] '{label}' must be a non-empty list of prompts")
        texts = []
        for v in value:
            # A table gives a conversational example: {prompt = "...", previous-turn = "..."}.
            if isinstance(v, dict) and isinstance(v.get("prompt"), str) and isinstance(v.get("previous-turn", ""), str) and set(v) <= {"prompt", "previous-turn"}:
                previous_turns[v["prompt"]] = v.get("previous-turn", "")
                v = v["prompt"]
            if not isinstance(v, str) or not v.strip():
                raise _fail(path, f"[examples] '{label}' must be a non-empty list of prompts (strings or {{prompt, previous-turn}} tables)")
            texts.append(v)
        if label == "fail":
            fails = texts
        else:
            passes = texts
    offers_rewrite = data.get("offers-rewrite", False)
    if not isinstance(offers_rewrite, bool):
        raise _fail(path, "'offers-rewrite' must be true or false")
    check = data.get("check", {})
    if not isinstance(check, dict):
        raise _fail(path, "[check] must be a table")
    from .kinds import COMMON_PARAMS, KIND_PARAMS

    allowed = COMMON_PARAMS | KIND_PARAMS.get(kind, set())  # type: ignore[arg-type]
    unknown_params = sorted(set(check) - allowed)
    if unknown_params:
        raise _fail(path, f"[check] has no key '{unknown_params[0]}' for kind '{kind}' (known: {', '.join(sorted(allowed))})")
    if "kinds" in check:
        from ..text.analysis import MESSAGE_KINDS

        kinds = check["kinds"]
        if not isinstance(kinds, list) or not kinds or not all(isinstance(k, str) for k in kinds):
            raise _fail(path, "[check] kinds must be a non-empty list of message kinds")
        bad = sorted(set(kinds) - set(MESSAGE_KINDS))
        if bad:
            raise _fail(path, f"[check] kinds: unknown message kind {bad[0]!r} (known: {', '.join(MESSAGE_KINDS)})")
    return Rule(
        code=code,  # type: ignore[arg-type]
        name=name,  # type: ignore[arg-type]
        family=family,  # type: ignore[arg-type]
        severity=severity,
        status=status,  # type: ignore[arg-type]
        kind=kind,  # type: ignore[arg-type]
        message=_str(data, "message", path),  # type: ignore[arg-type]
        suggestion=_str(data, "suggestion", path, required=False),
        check=check,
        doc=doc,
        fail_examples=tuple(fails),  # type: ignore[arg-type]
        pass_examples=tuple(passes),  # type: ignore[arg-type]
        path=path,
        examples_repo=examples.get("repo"),
        examples_path=examples.get("path"),
        example_previous_turns=previous_turns,
        offers_rewrite=offers_rewrite,
    )


def load_rules_from(directory: Path, known_kinds: set[str], builtin: bool = False) -> list[Rule]:
    """The rules of one folder. A user's or project's folder is untrusted input: its files are read
    only when regular and small, and a rule whose patterns can backtrack catastrophically is refused."""
    from ..fsutil import OutsideRoot, read_regular
    from .regex_safety import problem, strings

    if not directory.is_dir():
        raise RuleCatalogError(f"rules-dir {directory} is not a directory")
    rules = []
    for path in sorted(directory.glob("*.toml")):
        if path.name in DATA_FILES or path.name.startswith("_"):
            continue
        try:
            # A symlink may not lead a rule file out of its folder (to ~/.ssh, say): rules-dir's own
            # "inside the project" check would mean nothing otherwise.
            data = loads_toml(read_regular(path, 1_000_000, root=None if builtin else directory).decode("utf-8"))
        except TOMLDecodeError as exc:
            raise _fail(path, f"invalid TOML: {exc}") from None
        except UnicodeDecodeError:
            raise _fail(path, "not valid UTF-8") from None
        except RecursionError:
            raise _fail(path, "invalid TOML: nested too deeply") from None
        except OutsideRoot:
            raise _fail(path, "a symlink to a file outside the rules-dir; not read") from None
        except OSError as exc:
            raise _fail(path, f"cannot read: {exc.strerror or exc}") from None
        rule = parse_rule(data, path, known_kinds)
        if not builtin:
            for pattern in strings(rule.check):
                why = problem(pattern)
                if why:
                    raise _fail(path, f"pattern {pattern[:60]!r} can take exponential time on long prompts ({why}); rewrite it")
        rules.append(rule)
    return rules


def load_catalog(extra_dirs: list[Path] | tuple[Path, ...] = ()) -> dict[str, Rule]:
    """Built-in rules plus the user's rules-dir folders; codes and names must be unique."""
    from .kinds import KINDS

    known = set(KINDS)
    catalog: dict[str, Rule] = {}
    names: dict[str, str] = {}
    for directory in (builtin_rules_dir(), *extra_dirs):
        for rule in load_rules_from(Path(directory), known, builtin=directory == builtin_rules_dir()):
            if rule.code in catalog:
                raise _fail(rule.path, f"duplicate rule code {rule.code} (also in {catalog[rule.code].path})")
            if rule.name in names:
                raise _fail(rule.path, f"duplicate rule name {rule.name} (also used by {names[rule.name]})")
            catalog[rule.code] = rule
            names[rule.name] = rule.code
    return dict(sorted(catalog.items()))
