"""The process's Prometheus metrics (cross-cutting: every layer may record). Names follow the seed."""

from __future__ import annotations

from prometheus_client import Counter

CACHE_HITS = Counter("cache_hits_total", "Cache lookups answered from Redis", ["data_type"])
CACHE_MISSES = Counter("cache_misses_total", "Cache lookups not answered from Redis", ["data_type"])
CACHE_ERRORS = Counter("cache_errors_total", "Cache operations that failed open", ["operation"])
UNTRUSTED_DOCUMENTS = Counter(
    "graphql_untrusted_documents_total",
    "Documents outside the trusted registry, run (mode log) or refused (enforce, API keys)",
    ["outcome"],
)
