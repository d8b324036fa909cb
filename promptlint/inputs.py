"""Turn CLI arguments into prompt texts: files, directories of prompt files, and stdin."""

from __future__ import annotations

import fnmatch
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

# Prompt files looked for inside a directory.
PROMPT_GLOBS = ("*.prompt", "*.prompt.md")
CLAUDE_FILES = ("CLAUDE.md", "CLAUDE.local.md")
_SKIP_DIRS = {".git", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".mypy_cache", ".pytest_cache", "dist", "build", "target", ".hg", ".svn"}


@dataclass(frozen=True)
class PromptInput:
    path: str  # as shown to the user
    text: str


def _is_claude_prompt_file(rel: Path) -> bool:
    parts = rel.parts
    name = rel.name
    if name in CLAUDE_FILES:
        return True
    if ".claude" in parts:
        inside = parts[parts.index(".claude") + 1 :]
        if not inside or not name.endswith(".md"):
            return False
        if inside[0] in ("commands", "agents") and len(inside) >= 2:
            return True
        if inside[0] == "skills" and name == "SKILL.md":
            return True
    return False


def is_prompt_file(path: Path, root: Path) -> bool:
    if any(fnmatch.fnmatch(path.name, g) for g in PROMPT_GLOBS):
        return True
    try:
        rel = path.resolve().relative_to(root.resolve())
    except ValueError:
        rel = path
    # A directory argument that *is* .claude keeps its name in the relative path.
    if root.name == ".claude":
        rel = Path(".claude") / rel
    return _is_claude_prompt_file(rel)


def discover(directory: Path, outside: list[Path] | None = None) -> list[Path]:
    """The prompt files below ``directory``. One that is a symlink resolving outside it is not
    returned (it is appended to ``outside``): a checkout's `CLAUDE.md -> ~/.aws/credentials`,
    linted by `promptlint check .` in CI, had its text shown in the findings' source lines and in
    the JSON rewrite. A link to a file inside (CLAUDE.md -> AGENTS.md) is linted as before."""
    from .fsutil import inside

    found = []
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in sorted(filenames):
            candidate = Path(dirpath) / name
            if is_prompt_file(candidate, directory):
                if os.path.islink(candidate) and not inside(candidate, directory):
                    if outside is not None:
                        outside.append(candidate)
                    continue
                found.append(candidate)
    return found


_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"),
)
# Characters that show nothing: a prompt made only of them (and spaces) is empty.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u200e\u200f\u2061\u2062\u2063\u2064"), None)


def _over(shown: str, size: str, max_size: int) -> InputError:
    return InputError(f"{shown}: {size} is over the {_size(max_size)} limit (raise it with --max-size or max-size in config)")


def decode(data: bytes, shown: str, max_size: int, truncated: bool = False) -> str:
    """The prompt's text. ``truncated``: ``data`` is the first max_size + 1 bytes of something longer."""
    if truncated or len(data) > max_size:
        raise _over(shown, f"more than {_size(max_size)}" if truncated else _size(len(data)), max_size)
    encoding = next((enc for bom, enc in _BOMS if data.startswith(bom)), None)
    if encoding is not None and encoding != "utf-8":
        try:
            text = data[len(next(b for b, e in _BOMS if e == encoding)) :].decode(encoding)
        except UnicodeDecodeError as exc:
            raise InputError(f"{shown}: not valid {encoding.upper()} (at byte {exc.start})") from None
    else:
        if b"\x00" in data:
            raise InputError(f"{shown}: looks like a binary file, not a prompt")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{shown}: not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        raise InputError(f"{shown}: looks like a binary file, not a prompt")
    if not text.translate(_INVISIBLE).strip():
        raise InputError(f"{shown}: the prompt is empty")
    return text


def _size(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f} MB"
    if n >= 1000:
        return f"{n / 1000:.1f} kB"
    return f"{n} bytes"


def read_path(path: Path, shown: str, max_size: int) -> PromptInput:
    """A prompt file: only a regular file is read (a FIFO would block, /dev/zero never ends)."""
    from .fsutil import TooLarge, UnsafeRead, read_regular

    try:
        data = read_regular(path, max_size)
    except TooLarge as exc:
        raise _over(shown, _size(exc.size), max_size) from None
    except UnsafeRead as exc:
        raise InputError(f"{shown}: {exc.reason}, not a prompt file") from None
    except FileNotFoundError:
        raise InputError(f"{shown}: no such file or directory") from None
    except IsADirectoryError:
        raise InputError(f"{shown}: is a directory") from None
    except PermissionError:
        raise InputError(f"{shown}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{shown}: cannot read ({exc.strerror or exc})") from None
    return PromptInput(shown, decode(data, shown, max_size))


def read_stdin(shown: str, max_size: int) -> PromptInput:
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # `promptlint check - <&-`: no standard input at all
        raise InputError(f"{shown}: no standard input to read (it is closed)")
    try:
        data = stream.read(max_size + 1)
    except OSError as exc:
        raise InputError(f"{shown}: cannot read standard input ({exc.strerror or exc})") from None
    if data is None:
        raise InputError(f"{shown}: standard input is non-blocking and has nothing to read")
    truncated = len(data) > max_size
    return PromptInput(shown, decode(data[:max_size + 1], shown, max_size, truncated=truncated))


def expand(arguments: list[str]) -> tuple[list[tuple[str, Path | None]], list[str], list[str]]:
    """(shown name, path or None for stdin) for each prompt to lint, errors for bad arguments, and
    warnings (prompt files found in a folder and not read)."""
    items: list[tuple[str, Path | None]] = []
    errors: list[str] = []
    warnings: list[str] = []
    for arg in arguments:
        if arg == "-":
            items.append(("-", None))
            continue
        path = Path(arg)
        if path.is_dir():
            outside: list[Path] = []
            found = discover(path, outside)
            warnings += [f"{p}: a symlink to a file outside {arg}; not read (name the file itself to lint it)" for p in outside]
            if not found and not outside:
                errors.append(f"{arg}: no prompt files found (looked for *.prompt, *.prompt.md, CLAUDE.md and .claude/ prompt files)")
            items += [(str(p), p) for p in found]
        elif path.exists() or path.is_symlink():
            items.append((arg, path))
        else:
            errors.append(f"{arg}: no such file or directory")
    return items, errors, warnings
