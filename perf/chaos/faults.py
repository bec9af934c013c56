"""The faults a drill injects, each with how long it is held before it is undone, and the profiles
(the full drill of ``make chaos``, and the short one the test suite runs)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from perf.chaos.stack import Stack


@dataclass(frozen=True)
class Fault:
    name: str
    hold_seconds: float
    inject: Callable[[Stack], None]
    recover: Callable[[Stack], None]
    # Injected only while a write is sent and not yet answered: the crash must catch one mid-way.
    with_write_in_flight: bool = False


def redis_kill(hold_seconds: float) -> Fault:
    """Redis crashes and comes back empty: sessions, cached answers and idempotency keys are gone."""
    return Fault("redis-kill", hold_seconds, lambda s: s.redis.kill(), lambda s: s.redis.start())


def redis_freeze(hold_seconds: float) -> Fault:
    """Redis stops answering with its connections open (SIGSTOP): only timeouts notice."""
    return Fault("redis-freeze", hold_seconds, lambda s: s.redis.freeze(), lambda s: s.redis.thaw())


def mariadb_restart(hold_seconds: float) -> Fault:
    """A clean shutdown (every connection closed by the server), down a while, started again."""
    return Fault("mariadb-restart", hold_seconds, lambda s: s.mariadb.stop(), lambda s: s.mariadb.start())


def mariadb_freeze(hold_seconds: float) -> Fault:
    return Fault("mariadb-freeze", hold_seconds, lambda s: s.mariadb.freeze(), lambda s: s.mariadb.thaw())


def api_kill() -> Fault:
    """SIGKILL mid-write, then a new process on the same port."""
    return Fault(
        "api-kill", 0.0, lambda s: s.api.kill(), lambda s: s.replace_api(), with_write_in_flight=True
    )


@dataclass(frozen=True)
class Profile:
    name: str
    faults: list[Fault]
    baseline_seconds: float  # load before the first fault
    settle_seconds: float  # load after each fault is undone, before the next


PROFILES = {
    "full": Profile(
        "full",
        [redis_kill(20), redis_freeze(10), mariadb_restart(12), mariadb_freeze(10), api_kill()],
        baseline_seconds=5,
        settle_seconds=8,
    ),
    "short": Profile("short", [redis_kill(3), api_kill()], baseline_seconds=2, settle_seconds=3),
}
