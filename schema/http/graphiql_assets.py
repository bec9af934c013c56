"""GraphiQL's files (React, GraphiQL, the explorer plugin), pinned to exact versions and served by the
server itself, so GraphiQL works on a machine without internet access.

They are not in the repository: ``python -m schema.http.graphiql_assets`` (run by ``make run`` and
``make test``) downloads each package's tarball once from the npm registry (``NPM_CONFIG_REGISTRY``, as
npm reads it, or registry.npmjs.org), checks it against the integrity hash pinned here, and extracts
the few files the page loads into ``var/graphiql/`` (git-ignored). A file's name carries its version:
one that is there is the pinned one, and a run with every file there touches no network. Production
turns GraphiQL off and needs none of it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ASSET_DIR = Path(__file__).resolve().parents[2] / "var" / "graphiql"
DEFAULT_REGISTRY = "https://registry.npmjs.org"
DOWNLOAD_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    # The registry's `dist.integrity` of the tarball (npm view NAME@VERSION dist.integrity).
    integrity: str
    # The served file's name (its version in it) -> its path in the tarball.
    files: dict[str, str]

    def tarball_url(self, registry: str) -> str:
        basename = self.name.rsplit("/", 1)[-1]
        return f"{registry.rstrip('/')}/{self.name}/-/{basename}-{self.version}.tgz"


# GraphiQL 3's UMD build runs on React 18 (React 19 ships no UMD build); the explorer plugin 3.2.5 is
# the one for the @graphiql/react (0.28) that graphiql 3.8.3 bundles.
PACKAGES = (
    Package(
        "react",
        "18.3.1",
        "sha512-wS+hAgJShR0KhEvPJArfuPVN1+Hz1t0Y6n5jLrGQbkb4urgPE/0Rve+1kMB1v/oWgHgm4WIcV+i7F2pTVj+2iQ==",
        {"react-18.3.1.production.min.js": "package/umd/react.production.min.js"},
    ),
    Package(
        "react-dom",
        "18.3.1",
        "sha512-5m4nQKp+rZRb09LNH59GM4BxTh9251/ylbKIbpe7TpGxfJ+9kv6BLkLBXIjjspbgbnIBNqlI23tRnTWT0snUIw==",
        {"react-dom-18.3.1.production.min.js": "package/umd/react-dom.production.min.js"},
    ),
    Package(
        "graphiql",
        "3.8.3",
        "sha512-cuPDYtXVKV86Pu5PHBX642Odi/uVEE2y1Jxq5rGO/Qy1G2lRp7ZZ7a/T30RzxhuLSWo9zUbzq0P3U49//H0Ugw==",
        {
            "graphiql-3.8.3.min.js": "package/graphiql.min.js",
            "graphiql-3.8.3.min.css": "package/graphiql.min.css",
        },
    ),
    Package(
        "@graphiql/plugin-explorer",
        "3.2.5",
        "sha512-gM9UwD0PcOHe+XrRY2YMIV4pUrDIfV0YBQ5kQUZxk0BuVvZO9xk06XFv5plBKDAwtxbsuq+nET4i9FJCiYev2g==",
        {
            "plugin-explorer-3.2.5.umd.js": "package/dist/index.umd.js",
            "plugin-explorer-3.2.5.css": "package/dist/style.css",
        },
    ),
)
# What the page loads, in its order.
SCRIPTS = (
    "react-18.3.1.production.min.js",
    "react-dom-18.3.1.production.min.js",
    "graphiql-3.8.3.min.js",
    "plugin-explorer-3.2.5.umd.js",
)
STYLESHEETS = ("graphiql-3.8.3.min.css", "plugin-explorer-3.2.5.css")
ASSET_NAMES = frozenset(name for package in PACKAGES for name in package.files)


class IntegrityError(Exception):
    """A downloaded tarball is not the pinned one."""


def missing_assets(directory: Path = ASSET_DIR) -> list[str]:
    return sorted(name for name in ASSET_NAMES if not (directory / name).is_file())


def _checked_tarball(package: Package, registry: str) -> bytes:
    url = package.tarball_url(registry)
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"the registry must be an http(s) URL, not {registry!r}")
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:  # noqa: S310 - checked above
        body: bytes = response.read()
    algorithm, _, expected = package.integrity.partition("-")
    actual = base64.b64encode(hashlib.new(algorithm, body).digest()).decode()
    if actual != expected:
        raise IntegrityError(f"{url}: {algorithm} {actual}, pinned {expected}")
    return body


def fetch(directory: Path = ASSET_DIR, registry: str | None = None) -> list[str]:
    """Downloads the packages with a file missing from ``directory`` and extracts their files; returns
    the names written (none when every file was there)."""
    registry = registry or os.environ.get("NPM_CONFIG_REGISTRY") or DEFAULT_REGISTRY
    missing = set(missing_assets(directory))
    written: list[str] = []
    for package in PACKAGES:
        if not missing & package.files.keys():
            continue
        directory.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(_checked_tarball(package, registry)), mode="r:gz") as tarball:
            for name, member in package.files.items():
                extracted = tarball.extractfile(member)
                if extracted is None:
                    raise IntegrityError(f"{package.name}@{package.version} has no file {member}")
                # Written aside, then renamed: a file under its final name is always whole.
                partial = directory / f".{name}.partial"
                partial.write_bytes(extracted.read())
                partial.replace(directory / name)
                written.append(name)
    return written


def main() -> int:
    try:
        written = fetch()
    except (OSError, IntegrityError) as error:
        print(f"graphiql assets: {error}", file=sys.stderr)
        return 1
    if written:
        print(f"graphiql assets: {len(written)} files fetched into {ASSET_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
