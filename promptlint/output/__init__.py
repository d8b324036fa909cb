"""Stage 5: render a report. Every format reads the same :class:`~promptlint.model.Report`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, TextIO

if TYPE_CHECKING:  # pragma: no cover
    from ..model import Report
    from ..rules.catalog import Rule

FORMATS = ("text", "concise", "json", "sarif", "github")


def render(fmt: str, report: "Report", rules: dict[str, "Rule"], stream: TextIO, verbose: bool = False, color: bool | None = None) -> None:
    writer: Callable[..., None]
    if fmt == "text":
        from .text import write_text as writer

        writer(report, stream, verbose=verbose, color=color)
        return
    if fmt == "concise":
        from .text import write_concise as writer
    elif fmt == "json":
        from .json import write_json as writer
    elif fmt == "sarif":
        from .sarif import write_sarif

        write_sarif(report, rules, stream)
        return
    elif fmt == "github":
        from .github import write_github as writer
    else:  # pragma: no cover - click restricts the choice
        raise ValueError(fmt)
    writer(report, stream)
