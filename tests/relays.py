"""A relay of a test's own: it never sweeps by itself, so a test publishes exactly what it means to."""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis

from persistence.redis_breaker import RedisBreaker
from persistence.relay import OnCommitted, Relay
from resolvers.context import Services
from resolvers.notification_rules import NotificationDerivation
from resolvers.webhook_rules import WebhookDerivation
from tests import services as test_services


def own_relay(
    services: Services,
    *,
    redis: Redis | None = None,
    grace_seconds: float = 30,
    on_committed: Sequence[OnCommitted] = (),
) -> Relay:
    """``grace_seconds``: how old an unpublished event must be before ``publish(None)`` takes it. A
    breaker of its own: an outage it meets (or a failing hook fakes) is not the suite's."""
    return Relay(
        services.db,
        redis or services.cache.redis,
        RedisBreaker(services.settings.cache_breaker_cooldown_seconds).view("relay"),
        sweep_interval_seconds=3600,
        sweep_grace_seconds=grace_seconds,
        channel_prefix=test_services.CHANNEL_PREFIX,
        derive_notifications=NotificationDerivation(),
        derive_webhook_deliveries=WebhookDerivation(),
        on_committed=on_committed,
    )
