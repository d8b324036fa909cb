"""JSON output, contract version 1 (documented in README.md; the hook and other tools rely on it)."""

from __future__ import annotations

import json
from typing import TextIO

from ..model import Report


def write_json(report: Report, stream: TextIO) -> None:
    json.dump(report.to_json(), stream, indent=2, ensure_ascii=False)
    stream.write("\n")
