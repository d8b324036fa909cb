"""Extract what a file defines, references, imports and routes, with one tree-sitter query per language."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from .languages import toolkit
from .words import split_identifier

_ROUTE_METHODS = {
    "python": {"get", "post", "put", "patch", "delete", "head", "options", "route", "api_route", "websocket", "path", "re_path", "url"},
    "javascript": {"get", "post", "put", "patch", "delete", "head", "options", "all", "use", "route"},
    "go": {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "Handle", "HandleFunc", "Get", "Post", "Put", "Patch", "Delete", "Group", "Any", "Route"},
    "java": {"GetMapping", "PostMapping", "PutMapping", "PatchMapping", "DeleteMapping", "RequestMapping"},
}
_ROUTE_METHODS["typescript"] = _ROUTE_METHODS["tsx"] = _ROUTE_METHODS["javascript"]
_DOC_LIMIT = 4000
_MAX_REFS = 2000
_MAX_WORDS = 6000  # distinct content words kept per file (a generated table is not worth more)
_MESSAGE_LIMIT = 6000  # characters of message-like string literals kept per file
_IDENT = re.compile(rb"[A-Za-z][A-Za-z0-9_]*")
# A string literal that reads like a message: letters, at least two spaces, on one line.
_MESSAGE = re.compile(r"""(?<!")"((?:[^"\\\n]|\\.){12,240})"(?!")|(?<!')'((?:[^'\\\n]|\\.){12,240})'(?!')|`([^`\n]{12,240})`""")
_GENERATED_HEADER = re.compile(rb"@generated|\bdo not edit\b|\bauto-?generated\b|\bgenerated (?:by|from|with|using)\b|^// Code generated", re.I | re.M)


@dataclass
class FileSymbols:
    """What one file holds. Picklable and small: this is what the cache stores per file content."""

    lang: str
    defs: list[tuple[str, str, int]] = field(default_factory=list)  # (name, kind, 1-based line)
    refs: dict[str, int] = field(default_factory=dict)  # name -> count
    imports: list[str] = field(default_factory=list)
    routes: list[tuple[str, str, int]] = field(default_factory=list)  # (method, path, line)
    doc: str = ""
    parse_error: bool = False
    # The file's vocabulary for lexical search: distinct words of every identifier, comment and
    # string (split and singular, sorted, space-separated) and each word's count (capped at 255).
    words: str = ""
    word_counts: bytes = b""
    messages: str = ""  # message-like string literals, one per line (matched against pasted errors)
    generated: str = ""  # why the file is generated or minified ("" when written by hand)


def _text(node) -> str:  # type: ignore[no-untyped-def]
    return node.text.decode("utf-8", "replace")


def _unquote(literal: str) -> str:
    s = literal.strip()
    while s and s[0] in "rRbBuUfF" and len(s) > 1 and s[1] in "\"'`rRbB":
        s = s[1:]
    for quote in ('"""', "'''", '"', "'", "`"):
        if s.startswith(quote) and s.endswith(quote) and len(s) >= 2 * len(quote):
            return s[len(quote) : -len(quote)]
    return s


def _python_kind(node) -> str:  # type: ignore[no-untyped-def]
    """A function is a method when its definition sits in a class body."""
    definition = node.parent
    parent = definition.parent if definition is not None else None
    if parent is not None and parent.type == "decorated_definition":
        parent = parent.parent
    if parent is not None and parent.type == "block" and parent.parent is not None and parent.parent.type == "class_definition":
        return "method"
    return "function"


def _rust_kind(node) -> str:  # type: ignore[no-untyped-def]
    parent = node.parent.parent if node.parent is not None else None
    if parent is not None and parent.type == "declaration_list" and parent.parent is not None and parent.parent.type in ("impl_item", "trait_item"):
        return "method"
    return "function"


def _js_const_kind(node) -> str:  # type: ignore[no-untyped-def]
    value = node.parent.child_by_field_name("value") if node.parent is not None else None
    if value is not None and value.type in ("arrow_function", "function_expression", "function"):
        return "function"
    return "constant"


def _go_type_kind(node) -> str:  # type: ignore[no-untyped-def]
    body = node.parent.child_by_field_name("type") if node.parent is not None else None
    return {"struct_type": "struct", "interface_type": "interface"}.get(body.type if body is not None else "", "type")


def _vocabulary(source: bytes) -> tuple[str, bytes]:
    counts: Counter[str] = Counter()
    for token, n in Counter(_IDENT.findall(source)).items():
        for w in split_identifier(token.decode("ascii")):
            counts[w] += n
    if len(counts) > _MAX_WORDS:
        counts = Counter(dict(counts.most_common(_MAX_WORDS)))
    words = sorted(counts)
    return " ".join(words), bytes(min(255, counts[w]) for w in words)


def _messages(text: str) -> str:
    out: list[str] = []
    size = 0
    seen = set()
    for m in _MESSAGE.finditer(text):
        literal = next(g for g in m.groups() if g is not None)
        if literal.count(" ") < 2 or not re.search(r"[A-Za-z]{3}", literal) or literal in seen:
            continue
        seen.add(literal)
        out.append(literal)
        size += len(literal) + 1
        if size > _MESSAGE_LIMIT:
            break
    return "\n".join(out)


def generated_reason(source: bytes) -> str:
    """Why a file was not written by hand: a generator's header, or minified (very long lines)."""
    if _GENERATED_HEADER.search(source[:1200]):
        return "generated header"
    if len(source) > 3000:
        head = source.split(b"\n", 200)
        longest = max(map(len, head[:200] if len(head) <= 200 else head[:-1]))
        if len(source) / (source.count(b"\n") + 1) > 250 or longest > 4000:
            return "minified"
    return ""


def extract(source: bytes, lang: str) -> FileSymbols | None:
    """Symbols of one file, or None when the language's grammar is not available."""
    kit = toolkit(lang)
    if kit is None:
        return None
    from tree_sitter import QueryCursor

    tree = kit.parser.parse(source)
    result = FileSymbols(lang=lang, parse_error=tree.root_node.has_error)
    captures = QueryCursor(kit.query).captures(tree.root_node)
    refs: Counter[str] = Counter()
    docs: list[tuple[int, str]] = []
    imports: list[tuple[int, str]] = []
    route_methods = _ROUTE_METHODS.get(lang, set())
    method_nodes = captures.get("route.method", [])
    path_nodes = sorted(captures.get("route.path", []), key=lambda n: n.start_byte)
    for name, nodes in captures.items():
        if name.startswith("name.definition."):
            kind = name[len("name.definition.") :]
            for node in nodes:
                k = kind
                if lang == "python" and kind == "function":
                    k = _python_kind(node)
                elif lang == "rust" and kind == "function":
                    k = _rust_kind(node)
                elif lang in ("javascript", "typescript", "tsx") and kind == "constant":
                    k = _js_const_kind(node)
                elif lang == "go" and kind == "type":
                    k = _go_type_kind(node)
                result.defs.append((_text(node), k, node.start_point[0] + 1))
        elif name.startswith("name.reference."):
            for node in nodes:
                refs[_text(node).rsplit(".", 1)[-1]] += 1
        elif name == "import" or name == "import.require" or name == "import.mod":
            for node in nodes:
                text = _text(node)
                if name == "import.mod":
                    # `mod foo;` (no body) declares the file foo.rs; `mod foo { ... }` does not.
                    if node.parent is not None and node.parent.child_by_field_name("body") is None:
                        imports.append((node.start_byte, "mod:" + text))
                    continue
                if name == "import.require":
                    fn = node.parent.parent.child_by_field_name("function") if node.parent is not None and node.parent.parent is not None else None
                    if fn is None or _text(fn) != "require":
                        continue
                imports.append((node.start_byte, _unquote(text)))
        elif name == "doc":
            for node in nodes:
                text = _text(node)
                if lang == "rust" and not text.startswith(("///", "//!")):
                    continue
                if lang == "java" and not text.startswith("/**"):
                    continue
                docs.append((node.start_byte, _unquote(text).strip("/*! \n\t")))
    # Routes: pair each method capture with the path capture of the same call.
    for method_node in method_nodes:
        method = _text(method_node)
        if method not in route_methods:
            continue
        call = method_node.parent
        while call is not None and call.type not in ("call", "call_expression", "decorator", "annotation"):
            call = call.parent
        if call is None:
            continue
        for path_node in path_nodes:
            if call.start_byte <= path_node.start_byte < call.end_byte:
                route = _unquote(_text(path_node))
                if route.startswith("/") or (lang == "python" and method in ("path", "re_path", "url")):
                    result.routes.append((method.replace("Mapping", "").upper() if lang == "java" else method.upper(), route, path_node.start_point[0] + 1))
                break
    result.defs.sort(key=lambda d: (d[2], d[0]))
    result.refs = dict(refs.most_common(_MAX_REFS))
    # Query captures come grouped by pattern; source order keeps results stable across runs.
    result.imports = [text for _, text in sorted(imports)]
    result.doc = "\n".join(text for _, text in sorted(docs))[:_DOC_LIMIT]
    result.generated = generated_reason(source)
    if result.generated != "minified":  # a minified bundle's words would match every prompt
        result.words, result.word_counts = _vocabulary(source)
        result.messages = _messages(source.decode("utf-8", "replace"))
    return result
