"""The attack bench's figures: the normal load per phase beside the seed's read row, the attack's
answers by kind, status and code, and each process's CPU per phase; as Markdown and as JSON."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from perf.attack.normal_load import Answer

# The seed's "Read Operations (GET)" row: p50, p95, p99, max in ms.
READ_TARGETS_MS = (80.0, 200.0, 500.0, 1000.0)
PHASE_TITLES = {"alone": "normal alone", "attack": "normal + attack"}
# Cores' worth of CPU taken by processes not the bench's above which a phase's figures say more about
# the machine's other users than about the server.
NOISY_CORES = 0.25


@dataclass(frozen=True)
class Latencies:
    p50: float
    p95: float
    p99: float
    max: float

    @classmethod
    def of(cls, values: list[float]) -> Latencies:
        if not values:
            return cls(float("nan"), float("nan"), float("nan"), float("nan"))
        ordered = sorted(values)

        def at(fraction: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 1)

        return cls(at(0.50), at(0.95), at(0.99), round(ordered[-1], 1))


@dataclass(frozen=True)
class NormalFigures:
    offered: int
    answered: int
    per_second: float
    latency_ms: Latencies
    failed: int
    rate_limited: int  # answers with HTTP 429 or RATE_LIMITED: a normal user's budget is its own
    failures: dict[str, int]  # "status code" -> count
    per_operation_ms: dict[str, Latencies]


@dataclass
class Phase:
    name: str
    seconds: float
    normal: NormalFigures
    cpu_seconds: dict[str, float]
    attack: dict[str, Any] = field(default_factory=dict)  # perf.attack.attackers' result, in the attack phase


def normal_figures(answers: list[Answer], phase: str, offered: int, seconds: float) -> NormalFigures:
    mine = [a for a in answers if a.phase == phase]
    failed = [a for a in mine if a.failed]
    operations = sorted({a.operation for a in mine})
    return NormalFigures(
        offered=offered,
        answered=len(mine),
        per_second=round(len(mine) / seconds, 1) if seconds else 0.0,
        latency_ms=Latencies.of([a.latency_ms for a in mine]),
        failed=len(failed),
        rate_limited=sum(1 for a in mine if a.status == 429 or a.code == "RATE_LIMITED"),
        failures=dict(Counter(f"{a.status} {a.code}" for a in failed)),
        per_operation_ms={
            op: Latencies.of([a.latency_ms for a in mine if a.operation == op]) for op in operations
        },
    )


def _normal_table(phases: list[Phase]) -> list[str]:
    lines = [
        "| phase | offered | answered | req/s | p50 ms | p95 ms | p99 ms | max ms | failed | 429 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for phase in phases:
        n, lat = phase.normal, phase.normal.latency_ms
        lines.append(
            f"| {PHASE_TITLES.get(phase.name, phase.name)} | {n.offered} | {n.answered} | {n.per_second:g} "
            f"| {lat.p50:g} | {lat.p95:g} | {lat.p99:g} | {lat.max:g} | {n.failed} | {n.rate_limited} |"
        )
    p50, p95, p99, top = READ_TARGETS_MS
    lines.append(f"| seed's read row | | | | {p50:g} | {p95:g} | {p99:g} | {top:g} | | 0 |")
    return lines


def _operation_table(phases: list[Phase]) -> list[str]:
    operations = sorted({op for phase in phases for op in phase.normal.per_operation_ms})
    head = " | ".join(f"{PHASE_TITLES.get(p.name, p.name)} p50 / p95 / p99" for p in phases)
    lines = [f"| operation | {head} |", "| --- |" + " --- |" * len(phases)]
    for op in operations:
        cells = []
        for phase in phases:
            lat = phase.normal.per_operation_ms.get(op)
            cells.append("" if lat is None else f"{lat.p50:g} / {lat.p95:g} / {lat.p99:g}")
        lines.append(f"| {op} | " + " | ".join(cells) + " |")
    return lines


def _attack_table(attack: dict[str, Any]) -> list[str]:
    seconds = attack["seconds"]
    answers: dict[str, int] = attack["answers"]
    total = sum(answers.values())
    lines = [
        f"{total:,} attack answers in {seconds:.1f} s: **{total / seconds:,.0f} attack requests/s served** "
        f"(the attack process used {attack['cpu_seconds']:.1f} CPU s)",
        "",
        "| kind | status | code | answers | per s |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key, count in answers.items():
        kind, status, code = key.split(" ", 2)
        lines.append(f"| {kind} | {status} | {code} | {count:,} | {count / seconds:,.1f} |")
    return lines


def _cpu_table(phases: list[Phase]) -> list[str]:
    names = list(dict.fromkeys(name for phase in phases for name in phase.cpu_seconds))
    head = " | ".join(f"{PHASE_TITLES.get(p.name, p.name)} ({p.seconds:.0f} s)" for p in phases)
    lines = [f"| process | {head} |", "| --- |" + " --- |" * len(phases)]
    for name in names:
        cells = []
        for phase in phases:
            used = phase.cpu_seconds.get(name)
            cells.append("" if used is None else f"{used:.1f} s ({used / phase.seconds:.2f})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def markdown(phases: list[Phase], context: dict[str, Any]) -> str:
    attack = next((p.attack for p in phases if p.attack), None)
    lines = [
        f"# A normal load beside an attack, {datetime.now(UTC).isoformat(timespec='seconds')}",
        "",
        f"{context['users']} users, {context['rate']:g} req/s offered (open loop), "
        f"{context['attackers']} attack connections ({context['kinds']}), {context['seconds']:g} s per "
        f"phase, server: {context['workers']} uvicorn workers, production settings, trusted documents "
        f"enforce; the expensive attack's operation costs {context['expensive_cost']}.",
        "",
        "## The normal load (latency from each request's due time)",
        "",
        *_normal_table(phases),
        "",
        *_operation_table(phases),
        "",
    ]
    for phase in phases:
        if phase.normal.failures:
            lines.append(f"Failed normal requests, {phase.name}: {phase.normal.failures}")
    if attack:
        lines += ["", "## The attack", "", *_attack_table(attack)]
    lines += ["", "## CPU seconds per phase (share of one core)", "", *_cpu_table(phases)]
    for phase in phases:
        others = phase.cpu_seconds.get("other processes", 0.0) / phase.seconds
        if others > NOISY_CORES:
            lines.append(
                f"\n**Not a quiet machine**: other processes took {others:.2f} of a core during "
                f"{PHASE_TITLES.get(phase.name, phase.name)}: its latencies are theirs as much as ours."
            )
    return "\n".join(lines) + "\n"


def document(phases: list[Phase], context: dict[str, Any]) -> dict[str, Any]:
    return {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **context,
        "read_targets_ms": READ_TARGETS_MS,
        "phases": [asdict(phase) for phase in phases],
    }
