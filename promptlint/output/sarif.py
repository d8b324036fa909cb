"""SARIF 2.1.0 output (validated against the OASIS schema in the test suite)."""

from __future__ import annotations

import json
import os
from pathlib import PurePath
from typing import Any, TextIO
from urllib.parse import quote

from ..__about__ import __version__
from ..model import Report, Severity
from ..rules.catalog import Rule

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_LEVEL = {Severity.error: "error", Severity.warning: "warning", Severity.info: "note"}
HELP_URI = "https://github.com/promptlint/promptlint/blob/main/rules/{code}.toml"


def _uri(path: str) -> str:
    if path in ("-", ""):
        return "stdin"
    # As bytes: a file name that is not UTF-8 is percent-encoded byte for byte (quote() of the str
    # raised on its surrogates and lost the whole run's SARIF).
    return quote(os.fsencode(PurePath(path).as_posix()), safe="/:@-._~")


def _rule_descriptor(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.doc["what"].strip().split("\n\n")[0].replace("\n", " ")},
        "fullDescription": {"text": rule.doc["why"].strip().replace("\n", " ")},
        "helpUri": HELP_URI.format(code=rule.code),
        "help": {"text": rule.render_doc(), "markdown": rule.render_doc()},
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {"family": rule.family, "status": rule.status, "kind": rule.kind},
    }


def build_sarif(report: Report, rules: dict[str, Rule]) -> dict[str, Any]:
    used = sorted({f.code for file in report.files for f in file.findings})
    descriptors = [_rule_descriptor(rules[c]) for c in used if c in rules]
    index = {d["id"]: i for i, d in enumerate(descriptors)}
    results = []
    for file in report.files:
        for f in file.findings:
            result: dict[str, Any] = {
                "ruleId": f.code,
                "level": _LEVEL[f.severity],
                "message": {"text": f.message + (f" {f.suggestion}" if f.suggestion else "")},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": _uri(file.path)},
                            "region": {
                                "startLine": f.start.line,
                                "startColumn": f.start.column,
                                "endLine": f.end.line,
                                "endColumn": f.end.column,
                                "charOffset": f.start_offset,
                                "charLength": f.end_offset - f.start_offset,
                            },
                        }
                    }
                ],
                "properties": {"family": f.family, "name": f.name},
            }
            if f.code in index:
                result["ruleIndex"] = index[f.code]
            results.append(result)
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "promptlint",
                        "semanticVersion": __version__,
                        "version": __version__,
                        "informationUri": "https://github.com/promptlint/promptlint",
                        "rules": descriptors,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def write_sarif(report: Report, rules: dict[str, Rule], stream: TextIO) -> None:
    json.dump(build_sarif(report, rules), stream, indent=2, ensure_ascii=False)
    stream.write("\n")
