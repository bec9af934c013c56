"""Why a data type of the seed's cache table had no lookups in a run, measured from the run itself.

The compiled engine answers a list, a task's page and a search with one statement each, which reads
the users, the projects and the viewer's memberships along with the tasks. A user profile, a project or
a permission is then never read alone on the load's paths: a cache of them could remove no statement
(the one the operation needs runs anyway), only add a Redis round trip. The run shows it when every
answer of those classes reported one statement.

A task list is different: a cache in front of the compiled list would replace the statement on a hit.
What any cache that never serves a stale page could reach is bounded by the run's own stream: the
exact cache, one entry per project's first page shared by everyone who reads it, dropped only by a
create in that project (the load's updates change the oldest tasks, which are on no first page, and
its comments are not shown), warm from the start. Its hit rate on the run's list reads is the ceiling.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from perf.load.samples import Sample

# The classes whose one statement reads the profiles, projects and permissions along with the tasks.
SINGLE_STATEMENT_CLASSES = ("list", "read", "search")
READ_ALONG = ("user_profile", "project", "permission")
LIST_OPERATION = "list:TaskList"
CREATE_OPERATION = "write:TaskCreate"


@dataclass(frozen=True)
class ReadAlong:
    """How many statements the answers of the classes that read the data types along with their tasks
    sent. Each counts its authentication too: an answer whose session was not in the cache sent one
    more (the session's), which no cache of these data types would have spared."""

    answers: int  # successful answers of those classes that reported a count
    beyond_one: int  # of them, answers that sent more than one statement
    session_misses: float  # the run's session cache misses

    @property
    def holds(self) -> bool:
        """Every such answer sent one statement, but for as many as read their session from MariaDB:
        nothing for a cache of profiles, projects or permissions to spare."""
        return self.answers > 0 and self.beyond_one <= self.session_misses

    def describe(self) -> str:
        one = self.answers - self.beyond_one
        return (
            f"never read alone: inside the one statement of each list, read and search ({one:,} of "
            f"{self.answers:,} answers sent one statement; {self.beyond_one:,} more, as many as the "
            f"{self.session_misses:,.0f} session misses allow); a cache could spare no statement, only "
            "add a round trip"
        )


@dataclass(frozen=True)
class ListCacheCeiling:
    reads: int  # successful list reads of the run
    cold: int  # first reads of a project (misses of any cache started empty)
    hits: int  # reads the exact cache, warm from the start, would have answered
    creates: int  # successful creates, each dropping its project's entry

    @property
    def hit_rate(self) -> float:
        return 100.0 * self.hits / self.reads if self.reads else 0.0

    def describe(self) -> str:
        return (
            f"no cache: an exact one (a project's first page for all its readers, dropped by each of the "
            f"run's {self.creates:,} creates) would have hit at most {self.hit_rate:.1f} % of its "
            f"{self.reads:,} list reads"
        )


def read_along(samples: Sequence[Sample], session_misses: float) -> ReadAlong:
    counts = [
        s.sql for s in samples if s.ok and s.operation_class in SINGLE_STATEMENT_CLASSES and s.sql is not None
    ]
    return ReadAlong(len(counts), sum(count > 1 for count in counts), session_misses)


def list_cache_ceiling(samples: Sequence[Sample]) -> ListCacheCeiling:
    """Replays the run's lists and creates, in the order they were sent, through the exact cache."""
    cached: dict[str, bool] = {}  # project: whether its page is cached now
    reads = cold = hits = creates = 0
    for sample in sorted(samples, key=lambda s: s.started):
        if not sample.ok or not sample.project:
            continue
        if sample.name == CREATE_OPERATION:
            creates += 1
            cached[sample.project] = False
        elif sample.name == LIST_OPERATION:
            reads += 1
            # Warm from the start: a project's first read counts as a hit, the cache's best case.
            if sample.project not in cached:
                cold += 1
            hits += cached.get(sample.project, True)
            cached[sample.project] = True
    return ListCacheCeiling(reads, cold, hits, creates)
