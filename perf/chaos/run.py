"""``python -m perf.chaos [--profile full|short]`` (``make chaos``): a fault drill.

1. Starts a private MariaDB and Redis (never the shared ones), migrates, seeds one organization
   with its owner and one project, and starts a production-mode API server and a job worker.
2. Puts a bounded load on it: ``taskCreate`` at ~10/s (unique titles, an Idempotency-Key each,
   retried with the same key until acknowledged), a reader at a few requests/s, one ``taskEvents``
   subscriber that reconnects after every fault.
3. Injects the profile's faults one after another (each held, undone, then load to settle).
4. Stops the writes, waits for the retries and for the subscriber to catch up with the project's
   last event, then checks the database: acknowledged writes lost or doubled, event sequences the
   subscriber never received.

Prints one line per fault and the verdict line; exits 1 when a write was lost or doubled or an
event missed.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from perf.chaos import ledger as ledgers
from perf.chaos.faults import PROFILES, Profile
from perf.chaos.ledger import Ledger
from perf.chaos.reader import Reader
from perf.chaos.report import Window, fault_line, final_line, summary_lines
from perf.chaos.seed import login, migrate_and_seed
from perf.chaos.stack import Stack, environment, processes, services
from perf.chaos.subscriber import Subscriber
from perf.chaos.writer import Writer, title_prefix

WRITE_RATE = 10.0
READ_RATE = 3.0
IN_FLIGHT_WAIT_SECONDS = 5.0
CATCH_UP_SECONDS = 20.0
MAX_CONNECTIONS = 300  # writes an outage holds back are pending at once, each on a connection


@dataclass(frozen=True)
class Result:
    lines: list[str]  # the faults', the summary's, then the verdict
    faults: int
    ledger: Ledger
    misbehaved: int  # answers that were a 5xx but a proper 503, over all faults

    @property
    def failed(self) -> bool:
        return bool(self.ledger.lost or self.ledger.duplicated or self.ledger.events_missed)


async def _inject(profile: Profile, stack: Stack, writer: Writer, subscriber: Subscriber) -> list[Window]:
    windows = []
    await asyncio.sleep(profile.baseline_seconds)
    for fault in profile.faults:
        if fault.with_write_in_flight:
            try:
                async with asyncio.timeout(IN_FLIGHT_WAIT_SECONDS):
                    await writer.until_in_flight()
            except TimeoutError:
                print(f"{fault.name}: no write in flight within {IN_FLIGHT_WAIT_SECONDS:g} s", flush=True)
        injected = time.monotonic()
        if fault.with_write_in_flight:
            fault.inject(stack)  # at once: in a thread the write could be answered first
        else:
            await asyncio.to_thread(fault.inject, stack)
        await asyncio.sleep(fault.hold_seconds)
        await asyncio.to_thread(fault.recover, stack)
        recovered = time.monotonic()
        # Whether or not the fault ended its connection, the subscriber resumes after it.
        await subscriber.resume()
        await asyncio.sleep(profile.settle_seconds)
        windows.append(Window(fault.name, injected, recovered, time.monotonic()))
        print(f"{fault.name}: done", flush=True)
    return windows


async def _load(profile: Profile, stack: Stack, project_id: str, run: str) -> Result:
    token = await login(stack.base_url)
    limits = httpx.Limits(max_connections=MAX_CONNECTIONS)
    async with httpx.AsyncClient(base_url=stack.base_url, limits=limits) as http:
        writer = Writer(http, token, project_id, run)
        reader = Reader(http, token, project_id)
        subscriber = Subscriber(stack.base_url.replace("http://", "ws://") + "/graphql", token, project_id)
        stop_writes, stop_rest = asyncio.Event(), asyncio.Event()
        writing = asyncio.create_task(writer.run(WRITE_RATE, stop_writes))
        others = [
            asyncio.create_task(reader.run(READ_RATE, stop_rest)),
            asyncio.create_task(subscriber.run(stop_rest)),
        ]
        try:
            windows = await _inject(profile, stack, writer, subscriber)
            stop_writes.set()
            await writing
            await writer.drain()
            database_url = stack.variables["TASKQL_DATABASE_URL"]
            last = await ledgers.head(database_url, project_id)
            try:
                async with asyncio.timeout(CATCH_UP_SECONDS):
                    await subscriber.until_received(last)
            except TimeoutError:
                print(f"the subscriber did not catch up within {CATCH_UP_SECONDS:g} s", flush=True)
        finally:
            stop_writes.set()
            stop_rest.set()
            await subscriber.resume()
            await asyncio.gather(writing, *others)
    ledger = await ledgers.settle(
        database_url, project_id, title_prefix(run), writer.writes, subscriber.received
    )
    fault_lines = [fault_line(w, writer.writes, reader.reads, subscriber) for w in windows]
    misbehaved = sum(int(line.split(" misbehaved=")[1].split()[0]) for line in fault_lines)
    lines = [
        *fault_lines,
        *summary_lines(writer.writes, windows, subscriber, ledger),
        f"api_errors_logged={stack.errors_logged()}",
        final_line(len(windows), ledger, writer.writes, windows),
    ]
    return Result(lines, len(windows), ledger, misbehaved)


async def drill(profile: Profile, directory: Path) -> Result:
    """The whole drill in ``directory`` (short: it holds MariaDB's socket), logs included."""
    run = uuid.uuid4().hex[:8]
    logs = directory / "logs"
    logs.mkdir()
    with services(directory) as (mariadb, redis):
        variables = environment(mariadb, redis)
        project_id = await migrate_and_seed(variables)
        with processes(mariadb, redis, variables, logs) as stack:
            return await _load(profile, stack, project_id, run)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m perf.chaos", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profile", choices=sorted(PROFILES), default="full")
    profile = PROFILES[parser.parse_args().profile]
    directory = Path(tempfile.mkdtemp(prefix="taskql-chaos-"))
    result = asyncio.run(drill(profile, directory))
    print("\n".join(result.lines), flush=True)
    if result.failed:
        print(f"logs kept in {directory / 'logs'}", file=sys.stderr)
        sys.exit(1)
    shutil.rmtree(directory)
