"""The SWE-bench dev rows and their repositories at base_commit, for the scoring benches.

Checkouts live outside this repository (under --workdir); the mirrors are bare git directories
(`/work/.mirror/swe-bench+<owner>__<name>/repo`) whose largest blobs may be absent: those files
are left out of the checkout rather than failing it.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The shared data folder sits beside the project's checkout (../shared); PROMPTLINT_SWEBENCH_DEV overrides.
_CANDIDATES = [ROOT.parent / "shared" / "eval-data" / "swebench-dev.jsonl", Path("/work/shared/eval-data/swebench-dev.jsonl")]
DEFAULT_DATA = Path(os.environ["PROMPTLINT_SWEBENCH_DEV"]) if os.environ.get("PROMPTLINT_SWEBENCH_DEV") else next(
    (p for p in _CANDIDATES if p.is_file()), _CANDIDATES[0]
)
DEFAULT_MIRRORS = Path("/work/.mirror")


def load_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def mirror_of(mirrors: Path, repo: str) -> Path:
    return mirrors / f"swe-bench+{repo.replace('/', '__')}" / "repo"


def checkout(mirror: Path, workdir: Path, commit: str) -> Path:
    """A work tree of ``mirror`` at ``commit`` (one per repository, reused across commits)."""
    tree = workdir / mirror.parent.name
    if not tree.exists():
        workdir.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout", str(mirror), str(tree)], check=True)
    git = ["git", "-C", str(tree)]
    done = subprocess.run([*git, "checkout", "-q", "-f", commit], capture_output=True)
    if done.returncode != 0:
        # A blob missing from the mirror (a large data file): write every other file.
        subprocess.run([*git, "read-tree", commit], check=True, capture_output=True)
        subprocess.run([*git, "checkout-index", "-a", "-f"], capture_output=True)
    subprocess.run([*git, "clean", "-qfdx"], check=True, capture_output=True)
    return tree
