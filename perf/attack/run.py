"""A normal load beside an attack load (``make bench-attack``): does abuse from some principals
cost the others their latency?

1. Database ``taskql_bench_attack`` (the ``make bench`` data set, seeded once) and Redis index 9
   (flushed at start); the client's documents registered as trusted; normal users and attackers
   signed in (perf/attack/world.py).
2. The real server on 127.0.0.1:18461: uvicorn, 2 workers, production settings (trusted documents
   ``enforce``, default limits and budgets).
3. A warm-up, then two phases of ``--seconds`` each, one after the other: the normal load alone, then
   the normal load with ``--attackers`` connections attacking flat out from a process of their own
   (perf/attack/attackers.py). The normal load is ``--rate`` requests/s over ``--users`` users, open loop
   (perf/attack/normal_load.py).
4. Reports the normal load's latency per phase beside the seed's read row, its failures and 429s
   (which must be 0: each user's budget is its own), the attack's answers by kind, status and code,
   and each process's CPU per phase; Markdown to stdout, JSON to ``perf/results/attack-<time>.json``.

A benchmark, not a test: it prints figures and exits 0 when it ran; the bars are read, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import redis

from perf.attack.attackers import KINDS, READY_LINE, RESULT_PREFIX
from perf.attack.normal_load import NormalLoad
from perf.attack.report import Phase, document, markdown, normal_figures
from perf.attack.world import DATABASE_NAME, PORT, REDIS_URL, World, environment, prepare
from perf.shared import config
from perf.shared.cpu import children, command_line, cpu_seconds, machine_busy_seconds, service_pids
from perf.shared.progress import stage
from perf.shared.results import RESULTS, git_state
from perf.shared.servers import REPO, Server, ServerSpec, running

PROFILE = RESULTS / "attack-server.prof"
ATTACK_START_SECONDS = 60.0


@dataclass(frozen=True)
class Options:
    seconds: float
    rate: float
    attackers: int
    users: int
    warmup: float
    kinds: list[str]
    workers: int
    profile: bool


def _parse_options() -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m perf.attack",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="duration of each phase")
    parser.add_argument("--rate", type=float, default=80.0, help="normal requests/s offered (all users)")
    parser.add_argument("--attackers", type=int, default=10, help="attack connections, flat out")
    parser.add_argument("--users", type=int, default=40, help="normal users, each with its own budget")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of normal load before phase 1")
    parser.add_argument("--kinds", default="all", help=f"'all' or some of {', '.join(KINDS)}")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument(
        "--profile", action="store_true", help=f"one worker under cProfile, written to {PROFILE.name}"
    )
    args = parser.parse_args()
    kinds = list(KINDS) if args.kinds == "all" else [k.strip() for k in args.kinds.split(",") if k.strip()]
    if not kinds or any(kind not in KINDS for kind in kinds):
        parser.error(f"--kinds takes 'all' or some of {', '.join(KINDS)}")
    if not 1 <= args.seconds <= 300 or not 1 <= args.rate <= 1000 or not 1 <= args.attackers <= 100:
        parser.error("--seconds 1..300, --rate 1..1000 and --attackers 1..100 (a bounded load)")
    if not 1 <= args.users <= 200 or not 0 <= args.warmup <= 60 or not 1 <= args.workers <= 8:
        parser.error("--users 1..200, --warmup 0..60 and --workers 1..8")
    if args.profile and args.workers != 1:
        parser.error("--profile runs one worker: add --workers 1")
    return Options(
        args.seconds, args.rate, args.attackers, args.users, args.warmup, kinds, args.workers, args.profile
    )


def _cpu_now(server: Server) -> dict[str, float]:
    """CPU seconds so far of the server's processes (its workers found afresh: they are its children),
    this process (the normal load), MariaDB and Redis."""
    pids = {"server supervisor": server.process.pid}
    # multiprocessing's resource tracker is a child too: only the workers are named so.
    workers = [pid for pid in children(server.process.pid) if "resource_tracker" not in command_line(pid)]
    pids |= {f"server worker {n}": pid for n, pid in enumerate(workers, 1)}
    pids |= {"bench (normal load)": os.getpid(), **service_pids()}
    return {name: cpu_seconds(pid) for name, pid in pids.items()}


def _cpu_since(before: dict[str, float], server: Server) -> dict[str, float]:
    return {name: round(seconds - before.get(name, 0.0), 2) for name, seconds in _cpu_now(server).items()}


def _with_machine(cpu: dict[str, float], machine: float) -> dict[str, float]:
    """Adds the whole machine's busy time and what of it no process of the bench's explains (other
    users of the machine: a shared box shows here)."""
    return {**cpu, "whole machine": machine, "other processes": round(machine - sum(cpu.values()), 2)}


async def _timed_offer(
    load: NormalLoad, phase: str, server: Server, options: Options
) -> tuple[float, dict[str, float], float]:
    """One phase of the normal load: its wall time, each process's CPU and the machine's busy time."""
    before, machine, started = _cpu_now(server), machine_busy_seconds(), time.monotonic()
    await load.offer(phase, options.rate, options.seconds)
    cpu = _cpu_since(before, server)
    return time.monotonic() - started, cpu, round(machine_busy_seconds() - machine, 2)


async def _start_attack(spec: Path, options: Options, log: Path) -> asyncio.subprocess.Process:
    with log.open("wb") as errors:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "perf.attack.attackers", "--spec", str(spec),
            "--seconds", str(options.seconds), "--connections", str(options.attackers),
            "--kinds", ",".join(options.kinds),
            cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=errors,
        )  # fmt: skip
    assert process.stdout is not None
    ready = await asyncio.wait_for(process.stdout.readline(), ATTACK_START_SECONDS)
    if ready.decode().strip() != READY_LINE:
        process.kill()
        await process.wait()
        raise SystemExit(f"the attack process did not start; see {log}")
    return process


async def _attack_result(process: asyncio.subprocess.Process, seconds: float) -> dict[str, Any]:
    assert process.stdout is not None
    output = await asyncio.wait_for(process.stdout.read(), seconds + ATTACK_START_SECONDS)
    await process.wait()
    for line in output.decode().splitlines():
        if line.startswith(RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line.removeprefix(RESULT_PREFIX))
            return result
    raise SystemExit(f"the attack process printed no result (exit {process.returncode})")


async def _alone(load: NormalLoad, server: Server, options: Options) -> Phase:
    wall, cpu, machine = await _timed_offer(load, "alone", server, options)
    figures = normal_figures(load.answers, "alone", load.offered["alone"], options.seconds)
    return Phase("alone", wall, figures, _with_machine(cpu, machine))


async def _under_attack(load: NormalLoad, server: Server, options: Options, spec: Path) -> Phase:
    process = await _start_attack(spec, options, RESULTS / "logs" / "attackers.log")
    try:
        wall, cpu, machine = await _timed_offer(load, "attack", server, options)
        attack = await _attack_result(process, options.seconds)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    # The attack process reports its own CPU: it may be gone before it could be read here.
    cpu["attack process"] = round(attack["cpu_seconds"], 2)
    figures = normal_figures(load.answers, "attack", load.offered["attack"], options.seconds)
    return Phase("attack", wall, figures, _with_machine(cpu, machine), attack)


async def _measure(world: World, server: Server, options: Options, spec: Path) -> list[Phase]:
    load = NormalLoad(f"{server.base_url}/graphql", world.users)
    load.start()
    try:
        if options.warmup:
            with stage(f"warm-up: {options.warmup:g} s of normal load"):
                await load.offer("warmup", options.rate, options.warmup)
        with stage(f"phase 1: normal load alone, {options.seconds:g} s"):
            alone = await _alone(load, server, options)
        with stage(f"phase 2: normal load and {options.attackers} attackers, {options.seconds:g} s"):
            attack = await _under_attack(load, server, options, spec)
    finally:
        await load.close()
    return [alone, attack]


def _write_spec(world: World, server: Server, directory: Path) -> Path:
    """What the attack process needs: the URL, the attackers' credentials and variables."""
    path = directory / "attack.json"
    path.write_text(json.dumps({"url": f"{server.base_url}/graphql", **asdict(world.attackers)}))
    return path


