"""Loopback load: wrk (installed with apt-get when missing and we are root), else perf.shared.pyload.

Every run is bounded in time, targets 127.0.0.1 only, and reports one JSON line that both tools
print the same way: requests, seconds, errors, and latency percentiles in microseconds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from perf.shared.pyload import RESULT_PREFIX
from perf.shared.servers import REPO, pinned

# Beyond the run's own duration: start-up, and the last requests finishing.
GRACE_SECONDS = 30


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: str = ""


@dataclass(frozen=True)
class Target:
    name: str
    base_url: str
    # One request is sent again and again; several are picked at random (by-id over many tasks).
    requests: list[HttpRequest]


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    errors: int
    p50_us: float
    p99_us: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _lua_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def _lua_headers(headers: dict[str, str]) -> str:
    return "{" + ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()) + "}"


# wrk's done() hook prints the summary as JSON, so nothing depends on its human-readable output.
_LUA_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%d,"seconds":%.6f,"errors":%d,"p50_us":%d,"p99_us":%d}\\n',
    "RESULT_PREFIX", summary.requests, summary.duration / 1e6,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
""".replace("RESULT_PREFIX", RESULT_PREFIX)


def wrk_script(target: Target) -> str:
    if len(target.requests) == 1:
        # A fixed request: wrk builds it once, the cheapest way for the load generator.
        only = target.requests[0]
        fixed = (
            f"wrk.method = {_lua_string(only.method)}\n"
            f"wrk.path = {_lua_string(only.path)}\n"
            f"wrk.body = {_lua_string(only.body)}\n"
            f"wrk.headers = {_lua_headers(only.headers)}\n"
        )
        return fixed + _LUA_DONE
    formatted = ",\n".join(
        f"  wrk.format({_lua_string(r.method)}, {_lua_string(r.path)}, {_lua_headers(r.headers)}, "
        f"{_lua_string(r.body)})"
        for r in target.requests
    )
    picked = (
        f"local requests = {{\n{formatted}\n}}\n"
        "math.randomseed(42)\n"
        "request = function() return requests[math.random(#requests)] end\n"
    )
    return picked + _LUA_DONE


def _apt_install_wrk() -> bool:
    """Installs wrk from Debian's packages when we may (root, apt-get present); True if it worked."""
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (
        [apt, "install", "-y", "-qq", "wrk"],
        [apt, "update", "-qq"],
        [apt, "install", "-y", "-qq", "wrk"],
    ):
        done = subprocess.run(step, env=env, capture_output=True, timeout=300, check=False)  # noqa: S603
        if step[1] == "install" and done.returncode == 0:
            return True
    return False


def load_tool(choice: str = "auto") -> str:
    """``wrk`` when it is there or can be installed, else ``python`` (perf.shared.pyload); ``choice``
    forces one."""
    if choice == "python":
        return "python"
    if shutil.which("wrk") or _apt_install_wrk():
        return "wrk"
    if choice == "wrk":
        raise RuntimeError("wrk is not installed and could not be installed with apt-get")
    print("wrk is not available: using the slower Python load generator (perf.shared.pyload)", flush=True)
    return "python"


def _command(tool: str, target: Target, connections: int, seconds: float, script: Path) -> list[str]:
    if tool == "wrk":
        wrk = shutil.which("wrk") or "wrk"
        return [
            wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "5s",
            "-s", str(script), target.base_url,
        ]  # fmt: skip
    return [
        sys.executable, "-m", "perf.shared.pyload", "--spec", str(script),
        "--connections", str(connections), "--seconds", str(seconds),
    ]  # fmt: skip


def _write_spec(tool: str, target: Target, directory: Path) -> Path:
    if tool == "wrk":
        path = directory / "load.lua"
        path.write_text(wrk_script(target))
    else:
        path = directory / "load.json"
        spec = {"base_url": target.base_url, "requests": [asdict(r) for r in target.requests]}
        path.write_text(json.dumps(spec))
    return path


def _parse(output: str) -> LoadResult:
    for line in output.splitlines():
        if line.startswith(RESULT_PREFIX):
            values = json.loads(line.removeprefix(RESULT_PREFIX))
            return LoadResult(
                requests=int(values["requests"]),
                seconds=float(values["seconds"]),
                errors=int(values["errors"]),
                p50_us=float(values["p50_us"]),
                p99_us=float(values["p99_us"]),
            )
    raise RuntimeError(f"the load generator printed no result:\n{output[-2000:]}")


def run_load(tool: str, target: Target, *, connections: int, seconds: float, cpus: str | None) -> LoadResult:
    """One bounded run of ``connections`` keep-alive connections against ``target``."""
    if not target.base_url.startswith("http://127.0.0.1:"):
        raise ValueError("the benchmark only loads servers on 127.0.0.1")
    with tempfile.TemporaryDirectory(prefix="taskql-bench-") as directory:
        spec = _write_spec(tool, target, Path(directory))
        command = pinned(_command(tool, target, connections, seconds, spec), cpus)
        done = subprocess.run(  # noqa: S603 - wrk or our interpreter, with our arguments
            command, cwd=REPO, capture_output=True, text=True, timeout=seconds + GRACE_SECONDS, check=False
        )
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return _parse(done.stdout)
