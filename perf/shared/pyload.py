"""A small keep-alive HTTP/1.1 load generator on raw asyncio sockets: the fallback when wrk cannot
be had. It prints the same result line as the wrk script. Slower than wrk (one Python core), but
the servers under test are single Python workers too, so it still saturates them.

    python -m perf.shared.pyload --spec load.json --connections 8 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

RESULT_PREFIX = "LOAD_RESULT "


@dataclass
class Tally:
    latencies_us: list[float] = field(default_factory=list)
    errors: int = 0


def _encode(request: dict[str, Any], host: str) -> bytes:
    body = str(request["body"]).encode()
    lines = [f"{request['method']} {request['path']} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in request["headers"].items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Reads one response (servers under test always send Content-Length): its status and body."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    return status, await reader.readexactly(length)


async def _connection(host: str, port: int, requests: list[bytes], deadline: float, tally: Tally) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    rng = random.Random(42)
    try:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            writer.write(rng.choice(requests))
            try:
                status, _ = await read_response(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                tally.errors += 1
                return
            if status >= 400:
                tally.errors += 1
            tally.latencies_us.append((time.perf_counter() - started) * 1e6)
    finally:
        writer.close()


def percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def run(spec: dict[str, Any], connections: int, seconds: float) -> dict[str, Any]:
    url = urlsplit(spec["base_url"])
    host, port = url.hostname or "127.0.0.1", url.port or 80
    requests = [_encode(r, f"{host}:{port}") for r in spec["requests"]]
    tally = Tally()
    started = time.monotonic()
    deadline = started + seconds
    await asyncio.gather(*(_connection(host, port, requests, deadline, tally) for _ in range(connections)))
    elapsed = time.monotonic() - started
    ordered = sorted(tally.latencies_us)
    return {
        "requests": len(ordered),
        "seconds": elapsed,
        "errors": tally.errors,
        "p50_us": percentile(ordered, 0.50),
        "p99_us": percentile(ordered, 0.99),
    }


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop  # noqa: PLC0415 - optional speed-up, installed with uvicorn[standard]
    except ImportError:
        return None
    return uvloop.new_event_loop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spec", type=Path, required=True)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    spec = json.loads(args.spec.read_text())
    if not spec["base_url"].startswith("http://127.0.0.1:"):
        raise SystemExit("perf.shared.pyload only loads servers on 127.0.0.1")
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        result = runner.run(run(spec, args.connections, args.seconds))
    print(RESULT_PREFIX + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