def _budget_check(options: Options, world: World) -> None:
    """Says whether the normal users could spend their own buckets: the run would then show 429s
    that are the load's own doing, not the attack's."""
    restore = environment().settings().cost_restore_rate
    per_user = options.rate / len(world.users)
    charged = per_user * world.normal_cost
    print(
        f"{len(world.users)} users at {per_user:.2f} req/s each, charged up to {charged:.0f}/s each "
        f"(mean price {world.normal_cost:.0f}, refunded to what answers hold); buckets refill {restore:g}/s",
        flush=True,
    )
    if charged > restore:
        print("warning: normal users may run out of budget: raise --users or lower --rate", flush=True)


def _context(options: Options, world: World) -> dict[str, Any]:
    return {
        "git": git_state(),
        "options": asdict(options),
        **{
            k: v
            for k, v in asdict(options).items()
            if k in ("users", "rate", "attackers", "seconds", "workers")
        },
        "kinds": ",".join(options.kinds),
        "expensive_cost": world.attackers.expensive_cost,
        "normal_mean_cost": round(world.normal_cost, 1),
        "expensive_variables": world.attackers.expensive_variables,
        "documents_registered_now": world.registered,
        "dataset": {"database": DATABASE_NAME, "sizes": asdict(config.SIZES)},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load": os.getloadavg()},
    }


def run(options: Options) -> tuple[str, dict[str, Any]]:
    redis.Redis.from_url(REDIS_URL).flushdb()
    env = environment()
    world = asyncio.run(prepare(env, options.users))
    _budget_check(options, world)
    spec = ServerSpec("attack-graphql", "schema.app:create_app", PORT)
    with (
        tempfile.TemporaryDirectory(prefix="taskql-attack-") as directory,
        running(
            [spec],
            env,
            workers=options.workers,
            cpus=None,
            logs=RESULTS / "logs",
            profile=PROFILE if options.profile else None,
        ) as servers,
    ):
        server = servers[spec.name]
        spec_path = _write_spec(world, server, Path(directory))
        phases = asyncio.run(_measure(world, server, options, spec_path))
    context = _context(options, world)
    return markdown(phases, context), document(phases, context)


def main() -> None:
    options = _parse_options()
    report, figures = run(options)
    print(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"attack-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    path.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"written to {path.relative_to(REPO)}")
