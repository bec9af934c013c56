"""The seed's load scenarios at this machine's sizes: how many virtual users at each moment of a run.

A scenario is a list of stages, each holding a number of users until a share of the run's duration has
passed; users are started or stopped at the stage's spawn rate. The sizes are this machine's (the seed's
are for a fleet; docs/slo.md "Load scenarios"): baseline 100 (for the seed's 10 minutes), normal 250,
peak 500, stress 1,000, spike 100 -> 1,000 -> 100, endurance 250 (30 minutes). `sized` gives a scenario
at another size (`make load USERS=`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Stage:
    until: float  # share of the run's duration (0..1] at which this stage ends
    users: int
    spawn_rate: float  # users started (or stopped) per second to reach `users`


@dataclass(frozen=True)
class Scenario:
    name: str
    stages: tuple[Stage, ...]
    default_seconds: int
    # What the seed's table asks of it, for the report's heading.
    criteria: str
    # Whether the report judges the RSS trend (only a long run shows one; a short run's RSS is warm-up).
    memory_bar: bool = False

    @property
    def peak_users(self) -> int:
        return max(stage.users for stage in self.stages)

    @property
    def ramp_seconds(self) -> float:
        """How long the first stage takes to start all its users."""
        first = self.stages[0]
        return first.users / first.spawn_rate

    def sized(self, users: int) -> Scenario:
        """The same scenario with ``users`` at its peak: every stage's users and spawn rate scaled alike,
        so the stages keep their proportions (a spike stays ten times its baseline) and ramp times."""
        if users < 1:
            raise ValueError(f"a scenario needs at least one user, not {users}")
        factor = users / self.peak_users
        stages = tuple(
            Stage(stage.until, max(1, round(stage.users * factor)), max(1.0, stage.spawn_rate * factor))
            for stage in self.stages
        )
        return replace(self, stages=stages)

    def at(self, elapsed: float, duration: float) -> Stage | None:
        """The stage in force ``elapsed`` seconds into a run of ``duration``; None once it is over."""
        for stage in self.stages:
            if elapsed < stage.until * duration:
                return stage
        return None


def _steady(name: str, users: int, spawn_rate: float, seconds: int, criteria: str) -> Scenario:
    return Scenario(name, (Stage(1.0, users, spawn_rate),), seconds, criteria)


# Spike: a quarter of the run at the baseline's 100 users (its p95 is the bar to return to), a quarter at
# 1,000 (all started within 10 s), then the rest back at 100 to watch the recovery, which the seed wants
# within 2 minutes: hence 5 minutes by default, where normal, peak and stress take 3.
SPIKE = Scenario(
    "spike",
    (Stage(0.2, 100, 20), Stage(0.4, 1000, 100), Stage(1.0, 100, 100)),
    300,
    "recovery within 2 min (p95 back to the pre-spike p95)",
)

SCENARIOS = {
    scenario.name: scenario
    for scenario in (
        _steady("baseline", 100, 10, 600, "p95 < 200 ms, 0 errors; every latency row of the seed"),
        _steady("normal", 250, 25, 180, "p95 < 300 ms, < 0.1 % errors"),
        _steady("peak", 500, 25, 180, "p95 < 500 ms, < 1 % errors"),
        _steady("stress", 1000, 50, 180, "graceful degradation (fast 429/503), no crash"),
        SPIKE,
        Scenario("endurance", (Stage(1.0, 250, 25),), 1800, "no memory growth trend, stable latency", True),
    )
}
