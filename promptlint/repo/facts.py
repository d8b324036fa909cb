"""Facts about a repository that a prompt for a coding agent should not leave open: language and
framework, test framework and where tests live, TypeScript strictness, Rust error crates, and the
lint/format/test commands. Read from manifest files only (package.json, tsconfig.json, Cargo.toml,
pyproject.toml, go.mod, pom.xml, build.gradle); every path reported exists."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..resources import TOMLDecodeError, loads_toml
from ..fsutil import read_beneath
from .index import RepoIndex
from .search import is_test_path

_JS_TEST_FRAMEWORKS = ("vitest", "jest", "mocha", "ava", "playwright", "cypress")
_JS_FRAMEWORKS = ("next", "react", "vue", "svelte", "@angular/core", "express", "fastify", "koa", "hono", "@nestjs/core", "drizzle-orm", "prisma", "typeorm")
_PY_FRAMEWORKS = ("django", "fastapi", "flask", "sqlalchemy", "pydantic", "celery")
_TS_STRICT_FLAGS = ("strict", "noUncheckedIndexedAccess", "exactOptionalPropertyTypes", "noImplicitAny", "strictNullChecks", "noImplicitOverride")


@dataclass
class RepoFacts:
    languages: list[str] = field(default_factory=list)  # most files first
    frameworks: list[str] = field(default_factory=list)
    test_framework: str | None = None
    test_dirs: list[str] = field(default_factory=list)  # existing folders that hold tests
    test_example: str | None = None  # an existing test file to copy
    test_command: str | None = None
    lint_command: str | None = None
    format_command: str | None = None
    build_command: str | None = None
    ts_strict: list[str] = field(default_factory=list)  # enabled strict flags, with the tsconfig path
    tsconfig: str | None = None
    rust_error_crates: list[str] = field(default_factory=list)  # thiserror, anyhow, snafu, eyre
    manifest: str | None = None

    def constraint_lines(self) -> list[str]:
        """Facts phrased for a prompt's constraints section."""
        lines = []
        if self.languages:
            stack = ", ".join(self.languages[:2])
            if self.frameworks:
                stack += f" ({', '.join(self.frameworks[:4])})"
            lines.append(f"Stack: {stack}.")
        if self.test_framework or self.test_dirs:
            where = f" in {', '.join(d + '/' for d in self.test_dirs[:2])}" if self.test_dirs else ""
            like = f", following {self.test_example}" if self.test_example else ""
            framework = self.test_framework or "the existing test setup"
            run = f"; run them with `{self.test_command}`" if self.test_command else ""
            lines.append(f"Tests use {framework}{where}{like}{run}.")
        if self.ts_strict and self.tsconfig:
            flags = ", ".join(self.ts_strict)
            if "strict" in self.ts_strict:
                lines.append(f"TypeScript strict mode is on ({flags} in {self.tsconfig}): no `any`, handle `undefined` and `null`.")
            else:
                lines.append(f"TypeScript compiler checks are on ({flags} in {self.tsconfig}); new code must pass them.")
        if self.rust_error_crates:
            crates = self.rust_error_crates
            if "thiserror" in crates and "anyhow" in crates:
                lines.append("Errors: use thiserror for library errors and anyhow for application errors, as the crate does.")
            elif "thiserror" in crates:
                lines.append("Errors: define error variants with thiserror, as the crate's existing error types do; return `Result`, no `unwrap()` in library code.")
            elif "anyhow" in crates:
                lines.append("Errors: use anyhow (`anyhow::Result`, `.context(...)`), as the crate does.")
            else:
                lines.append(f"Errors: use {crates[0]}, as the crate does.")
        commands = [c for c in (self.lint_command, self.format_command, self.build_command) if c]
        if commands:
            lines.append("Before finishing, run " + ", ".join(f"`{c}`" for c in commands) + ".")
        return lines


