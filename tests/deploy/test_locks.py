"""requirements.lock is the image's install, requirements-dev.lock the rest: the runtime set pins every
runtime dependency and no development tool, and the two never pin a package twice."""

from __future__ import annotations

import tomllib

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

from perf.shared.server_process import ROOT

# Tools and the tests' libraries: none belongs in a production image.
DEVELOPMENT_TOOLS = [
    "pytest",
    "pytest-asyncio",
    "mypy",
    "ruff",
    "import-linter",
    "locust",
    "matplotlib",
    "numpy",
    "aiosmtpd",
    "psutil",
]


def _pins(name: str) -> tuple[list[str], dict[NormalizedName, str]]:
    """The file's `-r` includes and its pins, by normalized name."""
    includes: list[str] = []
    pins: dict[NormalizedName, str] = {}
    for line in (ROOT / name).read_text().splitlines():
        if line.startswith("-r "):
            includes.append(line.removeprefix("-r ").strip())
        elif line.strip():
            requirement = Requirement(line)
            assert [spec.operator for spec in requirement.specifier] == ["=="], line
            pins[canonicalize_name(requirement.name)] = line
    return includes, pins


def _project() -> dict[str, list[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {"runtime": project["dependencies"], "dev": project["optional-dependencies"]["dev"]}


def test_the_runtime_lock_holds_no_development_tool() -> None:
    includes, runtime = _pins("requirements.lock")
    assert includes == []
    assert sorted(set(runtime) & {canonicalize_name(tool) for tool in DEVELOPMENT_TOOLS}) == []


def test_the_runtime_lock_pins_every_runtime_dependency() -> None:
    _, runtime = _pins("requirements.lock")
    names = [canonicalize_name(Requirement(dep).name) for dep in _project()["runtime"]]
    missing = [name for name in names if name not in runtime]
    assert missing == []


def test_the_development_lock_adds_the_tools_to_the_runtime_lock() -> None:
    includes, development = _pins("requirements-dev.lock")
    _, runtime = _pins("requirements.lock")
    assert includes == ["requirements.lock"]
    assert sorted(set(development) & set(runtime)) == []
    pinned = set(development) | set(runtime)
    missing = [dep for dep in _project()["dev"] if canonicalize_name(Requirement(dep).name) not in pinned]
    assert missing == []
