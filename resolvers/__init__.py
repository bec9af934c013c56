"""Use cases per domain: reads, writes, authorization policies and domain errors. No strawberry here."""
