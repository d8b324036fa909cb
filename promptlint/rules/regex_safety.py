"""Catastrophic backtracking in a rule's regular expression, found before the rule ever runs.

Rules from a project's `rules-dir` come with the repository. Python's `re` cannot be interrupted,
so one pattern like `(a+)+$` on a long prompt would pin the hook server's worker forever. Such
rules are refused at load time: a repeat (`*`, `+`, `{n,}`, or a bounded repeat over 100) whose
body can itself repeat without bound, or an unbounded repeat over alternatives that can match the
same text, is the shape every classic ReDoS has (star height above one).
"""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):
    import re._constants as _c
    import re._parser as _p
else:  # pragma: no cover - Python 3.10
    import sre_constants as _c
    import sre_parse as _p

_REPEATS = {_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", _c.MAX_REPEAT)}
_BIG = 100


def _unbounded(hi: int) -> bool:
    return hi == _c.MAXREPEAT or hi > _BIG


def _has_unbounded_repeat(items) -> bool:  # type: ignore[no-untyped-def]
    for op, arg in items:
        if op in _REPEATS:
            lo, hi, body = arg
            if _unbounded(hi) or _has_unbounded_repeat(body):
                return True
        elif op == _c.SUBPATTERN:
            if _has_unbounded_repeat(arg[-1]):
                return True
        elif op == _c.BRANCH:
            if any(_has_unbounded_repeat(b) for b in arg[1]):
                return True
    return False


def _first_literals(items) -> set | None:  # type: ignore[no-untyped-def]
    """What the first character of a match can be, roughly; None when it can be anything."""
    for op, arg in items:
        if op == _c.LITERAL:
            return {arg}
        if op == _c.SUBPATTERN:
            return _first_literals(arg[-1])
        if op in (_c.AT,):
            continue
        return None
    return set()


_CATEGORY_TEST = {
    "CATEGORY_DIGIT": str.isdigit, "CATEGORY_NOT_DIGIT": lambda c: not c.isdigit(),
    "CATEGORY_SPACE": str.isspace, "CATEGORY_NOT_SPACE": lambda c: not c.isspace(),
    "CATEGORY_WORD": lambda c: c.isalnum() or c == "_", "CATEGORY_NOT_WORD": lambda c: not (c.isalnum() or c == "_"),
}


def _item_matches(op, arg, ch: str) -> bool:  # type: ignore[no-untyped-def]
    """Whether one pattern item can match the character ``ch`` (True when unsure)."""
    code = ord(ch)
    if op == _c.LITERAL:
        return arg == code
    if op == _c.NOT_LITERAL:
        return arg != code
    if op == _c.IN:
        negate = any(o == _c.NEGATE for o, _ in arg)
        hit = False
        for o, a in arg:
            if o == _c.LITERAL and a == code:
                hit = True
            elif o == _c.RANGE and a[0] <= code <= a[1]:
                hit = True
            elif o == _c.CATEGORY:
                test = _CATEGORY_TEST.get(str(a))
                hit = hit or (test(ch) if test else True)
        return hit != negate
    return True


def _repeated_items_match(items, ch: str) -> bool:  # type: ignore[no-untyped-def]
    """Whether any item repeated without bound inside ``items`` can match ``ch``."""
    for op, arg in items:
        if op in _REPEATS:
            lo, hi, body = arg
            if _unbounded(hi) and any(_item_matches(o, a, ch) for o, a in body if o not in _REPEATS and o != _c.SUBPATTERN):
                return True
            if _repeated_items_match(body, ch):
                return True
        elif op == _c.SUBPATTERN and _repeated_items_match(arg[-1], ch):
            return True
        elif op == _c.BRANCH and any(_repeated_items_match(b, ch) for b in arg[1]):
            return True
    return False


def _delimited(body) -> bool:  # type: ignore[no-untyped-def]
    """A repeat whose every iteration starts with a literal character that nothing repeated inside
    it can match (`(?:-[a-z0-9]+)*`): iterations cannot be split two ways, so no blow-up."""
    while len(body) == 1 and body[0][0] == _c.SUBPATTERN:
        body = body[0][1][-1]
    if not body or body[0][0] != _c.LITERAL:
        return False
    return not _repeated_items_match(body[1:], chr(body[0][1]))


def _factored_alternatives_overlap(body) -> bool:  # type: ignore[no-untyped-def]
    """re's parser factors a common prefix out of alternatives: `(a|a)*` parses as `(a(?:|))*` and
    `(a|aa)+` as `(a(?:|a))+`, so the alternatives are no longer the repeat's only item (they were
    let through, and take seconds on 24 characters). Within one iteration (a repeat's body, a
    single group unwrapped): a branch with two empty alternatives, or with an empty one beside
    one that can start like the next iteration does, splits the same text two ways."""
    while len(body) == 1 and body[0][0] == _c.SUBPATTERN:
        body = body[0][1][-1]
    start = _first_literals(body)
    for op, arg in body:
        if op == _c.SUBPATTERN and len(arg[-1]) == 1:
            op, arg = arg[-1][0]
        if op != _c.BRANCH:
            continue
        branches = arg[1]
        empty = sum(1 for b in branches if not b)
        if empty >= 2:
            return True
        if empty == 1:
            for b in branches:
                first = _first_literals(b) if b else set()
                if b and (first is None or start is None or first & start):
                    return True
    return False


def strings(value):  # type: ignore[no-untyped-def]
    """Every string in a rule's [check] table (patterns and word lists alike: checking a plain
    word costs nothing and needs no list of which keys hold regexes)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)


def problem(pattern: str) -> str | None:
    """Why ``pattern`` can backtrack catastrophically, or None."""
    try:
        parsed = _p.parse(pattern)
    except Exception:  # noqa: BLE001 - not a valid regex: the rule's own compile reports it
        return None

    def walk(items) -> str | None:  # type: ignore[no-untyped-def]
        for op, arg in items:
            if op in _REPEATS:
                lo, hi, body = arg
                if (_unbounded(hi) or hi >= 5) and _has_unbounded_repeat(body) and not _delimited(body):
                    return "a repeat inside a repeat (nested quantifiers)"
                if _unbounded(hi):
                    for sub_op, sub_arg in body:
                        if sub_op == _c.SUBPATTERN:
                            sub_op, sub_arg = sub_arg[-1][0] if len(sub_arg[-1]) == 1 else (None, None)
                        if sub_op == _c.BRANCH:
                            firsts = [_first_literals(b) for b in sub_arg[1]]
                            if any(f is None for f in firsts) or len(set().union(*firsts)) < sum(len(f) for f in firsts):
                                return "a repeat over alternatives that can match the same text"
                    if _factored_alternatives_overlap(body):
                        return "a repeat over alternatives that can match the same text"
                found = walk(body)
                if found:
                    return found
            elif op == _c.SUBPATTERN:
                found = walk(arg[-1])
                if found:
                    return found
            elif op == _c.BRANCH:
                for b in arg[1]:
                    found = walk(b)
                    if found:
                        return found
        return None

    return walk(parsed)
