"""Check kinds for Claude Code's own prompt files (subagents, skills, slash commands, CLAUDE.md),
which Claude Code skips silently when they are broken. Rules choose their files with `applies-to`."""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

from .kinds import Context, Hit

if TYPE_CHECKING:  # pragma: no cover
    from ..text.analysis import Analysis
    from .catalog import Rule

_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)


def front_matter(text: str) -> tuple[str | None, int]:
    """(the YAML text, its offset in the file) or (None, 0) when there is none."""
    m = _FRONT.match(text)
    return (m.group(1), m.start(1)) if m else (None, 0)


_MAX_FRONT_MATTER = 64_000  # characters; Claude Code's own front matter is a few lines


@functools.lru_cache(maxsize=1)
def _loader():  # type: ignore[no-untyped-def]
    """PyYAML's safe loader without timestamps: `description: 2026-13-45` is text to Claude Code,
    not a date that makes the parser raise ValueError."""
    import yaml

    class _Loader(yaml.SafeLoader):
        def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
            # Aliases let 64 kB of YAML expand to gigabytes once printed ("billion laughs");
            # Claude Code's front matter never needs one.
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed in front matter", event.start_mark)
            return super().compose_node(parent, index)

    _Loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    _Loader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)
    return _Loader


def _parse(yaml_text: str) -> tuple[dict[str, Any] | None, str | None]:
    import yaml

    if len(yaml_text) > _MAX_FRONT_MATTER:
        return None, f"front matter over {_MAX_FRONT_MATTER // 1000} kB"
    try:
        data = yaml.load(yaml_text, Loader=_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        return None, f"{getattr(exc, 'problem', None) or 'invalid YAML'}{where}"
    except RecursionError:
        return None, "nested too deeply"
    except (ValueError, TypeError, OverflowError, ArithmeticError) as exc:  # a value its tag cannot hold (`!!float nanx`)
        return None, f"a value that does not parse ({type(exc).__name__}: {str(exc)[:80]})"
    if data is None:
        return {}, None
    if not isinstance(data, dict):
        return None, "front matter is not a mapping of keys"
    return data, None


def _key_span(text: str, yaml_text: str | None, offset: int, key: str) -> tuple[int, int]:
    if yaml_text is not None:
        m = re.search(rf"^{re.escape(key)}\s*:.*$", yaml_text, re.M)
        if m:
            return offset + m.start(), offset + m.end()
        return offset, offset + min(len(yaml_text.split("\n", 1)[0]), 80) if yaml_text else offset
    end = text.find("\n")
    return 0, end if end > 0 else len(text)


def check_front_matter(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    c = rule.check
    text = analysis.source.text
    yaml_text, offset = front_matter(text)
    test = c.get("test")
    data, problem = _parse(yaml_text) if yaml_text is not None else ({}, None)
    if test == "parses":
        if yaml_text is not None and problem:
            return [Hit(offset, offset + len(yaml_text.split("\n", 1)[0]), {"problem": problem})]
        return []
    if data is None:
        return []  # unparsable front matter is the `parses` rule's finding
    key = c.get("key", "")
    value = data.get(key)
    start, end = _key_span(text, yaml_text, offset, key)
    if test == "present":
        if value is None or (isinstance(value, str) and not value.strip()):
            return [Hit(start, end, {"key": key, "match": key})]
        return []
    if value is None:
        return []
    if test == "matches":
        shown = value if isinstance(value, str) else str(value)
        if not isinstance(value, str) or not any(re.fullmatch(p, value) for p in c.get("patterns", [])):
            return [Hit(start, end, {"key": key, "value": shown, "match": shown})]
        return []
    if test == "list":
        ok = (isinstance(value, str) and all(re.fullmatch(r"[\w*().:/ -]+", t.strip()) for t in value.split(",") if t.strip())) or (
            isinstance(value, list) and all(isinstance(t, str) and t.strip() for t in value)
        )
        return [] if ok else [Hit(start, end, {"key": key, "value": str(value), "match": str(value)})]
    if test == "length":
        keys = c.get("keys", [key])
        total = sum(len(str(data.get(k) or "")) for k in keys)
        if total > int(c["max"]):
            return [Hit(start, end, {"key": key, "length": total, "max": c["max"], "match": key})]
        return []
    from ..errors import RuleCatalogError

    raise RuleCatalogError(f"{rule.path}: front-matter: unknown test {test!r}")


def check_file_length(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    lines = analysis.source.text.split("\n")
    count = len(lines) - (1 if lines and lines[-1] == "" else 0)
    limit = int(rule.check["max-lines"])
    if count <= limit:
        return []
    start = sum(len(line) + 1 for line in lines[:limit])
    return [Hit(start, start + len(lines[limit]), {"lines": count, "max": limit, "match": lines[limit][:40]})]


FILE_KINDS = {"front-matter": check_front_matter, "file-length": check_file_length}
