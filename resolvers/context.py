"""What one request carries through the resolvers: who asks, and the services to answer with."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from jobs.enqueue import ReportJobs, ScheduledEmails, WebhookDeliveries
from loaders import Loaders
from persistence.attempts import AttemptCounters
from persistence.cache import Cache
from persistence.db import Database
from persistence.passwords import Passwords
from persistence.redis_breaker import RedisBreaker
from persistence.relay import Relay
from persistence.replica import WrittenMarks
from persistence.settings import Settings
from persistence.versioned_cache import VersionedCache
from resolvers.engines import EngineJudge
from resolvers.errors import Unauthenticated
from resolvers.principal import Principal


@dataclass(frozen=True)
class Idempotency:
    """A client's Idempotency-Key, scoped to its principal, and the hash of the request it came with."""

    key: str
    request_hash: str


@dataclass(frozen=True)
class Services:
    """Process-wide: built once at start-up, shared by every request."""

    settings: Settings
    db: Database
    cache: Cache
    passwords: Passwords
    relay: Relay
    # Enqueues a password reset's or an invitation's email after its commit (jobs/enqueue.py).
    emails: ScheduledEmails
    # Enqueues webhook test pings and redeliveries after their commit (the relay enqueues the rest).
    webhook_deliveries: WebhookDeliveries
    # Enqueues a report's job after its commit (jobs/enqueue.py).
    report_jobs: ReportJobs
    # Counts logins and password reset requests for their throttling (resolvers/login_throttle.py).
    attempts: AttemptCounters
    # The process's Redis breaker, which every user of Redis above shares (persistence/redis_breaker.py).
    redis_breaker: RedisBreaker
    # Which engine runs a trusted document, reported when it is registered.
    operation_engine: EngineJudge | None = None
    # With a read replica: marks each principal's committed writes for its reads (persistence/replica.py).
    written_marks: WrittenMarks | None = None


@dataclass
class RequestContext:
    services: Services
    principal: Principal | None = None
    client_address: str | None = None
    idempotency: Idempotency | None = None
    # Filled by the edge when development shows the statement count in the response.
    extensions: dict[str, object] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def db(self) -> Database:
        return self.services.db

    def require_principal(self) -> Principal:
        if self.principal is None:
            raise Unauthenticated()
        return self.principal

    @cached_property
    def loaders(self) -> Loaders:
        """Built on first use inside the request (aiodataloader binds the running loop)."""
        principal = self.require_principal()
        return Loaders(self.db, principal.scope, self.versioned_cache)

    @cached_property
    def versioned_cache(self) -> VersionedCache:
        """The principal's organization's versioned caches; their versions are read once, on first use."""
        settings = self.settings
        ttls = {
            "user_profile": settings.user_profile_cache_ttl_seconds,
            "project": settings.project_cache_ttl_seconds,
            "permission": settings.permission_cache_ttl_seconds,
        }
        if settings.task_list_cache_enabled:
            ttls["task_list"] = settings.task_list_cache_ttl_seconds
        return VersionedCache(self.services.cache, self.require_principal().organization_id, ttls)