# Manifests are a repository's files: untrusted. Read bounded, regular files only, below the root
# without following a symlink; parse failures of any kind (deep nesting, huge numbers, bad UTF-8)
# mean "no facts from this file", never an exception.
MANIFEST_LIMIT = 2_000_000


def _read(root: Path, rel: str, index: RepoIndex) -> str | None:
    if not dict.__contains__(index.files, rel):
        return None
    try:
        data = read_beneath(root, rel, MANIFEST_LIMIT)
    except (OSError, ValueError):
        return None
    return data.decode("utf-8", errors="replace")


# A string literal, a // line comment or a /* block comment */ (an unterminated one runs to the end):
# one left-to-right pass, so "https://x" inside a string is never taken for a comment.
_JSONC_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|//[^\n]*|/\*.*?(?:\*/|\Z)', re.S)
_TRAILING_COMMA = re.compile(r'("(?:[^"\\\n]|\\.)*")|,(\s*[}\]])')


def _strip_jsonc(text: str) -> str:
    text = _JSONC_TOKEN.sub(lambda m: m.group(0) if m.group(0).startswith('"') else " ", text)
    return _TRAILING_COMMA.sub(lambda m: m.group(1) or m.group(2), text)


def _json(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    for attempt in (text, None):
        try:
            # tsconfig allows comments and trailing commas: strip them only if plain JSON fails
            data = json.loads(attempt if attempt is not None else _strip_jsonc(text))
        except (ValueError, RecursionError):
            continue
        return data if isinstance(data, dict) else {}
    return {}


def _toml(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        data = loads_toml(text)
    except (TOMLDecodeError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _table(data: Any, *keys: str) -> dict[str, Any]:
    """data[k1][k2]... when every step is a table (a dict), else {}: manifests have any shape."""
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else {}


_LANGUAGE_NAMES = {
    "typescript": "TypeScript", "javascript": "JavaScript", "python": "Python", "rust": "Rust", "go": "Go", "java": "Java",
    # read lexically (no grammar), see languages.LEXICAL_EXTENSIONS
    "csharp": "C#", "kotlin": "Kotlin", "swift": "Swift", "scala": "Scala", "dart": "Dart", "ruby": "Ruby", "php": "PHP",
    "lua": "Lua", "gdscript": "GDScript", "elixir": "Elixir", "heex": "HEEx", "c": "C", "cpp": "C++", "objc": "Objective-C",
    "vue": "Vue", "svelte": "Svelte", "astro": "Astro", "al": "AL",
}


def detect_facts(index: RepoIndex) -> RepoFacts:
    root = index.root
    facts = RepoFacts()
    # By the listing's language of each parsed file: the same counts, without decoding every file's symbols
    langs = Counter(index.files[p].lang for p in index.symbols)
    if langs["tsx"]:
        langs["typescript"] += langs.pop("tsx")
    facts.languages = [_LANGUAGE_NAMES.get(lang, lang) for lang, _ in langs.most_common()]

    primary = facts.languages[0] if facts.languages else None
    test_files = [p for p in index.files if is_test_path(p) and index.files[p].lang]
    dirs = Counter(p.split("/")[0] for p in test_files if "/" in p and re.match(r"(tests?|__tests__|specs?)$", p.split("/")[0]))
    facts.test_dirs = [d for d, _ in dirs.most_common(2)]
    # A file that is a test by its name ("test_x.py", "x.test.ts"), not a helper that lives beside tests.
    named_tests = [p for p in test_files if re.search(r"(^|/)(test_[^/]+|tests\.py|[^/]+[._](test|spec)\.\w+)$", p)]
    facts.test_example = min(named_tests or test_files, key=lambda p: (p.count("/"), len(p)), default=None)

    package = _json(_read(root, "package.json", index)) if primary in ("TypeScript", "JavaScript") else {}
    if package:
        facts.manifest = "package.json"
        deps = {**_table(package, "dependencies"), **_table(package, "devDependencies")}
        facts.test_framework = next((t for t in _JS_TEST_FRAMEWORKS if t in deps), None)
        facts.frameworks += [f for f in _JS_FRAMEWORKS if f in deps]
        scripts = _table(package, "scripts")
        manager = "pnpm" if "pnpm-lock.yaml" in index.files else "yarn" if "yarn.lock" in index.files else "npm"
        if "test" in scripts:
            facts.test_command = f"{manager} test"
        for key, attr in (("lint", "lint_command"), ("format", "format_command"), ("build", "build_command"), ("typecheck", "build_command")):
            if key in scripts and getattr(facts, attr) is None:
                setattr(facts, attr, f"{manager} run {key}")
    tsconfig_path = "tsconfig.json" if "tsconfig.json" in index.files else None
    tsconfig = _json(_read(root, tsconfig_path, index)) if tsconfig_path else {}
    if tsconfig:
        options = _table(tsconfig, "compilerOptions")
        facts.ts_strict = [flag for flag in _TS_STRICT_FLAGS if options.get(flag) is True]
        facts.tsconfig = tsconfig_path

    cargo = _toml(_read(root, "Cargo.toml", index)) if primary == "Rust" else {}
    if cargo:
        facts.manifest = facts.manifest or "Cargo.toml"
        deps = {**_table(cargo, "dependencies"), **_table(cargo, "workspace", "dependencies")}
        facts.rust_error_crates = [c for c in ("thiserror", "anyhow", "snafu", "eyre", "color-eyre") if c in deps]
        facts.test_framework = facts.test_framework or ("cargo test" + (" with proptest" if "proptest" in _table(cargo, "dev-dependencies") else ""))
        facts.test_command = facts.test_command or "cargo test"
        facts.lint_command = facts.lint_command or "cargo clippy -- -D warnings"
        facts.format_command = facts.format_command or "cargo fmt"

    pyproject = _toml(_read(root, "pyproject.toml", index))
    if primary == "Python":
        text = (_read(root, "pyproject.toml", index) or "") + (_read(root, "setup.cfg", index) or "") + (_read(root, "requirements.txt", index) or "")
        if pyproject:
            facts.manifest = facts.manifest or "pyproject.toml"
        if "tests/runtests.py" in index.files:  # Django's own test runner
            facts.test_framework = "unittest (Django's test runner)"
            facts.test_command = "python tests/runtests.py"
        elif "pytest" in text or "conftest.py" in index.files or any(p.endswith("conftest.py") for p in test_files):
            facts.test_framework = facts.test_framework or "pytest"
            facts.test_command = facts.test_command or "pytest"
        elif test_files and facts.test_framework is None and "Python" in facts.languages[:1]:
            facts.test_framework = "unittest"
        facts.frameworks += [f for f in _PY_FRAMEWORKS if re.search(rf"\b{f}\b", text, re.I) and f not in facts.frameworks]
        tool = _table(pyproject, "tool")
        if "ruff" in tool and facts.lint_command is None:
            facts.lint_command = "ruff check ."
        if ("black" in tool or "ruff" in tool) and facts.format_command is None:
            facts.format_command = "ruff format ." if "ruff" in tool else "black ."
        if "mypy" in tool and facts.build_command is None:
            facts.build_command = "mypy ."
    if "go.mod" in index.files and primary == "Go":
        facts.manifest = facts.manifest or "go.mod"
        facts.test_framework = facts.test_framework or "go test"
        facts.test_command = facts.test_command or "go test ./..."
        facts.lint_command = facts.lint_command or "go vet ./..."
    if primary == "Java" and ("pom.xml" in index.files or "build.gradle" in index.files or "build.gradle.kts" in index.files):
        build = _read(root, "pom.xml", index) or _read(root, "build.gradle", index) or _read(root, "build.gradle.kts", index) or ""
        facts.test_framework = facts.test_framework or ("JUnit 5" if "junit-jupiter" in build else "JUnit" if "junit" in build else None)
        facts.test_command = facts.test_command or ("mvn test" if "pom.xml" in index.files else "./gradlew test")
    return facts
