"""What every bench's report shares: the folder it is written to, and which code was measured."""

from __future__ import annotations

import shutil
import subprocess
from functools import partial
from typing import Any

from perf.shared.servers import REPO

RESULTS = REPO / "perf" / "results"  # git-ignored


def git_state() -> dict[str, Any]:
    """Which code was measured: the commit, and whether the work tree differed from it."""
    git = shutil.which("git")
    if git is None:
        return {}
    run = partial(subprocess.run, cwd=REPO, capture_output=True, text=True, timeout=10, check=False)
    commit = run([git, "rev-parse", "HEAD"]).stdout.strip()
    dirty = bool(run([git, "status", "--porcelain", "--untracked-files=no"]).stdout.strip())
    return {"commit": commit, "dirty": dirty}
