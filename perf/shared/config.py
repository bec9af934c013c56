"""Where the benchmark runs: a MariaDB database and a Redis index of its own, and one environment
shared by the bench process and both servers (same settings, same JWT secret)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

from persistence.seed import SeedSizes
from persistence.settings import Settings

# Overridable so a developer can point the bench at another local server; never a remote one.
MARIADB_SERVER_URL = os.environ.get("BENCH_MARIADB_URL", "mysql+aiomysql://root@127.0.0.1:3306")
DATABASE_NAME = os.environ.get("BENCH_DATABASE", "taskql_bench")
# A Redis index of its own: the bench flushes it, and must never touch the suite's or the app's.
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")

SIZES = SeedSizes(users=1000, projects=200, tasks=50_000, comments_per_task=1.0, members_per_project=10)
ORG_SLUG = "bench"  # its presence is the marker that the data set is already seeded
OWNER_EMAIL = "owner@bench.taskql.dev"
# The seeded users' shared password: generated data on loopback, nothing real behind it.
PASSWORD = "bench-password-not-a-secret"  # noqa: S105

HOST = "127.0.0.1"
GRAPHQL_PORT = 18411
RAW_PORT = 18412
CPU_BENCH_PORT = 18413

# The server's GraphQL execution engines (TASKQL_EXECUTION_ENGINE); the first is its default.
ENGINES = ("compiled", "resolvers")


@dataclass(frozen=True)
class BenchEnvironment:
    """The TASKQL_* variables both servers start with; the bench builds its own Settings from them."""

    variables: dict[str, str]

    @classmethod
    def create(cls) -> BenchEnvironment:
        return cls(
            {
                # Production-like: no GraphiQL, no suggestions, bugs masked, nothing extra in responses.
                "TASKQL_ENVIRONMENT": "production",
                # A fresh secret per run: production refuses the development default.
                "TASKQL_JWT_SECRET": secrets.token_urlsafe(48),
                "TASKQL_DATABASE_URL": f"{MARIADB_SERVER_URL}/{DATABASE_NAME}",
                "TASKQL_REDIS_URL": REDIS_URL,
                "TASKQL_SEED_DEMO_DATA": "false",
                "TASKQL_MIGRATE_ON_START": "false",
                "TASKQL_EXPOSE_STATEMENT_COUNT": "false",
                # One token serves the whole run; a long bench must not see it expire half way.
                "TASKQL_ACCESS_TOKEN_TTL_SECONDS": "3600",
                # One bench user stands for the many users of real traffic: its bucket is still charged
                # and refunded on every request (that cost is measured), it just never runs dry.
                "TASKQL_COST_BUCKET_CAPACITY": "100000000",
                "TASKQL_COST_RESTORE_RATE": "100000000",
                # The benches send their documents as text: each is still hashed and looked up in the
                # process's trusted registry, only not refused (perf/attack/run.py runs under enforce).
                "TASKQL_TRUSTED_DOCUMENTS": "off",
            }
        )

    def measuring(self, engine: str) -> BenchEnvironment:
        """For the benches that measure the GraphQL layer: ``engine`` executes the documents, and the
        task-list cache is off, so every list is read from MariaDB (as a hand-written endpoint would)
        and no run is faster for having been preceded by another."""
        measured = {"TASKQL_EXECUTION_ENGINE": engine, "TASKQL_TASK_LIST_CACHE_ENABLED": "false"}
        return BenchEnvironment({**self.variables, **measured})

    def settings(self, **overrides: object) -> Settings:
        values: dict[str, object] = {
            name.removeprefix("TASKQL_").lower(): value for name, value in self.variables.items()
        }
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]  # pydantic coerces the strings

    def process_environment(self) -> dict[str, str]:
        """The caller's environment without any TASKQL_* of its own, plus the bench's."""
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("TASKQL_")}
        return {**inherited, **self.variables}
