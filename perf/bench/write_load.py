"""The write pair's load generator, a process of its own like wrk (and pinned the same way).

Each connection owns a few tasks no other connection writes (all of one project, so concurrent writes
never race for the same task nor for the same project's event sequence), sends one request at a time,
and takes each task's next version from the answer. Every request carries a fresh Idempotency-Key, so
none is a replay and none a conflict. When the time is up no new request starts, but the ones in flight
are awaited and counted: every write the server committed is one the generator saw acknowledged, which
the bench then checks against the rows. Neither wrk (it drops what is in flight at the end) nor
perf.shared.pyload (fixed requests) can do that.

    python -m perf.bench.write_load --spec spec.json --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from perf.bench.load import GRACE_SECONDS, LoadResult
from perf.bench.writes import write_request, written_version
from perf.shared.pyload import RESULT_PREFIX, loop_factory, percentile, read_response
from perf.shared.servers import REPO, pinned


@dataclass(frozen=True)
class WriteSpec:
    kind: str  # perf.bench.writes.GRAPHQL or RAW
    base_url: str
    token: str
    # One list a connection: [global task id, its current version] of each task it owns.
    owned: list[list[tuple[str, int]]]


@dataclass(frozen=True)
class WriteResult:
    load: LoadResult
    succeeded: int  # answers that said the write went through
    first_refusal: str | None  # the first other answer, for the message when the check fails


@dataclass
class _Tally:
    latencies_us: list[float] = field(default_factory=list)
    errors: int = 0
    succeeded: int = 0
    first_refusal: str | None = None

    def refused(self, what: str) -> None:
        self.errors += 1
        self.first_refusal = self.first_refusal or what


def _encode(spec: WriteSpec, host: str, path: str, body: bytes, key: str) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {spec.token}\r\n"
        f"Content-Type: application/json\r\nIdempotency-Key: {key}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _connection(spec: WriteSpec, number: int, deadline: float, tally: _Tally) -> None:
    url = urlsplit(spec.base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    versions = dict(spec.owned[number])
    prefix = f"bench-{uuid.uuid4().hex}-{number}"  # unique across runs: a key is never used twice
    reader, writer = await asyncio.open_connection(host, port)
    sent = 0
    try:
        while versions and time.monotonic() < deadline:
            task_id = list(versions)[sent % len(versions)]
            sent += 1
            request = write_request(spec.kind, task_id, versions[task_id], f"Bench write {number}-{sent}")
            started = time.perf_counter()
            writer.write(_encode(spec, f"{host}:{port}", request.path, request.body, f"{prefix}-{sent}"))
            try:
                status, body = await read_response(reader)
            except (asyncio.IncompleteReadError, ConnectionError) as error:
                tally.refused(repr(error))
                return
            tally.latencies_us.append((time.perf_counter() - started) * 1e6)
            version = written_version(status, body)
            if version is None:
                # Its version is unknown now: the connection leaves the task alone.
                del versions[task_id]
                tally.refused(f"{status} {body[:300]!r}")
            else:
                versions[task_id] = version
                tally.succeeded += 1
    finally:
        writer.close()


async def run(spec: WriteSpec, seconds: float) -> dict[str, object]:
    tally = _Tally()
    started = time.monotonic()
    deadline = started + seconds
    await asyncio.gather(*(_connection(spec, n, deadline, tally) for n in range(len(spec.owned))))
    elapsed = time.monotonic() - started
    ordered = sorted(tally.latencies_us)
    return {
        "requests": len(ordered),
        "seconds": elapsed,
        "errors": tally.errors,
        "p50_us": percentile(ordered, 0.50),
        "p99_us": percentile(ordered, 0.99),
        "succeeded": tally.succeeded,
        "first_refusal": tally.first_refusal,
    }


def _parse(output: str) -> WriteResult:
    for line in output.splitlines():
        if line.startswith(RESULT_PREFIX):
            values = json.loads(line.removeprefix(RESULT_PREFIX))
            load = LoadResult(
                requests=int(values["requests"]),
                seconds=float(values["seconds"]),
                errors=int(values["errors"]),
                p50_us=float(values["p50_us"]),
                p99_us=float(values["p99_us"]),
            )
            return WriteResult(load, int(values["succeeded"]), values["first_refusal"])
    raise RuntimeError(f"the write load printed no result:\n{output[-2000:]}")


def run_write_load(spec: WriteSpec, *, seconds: float, cpus: str | None) -> WriteResult:
    """One bounded run, one connection per list of owned tasks."""
    if not spec.base_url.startswith("http://127.0.0.1:"):
        raise ValueError("the benchmark only loads servers on 127.0.0.1")
    with tempfile.TemporaryDirectory(prefix="taskql-bench-") as directory:
        path = Path(directory) / "writes.json"
        path.write_text(json.dumps(asdict(spec)))
        command = pinned(
            [sys.executable, "-m", "perf.bench.write_load", "--spec", str(path), "--seconds", str(seconds)],
            cpus,
        )
        done = subprocess.run(  # noqa: S603 - our interpreter, with our arguments
            command, cwd=REPO, capture_output=True, text=True, timeout=seconds + GRACE_SECONDS, check=False
        )
    if done.returncode != 0:
        raise RuntimeError(f"the write load failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return _parse(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spec", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    values = json.loads(args.spec.read_text())
    owned = [[(task_id, int(version)) for task_id, version in tasks] for tasks in values["owned"]]
    spec = WriteSpec(values["kind"], values["base_url"], values["token"], owned)
    if not spec.base_url.startswith("http://127.0.0.1:"):
        raise SystemExit("perf.bench.write_load only loads servers on 127.0.0.1")
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        result = runner.run(run(spec, args.seconds))
    print(RESULT_PREFIX + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
