"""The drill's lines: one per fault (what the load met while it was on), then the verdict line."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from perf.chaos.answers import OK, Attempt, misbehaved
from perf.chaos.ledger import Ledger
from perf.chaos.subscriber import Subscriber
from perf.chaos.writer import Write


@dataclass(frozen=True)
class Window:
    fault: str
    injected: float  # time.monotonic() as the fault went in
    recovered: float  # once it was undone (the service answering again)
    settled: float  # the end of the load that followed, before the next fault


def p95(values: list[float]) -> float:
    """Nearest rank; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def during(writes: list[Write], windows: list[Window]) -> list[Write]:
    """The writes pending at some moment of some fault (from injection to recovery)."""
    return [w for w in writes if any(w.overlaps(x.injected, x.recovered) for x in windows)]


def _latencies(writes: list[Write]) -> list[float]:
    return [ms for w in writes if (ms := w.latency_ms) is not None]


def _in(attempts: list[Attempt], start: float, end: float) -> list[Attempt]:
    return [a for a in attempts if start <= a.at <= end]


def fault_line(window: Window, writes: list[Write], reads: list[Attempt], subscriber: Subscriber) -> str:
    hit = during(writes, [window])
    answers = Counter(a.outcome for w in writes for a in _in(w.attempts, window.injected, window.settled))
    read_answers = Counter(a.outcome for a in _in(reads, window.injected, window.settled))
    acknowledged_after = [
        w.acknowledged_at
        for w in writes
        if w.acknowledged_at is not None and w.acknowledged_at >= window.recovered
    ]
    first_ack = min(acknowledged_after, default=math.nan) - window.recovered
    wrong = sum(n for outcome, n in (answers + read_answers).items() if misbehaved(outcome))
    return (
        f"fault={window.fault} down_s={window.recovered - window.injected:.1f} "
        f"writes={len(hit)} acknowledged={sum(w.acknowledged_at is not None for w in hit)} "
        f"retried={sum(len(w.attempts) > 1 for w in hit)} p95_ms={p95(_latencies(hit)):.0f} "
        f"max_ms={max(_latencies(hit), default=math.nan):.0f} first_ack_after_recovery_s={first_ack:.2f} "
        f"reads_ok={read_answers[OK]}/{read_answers.total()} misbehaved={wrong} "
        f"resubscribed={sum(window.injected <= t <= window.settled for t in subscriber.subscribed_at)} "
        f"resyncs={sum(window.injected <= t <= window.settled for t in subscriber.resyncs)} "
        f"answers={_counts(answers)} read_answers={_counts(read_answers)}"
    )


def _counts(counter: Counter[str]) -> str:
    return ",".join(f"{outcome.replace(' ', '_')}:{n}" for outcome, n in counter.most_common()) or "-"


def summary_lines(
    writes: list[Write], windows: list[Window], subscriber: Subscriber, ledger: Ledger
) -> list[str]:
    # Before the first fault: the figure the faults' own are read against.
    first = min((x.injected for x in windows), default=math.inf)
    quiet = [w for w in writes if w.acknowledged_at is not None and w.acknowledged_at < first]
    refused = Counter(w.refused for w in writes if w.refused is not None)
    return [
        f"writes={len(writes)} refused_or_given_up={refused.total()} ({_counts(refused)}) "
        f"unacknowledged_persisted={ledger.unacknowledged_persisted} "
        f"p95_ms_before_faults={p95(_latencies(quiet)):.0f}",
        f"events head={ledger.head} received={len(subscriber.received)} "
        f"received_twice={subscriber.duplicates()} resyncs={len(subscriber.resyncs)} "
        f"subscriptions={len(subscriber.subscribed_at)} subscriber_errors={len(subscriber.errors)}",
    ]


def final_line(faults: int, ledger: Ledger, writes: list[Write], windows: list[Window]) -> str:
    return (
        f"faults={faults} acknowledged={ledger.acknowledged} persisted={ledger.persisted} lost={ledger.lost} "
        f"duplicated={ledger.duplicated} events_missed_after_resume={ledger.events_missed} "
        f"p95_ms_during={p95(_latencies(during(writes, windows))):.0f}"
    )
