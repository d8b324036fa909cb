"""Output is a function of the input: the same prompts against the same repository give byte-for-byte
the same JSON under different hash seeds, whether the search structures were built or loaded."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .conftest import REPOS

PROMPTS = [
    "Add a database table for customer orders",
    "Fix the token check in src/lib/authentication.ts and in `verifyTokn`.",
    "Make the handler return 404 for unknown ids.",
    "The handler in src/alpha/handler.py and the one in src/beta/handler.py should log the same way.",
    "Add an endpoint for refunds.",
    "Create a rate limiter for the API.",
    "Refactor the config loader.",
    "Update the auth to reject expired tokens.",
    "Traceback (most recent call last):\n  File \"/srv/app/src/alpha/handler.py\", line 3, in handle\n    raise ValueError('unknown id')\nValueError: unknown id\n\nfix this",
    "Rename `handle` to `process` everywhere.",
    "Improve the products route and the users route.",
    "scan all files under dist/ and the @src/server.ts file",
    "Why is `getUser` slow?",
    "Use `HandlerBase` in every handler.",
]

SCRIPT = r"""
import json, sys
from promptlint.config import Config
from promptlint.pipeline import Linter
linter = Linter(Config())
out = []
for text in json.loads(sys.argv[2]):
    report = linter.lint(text, repo=sys.argv[1])
    out.append({"findings": [(f.code, f.start_offset, f.end_offset, f.message, f.suggestion) for f in report.findings],
                "references": report.references, "rewrite": report.rewrite, "advice": report.advice})
sys.stdout.write(json.dumps(out, sort_keys=True))
"""


def _repo(tmp_path: Path) -> Path:
    """The TypeScript fixture plus twin files that tie on every piece of evidence."""
    root = tmp_path / "repo"
    shutil.copytree(REPOS / "ts-api", root)
    for name in ("alpha", "beta", "gamma"):
        folder = root / "src" / name
        folder.mkdir(parents=True)
        (folder / "handler.py").write_text("class HandlerBase:\n    pass\n\n\ndef handle(request):\n    raise ValueError('unknown id')\n")
    return root


def _run(root: Path, cache: Path, seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": seed, "PROMPTLINT_CACHE_DIR": str(cache)}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(root), json.dumps(PROMPTS)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_same_json_under_two_hash_seeds_built_or_loaded(tmp_path):
    root = _repo(tmp_path)
    shared = tmp_path / "cache-shared"
    first = _run(root, shared, "1")  # builds the index and the search structures
    second = _run(root, shared, "2")  # loads both from the cache
    third = _run(root, tmp_path / "cache-other", "3")  # builds again, another seed
    assert first == second == third
    data = json.loads(first)
    # the twins really tie: the order among them comes from the tie-break, not from hashing
    twins = [r["path"] for r in data[2]["references"] if r["path"].endswith("handler.py")]
    assert twins == sorted(twins) and len(twins) >= 2
