"""examples/web builds against the committed schema: its codegen runs and the client type-checks.

The install is `npm ci` from the committed lockfile, run only when node_modules is missing or was
installed from another lockfile (a stamp of the lockfile's hash), so later runs cost codegen and tsc
alone (a few seconds). A schema change that breaks one of the client's operations fails here.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.services import in_ci

WEB = Path(__file__).resolve().parents[2] / "examples" / "web"
STAMP = WEB / "node_modules" / ".installed-from"


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        if in_ci():
            pytest.fail("npm is not installed (CI=true: examples/web must build)", pytrace=False)
        pytest.skip("npm is not installed")
    return npm


def _run(*command: str, timeout: float) -> None:
    done = subprocess.run(  # noqa: S603 - npm with fixed arguments
        command, cwd=WEB, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}"


def _install(npm: str) -> None:
    lock_hash = hashlib.sha256((WEB / "package-lock.json").read_bytes()).hexdigest()
    if STAMP.is_file() and STAMP.read_text() == lock_hash:
        return
    _run(npm, "ci", "--no-audit", "--no-fund", "--loglevel=error", timeout=600)
    STAMP.write_text(lock_hash)


def test_the_web_client_generates_its_types_and_type_checks() -> None:
    # Given the web example's locked dependencies
    npm = _npm()
    _install(npm)
    generated = WEB / "src" / "gql" / "graphql.ts"
    generated.unlink(missing_ok=True)
    # When its types are generated from schema/schema.graphql, then every operation validates
    _run(npm, "exec", "--", "graphql-codegen", "--config", "codegen.ts", timeout=120)
    types = generated.read_text()
    for operation in ("LoginMutation", "RefreshMutation", "BoardQuery", "TaskEventsSubscription"):
        assert f"export type {operation} " in types
    # And the client (links, token refresh, subscriptions) type-checks against them
    _run(npm, "exec", "--", "tsc", "--noEmit", timeout=120)
