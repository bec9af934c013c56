"""Which cached reads a write touched, from the events it recorded (every cache-relevant write records
one in the same unit of work), so invalidation follows the writes without each mutation naming caches."""

from __future__ import annotations

from collections.abc import Iterable

from persistence.cache import Cache
from persistence.versioned_cache import Namespace, invalidate

# By event type prefix, the most specific first. Task lists are keyed by all four namespaces (their rows
# carry the project, the people and the labels), so a namespace here invalidates them too.
_TOUCHES: tuple[tuple[str, Namespace], ...] = (
    ("task.", "tasks"),  # tasks, their comments (comment counts), labels and attachments
    ("label.", "tasks"),  # a label's name and colour show on task rows
    ("project.member_", "members"),  # who sees and edits which project
    ("project.", "projects"),
    ("user.", "users"),  # names, roles, deactivation
)


def namespace_of(event_type: str) -> Namespace | None:
    for prefix, namespace in _TOUCHES:
        if event_type.startswith(prefix):
            return namespace
    return None


async def invalidate_written(cache: Cache, events: Iterable[tuple[int, str]]) -> None:
    """After the commit, before the mutation answers: the next read, by anyone, misses what the write
    changed. ``events`` are (organization id, event type) of what the write recorded."""
    touched = {(org, ns) for org, event_type in events if (ns := namespace_of(event_type)) is not None}
    if touched:
        await invalidate(cache, touched)
